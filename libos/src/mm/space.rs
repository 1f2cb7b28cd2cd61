//! The address space: builds the final page tables at boot (all RAM identity-mapped, the image
//! W^X, page 0 absent) and maps and unmaps the service's memory afterwards.

use super::frames::{FRAME_SIZE, FrameBitmap, Frames};
use super::paging::{
    self, CACHE_DISABLE, FrameSource, NO_EXECUTE, PAGE_1G, PAGE_2M, PAGE_4K, PageTables, USER,
    WRITABLE, WRITE_THROUGH,
};
use crate::arch::cpu;
use crate::bootinfo::MemoryRegion;
use crate::sync::IrqMutex;

static FRAMES: IrqMutex<Option<FrameBitmap<'static>>> = IrqMutex::new(None);
static TABLES: IrqMutex<Option<PageTables>> = IrqMutex::new(None);

unsafe extern "C" {
    static __ferrite_image_start: u8;
    static __ferrite_text_end: u8;
    static __ferrite_rodata_start: u8;
    static __ferrite_data_start: u8;
    static __ferrite_data_end: u8;
    static __ferrite_image_end: u8;
}

/// Physical bounds of the image's parts, from the linker script.
#[derive(Clone, Copy, Debug)]
pub struct ImageLayout {
    pub start: u64,
    pub text_end: u64,
    pub rodata_start: u64,
    pub data_start: u64,
    pub data_end: u64,
    pub end: u64,
}

pub fn image_layout() -> ImageLayout {
    ImageLayout {
        start: &raw const __ferrite_image_start as u64,
        text_end: &raw const __ferrite_text_end as u64,
        rodata_start: &raw const __ferrite_rodata_start as u64,
        data_start: &raw const __ferrite_data_start as u64,
        data_end: &raw const __ferrite_data_end as u64,
        end: &raw const __ferrite_image_end as u64,
    }
}

/// Frames for page tables, zeroed, from the global bitmap (caller holds the FRAMES lock).
struct TableFrames<'a, 'b>(&'a mut FrameBitmap<'b>);

impl FrameSource for TableFrames<'_, '_> {
    fn alloc_table(&mut self) -> Option<u64> {
        let frame = self.0.alloc_one()?;
        ensure_zeroed(frame, 1);
        Some(frame.start)
    }
}

/// Clear freshly allocated frames unless they are known to hold zeros already.
fn ensure_zeroed(frames: Frames, count: u64) {
    if !frames.zeroed {
        // SAFETY: the frames were just allocated and are identity-mapped RAM nobody else references.
        unsafe { core::ptr::write_bytes(frames.start as *mut u8, 0, (count * FRAME_SIZE) as usize) }
    }
}

/// Memory statistics for reports.
#[derive(Clone, Copy, Debug)]
pub struct MemoryStats {
    pub total_frames: u64,
    pub free_frames: u64,
}

pub fn stats() -> MemoryStats {
    let frames = FRAMES.lock();
    let f = frames.as_ref().expect("memory not initialised");
    MemoryStats {
        total_frames: f.total_frames(),
        free_frames: f.free_frames() + super::frame_cache::cached_frames(),
    }
}

