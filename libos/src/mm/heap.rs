//! The kernel heap: talc over a bootstrap arena in .bss, growing by claiming runs of physical
//! frames (identity-mapped RAM) when it runs out, with per-CPU caches of small blocks in front.
//!
//! talc is one allocator behind one lock. Thread creation, wake-ups and system calls allocate
//! small blocks on every CPU at once, so each CPU keeps a short free list per size class (16 to
//! 512 bytes) and goes to talc only to refill or spill half a list. The lists are intrusive (the
//! next pointer lives in the free block) and touched only by their own CPU with interrupts off.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use talc::base::Talc;
use talc::base::binning::Binning;
use talc::source::Source;
use talc::sync::TalcLock;

use crate::arch::percpu::MAX_CPUS;
use crate::sync::RawIrqSpinlock;

const BOOTSTRAP_SIZE: usize = 512 * 1024;

/// Bytes the heap has claimed (bootstrap arena plus frames), for the memory report.
static CLAIMED: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

pub fn claimed_bytes() -> usize {
    CLAIMED.load(core::sync::atomic::Ordering::Relaxed)
}
/// Smallest growth step: 2 MiB keeps the number of arenas small.
const GROW_STEP: usize = 2 * 1024 * 1024;

#[repr(align(4096))]
struct Arena([u8; BOOTSTRAP_SIZE]);
static mut BOOTSTRAP: Arena = Arena([0; BOOTSTRAP_SIZE]);

#[derive(Debug)]
pub struct FrameBacked {
    bootstrapped: bool,
}

