//! CPU exceptions and interrupts. A fault in the service is reported (what, where, registers,
//! backtrace) and ends the VM as the signal Linux would have sent ends a process: status 128 +
//! signal. A fault inside the kernel is a kernel panic.

use ferrite_libos::arch::idt::InterruptFrame;
use ferrite_libos::arch::{apic, cpu, percpu, syscall_entry};
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
    let what = if code & 0x1 != 0 {
        "protected"
    } else {
        "unmapped"
    };
    kprint!("ferrite: {access} {what} address {address:#x}");
    if address < 4096 {
        kprint!(" (NULL pointer dereference)");
    } else if frame.cs & 3 == 3 {
        // The service holds no kernel lock when it faults in ring 3, so asking the area list is
        // safe here.
        use crate::syscalls::memory::{AreaAt, area_at};
        if let AreaAt::Guard = area_at(address) {
            kprint!(" (stack overflow: the guard page below a stack)");
        }
    }
    kprint!("\n");
}

/// si_code and si_addr of the signal a service exception raises (Linux's values).
fn fault_details(frame: &InterruptFrame) -> (i32, u64) {
    const SEGV_MAPERR: i32 = 1;
    const SEGV_ACCERR: i32 = 2;
    const FPE_INTDIV: i32 = 1;
    const ILL_ILLOPN: i32 = 2;
    const BUS_ADRALN: i32 = 1;
    const TRAP_BRKPT: i32 = 1;
    const SI_KERNEL: i32 = 0x80;
    match frame.vector {
        14 => (
            if frame.error_code & 1 != 0 {
                SEGV_ACCERR
            } else {
                SEGV_MAPERR
            },
            cpu::read_cr2(),
        ),
        0 => (FPE_INTDIV, frame.rip),
        6 => (ILL_ILLOPN, frame.rip),
        17 => (BUS_ADRALN, frame.rip),
        1 | 3 => (TRAP_BRKPT, frame.rip),
        _ => (SI_KERNEL, 0),
    }
}

/// The service's registers in an interrupt frame.
fn context_of(frame: &InterruptFrame) -> crate::sigframe::UserContext {
    crate::sigframe::UserContext {
        rax: frame.rax,
        rbx: frame.rbx,
        rcx: frame.rcx,
        rdx: frame.rdx,
        rsi: frame.rsi,
        rdi: frame.rdi,
        rbp: frame.rbp,
        rsp: frame.rsp,
        r8: frame.r8,
        r9: frame.r9,
        r10: frame.r10,
        r11: frame.r11,
        r12: frame.r12,
        r13: frame.r13,
        r14: frame.r14,
        r15: frame.r15,
        rip: frame.rip,
        rflags: frame.rflags,
    }
}

/// Resume in a handler frame set up on `ctx` (only these registers change).
fn apply_context(frame: &mut InterruptFrame, ctx: &crate::sigframe::UserContext) {
    frame.rax = ctx.rax;
    frame.rdi = ctx.rdi;
    frame.rsi = ctx.rsi;
    frame.rdx = ctx.rdx;
    frame.rsp = ctx.rsp;
    frame.rip = ctx.rip;
    frame.rflags = ctx.rflags;
}

/// Give a service exception to the service's own handler for its signal, if it has one.
fn deliver_to_handler(frame: &mut InterruptFrame) -> bool {
    let signal = signal_for(frame.vector) as u64;
    let (code, addr) = fault_details(frame);
    let mut ctx = context_of(frame);
    let (vector, error) = (frame.vector, frame.error_code);
    if !crate::syscalls::signal::deliver_fault(&mut ctx, signal, code, addr, vector, error) {
        return false;
    }
    apply_context(frame, &ctx);
    true
}