/// Set up frames and the final page tables. `memory` is the boot loader's map; `ram_is_zeroed`
/// says whether free RAM is known to hold zeros (a hypervisor's fresh RAM under direct PVH boot;
/// not after GRUB or firmware ran).
pub fn init(memory: &[MemoryRegion], ram_is_zeroed: bool, huge_1g: bool) {
    let layout = image_layout();
    let phys_top = memory
        .iter()
        .filter(|r| r.usable)
        .map(|r| r.start + r.len)
        .max()
        .unwrap_or(0);
    let frame_count = phys_top / FRAME_SIZE;
    let words = FrameBitmap::words_for(frame_count);
    let bitmap_bytes = (words * 16) as u64; // the in-use map and the known-zero map

    // The bitmap goes in the first usable RAM above the image that can hold it.
    let bitmap_at = memory
        .iter()
        .filter(|r| r.usable)
        .find_map(|r| {
            let start = r.start.max(layout.end).next_multiple_of(FRAME_SIZE);
            (start + bitmap_bytes <= r.start + r.len).then_some(start)
        })
        .expect("no memory for the frame bitmap");
    // SAFETY: the region is usable RAM that nothing else owns yet, identity-mapped by the boot tables.
    let (used, zero) = unsafe { core::slice::from_raw_parts_mut(bitmap_at as *mut u64, words * 2) }
        .split_at_mut(words);
    let mut bitmap = FrameBitmap::new_all_used(used, zero, frame_count);
    for r in memory.iter().filter(|r| r.usable) {
        bitmap.release_range(r.start, r.start + r.len, ram_is_zeroed);
    }
    // Low memory stays reserved: the real-mode area, firmware data, and the CPU start-up trampoline.
    bitmap.reserve_range(0, 0x10_0000);
    bitmap.reserve_range(layout.start, layout.end);
    bitmap.reserve_range(bitmap_at, bitmap_at + bitmap_bytes);

    let tables = build_kernel_tables(&mut bitmap, memory, &layout, huge_1g)
        .expect("out of memory building page tables");
    // SAFETY: the new tables map all RAM identically to the boot tables, including this code and stack.
    unsafe { cpu::write_cr3(tables.root) };
    *FRAMES.lock() = Some(bitmap);
    *TABLES.lock() = Some(tables);
}

fn build_kernel_tables(
    bitmap: &mut FrameBitmap<'static>,
    memory: &[MemoryRegion],
    layout: &ImageLayout,
    huge_1g: bool,
) -> Result<PageTables, MapError> {
    let mut source = TableFrames(bitmap);
    let mut tables = PageTables::new(&mut source).ok_or(MapError::OutOfMemory)?;
    let fine_end = layout.end.next_multiple_of(PAGE_2M);

    // 4 KiB pages where permissions differ within 2 MiB: low memory and the image. Page 0 stays
    // unmapped so NULL dereferences fault.
    let fine_flags = |addr: u64| match addr {
        0 => None,
        a if a >= layout.start && a < layout.end => Some(image_page_flags(a, layout)),
        _ => Some(WRITABLE | NO_EXECUTE),
    };
    tables.map_identity_range(0, fine_end, PAGE_4K, fine_flags, &mut source)?;

    // The rest of RAM with the largest pages that fit. Device memory is mapped by its drivers
    // (`map_device`), not here.
    let ram = |_| Some(WRITABLE | NO_EXECUTE);
    for r in memory.iter().filter(|r| r.usable) {
        let (region_start, region_end) = (r.start.max(fine_end), r.start + r.len);
        if region_start >= region_end {
            continue;
        }
        // Unaligned ends of the region with 4 KiB pages, the middle with large ones.
        let start = region_start.next_multiple_of(PAGE_2M);
        let end = region_end & !(PAGE_2M - 1);
        if start >= end {
            let (a, b) = (
                region_start.next_multiple_of(PAGE_4K),
                region_end & !(PAGE_4K - 1),
            );
            if a < b {
                tables.map_identity_range(a, b, PAGE_4K, ram, &mut source)?;
            }
            continue;
        }
        let head = region_start.next_multiple_of(PAGE_4K);
        if head < start {
            tables.map_identity_range(head, start, PAGE_4K, ram, &mut source)?;
        }
        let tail = region_end & !(PAGE_4K - 1);
        if end < tail {
            tables.map_identity_range(end, tail, PAGE_4K, ram, &mut source)?;
        }
        let (gig_start, gig_end) = if huge_1g {
            (start.next_multiple_of(PAGE_1G), end & !(PAGE_1G - 1))
        } else {
            (end, end)
        };
        if gig_start < gig_end {
            tables.map_identity_range(start, gig_start, PAGE_2M, ram, &mut source)?;
            tables.map_identity_range(gig_start, gig_end, PAGE_1G, ram, &mut source)?;
            tables.map_identity_range(gig_end, end, PAGE_2M, ram, &mut source)?;
        } else {
            tables.map_identity_range(start, end, PAGE_2M, ram, &mut source)?;
        }
    }
    Ok(tables)
}

/// Map device memory `[phys, phys+len)` uncached at the same address (for drivers: local APIC,
/// I/O APIC, virtio-mmio, PCI BARs). Pages already mapped are left as they are.
pub fn map_device(phys: u64, len: u64) -> Result<(), MapError> {
    map_identity_pages(
        phys,
        len,
        WRITABLE | NO_EXECUTE | CACHE_DISABLE | WRITE_THROUGH,
    )
}