// SAFETY: `acquire` only claims memory nothing else uses (the bootstrap arena once, then frames
// freshly taken from the frame allocator) and never touches the global allocator.
unsafe impl Source for FrameBacked {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        if !talc.source.bootstrapped {
            talc.source.bootstrapped = true;
            // SAFETY: the arena is used by nothing else; it is claimed exactly once.
            unsafe { talc.claim((&raw mut BOOTSTRAP.0).cast(), BOOTSTRAP_SIZE) }.ok_or(())?;
            CLAIMED.fetch_add(BOOTSTRAP_SIZE, core::sync::atomic::Ordering::Relaxed);
            return Ok(());
        }
        let bytes = (layout.size() + layout.align() + 4096).next_multiple_of(GROW_STEP);
        let frames = bytes as u64 / super::frames::FRAME_SIZE;
        let phys = super::alloc_frames_contiguous(frames, 1).ok_or(())?;
        // SAFETY: the frames were just allocated for the heap and are identity-mapped.
        unsafe { talc.claim(phys as *mut u8, bytes) }.ok_or(())?;
        CLAIMED.fetch_add(bytes, core::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// Size classes served by the per-CPU caches: 16, 32, …, 512 bytes (alignment up to 16).
const CLASSES: usize = 6;
const SMALLEST: usize = 16;
const LARGEST: usize = SMALLEST << (CLASSES - 1);
/// Blocks a list holds at most; a full list gives half back to talc.
const LIST_CAPACITY: usize = 32;

/// One CPU's free lists: the head block of each class and its length.
struct CpuLists {
    heads: [AtomicPtr<u8>; CLASSES],
    lengths: [AtomicUsize; CLASSES],
}

static LISTS: [CpuLists; MAX_CPUS] = [const {
    CpuLists {
        heads: [const { AtomicPtr::new(core::ptr::null_mut()) }; CLASSES],
        lengths: [const { AtomicUsize::new(0) }; CLASSES],
    }
}; MAX_CPUS];

/// The class of a layout the caches serve, or None (too big or too strictly aligned).
fn class_of(layout: Layout) -> Option<usize> {
    if layout.size() > LARGEST || layout.align() > SMALLEST {
        return None;
    }
    let size = layout.size().max(SMALLEST).next_power_of_two();
    Some((size / SMALLEST).trailing_zeros() as usize)
}

fn class_layout(class: usize) -> Layout {
    // SAFETY: sizes are powers of two from 16 to 512 and the alignment 16 divides them.
    unsafe { Layout::from_size_align_unchecked(SMALLEST << class, SMALLEST) }
}

/// Runs `f` with this CPU's lists and interrupts off (so nothing else on this CPU touches them
/// and the thread cannot move), or returns None before per-CPU data exists.
fn with_cpu_lists<R>(f: impl FnOnce(&CpuLists) -> R) -> Option<R> {
    if crate::arch::percpu::online_count() == 0 {
        return None;
    }
    let enabled = crate::arch::cpu::interrupts_enabled();
    crate::arch::cpu::disable_interrupts();
    let r = f(&LISTS[crate::arch::percpu::this_cpu_index()]);
    if enabled {
        crate::arch::cpu::enable_interrupts();
    }
    Some(r)
}

fn pop(lists: &CpuLists, class: usize) -> *mut u8 {
    let head = lists.heads[class].load(Ordering::Relaxed);
    if !head.is_null() {
        // SAFETY: blocks on a list are free blocks of at least 16 bytes whose first word holds
        // the next block (written by `push`).
        let next = unsafe { head.cast::<*mut u8>().read() };
        lists.heads[class].store(next, Ordering::Relaxed);
        lists.lengths[class].fetch_sub(1, Ordering::Relaxed);
    }
    head
}

fn push(lists: &CpuLists, class: usize, block: *mut u8) {
    // SAFETY: `block` is a free block of this class (at least 16 bytes, 16-aligned) that nothing
    // else references.
    unsafe {
        block
            .cast::<*mut u8>()
            .write(lists.heads[class].load(Ordering::Relaxed))
    };
    lists.heads[class].store(block, Ordering::Relaxed);
    lists.lengths[class].fetch_add(1, Ordering::Relaxed);
}

/// talc with the per-CPU caches in front.
pub struct KernelHeap {
    talc: TalcLock<RawIrqSpinlock, FrameBacked, talc::DefaultBinning>,
}

// SAFETY: small blocks come from talc with their class's layout and go back to it with the same
// layout (directly or after a stay on a free list); everything else is passed through unchanged.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(layout) else {
            // SAFETY: forwarded as given.
            return unsafe { self.talc.alloc(layout) };
        };
        match with_cpu_lists(|lists| pop(lists, class)) {
            Some(block) if !block.is_null() => block,
            // SAFETY: a valid, non-zero-sized layout.
            _ => unsafe { self.talc.alloc(class_layout(class)) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(class) = class_of(layout) else {
            // SAFETY: allocated by talc with this layout.
            return unsafe { self.talc.dealloc(ptr, layout) };
        };
        // A full list gives half back to talc, after the interrupts-off section.
        let mut spill = [core::ptr::null_mut(); LIST_CAPACITY / 2];
        let cached = with_cpu_lists(|lists| {
            if lists.lengths[class].load(Ordering::Relaxed) >= LIST_CAPACITY {
                for slot in spill.iter_mut() {
                    *slot = pop(lists, class);
                }
            }
            push(lists, class, ptr);
        });
        if cached.is_none() {
            // SAFETY: small blocks are talc blocks of their class's layout.
            return unsafe { self.talc.dealloc(ptr, class_layout(class)) };
        }
        for block in spill.into_iter().filter(|b| !b.is_null()) {
            // SAFETY: as above.
            unsafe { self.talc.dealloc(block, class_layout(class)) };
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class_of(layout), class_of(new_layout)) {
            // Large to large: talc may grow or shrink in place.
            // SAFETY: allocated by talc with `layout`.
            (None, None) => unsafe { self.talc.realloc(ptr, layout, new_size) },
            (Some(a), Some(b)) if a == b => ptr,
            _ => {
                // SAFETY: a valid layout; the copy covers what both blocks hold.
                unsafe {
                    let new = self.alloc(new_layout);
                    if !new.is_null() {
                        core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    new
                }
            }
        }
    }
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap {
    talc: TalcLock::new(FrameBacked {
        bootstrapped: false,
    }),
};
