//! Signals, as far as a single-process unikernel can deliver them honestly.
//!
//! Handlers are stored per process and masks per thread. A signal the service sends to itself
//! (`kill`, `tkill`, `tgkill`, hence `raise` and `abort`) becomes pending and is delivered as the
//! system call returns, as on Linux: a handler gets a Linux `rt_sigframe` on the service's stack
//! (below the red zone, or on the alternate stack with SA_ONSTACK) and returns through its
//! `sa_restorer` into `rt_sigreturn`; the default action terminates the VM with status
//! 128 + signal (as a shell reports it) or ignores the signal. Stopping is not possible: a stop
//! signal with the default action makes the sender's call fail with ENOSYS rather than be lost.
//! CPU exceptions in the service are reported and end the VM (see `faults`).

use ferrite_libos::frame::SyscallFrame;
use ferrite_libos::sync::IrqMutex;
use ferrite_smp::{sched, thread};

use crate::abi::{self, k_sigaction, siginfo_t, stack_t};
use crate::errno::{Errno, SysResult};
use crate::uaccess;

const NSIG: u64 = 64;
const SIG_DFL: u64 = 0;
const SIG_IGN: u64 = 1;
const SA_RESTORER: u64 = 0x0400_0000;

static ACTIONS: IrqMutex<[k_sigaction; NSIG as usize]> = IrqMutex::new(
    [k_sigaction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    }; NSIG as usize],
);

fn bit(sig: u64) -> u64 {
    1 << (sig - 1)
}

fn unblockable() -> u64 {
    bit(abi::SIGKILL as u64) | bit(abi::SIGSTOP as u64)
}

fn valid(sig: u64) -> Result<u64, Errno> {
    if (1..=NSIG).contains(&sig) {
        Ok(sig)
    } else {
        Err(Errno::EINVAL)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum DefaultAction {
    Terminate,
    Ignore,
    Stop,
}

fn default_action(sig: u64) -> DefaultAction {
    match sig as u32 {
        abi::SIGCHLD | abi::SIGURG | abi::SIGWINCH | abi::SIGCONT => DefaultAction::Ignore,
        abi::SIGSTOP | abi::SIGTSTP | abi::SIGTTIN | abi::SIGTTOU => DefaultAction::Stop,
        _ => DefaultAction::Terminate,
    }
}

pub fn signal_name(sig: u64) -> &'static str {
    const NAMES: [&str; 32] = [
        "0",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    NAMES
        .get(sig as usize)
        .copied()
        .unwrap_or("a real-time signal")
}

/// End the VM as if the process had been killed by `sig`.
pub fn terminate_by_signal(sig: u64) -> ! {
    ferrite_libos::kprintln!("service terminated by {} ({sig})", signal_name(sig));
    crate::shutdown(ferrite_libos::exit::Outcome::Signaled(sig as u8))
}

/// Linux's `struct sigcontext` (x86-64): what `mcontext_t` of a handler's `ucontext_t` reads.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct SigContext {
    r8: u64,
    r9: u64,
    r10: u64,
    r11: u64,
    r12: u64,
    r13: u64,
    r14: u64,
    r15: u64,
    rdi: u64,
    rsi: u64,
    rbp: u64,
    rbx: u64,
    rdx: u64,
    rax: u64,
    rcx: u64,
    rsp: u64,
    rip: u64,
    eflags: u64,
    cs: u16,
    gs: u16,
    fs: u16,
    ss: u16,
    err: u64,
    trapno: u64,
    oldmask: u64,
    cr2: u64,
    fpstate: u64,
    reserved: [u64; 8],
}

/// Linux's `struct ucontext` as the kernel writes it.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct UContext {
    flags: u64,
    link: u64,
    stack: stack_t,
    mcontext: SigContext,
    sigmask: u64,
}

/// Linux's `struct rt_sigframe`: the handler's return address first, then the context and info.
#[repr(C)]
#[derive(Clone, Copy)]
struct RtSigFrame {
    restorer: u64,
    uc: UContext,
    info: siginfo_t,
}

const _: () = assert!(core::mem::size_of::<SigContext>() == 256);
const _: () = assert!(core::mem::size_of::<siginfo_t>() == 128);

