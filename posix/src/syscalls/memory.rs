//! The service's memory: `mmap` and friends over virtual memory areas, and `brk`.
//!
//! Anonymous memory is backed eagerly by zeroed frames (2 MiB pages where the range allows): on
//! the development hosts every page fault is an emulated kernel entry, far dearer than mapping at
//! once. `MAP_NORESERVE` areas and the main thread's stack are lazy instead: a page gets a frame
//! when first touched (`resolve_fault`). PROT_NONE areas get no frames until made accessible, so
//! reservations cost nothing and guard pages really fault.
//!
//! Where areas may go: `mmap` without MAP_FIXED searches `[MMAP_BASE, MMAP_LIMIT)` (a free hint
//! is honoured anywhere MAP_FIXED could go). MAP_FIXED (and MREMAP_FIXED) may use any address
//! from `MMAP_MIN_ADDR` up to the image (the low window: low RAM the kernel no longer needs after
//! boot; its identity mapping is taken out page by page as areas arrive) and everything above
//! the program break's region up to Linux's TASK_SIZE. The image and the identity map of the
//! rest of RAM (1 MiB up to the top of RAM, devices below 4 GiB) and the break's region cannot be
//! given out: a fixed mapping there is ENOMEM, as Linux answers for a range it cannot use; below
//! `MMAP_MIN_ADDR` it is EPERM, as for an unprivileged Linux process.

use ferrite_libos::frame::SyscallFrame;
use ferrite_libos::mm::paging::{MapError, NO_EXECUTE, USER, WRITABLE};
use ferrite_libos::mm::vma::{PROT_EXEC, PROT_READ, PROT_WRITE, Vma, VmaSet};
use ferrite_libos::sync::IrqMutex;

use crate::abi;
use crate::errno::{Errno, SysResult};

/// Where `mmap` places areas (far above the identity map of RAM).
pub const MMAP_BASE: u64 = 0x2000_0000_0000;
pub const MMAP_LIMIT: u64 = 0x7000_0000_0000;
/// The program break region.
pub const BRK_BASE: u64 = 0x1000_0000_0000;
pub const BRK_LIMIT: u64 = 0x1100_0000_0000;
/// Linux's default `vm.mmap_min_addr`: nothing is mapped below.
pub const MMAP_MIN_ADDR: u64 = 0x1_0000;
const PAGE: u64 = 4096;
use crate::uaccess::USER_TOP;

/// The end of the low window: where the image starts (1 MiB).
fn low_window_end() -> u64 {
    #[cfg(target_os = "none")]
    return ferrite_libos::mm::image_layout().start;
    #[cfg(not(target_os = "none"))]
    0x10_0000
}

/// Whether `[start, end)` may hold service areas (see the module comment): EPERM below
/// `MMAP_MIN_ADDR`, ENOMEM where the kernel's memory or the program break is.
fn placeable(start: u64, end: u64) -> Result<(), Errno> {
    if start < MMAP_MIN_ADDR {
        return Err(Errno::EPERM);
    }
    if end <= low_window_end() || (start >= BRK_LIMIT && end <= USER_TOP) {
        Ok(())
    } else {
        Err(Errno::ENOMEM)
    }
}

/// Take the kernel's identity mapping out of the part of `[start, end)` in the low window, before
/// service pages go there (the frames behind it are low RAM, never allocated, so nothing is
/// freed). Pages already taken out, or the service's, are left alone.
#[cfg(target_os = "none")]
fn claim_low_window(start: u64, end: u64) {
    use ferrite_libos::mm;
    let mut removed = false;
    let mut page = start;
    while page < end.min(low_window_end()) {
        if mm::page_flags(page).is_some_and(|flags| flags & USER == 0) {
            mm::unmap_guard_page(page);
            removed = true;
        }
        page += PAGE;
    }
    if removed {
        // No CPU may keep using the identity translation (the kernel's copies to the service
        // would write low RAM instead of faulting).
        mm::tlb::shootdown();
    }
}

