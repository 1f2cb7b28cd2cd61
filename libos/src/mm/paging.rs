//! Four-level page tables. Page-table frames are reached through the identity map of RAM, so a
//! table's physical address is also its address.

use super::frames::FRAME_SIZE;

pub const PRESENT: u64 = 1;
pub const WRITABLE: u64 = 1 << 1;
/// Accessible from ring 3 (the service); at every level of the walk.
pub const USER: u64 = 1 << 2;
pub const WRITE_THROUGH: u64 = 1 << 3;
pub const CACHE_DISABLE: u64 = 1 << 4;
pub const HUGE: u64 = 1 << 7;
pub const GLOBAL: u64 = 1 << 8;
pub const NO_EXECUTE: u64 = 1 << 63;
/// Software bit: a page made inaccessible (PROT_NONE) whose frame is kept for when access returns.
pub const KEPT: u64 = 1 << 9;
const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;
/// Flags that belong to the leaf mapping (copied when a huge page is split).
const LEAF_FLAGS: u64 =
    PRESENT | WRITABLE | USER | WRITE_THROUGH | CACHE_DISABLE | GLOBAL | NO_EXECUTE | KEPT;

pub const PAGE_4K: u64 = FRAME_SIZE;
pub const PAGE_2M: u64 = 2 * 1024 * 1024;
pub const PAGE_1G: u64 = 1 << 30;

/// Where page-table frames come from.
pub trait FrameSource {
    /// A zeroed 4 KiB frame, or None when memory is exhausted.
    fn alloc_table(&mut self) -> Option<u64>;
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum MapError {
    OutOfMemory,
    AlreadyMapped,
}

fn table(phys: u64) -> &'static mut [u64; 512] {
    // SAFETY: page-table frames are identity-mapped RAM owned by the page-table code; callers hold
    // the address-space lock, so no two references to one table are live at once.
    unsafe { &mut *(phys as *mut [u64; 512]) }
}

fn index(virt: u64, level: u32) -> usize {
    ((virt >> (12 + 9 * (level - 1))) & 0x1FF) as usize
}

pub struct PageTables {
    pub root: u64,
}

impl PageTables {
    pub fn new(frames: &mut impl FrameSource) -> Option<Self> {
        Some(PageTables {
            root: frames.alloc_table()?,
        })
    }

