/*
 * _dl_find_object for a static image.
 *
 * gcc 12's libgcc was built against glibc >= 2.35, so its unwinder finds the
 * .eh_frame_hdr of a pc only through _dl_find_object (it no longer falls back
 * to dl_iterate_phdr).  musl has no such function; without this file every
 * C++ throw ends in std::terminate.
 *
 * A Ferrite image (and a native static executable) is one object, so the
 * answer is always the same: the program headers give the PT_LOAD extent and
 * the PT_GNU_EH_FRAME segment.  They are found through __ehdr_start (defined by
 * the linker when the ELF header is loaded, as ferrite.ld arranges with
 * FILEHDR PHDRS), else through AT_PHDR, else __GNU_EH_FRAME_HDR alone.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>

/* glibc's <dlfcn.h> layout on x86_64: DLFO_STRUCT_HAS_EH_DBASE and
 * DLFO_STRUCT_HAS_EH_COUNT are both 0 there, so no dbase/count members. */
struct dl_find_object {
	unsigned long long dlfo_flags;
	void *dlfo_map_start;
	void *dlfo_map_end;
	struct link_map *dlfo_link_map;
	void *dlfo_eh_frame;
	unsigned long long __dlfo_reserved[7];
};
_Static_assert(sizeof(struct dl_find_object) == 96, "glibc x86_64 layout");
_Static_assert(offsetof(struct dl_find_object, dlfo_eh_frame) == 32, "glibc x86_64 layout");

int _dl_find_object(void *pc, struct dl_find_object *result);

/* Weak: a link without them still works through the other sources. */
extern const ElfW(Ehdr) __ehdr_start __attribute__((weak, visibility("hidden")));
extern const char __GNU_EH_FRAME_HDR[] __attribute__((weak, visibility("hidden")));

#define MAX_LOADS 16

static struct image {
	uintptr_t lo, hi;                 /* span of all PT_LOAD segments */
	uintptr_t seg_lo[MAX_LOADS], seg_hi[MAX_LOADS];
	int nseg;                         /* 0: no program headers found */
	void *eh_frame;                   /* the .eh_frame_hdr, or null */
} image;
static int image_ready;               /* 0 unknown, 1 filled */

static void load_phdrs(struct image *im, const ElfW(Phdr) *ph, size_t n,
		       size_t ent, uintptr_t ehdr_addr)
{
	uintptr_t bias = 0;
	size_t i;
	int have_bias = 0;

	/* The load bias (non-zero only for static-pie): from PT_PHDR, else from
	 * the segment that maps file offset 0 (the ELF header itself). */
	for (i = 0; i < n; i++) {
		const ElfW(Phdr) *p = (const void *)((const char *)ph + i * ent);
		if (p->p_type == PT_PHDR) {
			bias = (uintptr_t)ph - p->p_vaddr;
			have_bias = 1;
		}
	}
	if (!have_bias && ehdr_addr) {
		for (i = 0; i < n; i++) {
			const ElfW(Phdr) *p = (const void *)((const char *)ph + i * ent);
			if (p->p_type == PT_LOAD && p->p_offset == 0) {
				bias = ehdr_addr - p->p_vaddr;
				break;
			}
		}
	}

	im->lo = UINTPTR_MAX;
	im->hi = 0;
	for (i = 0; i < n; i++) {
		const ElfW(Phdr) *p = (const void *)((const char *)ph + i * ent);
		uintptr_t a = p->p_vaddr + bias;
		if (p->p_type == PT_LOAD && p->p_memsz && im->nseg < MAX_LOADS) {
			im->seg_lo[im->nseg] = a;
			im->seg_hi[im->nseg] = a + p->p_memsz;
			im->nseg++;
			if (a < im->lo) im->lo = a;
			if (a + p->p_memsz > im->hi) im->hi = a + p->p_memsz;
		} else if (p->p_type == PT_GNU_EH_FRAME) {
			im->eh_frame = (void *)a;
		}
	}
}

static void find_image(struct image *im)
{
	memset(im, 0, sizeof *im);
	if (&__ehdr_start && !memcmp(__ehdr_start.e_ident, ELFMAG, SELFMAG)) {
		const ElfW(Ehdr) *eh = &__ehdr_start;
		load_phdrs(im, (const void *)((const char *)eh + eh->e_phoff),
			   eh->e_phnum, eh->e_phentsize, (uintptr_t)eh);
	} else if (getauxval(AT_PHDR)) {
		size_t ent = getauxval(AT_PHENT);
		load_phdrs(im, (const void *)getauxval(AT_PHDR), getauxval(AT_PHNUM),
			   ent ? ent : sizeof(ElfW(Phdr)), 0);
	}
	if (!im->eh_frame && __GNU_EH_FRAME_HDR)
		im->eh_frame = (void *)__GNU_EH_FRAME_HDR;
}

int _dl_find_object(void *pc, struct dl_find_object *result)
{
	uintptr_t a = (uintptr_t)pc;
	int i, inside;

	/* Computing twice gives the same bytes, so racing first callers are
	 * harmless; the release store publishes a complete struct. */
	if (!__atomic_load_n(&image_ready, __ATOMIC_ACQUIRE)) {
		struct image tmp;
		find_image(&tmp);
		image = tmp;
		__atomic_store_n(&image_ready, 1, __ATOMIC_RELEASE);
	}

	if (image.nseg) {
		inside = 0;
		for (i = 0; i < image.nseg; i++)
			if (a >= image.seg_lo[i] && a < image.seg_hi[i])
				inside = 1;
		if (!inside)
			return -1;
	} else if (!image.eh_frame) {
		return -1;
	}
	/* Without program headers (only __GNU_EH_FRAME_HDR) claim every pc:
	 * the unwinder's binary search of the table rejects foreign ones. */

	memset(result, 0, sizeof *result);
	result->dlfo_map_start = (void *)(image.nseg ? image.lo : 0);
	result->dlfo_map_end = (void *)(image.nseg ? image.hi : UINTPTR_MAX);
	result->dlfo_link_map = 0;
	result->dlfo_eh_frame = image.eh_frame;
	return 0;
}
