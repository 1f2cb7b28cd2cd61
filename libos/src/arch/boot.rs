//! The first instructions: PVH and Multiboot2 entry in 32-bit protected mode, a temporary identity
//! map of the first 4 GiB, long mode, then `ferrite_kernel_main(protocol, info)` in Rust.
//!
//! Both loaders enter in 32-bit protected mode with paging off: PVH (QEMU `-kernel` on every machine
//! type) finds `ferrite_pvh_entry` through the `XEN_ELFNOTE_PHYS32_ENTRY` note and passes the
//! `hvm_start_info` address in ebx; GRUB's Multiboot2 loader jumps to the ELF entry
//! (`ferrite_multiboot2_entry`) with the magic in eax and the information structure in ebx.

use core::arch::global_asm;

/// Boot protocol numbers passed to `ferrite_kernel_main`.
pub const PROTOCOL_PVH: u32 = 1;
pub const PROTOCOL_MULTIBOOT2: u32 = 2;

global_asm!(
    r#"
    .section .multiboot2, "a"
    .balign 8
ferrite_mb2_header:
    .long 0xe85250d6
    .long 0
    .long ferrite_mb2_header_end - ferrite_mb2_header
    .long 0x100000000 - (0xe85250d6 + (ferrite_mb2_header_end - ferrite_mb2_header))
    .balign 8
    .short 0, 0
    .long 8
ferrite_mb2_header_end:

    /* PVH entry note. QEMU reads the descriptor as a native-width word, so 8 bytes here. */
    .section .note.Xen, "a"
    .balign 4
    .long 4
    .long 8
    .long 18
    .asciz "Xen"
    .balign 4
    .quad ferrite_pvh_entry

    .section .ferrite.boot.text, "ax"
    .code32
    .global ferrite_pvh_entry
ferrite_pvh_entry:
    mov $1, %edi
    mov %ebx, %esi
    jmp 1f

    .global ferrite_multiboot2_entry
ferrite_multiboot2_entry:
    cmp $0x36d76289, %eax
    jne 9f
    mov $2, %edi
    mov %ebx, %esi

1:  cli
    cld
    rdtsc
    mov %eax, ferrite_boot_tsc
    mov %edx, ferrite_boot_tsc + 4
    mov $ferrite_boot_stack_top, %esp

    /* Zero the PML4 and PDPT; the four page directories are filled completely below. */
    push %edi
    mov $ferrite_boot_pml4, %edi
    xor %eax, %eax
    mov $2048, %ecx
    rep stosl
    pop %edi

    /* PML4[0] -> PDPT, PDPT[0..4] -> PD0..PD3, each PD maps 1 GiB with 2 MiB pages. */
    mov $ferrite_boot_pdpt, %eax
    or $3, %eax
    mov %eax, ferrite_boot_pml4
    mov $ferrite_boot_pd, %eax
    or $3, %eax
    mov %eax, ferrite_boot_pdpt
    add $4096, %eax
    mov %eax, ferrite_boot_pdpt + 8
    add $4096, %eax
    mov %eax, ferrite_boot_pdpt + 16
    add $4096, %eax
    mov %eax, ferrite_boot_pdpt + 24

    mov $ferrite_boot_pd, %ebx
    xor %ecx, %ecx
2:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, (%ebx, %ecx, 8)
    mov %ecx, %eax
    shr $11, %eax
    mov %eax, 4(%ebx, %ecx, 8)
    inc %ecx
    cmp $2048, %ecx
    jne 2b

    /* CR4.PAE, CR3, EFER.LME|NXE|SCE, CR0.PG|WP|PE. */
    mov %cr4, %eax
    or $0x20, %eax
    mov %eax, %cr4
    mov $ferrite_boot_pml4, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx
    rdmsr
    or $0x901, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80010001, %eax
    mov %eax, %cr0

    lgdt ferrite_boot_gdt_pointer
    ljmp $0x08, $3f

9:  hlt
    jmp 9b

    .code64
3:  mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    mov $ferrite_boot_stack_top, %rsp
    mov %edi, %edi
    mov %esi, %esi
    xor %ebp, %ebp
    call ferrite_kernel_main
4:  hlt
    jmp 4b

    .balign 8
ferrite_boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff
    .quad 0x00cf92000000ffff
ferrite_boot_gdt_pointer:
    .short 23
    .long ferrite_boot_gdt

    .section .data.ferrite_boot, "aw"
    .balign 8
    .global ferrite_boot_tsc
ferrite_boot_tsc:
    .quad 0

    .section .bss.ferrite_boot, "aw", @nobits
    .balign 4096
ferrite_boot_pml4:
    .skip 4096
ferrite_boot_pdpt:
    .skip 4096
ferrite_boot_pd:
    .skip 4096 * 4
    .global ferrite_boot_stack_bottom
ferrite_boot_stack_bottom:
    .skip 65536
ferrite_boot_stack_top:
    .code64
"#,
    options(att_syntax)
);

unsafe extern "C" {
    static ferrite_boot_tsc: u64;
}

/// The TSC value read by the first boot instruction: the start of the guest boot-time measurement.
pub fn boot_tsc() -> u64 {
    // SAFETY: written once by the boot code before Rust runs; read-only afterwards.
    unsafe { core::ptr::read_volatile(&raw const ferrite_boot_tsc) }
}