/// Map firmware tables `[phys, phys+len)` (ACPI) read-only and cached at the same address. Pages
/// already mapped (tables in RAM) are left as they are.
pub fn map_firmware(phys: u64, len: u64) -> Result<(), MapError> {
    map_identity_pages(phys, len, NO_EXECUTE)
}

fn map_identity_pages(phys: u64, len: u64, flags: u64) -> Result<(), MapError> {
    let mut tables = TABLES.lock();
    let tables = tables.as_mut().ok_or(MapError::OutOfMemory)?;
    let mut frames = FRAMES.lock();
    let frames = frames.as_mut().ok_or(MapError::OutOfMemory)?;
    let mut addr = phys & !(PAGE_4K - 1);
    while addr < phys + len {
        if tables.translate(addr).is_none() {
            tables.map(addr, addr, PAGE_4K, flags, &mut TableFrames(frames))?;
        }
        addr += PAGE_4K;
    }
    Ok(())
}

/// The image holds the service and the kernel linked together, so its pages are user pages.
fn image_page_flags(addr: u64, layout: &ImageLayout) -> u64 {
    USER | if addr < layout.rodata_start {
        0 // text: read + execute
    } else if addr < layout.data_start {
        NO_EXECUTE // rodata
    } else if addr < layout.data_end {
        WRITABLE | NO_EXECUTE // data, bss
    } else {
        NO_EXECUTE // appended: symbols, config, root fs
    }
}

/// Allocate `count` contiguous frames (not necessarily zeroed), aligned to `align` frames.
pub fn alloc_frames_contiguous(count: u64, align: u64) -> Option<u64> {
    FRAMES
        .lock()
        .as_mut()?
        .alloc_contiguous(count, align)
        .map(|f| f.start)
}

pub fn free_frames(phys: u64, count: u64) {
    if let Some(f) = FRAMES.lock().as_mut() {
        f.free(phys, count);
    }
}

/// Frames the service's mappings may not take: the kernel's own allocations (its heap, page
/// tables, thread stacks) must still succeed when the service has used up memory, so that the
/// service sees ENOMEM and the kernel keeps running.
fn kernel_reserve(frames: &FrameBitmap<'_>) -> u64 {
    (frames.total_frames() / 64).clamp(64, 4096)
}

fn service_may_take(frames: &FrameBitmap<'_>, count: u64) -> bool {
    frames.free_frames() >= count + kernel_reserve(frames)
}

/// Frames for page tables when the FRAMES lock is not held (taken per table, after TABLES).
struct LockingTableFrames;

impl FrameSource for LockingTableFrames {
    fn alloc_table(&mut self) -> Option<u64> {
        let mut frames = FRAMES.lock();
        TableFrames(frames.as_mut()?).alloc_table()
    }
}

/// One 4 KiB frame for the service's memory, from this CPU's cache (refilled from the bitmap
/// without dipping into the kernel reserve). When the bitmap is dry, the other CPUs' cached
/// frames are gathered back once before giving up.
fn service_frame() -> Option<Frames> {
    let refill = |batch: &mut [Frames]| {
        let mut frames = FRAMES.lock();
        let Some(f) = frames.as_mut() else {
            return 0;
        };
        let available = f.free_frames().saturating_sub(kernel_reserve(f));
        let n = (batch.len() as u64).min(available) as usize;
        for slot in batch[..n].iter_mut() {
            match f.alloc_one() {
                Some(frame) => *slot = frame,
                None => return 0,
            }
        }
        n
    };
    if let Some(frame) = super::frame_cache::take(refill, free_frame_list) {
        return Some(frame);
    }
    if super::frame_cache::reclaim_all(free_frame_list) == 0 {
        return None;
    }
    super::frame_cache::take(refill, free_frame_list)
}

/// Give 4 KiB frames back to the bitmap.
fn free_frame_list(list: &[u64]) {
    if let Some(f) = FRAMES.lock().as_mut() {
        for &phys in list {
            f.free(phys, 1);
        }
    }
}

