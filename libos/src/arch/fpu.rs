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

/// The state a thread (and a signal handler) starts with: captured once at boot, right after
/// `fninit`, before any service code ran.
static INITIAL: spin::Once<usize> = spin::Once::new();

/// Capture the current (freshly initialised) state as the initial state.
pub fn capture_initial() {
    INITIAL.call_once(|| {
        let layout =
            core::alloc::Layout::from_size_align(area_size(), 64).expect("FPU area layout");
        // SAFETY: non-zero size; the buffer is kept for the life of the kernel.
        let area = unsafe { alloc::alloc::alloc_zeroed(layout) };
        assert!(!area.is_null(), "no memory for the initial FPU state");
        save(area);
        area as usize
    });
}

/// Load the initial state (MXCSR 0x1F80, x87 control word 0x37F, registers cleared), as Linux
/// does when entering a signal handler.
pub fn load_initial() {
    if let Some(&area) = INITIAL.get() {
        restore(area as *const u8);
    }
}

/// The XSAVE feature mask in use (0: FXSAVE only).
pub fn xsave_mask() -> u64 {
    XSAVE_MASK.load(Ordering::Relaxed)
}