#[cfg(not(target_os = "none"))]
fn claim_low_window(_start: u64, _end: u64) {}

/// Where a mapping of `len` bytes without MAP_FIXED goes: at `hint` when that range is free and
/// placeable (as Linux honours a hint), else the lowest free range at or above it in the mmap
/// region.
fn place(areas: &VmaSet, hint: u64, len: u64) -> Result<u64, Errno> {
    let hint = hint & !(PAGE - 1);
    if hint != 0 {
        let at = hint.max(MMAP_MIN_ADDR);
        if let Some(end) = at.checked_add(len)
            && placeable(at, end).is_ok()
            && !areas.overlaps(at, end)
        {
            return Ok(at);
        }
    }
    areas.find_free(len, hint).ok_or(Errno::ENOMEM)
}

/// Remove the areas in `[start, end)` and free what backs them.
/// Unmap `[start, end)` (page-aligned), as munmap.
pub fn unmap(start: u64, len: u64) {
    unmap_areas(&mut MEMORY.lock().areas, start, start + len);
}

fn unmap_areas(areas: &mut VmaSet, start: u64, end: u64) {
    for piece in areas.remove(start, end) {
        backend::unmap(piece.start, piece.end - piece.start);
    }
}

struct ServiceMemory {
    areas: VmaSet,
    brk: u64,
}

static MEMORY: IrqMutex<ServiceMemory> = IrqMutex::new(ServiceMemory {
    areas: VmaSet::new(MMAP_BASE, MMAP_LIMIT),
    brk: BRK_BASE,
});

#[cfg(target_os = "none")]
mod backend {
    pub use ferrite_libos::mm::{map_anonymous, move_range, protect, unmap, zero};
}

/// Host builds (unit tests) keep the bookkeeping and skip the page tables.
#[cfg(not(target_os = "none"))]
mod backend {
    use ferrite_libos::mm::paging::MapError;
    pub fn map_anonymous(_virt: u64, _len: u64, _flags: u64) -> Result<(), MapError> {
        Ok(())
    }
    pub fn protect(
        _virt: u64,
        _len: u64,
        _flags: u64,
        _accessible: bool,
        _populate: bool,
    ) -> Result<(), MapError> {
        Ok(())
    }
    pub fn unmap(_virt: u64, _len: u64) {}
    pub fn move_range(_from: u64, _to: u64, _len: u64) -> Result<(), MapError> {
        Ok(())
    }
    pub fn zero(_virt: u64, _len: u64) {}
}

fn page_flags(prot: u32) -> u64 {
    let mut flags = USER;
    if prot & PROT_WRITE != 0 {
        flags |= WRITABLE;
    }
    if prot & PROT_EXEC == 0 {
        flags |= NO_EXECUTE;
    }
    flags
}

fn accessible(prot: u32) -> bool {
    prot & (PROT_READ | PROT_WRITE | PROT_EXEC) != 0
}

fn map_error(e: MapError) -> Errno {
    match e {
        MapError::OutOfMemory => Errno::ENOMEM,
        MapError::AlreadyMapped => Errno::EEXIST,
    }
}

/// Back `[start, end)` according to `prot` (lazy areas get frames on first touch instead).
fn populate(start: u64, end: u64, prot: u32, lazy: bool) -> Result<(), Errno> {
    if accessible(prot) && !lazy {
        backend::map_anonymous(start, end - start, page_flags(prot)).map_err(map_error)
    } else {
        Ok(())
    }
}

fn page_round_up(len: u64) -> Option<u64> {
    len.checked_add(PAGE - 1).map(|l| l & !(PAGE - 1))
}

