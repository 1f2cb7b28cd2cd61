//! Per-CPU caches of free 4 KiB frames for the service's memory, in front of the global bitmap.
//!
//! A page fault or a small `mmap` takes a frame from its CPU's cache, and `munmap` gives frames
//! back to it, without the global frame lock; the cache refills from and drains to the bitmap in
//! batches. Each cache has its own lock, uncontended except when memory runs short and another
//! CPU gathers every cached frame back (`reclaim_all`), so that frames parked on one CPU never
//! make another run out.
//!
//! Written here rather than taken from a crate: it is a fixed-size stack per CPU over our own
//! bitmap, and what matters is how it meets the bitmap's known-zero tracking and kernel reserve.

use alloc::boxed::Box;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use super::frames::{FRAME_SIZE, Frames};
use crate::arch::percpu::{self, MAX_CPUS};
use crate::sync::IrqMutex;

/// Frames a cache holds at most; it refills and drains `BATCH` at a time.
const CAPACITY: usize = 64;
const BATCH: usize = 32;
/// Bit 0 of a cached frame's address: it is known to hold zeros.
const ZEROED: u64 = 1;

struct Cache {
    frames: [u64; CAPACITY],
    len: usize,
}

static CACHES: [AtomicPtr<IrqMutex<Cache>>; MAX_CPUS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_CPUS];
/// Frames held by all caches together (for statistics and the reserve check).
static CACHED: AtomicUsize = AtomicUsize::new(0);

/// The calling CPU's cache, created on first use; None before per-CPU data exists (early boot),
/// when callers go to the bitmap directly.
fn this_cache() -> Option<&'static IrqMutex<Cache>> {
    if percpu::online_count() == 0 {
        return None;
    }
    let slot = &CACHES[percpu::this_cpu_index()];
    let mut p = slot.load(Ordering::Acquire);
    if p.is_null() {
        let fresh = Box::into_raw(Box::new(IrqMutex::new(Cache {
            frames: [0; CAPACITY],
            len: 0,
        })));
        // Only this CPU creates its own cache, but stay correct if that ever changes.
        p = match slot.compare_exchange(
            core::ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => fresh,
            Err(existing) => {
                // SAFETY: `fresh` was never shared.
                drop(unsafe { Box::from_raw(fresh) });
                existing
            }
        };
    }
    // SAFETY: caches are leaked once created: they live for ever.
    Some(unsafe { &*p })
}

/// Frames held by every cache (free, but not in the bitmap's free count).
pub fn cached_frames() -> u64 {
    CACHED.load(Ordering::Relaxed) as u64
}

/// One frame from this CPU's cache, refilled through `refill` (which fills the slice from the
/// bitmap, honouring the kernel reserve, and returns how many it took) when empty. Frames the
/// cache has no room for after a refill go back through `drain`.
pub fn take(
    refill: impl FnOnce(&mut [Frames]) -> usize,
    drain: impl FnOnce(&[u64]),
) -> Option<Frames> {
    let none = Frames {
        start: 0,
        zeroed: false,
    };
    let Some(cache) = this_cache() else {
        let mut one = [none; 1];
        return (refill(&mut one) == 1).then_some(one[0]);
    };
    if let Some(f) = pop(cache) {
        return Some(f);
    }
    // Refill outside the cache lock: the bitmap's lock is never taken inside it.
    let mut batch = [none; BATCH];
    let got = refill(&mut batch);
    if got == 0 {
        return None;
    }
    let mut overflow = [0u64; BATCH];
    let mut overflowed = 0;
    {
        let mut c = cache.lock();
        for f in &batch[1..got] {
            if c.len == CAPACITY {
                // Filled meanwhile by frees on this CPU (an interrupt's work).
                overflow[overflowed] = f.start;
                overflowed += 1;
                continue;
            }
            let len = c.len;
            c.frames[len] = f.start | if f.zeroed { ZEROED } else { 0 };
            c.len += 1;
            CACHED.fetch_add(1, Ordering::Relaxed);
        }
    }
    if overflowed != 0 {
        drain(&overflow[..overflowed]);
    }
    Some(batch[0])
}

fn pop(cache: &IrqMutex<Cache>) -> Option<Frames> {
    let mut c = cache.lock();
    if c.len == 0 {
        return None;
    }
    c.len -= 1;
    let entry = c.frames[c.len];
    CACHED.fetch_sub(1, Ordering::Relaxed);
    Some(Frames {
        start: entry & !(FRAME_SIZE - 1),
        zeroed: entry & ZEROED != 0,
    })
}

/// Return one frame (contents unknown unless `zeroed`) to this CPU's cache; when the cache is
/// full, half of it goes back to the bitmap through `drain`.
pub fn give(start: u64, zeroed: bool, drain: impl FnOnce(&[u64])) {
    let Some(cache) = this_cache() else {
        drain(&[start]);
        return;
    };
    let mut spill = [0u64; BATCH];
    let spilled = {
        let mut c = cache.lock();
        let mut spilled = 0;
        if c.len == CAPACITY {
            for slot in spill.iter_mut() {
                c.len -= 1;
                *slot = c.frames[c.len] & !(FRAME_SIZE - 1);
            }
            spilled = BATCH;
            CACHED.fetch_sub(BATCH, Ordering::Relaxed);
        }
        let len = c.len;
        c.frames[len] = start | if zeroed { ZEROED } else { 0 };
        c.len += 1;
        CACHED.fetch_add(1, Ordering::Relaxed);
        spilled
    };
    if spilled != 0 {
        drain(&spill[..spilled]);
    }
}

/// Empty every CPU's cache through `drain` (when memory runs short). Returns how many frames
/// came back.
pub fn reclaim_all(mut drain: impl FnMut(&[u64])) -> usize {
    let mut total = 0;
    for slot in CACHES.iter() {
        let p = slot.load(Ordering::Acquire);
        if p.is_null() {
            continue;
        }
        // SAFETY: caches are leaked once created.
        let cache = unsafe { &*p };
        let mut taken = [0u64; CAPACITY];
        let n = {
            let mut c = cache.lock();
            let n = c.len;
            for (dst, src) in taken.iter_mut().zip(&c.frames[..n]) {
                *dst = src & !(FRAME_SIZE - 1);
            }
            c.len = 0;
            CACHED.fetch_sub(n, Ordering::Relaxed);
            n
        };
        if n != 0 {
            drain(&taken[..n]);
            total += n;
        }
    }
    total
}