/// A fault of the kernel in one of uaccess's instructions that touch the service's memory (Linux's
/// exception table): a lazy page gets its frame and the instruction runs again; otherwise the
/// routine resumes at its fixup, which reports the bytes not copied (EFAULT or a short count for
/// the system call, not a kernel panic). Returns whether the fault was handled. This runs on the
/// page-fault IST stack with interrupts off, and the copy routines are never called with the
/// memory-area or page-table locks held, so `resolve_fault` may take them.
fn fix_up_service_access(frame: &mut InterruptFrame) -> bool {
    let Some(fixup) = crate::uaccess::fixup_for(frame.rip) else {
        return false;
    };
    if frame.vector == 14 {
        let address = cpu::read_cr2();
        if !crate::uaccess::in_user_range(address) {
            return false; // the kernel's side of the copy: a kernel bug
        }
        use crate::syscalls::memory::{FaultResolution, resolve_fault};
        match resolve_fault(address, frame.error_code & 0x2 != 0, false) {
            FaultResolution::Resolved => return true,
            FaultResolution::OutOfMemory => out_of_memory_kill(address),
            FaultResolution::NotAllowed => {}
        }
    }
    frame.rip = fixup;
    true
}

fn fatal_exception(frame: &mut InterruptFrame) {
    let vector = frame.vector;
    if matches!(vector, 13 | 14) && frame.cs & 3 == 0 && fix_up_service_access(frame) {
        return;
    }
    // A first touch of a lazy area (the main stack, MAP_NORESERVE): give it a frame and retry.
    if vector == 14 && frame.cs & 3 == 3 {
        let code = frame.error_code;
        let (write, execute) = (code & 0x2 != 0, code & 0x10 != 0);
        use crate::syscalls::memory::{FaultResolution, resolve_fault};
        match resolve_fault(cpu::read_cr2(), write, execute) {
            FaultResolution::Resolved => return,
            FaultResolution::OutOfMemory => out_of_memory_kill(cpu::read_cr2()),
            FaultResolution::NotAllowed => {}
        }
    }
    if frame.cs & 3 == 3 && !matches!(vector, 2 | 8 | 18) && deliver_to_handler(frame) {
        return;
    }
    let kernel = frame.cs & 3 == 0 || matches!(vector, 2 | 8 | 18);
    let whose = if kernel { "the kernel" } else { "the service" };
    kprint!(
        "ferrite: {} in {whose} at rip {:#x}",
        report::exception_name(vector),
        frame.rip
    );
    if let Some((name, offset)) =
        ferrite_libos::symbols::image_symbols().and_then(|s| s.lookup(frame.rip))
    {
        kprint!(" ({name}+{offset:#x})");
    }
    match ferrite_smp::sched::try_current() {
        Some(t) => kprint!(
            ", thread {} on CPU {}\n",
            t.tid,
            ferrite_smp::sched::this_cpu()
        ),
        None => kprint!(", during boot\n"),
    }
    if vector == 14 {
        describe_page_fault(frame);
    }
    report::print_registers(frame);
    report::print_backtrace_from(frame);
    if kernel {
        kprintln!("kernel panic: exception in kernel code");
        crate::shutdown(Outcome::Panic)
    }
    let signal = signal_for(vector);
    kprintln!(
        "service terminated by {} ({signal})",
        crate::syscalls::signal::signal_name(signal as u64)
    );
    crate::shutdown(Outcome::Signaled(signal as u8))
}

/// A page of a lazy (MAP_NORESERVE or stack) area was touched and no frame is left for it. Linux's
/// OOM killer ends the process with SIGKILL then; so does Ferrite, saying why.
pub(crate) fn out_of_memory_kill(addr: u64) -> ! {
    let stats = ferrite_libos::mm::stats();
    kprint!("ferrite: out of memory: no frame for the page at {addr:#x} of a lazily mapped area");
    match ferrite_smp::sched::try_current() {
        Some(t) => kprint!(
            ", thread {} on CPU {}",
            t.tid,
            ferrite_smp::sched::this_cpu()
        ),
        None => kprint!(", during boot"),
    }
    kprint!(
        " ({} of {} KiB in use); give the VM more memory (--mem)\n",
        (stats.total_frames - stats.free_frames) * 4,
        stats.total_frames * 4
    );
    kprintln!("service terminated by SIGKILL ({})", abi::SIGKILL);
    crate::shutdown(Outcome::Signaled(abi::SIGKILL as u8))
}