/// Create an anonymous mapping (also used by the kernel for the main thread's stack).
pub fn map_anonymous(
    hint: u64,
    len: u64,
    prot: u32,
    fixed: bool,
    noreplace: bool,
    lazy: bool,
) -> SysResult {
    let len = page_round_up(len).ok_or(Errno::ENOMEM)?;
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let mut memory = MEMORY.lock();
    let start = if fixed {
        let end = hint.checked_add(len).ok_or(Errno::ENOMEM)?;
        placeable(hint, end)?;
        if memory.areas.overlaps(hint, end) {
            if noreplace {
                return Err(Errno::EEXIST);
            }
            unmap_areas(&mut memory.areas, hint, end);
        }
        hint
    } else {
        place(&memory.areas, hint, len)?
    };
    claim_low_window(start, start + len);
    populate(start, start + len, prot, lazy)?;
    memory.areas.insert(Vma {
        start,
        end: start + len,
        prot,
        lazy,
    });
    Ok(start as i64)
}

/// What a page fault in a lazy area came to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FaultResolution {
    /// The page has a frame now (or already had one): retry the access.
    Resolved,
    /// No lazy area allows this access: a real fault.
    NotAllowed,
    /// The area allows it but no frame is left: Linux's OOM killer would end the process.
    OutOfMemory,
}

/// A page fault at `addr` in the service: give the page a frame if it lies in a lazy area that
/// allows the access.
pub fn resolve_fault(addr: u64, write: bool, execute: bool) -> FaultResolution {
    let memory = MEMORY.lock();
    let Some(area) = memory.areas.find(addr).copied() else {
        return FaultResolution::NotAllowed;
    };
    let allowed = if write {
        area.prot & PROT_WRITE != 0
    } else if execute {
        area.prot & PROT_EXEC != 0
    } else {
        accessible(area.prot)
    };
    if !area.lazy || !allowed {
        return FaultResolution::NotAllowed;
    }
    let page = addr & !(PAGE - 1);
    match backend::map_anonymous(page, PAGE, page_flags(area.prot)) {
        // Another thread faulted on the same page first.
        Ok(()) | Err(MapError::AlreadyMapped) => FaultResolution::Resolved,
        Err(MapError::OutOfMemory) => FaultResolution::OutOfMemory,
    }
}

/// What lies at `addr`, for fault reports.
pub enum AreaAt {
    Unmapped,
    /// Inside an area with this protection.
    Mapped(u32),
    /// In an inaccessible area right below an accessible one: a stack's guard page.
    Guard,
}

pub fn area_at(addr: u64) -> AreaAt {
    let memory = MEMORY.lock();
    match memory.areas.find(addr) {
        None => AreaAt::Unmapped,
        Some(a) if !accessible(a.prot) => match memory.areas.find(a.end) {
            Some(above) if accessible(above.prot) => AreaAt::Guard,
            _ => AreaAt::Mapped(a.prot),
        },
        Some(a) => AreaAt::Mapped(a.prot),
    }
}

/// Bytes of the program break in use.
pub fn break_bytes() -> u64 {
    MEMORY.lock().brk - BRK_BASE
}

/// Totals by kind for the `ferrite.memreport` option: (bytes in areas, bytes in lazy areas, count).
pub fn area_totals() -> (u64, u64, usize) {
    let memory = MEMORY.lock();
    let mut total = 0;
    let mut lazy = 0;
    let mut count = 0;
    for a in memory.areas.iter() {
        total += a.end - a.start;
        if a.lazy {
            lazy += a.end - a.start;
        }
        count += 1;
    }
    (total, lazy, count)
}

/// The service's areas in address order and the program break (for /proc/self/maps).
pub fn areas_snapshot() -> (alloc::vec::Vec<Vma>, u64) {
    let memory = MEMORY.lock();
    (memory.areas.iter().copied().collect(), memory.brk)
}

/// A free range of `len` bytes whose address plus `offset` is a multiple of `align` (for mappings
/// that should use huge pages). Returns that aligned address.
pub fn reserve_aligned(len: u64, align: u64, offset: u64) -> Option<u64> {
    let memory = MEMORY.lock();
    let start = memory.areas.find_free(len + align, 0)?;
    Some((start + offset).next_multiple_of(align))
}