/// 2 MiB of contiguous frames for a huge page of the service, if the bitmap has them to spare.
fn service_huge_frames() -> Option<Frames> {
    let mut frames = FRAMES.lock();
    let f = frames.as_mut()?;
    let count = PAGE_2M / FRAME_SIZE;
    if !service_may_take(f, count) {
        return None;
    }
    f.alloc_contiguous(count, count)
}

/// Frames ready to be mapped: allocated and zeroed before the page-table lock is taken, so
/// clearing memory (the dearest part) never holds up other CPUs.
struct Prepared {
    virt: u64,
    frames: Frames,
    size: u64,
}

/// Pages mapped per hold of the page-table lock when a range needs many 4 KiB pages.
const MAP_BATCH: usize = 16;

/// Map `len` bytes at `virt` to freshly allocated zeroed frames, using 2 MiB pages where the range
/// allows. On failure everything mapped so far is undone; `AlreadyMapped` means part of the range
/// was mapped already (another thread's fault on the same lazy page won the race).
pub fn map_anonymous(virt: u64, len: u64, flags: u64) -> Result<(), MapError> {
    // A request that cannot fit fails before anything is allocated.
    let needed = len.div_ceil(FRAME_SIZE);
    if needed > 1 {
        let frames = FRAMES.lock();
        let f = frames.as_ref().ok_or(MapError::OutOfMemory)?;
        let spare = f.free_frames() + super::frame_cache::cached_frames();
        if spare < needed + kernel_reserve(f) {
            return Err(MapError::OutOfMemory);
        }
    }
    let end = virt + len;
    let mut addr = virt;
    let mut batch: [Option<Prepared>; MAP_BATCH] = [const { None }; MAP_BATCH];
    while addr < end {
        // Gather and clear frames with no lock held.
        let batch_start = addr;
        let mut n = 0;
        while n < MAP_BATCH && addr < end {
            let huge = addr.is_multiple_of(PAGE_2M) && end - addr >= PAGE_2M;
            let got = if huge {
                service_huge_frames().map(|f| (f, PAGE_2M))
            } else {
                None
            };
            let Some((frames, size)) = got.or_else(|| service_frame().map(|f| (f, PAGE_4K))) else {
                release_prepared(&mut batch[..n]);
                unmap_fresh(virt, batch_start - virt);
                return Err(MapError::OutOfMemory);
            };
            ensure_zeroed(frames, size / FRAME_SIZE);
            batch[n] = Some(Prepared {
                virt: addr,
                frames,
                size,
            });
            n += 1;
            addr += size;
            if size == PAGE_2M {
                break; // map a huge page at once: it is worth a lock of its own
            }
        }
        if let Err((e, failed_at)) = map_prepared(&mut batch[..n], flags) {
            release_prepared(&mut batch[..n]);
            unmap_fresh(virt, failed_at - virt);
            return Err(e);
        }
    }
    Ok(())
}

/// Map a batch of prepared frames under one hold of the page-table lock. Entries that were
/// mapped are taken out of the batch. On error, returns the address of the first page the batch
/// did not map (the pages before it are mapped; the caller releases what is left in the batch).
fn map_prepared(batch: &mut [Option<Prepared>], flags: u64) -> Result<(), (MapError, u64)> {
    let mut tables = TABLES.lock();
    let Some(tables) = tables.as_mut() else {
        let first = batch.iter().flatten().map(|p| p.virt).min().unwrap_or(0);
        return Err((MapError::OutOfMemory, first));
    };
    for slot in batch.iter_mut() {
        let Some(p) = slot.as_ref() else { continue };
        let (virt, phys, size) = (p.virt, p.frames.start, p.size);
        if size == PAGE_2M {
            let (free, detached) = tables.claim_huge_slot(virt);
            if let Some(table) = detached {
                free_frame_list(&[table]);
                cpu::invlpg(virt);
            }
            if !free {
                // A page table with entries sits in this 2 MiB slot: map the (zeroed) run as
                // 4 KiB pages. The run is map_split's from here on, freed by it on failure.
                *slot = None;
                map_split(tables, virt, phys, flags).map_err(|e| (e, virt))?;
                continue;
            }
        }
        tables
            .map(virt, phys, size, flags, &mut LockingTableFrames)
            .map_err(|e| (e, virt))?;
        *slot = None;
    }
    Ok(())
}

