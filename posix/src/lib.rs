//! Ferrite's Linux system-call surface, and the kernel's top level: the boot sequence that ends
//! in musl's `_start`, the system-call dispatcher, fault handling. Built as `libferrite.a`.
#![cfg_attr(target_os = "none", no_std)]

extern crate alloc;

pub mod abi;
#[cfg(target_os = "none")]
mod boot;
pub mod errno;
#[cfg(target_os = "none")]
mod faults;
pub mod start;
pub mod syscalls;
pub mod uaccess;

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use ferrite_libos::exit::Outcome;

/// How many system calls are in progress on this CPU: a fault while it is non-zero is the
/// kernel's (one CPU runs the service until the multicore work makes this per CPU).
static KERNEL_DEPTH: AtomicU32 = AtomicU32::new(0);

/// `ferrite.memreport`: print memory use when the service exits.
static MEMORY_REPORT: AtomicBool = AtomicBool::new(false);

pub fn in_kernel() -> bool {
    KERNEL_DEPTH.load(Ordering::Relaxed) > 0
}

/// The system-call entry (`arch::syscall_entry`) calls this with the saved registers.
#[unsafe(no_mangle)]
pub extern "C" fn ferrite_syscall_dispatch(frame: &mut ferrite_libos::frame::SyscallFrame) -> i64 {
    KERNEL_DEPTH.fetch_add(1, Ordering::Relaxed);
    let result = syscalls::dispatch(frame);
    KERNEL_DEPTH.fetch_sub(1, Ordering::Relaxed);
    result
}

/// Run service code (a signal handler) from inside a system call: with the caller's interrupt
/// flag, and counted as the service's own execution for fault attribution.
pub fn run_service_code(caller_rflags: u64, f: impl FnOnce()) {
    let depth = KERNEL_DEPTH.swap(0, Ordering::Relaxed);
    #[cfg(target_os = "none")]
    let enable = caller_rflags & (1 << 9) != 0 && !ferrite_libos::arch::cpu::interrupts_enabled();
    #[cfg(not(target_os = "none"))]
    let enable = caller_rflags == u64::MAX;
    #[cfg(target_os = "none")]
    if enable {
        ferrite_libos::arch::cpu::enable_interrupts();
    }
    f();
    #[cfg(target_os = "none")]
    if enable {
        ferrite_libos::arch::cpu::disable_interrupts();
    }
    let _ = enable;
    KERNEL_DEPTH.store(depth, Ordering::Relaxed);
}

/// End the VM: the service exited, was killed by a signal, or the kernel failed.
pub fn shutdown(outcome: Outcome) -> ! {
    #[cfg(target_os = "none")]
    {
        if MEMORY_REPORT.load(Ordering::Relaxed) {
            let s = ferrite_libos::mm::stats();
            ferrite_libos::kprintln!(
                "memory: {} KiB of {} KiB in use",
                (s.total_frames - s.free_frames) * 4,
                s.total_frames * 4
            );
        }
        ferrite_libos::exit::exit_vm(outcome)
    }
    #[cfg(not(target_os = "none"))]
    panic!("shutdown: {outcome:?}")
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    ferrite_libos::arch::cpu::disable_interrupts();
    ferrite_libos::kprintln!("kernel panic: {info}");
    let rbp: u64;
    // SAFETY: reading the frame pointer register.
    unsafe { core::arch::asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack, preserves_flags)) };
    ferrite_libos::report::print_backtrace(panic as *const () as u64, 0, rbp);
    shutdown(Outcome::Panic)
}