pub fn sys_mmap(f: &mut SyscallFrame) -> SysResult {
    let (addr, len, prot, flags, fd, offset) = (
        f.arg(0),
        f.arg(1),
        f.arg(2) as u32,
        f.arg(3) as u32,
        f.arg(4) as i32,
        f.arg(5),
    );
    let sharing = flags & (abi::MAP_SHARED | abi::MAP_PRIVATE | abi::MAP_SHARED_VALIDATE);
    if sharing == 0
        || sharing == (abi::MAP_SHARED | abi::MAP_PRIVATE)
        || prot & !(PROT_READ | PROT_WRITE | PROT_EXEC) != 0
    {
        return Err(Errno::EINVAL);
    }
    if flags & abi::MAP_GROWSDOWN != 0 {
        // Stacks that grow on fault are not supported; say so rather than hand out a fixed area.
        return Err(Errno::EINVAL);
    }
    if offset % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    let fixed = flags & (abi::MAP_FIXED | abi::MAP_FIXED_NOREPLACE) != 0;
    if fixed && addr % PAGE != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & abi::MAP_ANONYMOUS == 0 {
        return super::mmap_file::map_file(addr, len, prot, flags, fd, offset);
    }
    map_anonymous(
        addr,
        len,
        prot,
        fixed,
        flags & abi::MAP_FIXED_NOREPLACE != 0,
        flags & abi::MAP_NORESERVE != 0,
    )
}

fn check_range(addr: u64, len: u64) -> Result<u64, Errno> {
    if !addr.is_multiple_of(PAGE) {
        return Err(Errno::EINVAL);
    }
    let len = page_round_up(len).ok_or(Errno::EINVAL)?;
    addr.checked_add(len).ok_or(Errno::EINVAL)?;
    Ok(len)
}

pub fn sys_munmap(f: &mut SyscallFrame) -> SysResult {
    let addr = f.arg(0);
    let len = check_range(addr, f.arg(1))?;
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    unmap_areas(&mut MEMORY.lock().areas, addr, addr + len);
    Ok(0)
}

pub fn sys_mprotect(f: &mut SyscallFrame) -> SysResult {
    let addr = f.arg(0);
    let len = check_range(addr, f.arg(1))?;
    let prot = f.arg(2) as u32;
    if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | abi::PROT_GROWSDOWN | abi::PROT_GROWSUP) != 0 {
        return Err(Errno::EINVAL);
    }
    protect(addr, len, prot & (PROT_READ | PROT_WRITE | PROT_EXEC))
}

/// Change the protection of `[addr, addr+len)` (page-aligned, mapped: ENOMEM otherwise).
pub fn protect(addr: u64, len: u64, prot: u32) -> SysResult {
    if len == 0 {
        return Ok(0);
    }
    let mut memory = MEMORY.lock();
    if !memory.areas.fully_mapped(addr, addr + len) {
        return Err(Errno::ENOMEM);
    }
    // Area by area: pages of eager areas that have no frame yet (they were PROT_NONE) get one
    // now; lazy areas keep getting theirs on first touch.
    let pieces: alloc::vec::Vec<Vma> = memory
        .areas
        .iter()
        .filter(|a| a.start < addr + len && a.end > addr)
        .copied()
        .collect();
    for a in pieces {
        let (start, end) = (a.start.max(addr), a.end.min(addr + len));
        backend::protect(
            start,
            end - start,
            page_flags(prot),
            accessible(prot),
            !a.lazy,
        )
        .map_err(map_error)?;
    }
    memory.areas.protect(addr, addr + len, prot);
    Ok(0)
}