/// Map a 2 MiB run of frames as 512 pages of 4 KiB. On failure the pages it mapped are
/// unmapped again and the whole run is freed.
fn map_split(tables: &mut PageTables, virt: u64, phys: u64, flags: u64) -> Result<(), MapError> {
    let pages = PAGE_2M / PAGE_4K;
    for i in 0..pages {
        let result = tables.map(
            virt + i * PAGE_4K,
            phys + i * PAGE_4K,
            PAGE_4K,
            flags,
            &mut LockingTableFrames,
        );
        if let Err(e) = result {
            for j in 0..i {
                tables.unmap_leaf(virt + j * PAGE_4K);
                cpu::invlpg(virt + j * PAGE_4K);
            }
            if let Some(f) = FRAMES.lock().as_mut() {
                f.free(phys, pages);
            }
            return Err(e);
        }
    }
    Ok(())
}

/// Free frames of a batch that were not mapped.
fn release_prepared(batch: &mut [Option<Prepared>]) {
    for p in batch.iter_mut().filter_map(Option::take) {
        if p.size == PAGE_2M {
            if let Some(f) = FRAMES.lock().as_mut() {
                f.free(p.frames.start, PAGE_2M / FRAME_SIZE);
            }
        } else {
            super::frame_cache::give(p.frames.start, p.frames.zeroed, free_frame_list);
        }
    }
}

/// Undo part of a mapping that no other CPU has used yet (a failed `map_anonymous`).
fn unmap_fresh(virt: u64, len: u64) {
    if len == 0 {
        return;
    }
    let mut tables = TABLES.lock();
    let mut frames = FRAMES.lock();
    if let (Some(t), Some(f)) = (tables.as_mut(), frames.as_mut()) {
        unmap_locked(t, f, virt, len);
    }
}

/// Unmap `[virt, virt+len)` (4 KiB aligned) and free the frames behind it.
/// Other CPUs may have cached the translations: the frames are freed only after a shootdown.
pub fn unmap(virt: u64, len: u64) {
    let mut released = alloc::vec::Vec::new();
    {
        let mut tables = TABLES.lock();
        let mut frames = FRAMES.lock();
        let (Some(t), Some(f)) = (tables.as_mut(), frames.as_mut()) else {
            return;
        };
        let _ = split_edges(t, f, virt, len);
        let mut addr = virt;
        while addr < virt + len {
            match t.unmap_leaf(addr) {
                Some((phys, size)) => {
                    released.push((phys, size / FRAME_SIZE));
                    addr += size;
                }
                None => addr += PAGE_4K,
            }
        }
    }
    super::tlb::shootdown();
    // Single frames go to this CPU's cache (the next fault or mmap here takes them back without
    // the global lock); huge pages' runs to the bitmap, where 2 MiB runs can form again.
    if let Some(f) = FRAMES.lock().as_mut() {
        for &(phys, count) in released.iter().filter(|(_, count)| *count > 1) {
            f.free(phys, count);
        }
    }
    for &(phys, _) in released.iter().filter(|(_, count)| *count == 1) {
        super::frame_cache::give(phys, false, free_frame_list);
    }
}

/// Move the pages of `[from, from+len)` to `[to, to+len)` (both 4 KiB aligned, not overlapping)
/// without copying their contents: the page-table entries move, frames and permissions with
/// them, pages without a frame stay without one. For `mremap`.
pub fn move_range(from: u64, to: u64, len: u64) -> Result<(), MapError> {
    let result = (|| {
        let mut tables = TABLES.lock();
        let tables = tables.as_mut().ok_or(MapError::OutOfMemory)?;
        let mut frames = FRAMES.lock();
        let frames = frames.as_mut().ok_or(MapError::OutOfMemory)?;
        split_edges(tables, frames, from, len)?;
        if from % PAGE_2M != to % PAGE_2M {
            // Huge pages only move whole when both ends are aligned the same way.
            tables.split_to_4k(from, len, &mut TableFrames(frames))?;
        }
        let mut addr = from;
        while addr < from + len {
            match tables.take_leaf(addr) {
                Some((entry, size)) => {
                    tables.put_leaf(to + (addr - from), entry, size, &mut TableFrames(frames))?;
                    addr += size;
                }
                None => addr += PAGE_4K,
            }
        }
        Ok(())
    })();
    super::tlb::shootdown();
    result
}

