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

use ferrite_libos::exit::Outcome;

/// `ferrite.memreport`: print memory use when the service exits.
#[cfg(target_os = "none")]
static MEMORY_REPORT: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Every thread's first instruction on its own stack after a switch (see `arch::context`).
#[unsafe(no_mangle)]
pub extern "C" fn ferrite_thread_started() {
    ferrite_smp::sched::finish_switch();
}

/// The system-call entry (`arch::syscall_entry`) calls this with the saved registers.
#[unsafe(no_mangle)]
pub extern "C" fn ferrite_syscall_dispatch(frame: &mut ferrite_libos::frame::SyscallFrame) -> i64 {
    syscalls::dispatch(frame)
}

/// End the VM: the service exited, was killed by a signal, or the kernel failed.
pub fn shutdown(outcome: Outcome) -> ! {
    #[cfg(target_os = "none")]
    {
        if MEMORY_REPORT.load(core::sync::atomic::Ordering::Relaxed) {
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
    unsafe {
        core::arch::asm!("mov {}, rbp", out(reg) rbp, options(nomem, nostack, preserves_flags))
    };
    ferrite_libos::report::print_backtrace(ferrite_libos::unwind::Registers {
        rip: panic as *const () as u64,
        rbp,
        ..Default::default()
    });
    shutdown(Outcome::Panic)
}