/// A system call that arrived as a #GP on the entry's first instruction (`swapgs`) in ring 3.
///
/// On the development hosts' KVM (the PVM hypervisor, with a guest that is not PVM-aware),
/// `syscall` from ring 3 jumps to LSTAR without leaving ring 3, so the entry's `swapgs` faults.
/// The fault frame still holds every register as `syscall` left them (rcx = return address,
/// r11 = RFLAGS). On hardware and TCG, `syscall` enters ring 0 and this never happens.
fn is_syscall_in_ring3(frame: &InterruptFrame) -> bool {
    frame.vector == 13 && frame.cs & 3 == 3 && frame.rip == syscall_entry::entry_address()
}

/// Serve it as if it had arrived normally: a `SyscallFrame` at the top of the thread's kernel
/// stack (the interrupt entry has already moved this frame there), then the common path, which
/// returns with `iretq` from now on (this hypervisor cannot run `sysret` either).
fn syscall_from_fault(frame: &InterruptFrame) -> ! {
    let sf = ferrite_libos::frame::SyscallFrame {
        rax: frame.rax,
        rdi: frame.rdi,
        rsi: frame.rsi,
        rdx: frame.rdx,
        r10: frame.r10,
        r8: frame.r8,
        r9: frame.r9,
        r15: frame.r15,
        r14: frame.r14,
        r13: frame.r13,
        r12: frame.r12,
        rbx: frame.rbx,
        rbp: frame.rbp,
        rflags: frame.r11,
        rip: frame.rcx,
        rsp: frame.rsp,
    };
    syscall_entry::use_iret_for_returns();
    let top = percpu::current()
        .kernel_rsp
        .load(core::sync::atomic::Ordering::Relaxed);
    let at = (top - core::mem::size_of::<ferrite_libos::frame::SyscallFrame>() as u64)
        as *mut ferrite_libos::frame::SyscallFrame;
    // SAFETY: `at` is the top of this thread's kernel stack, which only the interrupt frame we
    // have just copied from occupies; `resume_syscall` continues from there and never returns.
    unsafe {
        at.write(sf);
        syscall_entry::resume_syscall(at)
    }
}

/// The local APIC timer (scheduler time slices and timers).
pub const TIMER_VECTOR: u8 = 0x40;
/// Another CPU queued work for this one, or wants it to look at a signal.
pub const RESCHEDULE_VECTOR: u8 = 0x41;
/// The console UART (ISA IRQ 4 through the I/O APIC).
pub const CONSOLE_VECTOR: u8 = 0x50;
/// The network device (virtio-net: I/O APIC line on microvm, MSI-X on PCI).
pub const NET_VECTOR: u8 = 0x51;

/// After an interrupt from the service: deliver signals that became pending for the thread now
/// running (sent by another thread or a timer), as Linux does on every return to user mode.
fn deliver_signals_on_return(frame: &mut InterruptFrame) {
    let pending = {
        let t = ferrite_smp::sched::current().posix.lock();
        t.pending_signals & !t.signal_mask
    };
    if pending == 0 {
        return;
    }
    let mut ctx = context_of(frame);
    if crate::syscalls::signal::deliver_pending_to(&mut ctx) {
        apply_context(frame, &ctx);
    }
}

/// An NMI (QEMU's monitor command `nmi`, which `ferrite run --timeout` sends before giving up):
/// print what every CPU and thread is doing, without taking locks that the interrupted code may
/// hold, and carry on.
/// The kernel call chain a CPU was in when the NMI came (who waits for what), on one line,
/// written straight to the UART: no lock, no allocation.
fn hang_backtrace(cpu: usize, frame: &InterruptFrame) {
    use core::fmt::Write;
    let mut pcs = [0u64; 12];
    let regs = ferrite_libos::unwind::Registers {
        rip: frame.rip,
        rsp: frame.rsp,
        rbp: frame.rbp,
        rbx: frame.rbx,
        r12: frame.r12,
        r13: frame.r13,
        r14: frame.r14,
        r15: frame.r15,
    };
    let count = ferrite_libos::unwind::unwind(regs, &mut pcs);
    let mut buf = [0u8; 1024];
    let mut w = ferrite_libos::log::SliceWriter::new(&mut buf);
    let _ = write!(w, "ferrite: CPU {cpu} called from:");
    let symbols = ferrite_libos::symbols::image_symbols();
    for &pc in pcs[..count].iter().skip(1) {
        match symbols.as_ref().and_then(|s| s.lookup(pc - 1)) {
            Some((name, offset)) => {
                let _ = write!(w, " < {name}+{offset:#x}");
            }
            None => {
                let _ = write!(w, " < {pc:#x}");
            }
        }
    }
    let _ = writeln!(w);
    ferrite_libos::serial::write(w.as_bytes());
}