/// Undo part of a mapping that no other CPU has seen yet (a failed `map_anonymous`).
fn unmap_locked(tables: &mut PageTables, frames: &mut FrameBitmap<'static>, virt: u64, len: u64) {
    let _ = split_edges(tables, frames, virt, len);
    let mut addr = virt;
    while addr < virt + len {
        match tables.unmap_leaf(addr) {
            Some((phys, size)) => {
                frames.free(phys, size / FRAME_SIZE);
                cpu::invlpg(addr);
                addr += size;
            }
            None => addr += PAGE_4K,
        }
    }
}

/// Change the permissions of `[virt, virt+len)` (4 KiB aligned). `accessible == false` is
/// PROT_NONE: frames stay (contents survive) but every access faults. Pages of the range that have
/// no frame yet (areas created PROT_NONE) get zeroed frames when they become accessible.
/// With `populate_missing == false` (lazy areas) pages without a frame stay without one.
pub fn protect(
    virt: u64,
    len: u64,
    flags: u64,
    accessible: bool,
    populate_missing: bool,
) -> Result<(), MapError> {
    let result = protect_locked(virt, len, flags, accessible, populate_missing);
    // Other CPUs may hold the old permissions in their TLBs.
    super::tlb::shootdown();
    result
}

fn protect_locked(
    virt: u64,
    len: u64,
    flags: u64,
    accessible: bool,
    populate_missing: bool,
) -> Result<(), MapError> {
    let mut tables = TABLES.lock();
    let tables = tables.as_mut().ok_or(MapError::OutOfMemory)?;
    let mut frames = FRAMES.lock();
    let frames = frames.as_mut().ok_or(MapError::OutOfMemory)?;
    split_edges(tables, frames, virt, len)?;
    let mut addr = virt;
    while addr < virt + len {
        let size = match tables.leaf(addr) {
            Some((_, size)) => {
                tables.set_flags(addr, flags, accessible);
                cpu::invlpg(addr);
                size
            }
            None if accessible && populate_missing => {
                if !service_may_take(frames, 1) {
                    return Err(MapError::OutOfMemory);
                }
                let got = frames.alloc_one().ok_or(MapError::OutOfMemory)?;
                ensure_zeroed(got, 1);
                tables.map(addr, got.start, PAGE_4K, flags, &mut TableFrames(frames))?;
                PAGE_4K
            }
            None => PAGE_4K,
        };
        addr += size;
    }
    Ok(())
}

/// Split huge pages that straddle the edges of `[virt, virt+len)` so the range can change alone.
fn split_edges(
    tables: &mut PageTables,
    frames: &mut FrameBitmap<'static>,
    virt: u64,
    len: u64,
) -> Result<(), MapError> {
    for edge in [virt, virt + len] {
        if edge % PAGE_2M != 0 {
            tables.split_to_4k(edge & !(PAGE_4K - 1), PAGE_4K, &mut TableFrames(frames))?;
        }
    }
    Ok(())
}

/// Leaf flags of the page mapping `virt`, or None when unmapped.
pub fn page_flags(virt: u64) -> Option<u64> {
    TABLES
        .lock()
        .as_ref()?
        .translate(virt)
        .map(|(_, flags)| flags)
}

/// Whether the service may access `[addr, addr+len)`: every page a mapped user page (and
/// writable if `write`). Kernel memory (the identity map, kernel stacks) never qualifies.
pub fn is_accessible(addr: u64, len: u64, write: bool) -> bool {
    if len == 0 {
        return true;
    }
    let Some(end) = addr.checked_add(len) else {
        return false;
    };
    let tables = TABLES.lock();
    let Some(tables) = tables.as_ref() else {
        return false;
    };
    let mut page = addr & !(PAGE_4K - 1);
    while page < end {
        match tables.translate(page) {
            Some((_, flags)) if flags & USER != 0 && (!write || flags & WRITABLE != 0) => {
                page += PAGE_4K
            }
            _ => return false,
        }
    }
    true
}

