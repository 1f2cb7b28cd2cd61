//! The service's FPU/SSE/AVX state, saved and restored at every thread switch (the kernel itself
//! never uses these registers, so the state in the CPU always belongs to the current thread).

use core::arch::asm;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Bytes a thread's save area needs, and the XSAVE feature mask (0: use FXSAVE).
static AREA_SIZE: AtomicU32 = AtomicU32::new(512);
static XSAVE_MASK: AtomicU64 = AtomicU64::new(0);

/// Record how state is saved: XSAVE with the features enabled in XCR0, or FXSAVE.
pub fn configure(xsave_mask: u64, area_size: u32) {
    XSAVE_MASK.store(xsave_mask, Ordering::Relaxed);
    AREA_SIZE.store(area_size.max(512), Ordering::Relaxed);
}

pub fn area_size() -> usize {
    AREA_SIZE.load(Ordering::Relaxed) as usize
}

/// Save the CPU's current FPU/SSE/AVX state into `area`.
pub fn save(area: *mut u8) {
    let mask = XSAVE_MASK.load(Ordering::Relaxed);
    // SAFETY: `area` is a 64-byte aligned buffer of `area_size()` bytes owned by the thread.
    unsafe {
        if mask != 0 {
            asm!("xsave64 [{}]", in(reg) area, in("eax") mask as u32, in("edx") (mask >> 32) as u32, options(nostack));
        } else {
            asm!("fxsave64 [{}]", in(reg) area, options(nostack));
        }
    }
}

pub fn restore(area: *const u8) {
    let mask = XSAVE_MASK.load(Ordering::Relaxed);
    // SAFETY: `area` holds a state saved by `save` (or a copy of one).
    unsafe {
        if mask != 0 {
            asm!("xrstor64 [{}]", in(reg) area, in("eax") mask as u32, in("edx") (mask >> 32) as u32, options(nostack, readonly));
        } else {
            asm!("fxrstor64 [{}]", in(reg) area, options(nostack, readonly));
        }
    }
}