fn hang_report(frame: &InterruptFrame) {
    use core::fmt::Write;
    let cpu = ferrite_smp::sched::this_cpu();
    let mut buf = [0u8; 512];
    let mut w = ferrite_libos::log::SliceWriter::new(&mut buf);
    let _ = write!(w, "ferrite: NMI on CPU {cpu} at rip {:#x}", frame.rip);
    if let Some((name, offset)) =
        ferrite_libos::symbols::image_symbols().and_then(|s| s.lookup(frame.rip))
    {
        let _ = write!(w, " ({name}+{offset:#x})");
    }
    let _ = write!(w, ", ring {}; ", frame.cs & 3);
    ferrite_smp::sched::describe_cpu(cpu, &mut w);
    let _ = writeln!(w);
    ferrite_libos::serial::write(w.as_bytes());
    if frame.cs & 3 == 0 {
        hang_backtrace(cpu, frame);
    }
    if cpu == 0 {
        let complete = ferrite_smp::thread::try_for_each(|t| {
            let mut buf = [0u8; 160];
            let mut w = ferrite_libos::log::SliceWriter::new(&mut buf);
            let _ = writeln!(
                w,
                "ferrite: thread {}: {:?}, last CPU {}, woken {:?}, affinity {:#x}",
                t.tid,
                t.state(),
                t.cpu.load(core::sync::atomic::Ordering::Relaxed),
                t.wake_reason(),
                t.affinity.load(core::sync::atomic::Ordering::Relaxed)
            );
            ferrite_libos::serial::write(w.as_bytes());
        });
        if !complete {
            ferrite_libos::serial::write(b"ferrite: (thread table busy)\n");
        }
    }
}

/// Every interrupt and exception vector arrives here (see `arch::idt`).
#[unsafe(no_mangle)]
extern "C" fn ferrite_interrupt_dispatch(frame: &mut InterruptFrame) {
    match frame.vector {
        3 if crate::boot::main_reached(&mut frame.rip) => {}
        13 if is_syscall_in_ring3(frame) => syscall_from_fault(frame),
        v if v == TIMER_VECTOR as u64 => {
            apic::eoi();
            ferrite_smp::sched::timer_interrupt(frame.cs & 3 == 3);
            if frame.cs & 3 == 3 {
                deliver_signals_on_return(frame);
            }
        }
        v if v == CONSOLE_VECTOR as u64 => {
            crate::fs::console::interrupt();
            apic::eoi();
            if frame.cs & 3 == 3 {
                ferrite_smp::sched::reschedule_interrupt(true);
                deliver_signals_on_return(frame);
            }
        }
        v if v == NET_VECTOR as u64 => {
            crate::net::stack::interrupt();
            apic::eoi();
            if frame.cs & 3 == 3 {
                ferrite_smp::sched::reschedule_interrupt(true);
                deliver_signals_on_return(frame);
            }
        }
        v if v == ferrite_libos::mm::tlb::VECTOR as u64 => {
            ferrite_libos::mm::tlb::service_requests();
            apic::eoi();
        }
        v if v == RESCHEDULE_VECTOR as u64 => {
            apic::eoi();
            ferrite_smp::sched::reschedule_interrupt(frame.cs & 3 == 3);
            if frame.cs & 3 == 3 {
                deliver_signals_on_return(frame);
            }
        }
        // Spurious interrupts: the legacy PIC's IRQ 7/15 and the local APIC's spurious vector.
        0x27 | 0x2F => {}
        // The local APIC's spurious vector — also what CPU start-up uses for its wake-up IPIs and
        // timer: one of those arriving late is a real interrupt that must be acknowledged, or
        // its in-service bit would block every lower vector on this CPU for good.
        0xFF => {
            if apic::in_service(apic::SPURIOUS_VECTOR) {
                apic::eoi();
            }
        }
        2 => hang_report(frame),
        0..=31 => fatal_exception(frame),
        vector => kprintln!("unexpected interrupt vector {vector:#x} ignored"),
    }
}
