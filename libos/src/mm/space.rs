//! The address space: builds the final page tables at boot (all RAM identity-mapped, the image
//! W^X, page 0 absent) and maps and unmaps the service's memory afterwards.

use super::frames::{FRAME_SIZE, FrameBitmap};
use super::paging::{
    self, CACHE_DISABLE, FrameSource, NO_EXECUTE, PAGE_2M, PAGE_4K, PageTables, WRITABLE, WRITE_THROUGH,
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
        zero_frames(frame, 1);
        Some(frame)
    }
}

fn zero_frames(phys: u64, count: u64) {
    // SAFETY: the frames were just allocated and are identity-mapped RAM nobody else references.
    unsafe { core::ptr::write_bytes(phys as *mut u8, 0, (count * FRAME_SIZE) as usize) }
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
    MemoryStats { total_frames: f.total_frames(), free_frames: f.free_frames() }
}

/// Set up frames and the final page tables. `memory` is the boot loader's map.
pub fn init(memory: &[MemoryRegion]) {
    let layout = image_layout();
    let phys_top = memory.iter().filter(|r| r.usable).map(|r| r.start + r.len).max().unwrap_or(0);
    let frame_count = phys_top / FRAME_SIZE;
    let words = FrameBitmap::words_for(frame_count);
    let bitmap_bytes = (words * 8) as u64;

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
    let bits = unsafe { core::slice::from_raw_parts_mut(bitmap_at as *mut u64, words) };
    let mut bitmap = FrameBitmap::new_all_used(bits, frame_count);
    for r in memory.iter().filter(|r| r.usable) {
        bitmap.release_range(r.start, r.start + r.len);
    }
    // Low memory stays reserved: the real-mode area, firmware data, and the CPU start-up trampoline.
    bitmap.reserve_range(0, 0x10_0000);
    bitmap.reserve_range(layout.start, layout.end);
    bitmap.reserve_range(bitmap_at, bitmap_at + bitmap_bytes);

    let tables = build_kernel_tables(&mut bitmap, memory, phys_top, &layout).expect("out of memory building page tables");
    // SAFETY: the new tables map all RAM identically to the boot tables, including this code and stack.
    unsafe { cpu::write_cr3(tables.root) };
    *FRAMES.lock() = Some(bitmap);
    *TABLES.lock() = Some(tables);
}

fn build_kernel_tables(
    bitmap: &mut FrameBitmap<'static>,
    memory: &[MemoryRegion],
    phys_top: u64,
    layout: &ImageLayout,
) -> Result<PageTables, MapError> {
    let mut source = TableFrames(bitmap);
    let mut tables = PageTables::new(&mut source).ok_or(MapError::OutOfMemory)?;
    let is_ram = |addr: u64| memory.iter().any(|r| r.usable && addr >= r.start && addr < r.start + r.len);
    let fine_start = 0;
    let fine_end = layout.end.next_multiple_of(PAGE_2M);
    let top = phys_top.max(4 << 30).next_multiple_of(PAGE_2M);

    // 4 KiB pages where permissions differ within 2 MiB: low memory and the image.
    let mut addr = fine_start + PAGE_4K; // page 0 stays unmapped: NULL dereferences fault
    while addr < fine_end {
        let flags = if addr >= layout.start && addr < layout.end {
            image_page_flags(addr, layout)
        } else {
            WRITABLE | NO_EXECUTE
        };
        tables.map(addr, addr, PAGE_4K, flags, &mut source)?;
        addr += PAGE_4K;
    }
    // 2 MiB pages for the rest; anything that is not RAM (MMIO: local APIC, I/O APIC, PCI) uncached.
    while addr < top {
        let flags = if is_ram(addr) { WRITABLE | NO_EXECUTE } else { WRITABLE | NO_EXECUTE | CACHE_DISABLE | WRITE_THROUGH };
        tables.map(addr, addr, PAGE_2M, flags, &mut source)?;
        addr += PAGE_2M;
    }
    Ok(tables)
}

fn image_page_flags(addr: u64, layout: &ImageLayout) -> u64 {
    if addr < layout.rodata_start {
        0 // text: read + execute
    } else if addr < layout.data_start {
        NO_EXECUTE // rodata
    } else if addr < layout.data_end {
        WRITABLE | NO_EXECUTE // data, bss
    } else {
        NO_EXECUTE // appended: symbols, config, root fs
    }
}

/// Allocate `count` contiguous frames (not zeroed), aligned to `align` frames.
pub fn alloc_frames_contiguous(count: u64, align: u64) -> Option<u64> {
    FRAMES.lock().as_mut()?.alloc_contiguous(count, align)
}

pub fn free_frames(phys: u64, count: u64) {
    if let Some(f) = FRAMES.lock().as_mut() {
        f.free(phys, count);
    }
}