/// Map a guard page (made by `unmap_guard_page`) back into the identity map, before its frame is
/// freed and reused.
pub fn restore_guard_page(virt: u64) {
    let mut tables = TABLES.lock();
    let mut frames = FRAMES.lock();
    if let (Some(t), Some(f)) = (tables.as_mut(), frames.as_mut())
        && t.translate(virt).is_none()
    {
        let _ = t.map(
            virt,
            virt,
            PAGE_4K,
            WRITABLE | NO_EXECUTE,
            &mut TableFrames(f),
        );
    }
}

/// Whether the kernel can read `[addr, addr+len)` (any mapped, present page, user or not).
pub fn is_readable(addr: u64, len: u64) -> bool {
    let Some(end) = addr.checked_add(len) else {
        return false;
    };
    let tables = TABLES.lock();
    let Some(tables) = tables.as_ref() else {
        return false;
    };
    let mut page = addr & !(PAGE_4K - 1);
    while page < end {
        if tables.translate(page).is_none() {
            return false;
        }
        page += PAGE_4K;
    }
    true
}

/// A kernel stack of `size` bytes (a multiple of 4 KiB) with an unmapped guard page below it;
/// returns its top, or None when memory is exhausted.
pub fn alloc_kernel_stack(size: u64) -> Option<u64> {
    let frames = size / FRAME_SIZE + 1;
    let base = alloc_frames_contiguous(frames, 1)?;
    unmap_guard_page(base);
    Some(base + frames * FRAME_SIZE)
}

/// Kernel stacks of the given sizes (multiples of 4 KiB), each with an unmapped guard page below
/// it, from one contiguous run of frames and with the page tables locked once: CPU bring-up needs
/// dozens, and each allocation and lock costs when the kernel's instructions are emulated.
/// Returns their tops in order, or None when memory is exhausted.
pub fn alloc_kernel_stacks(sizes: &[u64]) -> Option<alloc::vec::Vec<u64>> {
    let frames = sizes.iter().map(|s| s / FRAME_SIZE + 1).sum();
    let mut at = alloc_frames_contiguous(frames, 1)?;
    let mut tops = alloc::vec::Vec::with_capacity(sizes.len());
    let mut tables = TABLES.lock();
    let mut bitmap = FRAMES.lock();
    if let (Some(t), Some(f)) = (tables.as_mut(), bitmap.as_mut()) {
        for size in sizes {
            // One walk when the page is mapped 4 KiB already (after the first guard page of each
            // 2 MiB the split made).
            match t.leaf(at) {
                Some((e, PAGE_4K)) => *e = 0,
                _ => {
                    let _ = t.split_to_4k(at, PAGE_4K, &mut TableFrames(f));
                    let _ = t.unmap_leaf(at);
                }
            }
            cpu::invlpg(at);
            at += FRAME_SIZE + size / FRAME_SIZE * FRAME_SIZE;
            tops.push(at);
        }
    }
    Some(tops)
}

/// Remove the mapping of one page (a guard page) without freeing anything behind it.
pub fn unmap_guard_page(virt: u64) {
    let mut tables = TABLES.lock();
    let mut frames = FRAMES.lock();
    if let (Some(t), Some(f)) = (tables.as_mut(), frames.as_mut()) {
        let _ = t.split_to_4k(virt, PAGE_4K, &mut TableFrames(f));
        let _ = t.unmap_leaf(virt);
        cpu::invlpg(virt);
    }
}

pub use paging::MapError;

/// Zero the memory behind `[virt, virt+len)` (4 KiB aligned), including inaccessible (PROT_NONE)
/// pages whose frames are kept. Used by MADV_DONTNEED.
pub fn zero(virt: u64, len: u64) {
    let tables = TABLES.lock();
    let Some(tables) = tables.as_ref() else {
        return;
    };
    let mut addr = virt;
    while addr < virt + len {
        if let Some((e, size)) = tables.leaf(addr) {
            let page_base = addr & !(size - 1);
            let phys = (*e & 0x000F_FFFF_FFFF_F000 & !(size - 1)) + (addr - page_base);
            let n = (size - (addr - page_base)).min(virt + len - addr);
            // SAFETY: `phys` is the frame behind a mapping of the service, identity-mapped RAM.
            unsafe { core::ptr::write_bytes(phys as *mut u8, 0, n as usize) };
            addr += n;
        } else {
            addr += PAGE_4K;
        }
    }
}