/// Bytes of the legacy FXSAVE area saved with each frame.
const FPU_AREA: u64 = 512;
/// RFLAGS bits the service may set through `rt_sigreturn` (CF PF AF ZF SF TF DF OF AC).
const USER_RFLAGS: u64 = 0x0004_0DD5;
const RFLAGS_IF: u64 = 1 << 9;

fn save_fpu(area: u64) -> Result<(), Errno> {
    let dest = uaccess::slice_mut(area, FPU_AREA)?;
    #[cfg(target_os = "none")]
    // SAFETY: `dest` is 512 writable, 64-byte aligned bytes of the service's stack (checked above).
    unsafe {
        core::arch::asm!("fxsave64 [{}]", in(reg) dest.as_mut_ptr(), options(nostack))
    };
    #[cfg(not(target_os = "none"))]
    dest.fill(0);
    Ok(())
}

fn restore_fpu(area: u64) -> Result<(), Errno> {
    if !area.is_multiple_of(16) {
        return Err(Errno::EFAULT);
    }
    let source = uaccess::slice(area, FPU_AREA)?;
    // MXCSR with reserved bits set would fault in the kernel: refuse it instead.
    let mxcsr = u32::from_le_bytes(source[24..28].try_into().expect("4 bytes"));
    if mxcsr & !0xFFFF != 0 {
        return Err(Errno::EFAULT);
    }
    #[cfg(target_os = "none")]
    // SAFETY: 512 readable, 16-byte aligned bytes with a valid MXCSR (checked above).
    unsafe {
        core::arch::asm!("fxrstor64 [{}]", in(reg) source.as_ptr(), options(nostack))
    };
    Ok(())
}

/// Build a signal frame for `sig` on the service's stack and make the return go to the handler.
fn setup_frame(
    frame: &mut SyscallFrame,
    rax: i64,
    sig: u64,
    action: &k_sigaction,
    code: i32,
) -> Result<(), Errno> {
    if action.flags & SA_RESTORER == 0 {
        return Err(Errno::EFAULT); // x86-64 handlers must return through sa_restorer
    }
    let (alt_sp, alt_flags, alt_size) = sched::current().posix.lock().alt_stack;
    let on_alt_stack = alt_flags & abi::SS_DISABLE as i32 == 0
        && action.flags & abi::SA_ONSTACK as u64 != 0
        && !(frame.rsp > alt_sp && frame.rsp <= alt_sp + alt_size);
    let mut sp = if on_alt_stack {
        alt_sp + alt_size
    } else {
        frame.rsp - abi_red_zone()
    };
    sp = (sp - FPU_AREA) & !63;
    let fpu_at = sp;
    save_fpu(fpu_at)?;
    sp -= core::mem::size_of::<RtSigFrame>() as u64;
    sp = (sp & !15) - 8; // as after a call: (sp + 8) % 16 == 0 at the handler's first instruction
    let old_mask = sched::current().posix.lock().signal_mask;
    let signal_frame = RtSigFrame {
        restorer: action.restorer,
        uc: UContext {
            flags: 0,
            link: 0,
            stack: stack_t {
                ss_sp: alt_sp,
                ss_flags: alt_flags,
                ss_size: alt_size,
            },
            mcontext: SigContext {
                r8: frame.r8,
                r9: frame.r9,
                r10: frame.r10,
                r11: frame.rflags,
                r12: frame.r12,
                r13: frame.r13,
                r14: frame.r14,
                r15: frame.r15,
                rdi: frame.rdi,
                rsi: frame.rsi,
                rbp: frame.rbp,
                rbx: frame.rbx,
                rdx: frame.rdx,
                rax: rax as u64,
                rcx: frame.rip,
                rsp: frame.rsp,
                rip: frame.rip,
                eflags: frame.rflags,
                cs: 0x2b,
                ss: 0x23,
                oldmask: old_mask,
                fpstate: fpu_at,
                ..Default::default()
            },
            sigmask: old_mask,
        },
        info: siginfo_t {
            si_signo: sig as i32,
            si_errno: 0,
            si_code: code,
            _pad0: 0,
            si_pid: thread::MAIN_TID as i32,
            si_uid: 0,
            _rest: [0; 13],
        },
    };
    uaccess::write(sp, &signal_frame)?;
    let mut mask = old_mask | action.mask;
    if action.flags & abi::SA_NODEFER as u64 == 0 {
        mask |= bit(sig);
    }
    sched::current().posix.lock().signal_mask = mask & !unblockable();
    frame.rip = action.handler;
    frame.rsp = sp;
    frame.rdi = sig;
    frame.rsi = sp + core::mem::offset_of!(RtSigFrame, info) as u64;
    frame.rdx = sp + core::mem::offset_of!(RtSigFrame, uc) as u64;
    frame.rflags &= !(1 << 10); // the handler starts with DF clear
    Ok(())
}