    /// The entry for `virt` at `level` (1 = 4 KiB PTE, 2 = 2 MiB PDE), creating intermediate tables.
    /// Splits a huge page met on the way so the result covers exactly `virt`'s page of that level.
    fn entry(
        &mut self,
        virt: u64,
        level: u32,
        frames: &mut impl FrameSource,
    ) -> Result<&'static mut u64, MapError> {
        let mut current = self.root;
        for l in (level + 1..=4).rev() {
            let e = &mut table(current)[index(virt, l)];
            if *e & (PRESENT | KEPT) == 0 {
                let new = frames.alloc_table().ok_or(MapError::OutOfMemory)?;
                // Intermediate levels allow everything; the leaf decides.
                *e = new | PRESENT | WRITABLE | USER;
            } else if *e & HUGE != 0 {
                split_huge(e, l, frames)?;
            }
            current = *e & ADDRESS_MASK;
        }
        Ok(&mut table(current)[index(virt, level)])
    }

    /// Map one page of `size` (4 KiB or 2 MiB).
    pub fn map(
        &mut self,
        virt: u64,
        phys: u64,
        size: u64,
        flags: u64,
        frames: &mut impl FrameSource,
    ) -> Result<(), MapError> {
        let (level, extra) = if size == PAGE_2M { (2, HUGE) } else { (1, 0) };
        let e = self.entry(virt, level, frames)?;
        if *e & (PRESENT | KEPT) != 0 {
            return Err(MapError::AlreadyMapped);
        }
        *e = phys | flags | extra | PRESENT;
        Ok(())
    }

    /// Map `[start, end)` (aligned to `page`: 4 KiB, 2 MiB or 1 GiB) to the same physical addresses with
    /// per-page flags, filling each table directly instead of walking from the root per page
    /// (boot builds thousands of entries this way; under instruction emulation that matters).
    pub fn map_identity_range(
        &mut self,
        start: u64,
        end: u64,
        page: u64,
        flags_for: impl Fn(u64) -> Option<u64>,
        frames: &mut impl FrameSource,
    ) -> Result<(), MapError> {
        let (level, extra, span) = match page {
            PAGE_1G => (3, HUGE, 512 * PAGE_1G),
            PAGE_2M => (2, HUGE, PAGE_1G),
            _ => (1, 0, PAGE_2M),
        };
        let mut addr = start;
        while addr < end {
            // One table covers `span`; fetch it once and fill its entries.
            let first = self.entry(addr, level, frames)? as *mut u64;
            let table_end = ((addr / span) + 1) * span;
            let mut index = 0;
            while addr < end && addr < table_end {
                if let Some(flags) = flags_for(addr) {
                    // SAFETY: `first` points into a 512-entry table and `index` stays inside it
                    // (addresses stop at the table's span).
                    unsafe { *first.add(index) = addr | flags | extra | PRESENT };
                }
                index += 1;
                addr += page;
            }
        }
        Ok(())
    }

    /// Whether a 2 MiB page can be mapped at `virt` (2 MiB aligned): nothing is mapped in that
    /// slot. A page table left there empty by earlier unmapping is detached so the slot is free
    /// again; its frame is returned for the caller to free.
    pub fn claim_huge_slot(&mut self, virt: u64) -> (bool, Option<u64>) {
        let mut current = self.root;
        for level in (3..=4).rev() {
            let e = table(current)[index(virt, level)];
            if e & (PRESENT | KEPT) == 0 {
                return (true, None);
            }
            if e & HUGE != 0 {
                return (false, None);
            }
            current = e & ADDRESS_MASK;
        }
        let pde = &mut table(current)[index(virt, 2)];
        if *pde & (PRESENT | KEPT) == 0 {
            return (true, None);
        }
        if *pde & HUGE != 0 {
            return (false, None);
        }
        let pt = *pde & ADDRESS_MASK;
        if table(pt).iter().all(|&e| e == 0) {
            *pde = 0;
            (true, Some(pt))
        } else {
            (false, None)
        }
    }

    /// Find the leaf entry for `virt`: (entry, page size), including kept inaccessible pages.
    /// None if nothing is mapped there.
    pub fn leaf(&self, virt: u64) -> Option<(&'static mut u64, u64)> {
        let mut current = self.root;
        for level in (1..=4).rev() {
            let e = &mut table(current)[index(virt, level)];
            if *e & (PRESENT | KEPT) == 0 {
                return None;
            }
            if level == 1 || *e & HUGE != 0 {
                let size = match level {
                    1 => PAGE_4K,
                    2 => PAGE_2M,
                    _ => 1 << 30,
                };
                return Some((e, size));
            }
            current = *e & ADDRESS_MASK;
        }
        None
    }

    /// Physical address and leaf flags for `virt`, if mapped and accessible.
    pub fn translate(&self, virt: u64) -> Option<(u64, u64)> {
        let (e, size) = self.leaf(virt)?;
        if *e & PRESENT == 0 {
            return None;
        }
        let base = *e & ADDRESS_MASK & !(size - 1);
        Some((base + (virt & (size - 1)), *e & LEAF_FLAGS))
    }

    /// Make `[virt, virt+len)` (4 KiB aligned) mapped with 4 KiB leaves so parts can change.
    pub fn split_to_4k(
        &mut self,
        virt: u64,
        len: u64,
        frames: &mut impl FrameSource,
    ) -> Result<(), MapError> {
        let mut addr = virt;
        while addr < virt + len {
            match self.leaf(addr) {
                Some((e, size)) if size > PAGE_4K => {
                    let level = if size == PAGE_2M { 2 } else { 3 };
                    split_huge(e, level, frames)?;
                }
                Some(_) => addr += PAGE_4K,
                None => addr = (addr + PAGE_4K) & !(PAGE_4K - 1),
            }
        }
        Ok(())
    }

    /// Remove the leaf entry at `virt` and return it as it was (frame, flags, presence) with its
    /// page size, to be put elsewhere with `put_leaf`.
    pub fn take_leaf(&mut self, virt: u64) -> Option<(u64, u64)> {
        let (e, size) = self.leaf(virt)?;
        let entry = *e;
        *e = 0;
        Some((entry, size))
    }

    /// Install a leaf entry taken by `take_leaf` at `virt` (aligned to its size).
    pub fn put_leaf(
        &mut self,
        virt: u64,
        entry: u64,
        size: u64,
        frames: &mut impl FrameSource,
    ) -> Result<(), MapError> {
        let level = if size == PAGE_2M { 2 } else { 1 };
        let e = self.entry(virt, level, frames)?;
        if *e & (PRESENT | KEPT) != 0 {
            return Err(MapError::AlreadyMapped);
        }
        *e = entry;
        Ok(())
    }

    /// Unmap one leaf page at `virt` of the size it was mapped with; returns (phys, size).
    pub fn unmap_leaf(&mut self, virt: u64) -> Option<(u64, u64)> {
        let (e, size) = self.leaf(virt)?;
        let phys = *e & ADDRESS_MASK & !(size - 1);
        *e = 0;
        Some((phys, size))
    }

    /// Replace the leaf flags of the page mapping `virt`. `accessible == false` keeps the frame but
    /// makes the page fault on any access (PROT_NONE).
    pub fn set_flags(&mut self, virt: u64, flags: u64, accessible: bool) -> bool {
        match self.leaf(virt) {
            Some((e, size)) => {
                let huge = if size > PAGE_4K { HUGE } else { 0 };
                let presence = if accessible { PRESENT } else { KEPT };
                *e = (*e & ADDRESS_MASK) | (flags & !(PRESENT | KEPT)) | huge | presence;
                true
            }
            None => false,
        }
    }
}

/// Turn a huge-page entry at `level` (2 or 3) into a table of the next smaller pages.
fn split_huge(e: &mut u64, level: u32, frames: &mut impl FrameSource) -> Result<(), MapError> {
    let new = frames.alloc_table().ok_or(MapError::OutOfMemory)?;
    let base = *e & ADDRESS_MASK & !((1u64 << (12 + 9 * (level - 1))) - 1);
    let flags = *e & LEAF_FLAGS;
    let child_size = 1u64 << (12 + 9 * (level - 2));
    let child_huge = if level > 2 { HUGE } else { 0 };
    let t = table(new);
    for (i, slot) in t.iter_mut().enumerate() {
        *slot = (base + i as u64 * child_size) | flags | child_huge;
    }
    *e = new | PRESENT | WRITABLE | USER;
    Ok(())
}
