//! Signals, as far as a single-process unikernel can deliver them honestly.
//!
//! Handlers are stored per process and masks per thread. A signal the service sends to itself
//! (`kill`, `tkill`, `tgkill`, hence `raise` and `abort`) is delivered synchronously before the
//! system call returns: a handler runs on the caller's stack, the default action terminates the
//! VM with status 128 + signal (as a shell reports it) or ignores the signal, and a blocked signal
//! stays pending until `rt_sigprocmask` unblocks it. Stopping is not possible: a stop signal with
//! the default action makes the sender's call fail with ENOSYS rather than be lost. Signals from
//! CPU exceptions are reported and end the VM (see `faults`).

use ferrite_libos::frame::SyscallFrame;
use ferrite_libos::sync::IrqMutex;
use ferrite_smp::thread;

use crate::abi::{self, k_sigaction, siginfo_t, stack_t};
use crate::errno::{Errno, SysResult};
use crate::uaccess;

const NSIG: u64 = 64;
const SIG_DFL: u64 = 0;
const SIG_IGN: u64 = 1;

static ACTIONS: IrqMutex<[k_sigaction; NSIG as usize]> =
    IrqMutex::new([k_sigaction { handler: 0, flags: 0, restorer: 0, mask: 0 }; NSIG as usize]);

fn bit(sig: u64) -> u64 {
    1 << (sig - 1)
}

fn unblockable() -> u64 {
    bit(abi::SIGKILL as u64) | bit(abi::SIGSTOP as u64)
}

fn valid(sig: u64) -> Result<u64, Errno> {
    if (1..=NSIG).contains(&sig) { Ok(sig) } else { Err(Errno::EINVAL) }
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
        "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
        "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
        "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR",
        "SIGSYS",
    ];
    NAMES.get(sig as usize).copied().unwrap_or("a real-time signal")
}

/// End the VM as if the process had been killed by `sig`.
pub fn terminate_by_signal(sig: u64) -> ! {
    ferrite_libos::kprintln!("service terminated by {} ({sig})", signal_name(sig));
    crate::shutdown(ferrite_libos::exit::Outcome::Signaled(sig as u8))
}

/// Deliver `sig` to the calling thread now (it is not blocked).
fn deliver(sig: u64, frame: &SyscallFrame) {
    let action = {
        let mut actions = ACTIONS.lock();
        let action = actions[sig as usize - 1];
        if action.handler > SIG_IGN && action.flags & abi::SA_RESETHAND as u64 != 0 {
            actions[sig as usize - 1].handler = SIG_DFL;
        }
        action
    };
    match action.handler {
        SIG_IGN => {}
        SIG_DFL => match default_action(sig) {
            DefaultAction::Terminate => terminate_by_signal(sig),
            DefaultAction::Ignore | DefaultAction::Stop => {}
        },
        handler => {
            let saved_mask = {
                let mut t = thread::current().lock();
                let saved = t.signal_mask;
                let mut mask = saved | action.mask;
                if action.flags & abi::SA_NODEFER as u64 == 0 {
                    mask |= bit(sig);
                }
                t.signal_mask = mask & !unblockable();
                saved
            };
            let mut info = siginfo_t {
                si_signo: sig as i32,
                si_errno: 0,
                si_code: abi::SI_TKILL as i32,
                _pad0: 0,
                si_pid: thread::MAIN_TID as i32,
                si_uid: 0,
                _rest: [0; 13],
            };
            let mut ucontext = [0u64; 128];
            crate::run_service_code(frame.rflags, || {
                // SAFETY: the service registered `handler` with rt_sigaction as a function of the
                // SysV signature (sig, siginfo*, ucontext*); it runs on the caller's own stack
                // like a function the caller invoked.
                let f: extern "C" fn(i32, *mut siginfo_t, *mut u64) = unsafe { core::mem::transmute(handler as usize) };
                f(sig as i32, &mut info, ucontext.as_mut_ptr());
            });
            thread::current().lock().signal_mask = saved_mask;
        }
    }
}

/// Deliver every pending signal that is no longer blocked.
fn deliver_pending(frame: &SyscallFrame) {
    loop {
        let next = {
            let mut t = thread::current().lock();
            let ready = t.pending_signals & !t.signal_mask;
            if ready == 0 {
                return;
            }
            let sig = ready.trailing_zeros() as u64 + 1;
            t.pending_signals &= !bit(sig);
            sig
        };
        deliver(next, frame);
    }
}

/// Send `sig` to the calling thread.
fn send_to_self(sig: u64, frame: &SyscallFrame) -> SysResult {
    if sig == 0 {
        return Ok(0);
    }
    let sig = valid(sig)?;
    let handler = ACTIONS.lock()[sig as usize - 1].handler;
    if handler == SIG_DFL && default_action(sig) == DefaultAction::Stop {
        ferrite_libos::kprintln!("{} would stop the service; stopping is not supported", signal_name(sig));
        return Err(Errno::ENOSYS);
    }
    let blocked = thread::current().lock().signal_mask & bit(sig) != 0;
    if blocked {
        thread::current().lock().pending_signals |= bit(sig);
    } else {
        deliver(sig, frame);
    }
    Ok(0)
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
    let new_set = if set != 0 { Some(uaccess::read::<u64>(set)?) } else { None };
    let previous = thread::current().lock().signal_mask;
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
        thread::current().lock().signal_mask = mask & !unblockable();
        deliver_pending(f);
    }
    Ok(0)
}

pub fn sys_rt_sigpending(f: &mut SyscallFrame) -> SysResult {
    if f.arg(1) != 8 {
        return Err(Errno::EINVAL);
    }
    let pending = thread::current().lock().pending_signals;
    uaccess::write(f.arg(0), &pending)?;
    Ok(0)
}

pub fn sys_sigaltstack(f: &mut SyscallFrame) -> SysResult {
    let (new, old) = (f.arg(0), f.arg(1));
    let current = thread::current().lock().alt_stack;
    if old != 0 {
        uaccess::write(old, &stack_t { ss_sp: current.0, ss_flags: current.1, ss_size: current.2 })?;
    }
    if new != 0 {
        let s: stack_t = uaccess::read(new)?;
        if s.ss_flags & !(abi::SS_DISABLE as i32) != 0 {
            return Err(Errno::EINVAL);
        }
        if s.ss_flags & abi::SS_DISABLE as i32 == 0 && s.ss_size < abi::MINSIGSTKSZ as u64 {
            return Err(Errno::ENOMEM);
        }
        thread::current().lock().alt_stack = (s.ss_sp, s.ss_flags, s.ss_size);
    }
    Ok(0)
}

fn is_self_pid(pid: i64) -> bool {
    pid == thread::MAIN_TID as i64 || pid == 0 || pid == -1
}

pub fn sys_kill(f: &mut SyscallFrame) -> SysResult {
    if !is_self_pid(f.arg(0) as i32 as i64) {
        return Err(Errno::ESRCH);
    }
    send_to_self(f.arg(1), f)
}

pub fn sys_tkill(f: &mut SyscallFrame) -> SysResult {
    if f.arg(0) as i32 != thread::current().lock().tid as i32 {
        return Err(Errno::ESRCH);
    }
    send_to_self(f.arg(1), f)
}

pub fn sys_tgkill(f: &mut SyscallFrame) -> SysResult {
    if f.arg(0) as i32 != thread::MAIN_TID as i32 || f.arg(1) as i32 != thread::current().lock().tid as i32 {
        return Err(Errno::ESRCH);
    }
    send_to_self(f.arg(2), f)
}