fn abi_red_zone() -> u64 {
    ferrite_libos::frame::RED_ZONE
}

/// Deliver pending, unblocked signals as the system call returns with `rax`. Returns the value
/// the service's rax gets (unchanged unless a handler frame was set up).
pub fn deliver_pending(frame: &mut SyscallFrame, rax: i64) -> i64 {
    loop {
        let sig = {
            let mut t = sched::current().posix.lock();
            let ready = t.pending_signals & !t.signal_mask;
            if ready == 0 {
                return rax;
            }
            let sig = ready.trailing_zeros() as u64 + 1;
            t.pending_signals &= !bit(sig);
            sig
        };
        let action = {
            let mut actions = ACTIONS.lock();
            let action = actions[sig as usize - 1];
            if action.handler > SIG_IGN && action.flags & abi::SA_RESETHAND as u64 != 0 {
                actions[sig as usize - 1].handler = SIG_DFL;
            }
            action
        };
        match action.handler {
            SIG_IGN => continue,
            SIG_DFL => match default_action(sig) {
                DefaultAction::Terminate => terminate_by_signal(sig),
                DefaultAction::Ignore | DefaultAction::Stop => continue,
            },
            _ => {
                if setup_frame(frame, rax, sig, &action, abi::SI_TKILL).is_err() {
                    // As Linux: a frame that cannot be written kills with SIGSEGV.
                    terminate_by_signal(abi::SIGSEGV as u64);
                }
                return 0;
            }
        }
    }
}

/// Send `sig` to `target` (a thread of the service): it becomes pending there and is delivered as
/// that thread next returns from a system call; a blocking call it is waiting in ends with EINTR.
fn send(target: &alloc::sync::Arc<ferrite_smp::thread::Thread>, sig: u64) -> SysResult {
    if sig == 0 {
        return Ok(0);
    }
    let sig = valid(sig)?;
    let handler = ACTIONS.lock()[sig as usize - 1].handler;
    if handler == SIG_DFL && default_action(sig) == DefaultAction::Stop {
        ferrite_libos::kprintln!(
            "{} would stop the service; stopping is not supported",
            signal_name(sig)
        );
        return Err(Errno::ENOSYS);
    }
    let interrupt = {
        let mut state = target.posix.lock();
        state.pending_signals |= bit(sig);
        state.signal_mask & bit(sig) == 0
    };
    if interrupt && !core::ptr::eq(alloc::sync::Arc::as_ptr(target), sched::current()) {
        ferrite_smp::futex::interrupt(target);
    }
    Ok(0)
}

pub fn sys_rt_sigreturn(f: &mut SyscallFrame) -> SysResult {
    // The handler returned into sa_restorer, which called us with rsp just above the return slot.
    let uc: UContext = match uaccess::read(f.rsp) {
        Ok(uc) => uc,
        Err(_) => terminate_by_signal(abi::SIGSEGV as u64),
    };
    let m = uc.mcontext;
    if m.fpstate != 0 && restore_fpu(m.fpstate).is_err() {
        terminate_by_signal(abi::SIGSEGV as u64);
    }
    f.r8 = m.r8;
    f.r9 = m.r9;
    f.r10 = m.r10;
    f.r12 = m.r12;
    f.r13 = m.r13;
    f.r14 = m.r14;
    f.r15 = m.r15;
    f.rdi = m.rdi;
    f.rsi = m.rsi;
    f.rbp = m.rbp;
    f.rbx = m.rbx;
    f.rdx = m.rdx;
    f.rsp = m.rsp;
    f.rip = m.rip;
    f.rflags = (m.eflags & USER_RFLAGS) | RFLAGS_IF;
    sched::current().posix.lock().signal_mask = uc.sigmask & !unblockable();
    Ok(m.rax as i64)
}