/// Map `len` bytes at `virt` to freshly allocated zeroed frames, using 2 MiB pages where the range
/// allows. On failure everything mapped so far is undone.
pub fn map_anonymous(virt: u64, len: u64, flags: u64) -> Result<(), MapError> {
    let mut tables = TABLES.lock();
    let tables = tables.as_mut().ok_or(MapError::OutOfMemory)?;
    let mut frames = FRAMES.lock();
    let frames = frames.as_mut().ok_or(MapError::OutOfMemory)?;
    let mut addr = virt;
    let end = virt + len;
    while addr < end {
        let huge = addr % PAGE_2M == 0 && end - addr >= PAGE_2M;
        let mapped = if huge {
            frames.alloc_contiguous(PAGE_2M / FRAME_SIZE, PAGE_2M / FRAME_SIZE).map(|p| (p, PAGE_2M))
        } else {
            None
        };
        let (phys, size) = match mapped.or_else(|| frames.alloc_one().map(|p| (p, PAGE_4K))) {
            Some(m) => m,
            None => {
                unmap_locked(tables, frames, virt, addr - virt);
                return Err(MapError::OutOfMemory);
            }
        };
        zero_frames(phys, size / FRAME_SIZE);
        if let Err(e) = tables.map(addr, phys, size, flags, &mut TableFrames(frames)) {
            frames.free(phys, size / FRAME_SIZE);
            unmap_locked(tables, frames, virt, addr - virt);
            return Err(e);
        }
        addr += size;
    }
    Ok(())
}

/// Unmap `[virt, virt+len)` (4 KiB aligned) and free the frames behind it.
pub fn unmap(virt: u64, len: u64) {
    let mut tables = TABLES.lock();
    let mut frames = FRAMES.lock();
    if let (Some(t), Some(f)) = (tables.as_mut(), frames.as_mut()) {
        unmap_locked(t, f, virt, len);
    }
}

fn unmap_locked(tables: &mut PageTables, frames: &mut FrameBitmap<'static>, virt: u64, len: u64) {
    // Partial huge pages become 4 KiB pages first so exactly the range goes away.
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
    // One CPU runs the service until the multicore work adds TLB shootdown IPIs here.
}

/// Change the permissions of `[virt, virt+len)` (4 KiB aligned). `accessible == false` is
/// PROT_NONE: frames stay (contents survive) but every access faults. Pages of the range that have
/// no frame yet (areas created PROT_NONE) get zeroed frames when they become accessible.
pub fn protect(virt: u64, len: u64, flags: u64, accessible: bool) -> Result<(), MapError> {
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
            None if accessible => {
                let phys = frames.alloc_one().ok_or(MapError::OutOfMemory)?;
                zero_frames(phys, 1);
                tables.map(addr, phys, PAGE_4K, flags, &mut TableFrames(frames))?;
                PAGE_4K
            }
            None => PAGE_4K,
        };
        addr += size;
    }
    Ok(())
}

/// Split huge pages that straddle the edges of `[virt, virt+len)` so the range can change alone.
fn split_edges(tables: &mut PageTables, frames: &mut FrameBitmap<'static>, virt: u64, len: u64) -> Result<(), MapError> {
    for edge in [virt, virt + len] {
        if edge % PAGE_2M != 0 {
            tables.split_to_4k(edge & !(PAGE_4K - 1), PAGE_4K, &mut TableFrames(frames))?;
        }
    }
    Ok(())
}

/// Leaf flags of the page mapping `virt`, or None when unmapped.
pub fn page_flags(virt: u64) -> Option<u64> {
    TABLES.lock().as_ref()?.translate(virt).map(|(_, flags)| flags)
}

/// Whether the service may access `[addr, addr+len)`: every page mapped (and writable if `write`).
pub fn is_accessible(addr: u64, len: u64, write: bool) -> bool {
    if len == 0 {
        return true;
    }
    let Some(end) = addr.checked_add(len) else { return false };
    let tables = TABLES.lock();
    let Some(tables) = tables.as_ref() else { return false };
    let mut page = addr & !(PAGE_4K - 1);
    while page < end {
        match tables.translate(page) {
            Some((_, flags)) if !write || flags & WRITABLE != 0 => page += PAGE_4K,
            _ => return false,
        }
    }
    true
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

pub use paging::{MapError, NO_EXECUTE as FLAG_NO_EXECUTE, WRITABLE as FLAG_WRITABLE};

/// Zero the memory behind `[virt, virt+len)` (4 KiB aligned), including inaccessible (PROT_NONE)
/// pages whose frames are kept. Used by MADV_DONTNEED.
pub fn zero(virt: u64, len: u64) {
    let tables = TABLES.lock();
    let Some(tables) = tables.as_ref() else { return };
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
