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
pub mod fs;
pub mod net;
pub mod sigframe;
pub mod start;
pub mod syscalls;
pub mod uaccess;

use ferrite_libos::exit::Outcome;

/// `ferrite.memreport`: print memory use when the service exits.
#[cfg(target_os = "none")]
static MEMORY_REPORT: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Resume the service with every register of `ctx` (used where `sysret` cannot restore rcx and
/// r11: returning from a signal handler).
pub fn return_to_service(ctx: &sigframe::UserContext) -> ! {
    #[cfg(target_os = "none")]
    {
        use ferrite_libos::arch::{gdt, idt, percpu};
        let frame = idt::InterruptFrame {
            r15: ctx.r15,
            r14: ctx.r14,
            r13: ctx.r13,
            r12: ctx.r12,
            r11: ctx.r11,
            r10: ctx.r10,
            r9: ctx.r9,
            r8: ctx.r8,
            rbp: ctx.rbp,
            rdi: ctx.rdi,
            rsi: ctx.rsi,
            rdx: ctx.rdx,
            rcx: ctx.rcx,
            rbx: ctx.rbx,
            rax: ctx.rax,
            vector: 0,
            error_code: 0,
            rip: ctx.rip,
            cs: gdt::USER_CODE as u64,
            rflags: ctx.rflags,
            rsp: ctx.rsp,
            ss: gdt::USER_DATA as u64,
        };
        let top = percpu::current()
            .kernel_rsp
            .load(core::sync::atomic::Ordering::Relaxed);
        // SAFETY: `top` is this thread's kernel stack top; nothing above the frame is live.
        unsafe { idt::return_to_service(&frame, top) }
    }
    #[cfg(not(target_os = "none"))]
    panic!("return_to_service on the host: {:#x}", ctx.rip)
}

/// Every thread's first instruction on its own stack after a switch (see `arch::context`).
#[unsafe(no_mangle)]
pub extern "C" fn ferrite_thread_started() {
    ferrite_smp::sched::finish_switch();
}

/// The system-call entry (`arch::syscall_entry`) calls this with the saved registers.
#[unsafe(no_mangle)]
pub extern "C" fn ferrite_syscall_dispatch(frame: &mut ferrite_libos::frame::SyscallFrame) -> i64 {
    let result = syscalls::dispatch(frame);
    // A thread woken or created on this CPU gets its turn now rather than at the next interrupt.
    if ferrite_smp::sched::need_resched() {
        ferrite_smp::sched::schedule();
    }
    result
}

/// End the VM: the service exited, was killed by a signal, or the kernel failed.
pub fn shutdown(outcome: Outcome) -> ! {
    #[cfg(target_os = "none")]
    {
        if MEMORY_REPORT.load(core::sync::atomic::Ordering::Relaxed) {
            let s = ferrite_libos::mm::stats();
            let (areas, lazy, count) = syscalls::memory::area_totals();
            ferrite_libos::kprintln!(
                "memory: {} KiB of {} KiB frames in use; kernel heap {} KiB; {} service areas of {} KiB ({} KiB lazy); break {} KiB",
                (s.total_frames - s.free_frames) * 4,
                s.total_frames * 4,
                ferrite_libos::mm::heap::claimed_bytes() / 1024,
                count,
                areas / 1024,
                lazy / 1024,
                syscalls::memory::break_bytes() / 1024
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