pub fn sys_rt_sigaction(f: &mut SyscallFrame) -> SysResult {
    let (sig, new, old, size) = (f.arg(0), f.arg(1), f.arg(2), f.arg(3));
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let sig = valid(sig)?;
    let new_action = if new != 0 {
        if sig == abi::SIGKILL as u64 || sig == abi::SIGSTOP as u64 {
            return Err(Errno::EINVAL);
        }
        Some(uaccess::read::<k_sigaction>(new)?)
    } else {
        None
    };
    let previous = {
        let mut actions = ACTIONS.lock();
        let previous = actions[sig as usize - 1];
        if let Some(a) = new_action {
            actions[sig as usize - 1] = a;
        }
        previous
    };
    if old != 0 {
        uaccess::write(old, &previous)?;
    }
    Ok(0)
}

pub fn sys_rt_sigprocmask(f: &mut SyscallFrame) -> SysResult {
    let (how, set, old, size) = (f.arg(0) as u32, f.arg(1), f.arg(2), f.arg(3));
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let new_set = if set != 0 {
        Some(uaccess::read::<u64>(set)?)
    } else {
        None
    };
    let previous = sched::current().posix.lock().signal_mask;
    if old != 0 {
        uaccess::write(old, &previous)?;
    }
    if let Some(s) = new_set {
        let mask = match how {
            abi::SIG_BLOCK => previous | s,
            abi::SIG_UNBLOCK => previous & !s,
            abi::SIG_SETMASK => s,
            _ => return Err(Errno::EINVAL),
        };
        sched::current().posix.lock().signal_mask = mask & !unblockable();
    }
    Ok(0)
}

pub fn sys_rt_sigpending(f: &mut SyscallFrame) -> SysResult {
    if f.arg(1) != 8 {
        return Err(Errno::EINVAL);
    }
    let pending = sched::current().posix.lock().pending_signals;
    uaccess::write(f.arg(0), &pending)?;
    Ok(0)
}

pub fn sys_sigaltstack(f: &mut SyscallFrame) -> SysResult {
    let (new, old) = (f.arg(0), f.arg(1));
    let current = sched::current().posix.lock().alt_stack;
    if old != 0 {
        uaccess::write(
            old,
            &stack_t {
                ss_sp: current.0,
                ss_flags: current.1,
                ss_size: current.2,
            },
        )?;
    }
    if new != 0 {
        let s: stack_t = uaccess::read(new)?;
        if s.ss_flags & !(abi::SS_DISABLE as i32) != 0 {
            return Err(Errno::EINVAL);
        }
        if s.ss_flags & abi::SS_DISABLE as i32 == 0 && s.ss_size < abi::MINSIGSTKSZ as u64 {
            return Err(Errno::ENOMEM);
        }
        sched::current().posix.lock().alt_stack = (s.ss_sp, s.ss_flags, s.ss_size);
    }
    Ok(0)
}

fn is_self_pid(pid: i64) -> bool {
    pid == thread::MAIN_TID as i64 || pid == 0 || pid == -1
}

/// `kill` to the process: the calling thread takes it (the one process has no other recipient
/// that could handle it sooner).
pub fn sys_kill(f: &mut SyscallFrame) -> SysResult {
    if !is_self_pid(f.arg(0) as i32 as i64) {
        return Err(Errno::ESRCH);
    }
    send(&sched::current_arc(), f.arg(1))
}

pub fn sys_tkill(f: &mut SyscallFrame) -> SysResult {
    let target = thread::find(f.arg(0) as u32).ok_or(Errno::ESRCH)?;
    send(&target, f.arg(1))
}

pub fn sys_tgkill(f: &mut SyscallFrame) -> SysResult {
    if f.arg(0) as i32 != thread::MAIN_TID as i32 {
        return Err(Errno::ESRCH);
    }
    let target = thread::find(f.arg(1) as u32).ok_or(Errno::ESRCH)?;
    send(&target, f.arg(2))
}
