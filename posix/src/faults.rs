//! CPU exceptions and interrupts. A fault in the service is reported (what, where, registers,
//! backtrace) and ends the VM as the signal Linux would have sent ends a process: status 128 +
//! signal. A fault inside the kernel is a kernel panic.

use ferrite_libos::arch::cpu;
use ferrite_libos::arch::idt::InterruptFrame;
use ferrite_libos::exit::Outcome;
use ferrite_libos::report;
use ferrite_libos::{kprint, kprintln};

use crate::abi;

fn signal_for(vector: u64) -> u32 {
    match vector {
        0 | 16 | 19 => abi::SIGFPE,
        1 | 3 => abi::SIGTRAP,
        6 => abi::SIGILL,
        17 => abi::SIGBUS,
        _ => abi::SIGSEGV,
    }
}

fn describe_page_fault(frame: &InterruptFrame) {
    let address = cpu::read_cr2();
    let code = frame.error_code;
    let access = if code & 0x10 != 0 {
        "execution of"
    } else if code & 0x2 != 0 {
        "write to"
    } else {
        "read of"
    };
    let what = if code & 0x1 != 0 { "protected" } else { "unmapped" };
    kprint!("ferrite: {access} {what} address {address:#x}");
    if address < 4096 {
        kprint!(" (NULL pointer dereference)");
    }
    kprint!("\n");
}

fn fatal_exception(frame: &mut InterruptFrame) -> ! {
    let vector = frame.vector;
    let kernel = crate::in_kernel() || matches!(vector, 2 | 8 | 18);
    let whose = if kernel { "the kernel" } else { "the service" };
    kprint!("ferrite: {} in {whose} at rip {:#x}", report::exception_name(vector), frame.rip);
    if let Some((name, offset)) = ferrite_libos::symbols::image_symbols().and_then(|s| s.lookup(frame.rip)) {
        kprint!(" ({name}+{offset:#x})");
    }
    kprint!(", thread 1 on CPU 0\n");
    if vector == 14 {
        describe_page_fault(frame);
    }
    report::print_registers(frame);
    report::print_backtrace(frame.rip, frame.rsp, frame.rbp);
    if kernel {
        kprintln!("kernel panic: exception in kernel code");
        crate::shutdown(Outcome::Panic)
    }
    let signal = signal_for(vector);
    kprintln!("service terminated by {} ({signal})", crate::syscalls::signal::signal_name(signal as u64));
    crate::shutdown(Outcome::Signaled(signal as u8))
}

/// Every interrupt and exception vector arrives here (see `arch::idt`).
#[unsafe(no_mangle)]
extern "C" fn ferrite_interrupt_dispatch(frame: &mut InterruptFrame) {
    match frame.vector {
        1 if crate::boot::main_reached() => {}
        // Spurious interrupts: the legacy PIC's IRQ 7/15 and the local APIC's spurious vector.
        0x27 | 0x2F | 0xFF => {}
        0..=31 => fatal_exception(frame),
        vector => kprintln!("unexpected interrupt vector {vector:#x} ignored"),
    }
}
