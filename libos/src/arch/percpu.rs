//! Per-CPU data, reached through the GS base while in the kernel. The `syscall` and interrupt
//! entries `swapgs` when they come from the service (ring 3), so the service's own GS base is
//! kept apart.

use core::sync::atomic::{AtomicU64, Ordering};

use super::cpu::{MSR_GS_BASE, MSR_KERNEL_GS_BASE, wrmsr};

/// Field offsets used by the assembly entries.
pub const KERNEL_RSP_OFFSET: usize = 0;
pub const USER_RSP_OFFSET: usize = 8;

#[repr(C)]
pub struct PerCpu {
    /// Top of the running thread's kernel stack: where `syscall` entry switches to.
    pub kernel_rsp: AtomicU64,
    /// Scratch slot for the service's stack pointer during `syscall` entry.
    pub user_rsp: AtomicU64,
    pub cpu_index: u64,
}

static BOOT_CPU: PerCpu = PerCpu {
    kernel_rsp: AtomicU64::new(0),
    user_rsp: AtomicU64::new(0),
    cpu_index: 0,
};

/// Point GS at this CPU's data (boot CPU).
pub fn init_boot_cpu() {
    let address = &raw const BOOT_CPU as u64;
    // SAFETY: GS base is owned by the kernel; the user GS base starts as 0 in KERNEL_GS_BASE and is
    // swapped in on every return to the service.
    unsafe {
        wrmsr(MSR_GS_BASE, address);
        wrmsr(MSR_KERNEL_GS_BASE, 0);
    }
}

pub fn current() -> &'static PerCpu {
    &BOOT_CPU
}

/// Set the kernel stack the next `syscall` from the service will run on.
pub fn set_kernel_stack(top: u64) {
    current().kernel_rsp.store(top, Ordering::Relaxed);
}