pub fn sys_mremap(f: &mut SyscallFrame) -> SysResult {
    let (old, old_len, new_len, flags, new_addr) =
        (f.arg(0), f.arg(1), f.arg(2), f.arg(3) as u32, f.arg(4));
    let (may_move, fixed, dont_unmap) = (
        flags & abi::MREMAP_MAYMOVE != 0,
        flags & abi::MREMAP_FIXED != 0,
        flags & abi::MREMAP_DONTUNMAP != 0,
    );
    // Linux's checks (6.x `check_mremap_params`), in its order.
    if flags & !(abi::MREMAP_MAYMOVE | abi::MREMAP_FIXED | abi::MREMAP_DONTUNMAP) != 0
        || !old.is_multiple_of(PAGE)
    {
        return Err(Errno::EINVAL);
    }
    let old_len = page_round_up(old_len).ok_or(Errno::EINVAL)?;
    let new_len = page_round_up(new_len).ok_or(Errno::EINVAL)?;
    if new_len == 0 || new_len > USER_TOP || new_addr > USER_TOP - new_len {
        return Err(Errno::EINVAL);
    }
    if (fixed || dont_unmap)
        && (!new_addr.is_multiple_of(PAGE)
            || !may_move
            || (dont_unmap && old_len != new_len)
            || (old.saturating_add(old_len) > new_addr && new_addr + new_len > old))
    {
        return Err(Errno::EINVAL);
    }
    let mut memory = MEMORY.lock();
    if memory.areas.find(old).is_none() {
        return Err(Errno::EFAULT);
    }
    if fixed || dont_unmap {
        return remap_to(
            &mut memory.areas,
            old,
            old_len,
            new_addr,
            new_len,
            fixed,
            dont_unmap,
        );
    }
    if old_len == 0 {
        // Linux's "duplicate a shared mapping": private mappings only here.
        return Err(Errno::EINVAL);
    }
    let area = *memory.areas.find(old).ok_or(Errno::EFAULT)?;
    if area.end < old.saturating_add(old_len) {
        return Err(Errno::EFAULT);
    }
    if new_len <= old_len {
        unmap_areas(&mut memory.areas, old + new_len, old + old_len);
        return Ok(old as i64);
    }
    let grow_end = old.checked_add(new_len).ok_or(Errno::ENOMEM)?;
    if placeable(old, grow_end).is_ok() && !memory.areas.overlaps(old + old_len, grow_end) {
        claim_low_window(old + old_len, grow_end);
        populate(old + old_len, grow_end, area.prot, area.lazy)?;
        memory.areas.insert(Vma {
            start: old + old_len,
            end: grow_end,
            ..area
        });
        memory.areas.protect(old, grow_end, area.prot); // merges the two areas
        return Ok(old as i64);
    }
    if !may_move {
        return Err(Errno::ENOMEM);
    }
    let new = memory.areas.find_free(new_len, 0).ok_or(Errno::ENOMEM)?;
    move_area(&mut memory.areas, area, old, old_len, new, new_len, false)
}

/// `mremap` with MREMAP_FIXED (to `new_addr`, replacing what is there) or MREMAP_DONTUNMAP (the
/// old range stays mapped, its pages empty), as Linux's `mremap_to`; the arguments are checked.
fn remap_to(
    areas: &mut VmaSet,
    old: u64,
    old_len: u64,
    new_addr: u64,
    new_len: u64,
    fixed: bool,
    dont_unmap: bool,
) -> SysResult {
    let mut old_len = old_len;
    if fixed {
        placeable(new_addr, new_addr + new_len)?;
        unmap_areas(areas, new_addr, new_addr + new_len);
    }
    if old_len > new_len {
        unmap_areas(areas, old + new_len, old.saturating_add(old_len));
        old_len = new_len;
    }
    let area = *areas.find(old).ok_or(Errno::EFAULT)?;
    if old_len == 0 {
        return Err(Errno::EINVAL);
    }
    if old_len > area.end - old {
        return Err(Errno::EFAULT);
    }
    let new = if fixed {
        new_addr
    } else {
        place(areas, new_addr, new_len)?
    };
    move_area(areas, area, old, old_len, new, new_len, dont_unmap)
}

/// Move `[old, old+old_len)` of `area` to `new` (a free, placeable range of `new_len` bytes):
/// the page-table entries go (no copy), the rest of the new range is backed as the area is.
/// With `keep_old` (MREMAP_DONTUNMAP) the old range stays an area whose pages read as zeros.
fn move_area(
    areas: &mut VmaSet,
    area: Vma,
    old: u64,
    old_len: u64,
    new: u64,
    new_len: u64,
    keep_old: bool,
) -> SysResult {
    claim_low_window(new, new + new_len);
    backend::move_range(old, new, old_len).map_err(map_error)?;
    let old_pieces = areas.remove(old, old + old_len);
    if keep_old {
        // The old range stays, without frames: lazy from now on, so its pages read as zeros and
        // get frames when touched.
        for piece in old_pieces {
            areas.insert(Vma {
                lazy: true,
                ..piece
            });
        }
    }
    if let Err(e) = populate(new + old_len, new + new_len, area.prot, area.lazy) {
        backend::unmap(new, new_len);
        return Err(e);
    }
    areas.insert(Vma {
        start: new,
        end: new + new_len,
        ..area
    });
    Ok(new as i64)
}

pub fn sys_madvise(f: &mut SyscallFrame) -> SysResult {
    let addr = f.arg(0);
    let len = check_range(addr, f.arg(1))?;
    let advice = f.arg(2) as u32;
    let known = [
        abi::MADV_NORMAL,
        abi::MADV_RANDOM,
        abi::MADV_SEQUENTIAL,
        abi::MADV_WILLNEED,
        abi::MADV_DONTNEED,
        abi::MADV_FREE,
        abi::MADV_HUGEPAGE,
        abi::MADV_NOHUGEPAGE,
        abi::MADV_DONTDUMP,
        abi::MADV_DODUMP,
        abi::MADV_DONTFORK,
        abi::MADV_DOFORK,
        abi::MADV_MERGEABLE,
        abi::MADV_UNMERGEABLE,
    ];
    if !known.contains(&advice) {
        return Err(Errno::EINVAL);
    }
    let memory = MEMORY.lock();
    if len > 0 && !memory.areas.fully_mapped(addr, addr + len) {
        return Err(Errno::ENOMEM);
    }
    if advice == abi::MADV_DONTNEED || advice == abi::MADV_FREE {
        // Linux gives zero-filled pages on the next touch after DONTNEED (FREE may, too): lazy
        // areas give their frames back (a touch brings a fresh zeroed page), eager ones are
        // cleared in place.
        for a in memory
            .areas
            .iter()
            .filter(|a| a.start < addr + len && a.end > addr)
        {
            let (start, end) = (a.start.max(addr), a.end.min(addr + len));
            if a.lazy {
                backend::unmap(start, end - start);
            } else {
                backend::zero(start, end - start);
            }
        }
    }
    Ok(0)
}

pub fn sys_msync(f: &mut SyscallFrame) -> SysResult {
    let addr = f.arg(0);
    let len = check_range(addr, f.arg(1))?;
    let flags = f.arg(2) as u32;
    let async_and_sync = abi::MS_ASYNC | abi::MS_SYNC;
    if flags & !(async_and_sync | abi::MS_INVALIDATE) != 0
        || flags & async_and_sync == async_and_sync
    {
        return Err(Errno::EINVAL);
    }
    if len > 0 && !MEMORY.lock().areas.fully_mapped(addr, addr + len) {
        return Err(Errno::ENOMEM);
    }
    Ok(0)
}

pub fn sys_mincore(f: &mut SyscallFrame) -> SysResult {
    let addr = f.arg(0);
    let len = check_range(addr, f.arg(1))?;
    let pages = len / PAGE;
    if !MEMORY.lock().areas.fully_mapped(addr, addr + len) {
        return Err(Errno::ENOMEM);
    }
    crate::uaccess::fill(f.arg(2), pages, 1)?; // anonymous memory is always resident
    Ok(0)
}

/// `mlock`/`munlock`/`mlock2`: nothing is ever paged out, so memory is always locked; the range
/// must be mapped, as on Linux.
pub fn sys_mlock(f: &mut SyscallFrame) -> SysResult {
    let addr = f.arg(0) & !(PAGE - 1);
    let len = page_round_up(f.arg(1) + (f.arg(0) - addr)).ok_or(Errno::ENOMEM)?;
    if len > 0 && !MEMORY.lock().areas.fully_mapped(addr, addr + len) {
        return Err(Errno::ENOMEM);
    }
    Ok(0)
}

/// `mlockall`/`munlockall`: accepted (see `sys_mlock`); unknown flags are EINVAL.
pub fn sys_mlockall(f: &mut SyscallFrame) -> SysResult {
    const MCL_CURRENT: u64 = 1;
    const MCL_FUTURE: u64 = 2;
    const MCL_ONFAULT: u64 = 4;
    if f.rax == 151 && (f.arg(0) == 0 || f.arg(0) & !(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0)
    {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub fn sys_brk(f: &mut SyscallFrame) -> SysResult {
    let requested = f.arg(0);
    let mut memory = MEMORY.lock();
    let current = memory.brk;
    if !(BRK_BASE..=BRK_LIMIT).contains(&requested) {
        return Ok(current as i64);
    }
    let old_top = page_round_up(current).unwrap_or(current);
    let new_top = page_round_up(requested).unwrap_or(requested);
    if new_top > old_top {
        if backend::map_anonymous(old_top, new_top - old_top, USER | WRITABLE | NO_EXECUTE).is_err()
        {
            return Ok(current as i64);
        }
    } else if new_top < old_top {
        backend::unmap(new_top, old_top - new_top);
    }
    memory.brk = requested;
    Ok(requested as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(nr: u64, args: [u64; 6]) -> SyscallFrame {
        SyscallFrame {
            rax: nr,
            rdi: args[0],
            rsi: args[1],
            rdx: args[2],
            r10: args[3],
            r8: args[4],
            r9: args[5],
            ..Default::default()
        }
    }

    #[test]
    fn mmap_validates_flags() {
        let rw = (PROT_READ | PROT_WRITE) as u64;
        let anon_private = (abi::MAP_ANONYMOUS | abi::MAP_PRIVATE) as u64;
        assert_eq!(
            sys_mmap(&mut frame(9, [0, 0, rw, anon_private, u64::MAX, 0])),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            sys_mmap(&mut frame(
                9,
                [0, 4096, rw, abi::MAP_ANONYMOUS as u64, u64::MAX, 0]
            )),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            sys_mmap(&mut frame(9, [0, 4096, rw, abi::MAP_PRIVATE as u64, 7, 0])),
            Err(Errno::EBADF)
        );
        let a = sys_mmap(&mut frame(9, [0, 4096, rw, anon_private, u64::MAX, 0])).unwrap() as u64;
        assert!(a >= MMAP_BASE && a.is_multiple_of(PAGE));
        let noreplace = (abi::MAP_ANONYMOUS | abi::MAP_PRIVATE | abi::MAP_FIXED_NOREPLACE) as u64;
        assert_eq!(
            sys_mmap(&mut frame(9, [a, 4096, rw, noreplace, u64::MAX, 0])),
            Err(Errno::EEXIST)
        );
        assert_eq!(sys_munmap(&mut frame(11, [a, 4096, 0, 0, 0, 0])), Ok(0));
        assert_eq!(
            sys_mprotect(&mut frame(10, [a, 4096, rw, 0, 0, 0])),
            Err(Errno::ENOMEM)
        );
    }

    #[test]
    fn brk_grows_and_reports_current() {
        let current = sys_brk(&mut frame(12, [0; 6])).unwrap() as u64;
        assert!(current >= BRK_BASE);
        let grown = sys_brk(&mut frame(12, [current + 10_000, 0, 0, 0, 0, 0])).unwrap() as u64;
        assert_eq!(grown, current + 10_000);
        assert_eq!(
            sys_brk(&mut frame(12, [1, 0, 0, 0, 0, 0])).unwrap() as u64,
            grown
        );
    }
}
