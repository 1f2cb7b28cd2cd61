//! Signals, as far as a single-process unikernel can deliver them honestly.
//!
//! Handlers are stored per process and masks per thread. A signal the service sends to itself
//! (`kill`, `tkill`, `tgkill`, hence `raise` and `abort`) becomes pending and is delivered as the
//! system call returns, as on Linux: a handler gets a Linux `rt_sigframe` on the service's stack
//! (below the red zone, or on the alternate stack with SA_ONSTACK) and returns through its
//! `sa_restorer` into `rt_sigreturn`; the default action terminates the VM with status
//! 128 + signal (as a shell reports it) or ignores the signal. Stopping is not possible: a stop
//! signal with the default action makes the sender's call fail with ENOSYS rather than be lost.
//! A CPU exception in the service raises its signal the same way when the service handles it
//! (a SIGSEGV handler runs with si_addr and si_code as on Linux); otherwise it is reported and
//! ends the VM (see `faults`).

use ferrite_libos::frame::SyscallFrame;
use ferrite_libos::sync::IrqMutex;
use ferrite_smp::{sched, thread};

use crate::abi::{self, k_sigaction, stack_t};
use crate::errno::{Errno, SysResult};
use crate::sigframe::{self, Handler, SignalInfo, UserContext};
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

fn handler_for(sig: u64, action: &k_sigaction, old_mask: u64, rsp: u64) -> Result<Handler, Errno> {
    if action.flags & SA_RESTORER == 0 {
        return Err(Errno::EFAULT); // x86-64 handlers must return through sa_restorer
    }
    let alt_stack = sched::current().posix.lock().alt_stack;
    let (alt_sp, alt_flags, alt_size) = alt_stack;
    let use_alt = alt_flags & abi::SS_DISABLE as i32 == 0
        && action.flags & abi::SA_ONSTACK as u64 != 0
        && !(rsp > alt_sp && rsp <= alt_sp + alt_size);
    let _ = sig;
    Ok(Handler {
        entry: action.handler,
        restorer: action.restorer,
        alt_stack_top: use_alt.then_some(alt_sp + alt_size),
        alt_stack,
        old_mask,
    })
}

// ---- Hook for restartable waits (pipes, eventfd, timerfd, signalfd) ----

/// A blocking wait ended by a signal, in a call Linux restarts (its ERESTARTSYS): the call starts
/// again after a handler with SA_RESTART or when no handler runs, else fails with EINTR. Only
/// `deliver_pending` sees it; the service never does.
pub const ERESTARTSYS: Errno = Errno(512);
/// A wait's failure in such a call: a signal is ERESTARTSYS.
pub fn restartable(e: crate::fs::wait::WaitError) -> Errno {
    match e {
        crate::fs::wait::WaitError::Interrupted => ERESTARTSYS,
        other => other.into(),
    }
}

/// `syscall` is 2 bytes long: moving back over it re-executes the call.
const SYSCALL_INSN_LEN: u64 = 2;

/// A handler is about to run for a call that returned `ctx.rax`: resolve ERESTARTSYS.
fn restart_or_eintr(ctx: &mut UserContext, number: u64, sa_restart: bool) {
    if ctx.rax as i64 != -(ERESTARTSYS.0 as i64) {
        return;
    }
    if sa_restart {
        ctx.rax = number;
        ctx.rip -= SYSCALL_INSN_LEN;
    } else {
        ctx.rax = -(Errno::EINTR.0 as i64) as u64;
    }
}

/// Run `sig`'s action for the current thread whose registers are `ctx`: a handler gets a frame
/// (and `ctx` then resumes in it), the default action terminates or ignores. Returns whether a
/// handler frame was set up. `restart`: the number of the system call returning in `ctx`, for
/// ERESTARTSYS.
fn act(ctx: &mut UserContext, sig: u64, info: SignalInfo, restart: Option<u64>) -> bool {
    let action = {
        let mut actions = ACTIONS.lock();
        let action = actions[sig as usize - 1];
        if action.handler > SIG_IGN && action.flags & abi::SA_RESETHAND as u64 != 0 {
            actions[sig as usize - 1].handler = SIG_DFL;
        }
        action
    };
    match action.handler {
        SIG_IGN => false,
        SIG_DFL => match default_action(sig) {
            DefaultAction::Terminate => terminate_by_signal(sig),
            DefaultAction::Ignore | DefaultAction::Stop => false,
        },
        _ => {
            if let Some(number) = restart {
                restart_or_eintr(ctx, number, action.flags & abi::SA_RESTART as u64 != 0);
            }
            let old_mask = {
                let mut t = sched::current().posix.lock();
                t.suspend_saved_mask.take().unwrap_or(t.signal_mask)
            };
            let handler = handler_for(sig, &action, old_mask, ctx.rsp);
            if handler
                .and_then(|h| sigframe::setup(ctx, &info, &h))
                .is_err()
            {
                // As Linux: a frame that cannot be written kills with SIGSEGV.
                terminate_by_signal(abi::SIGSEGV as u64);
            }
            let mut mask = old_mask | action.mask;
            if action.flags & abi::SA_NODEFER as u64 == 0 {
                mask |= bit(sig);
            }
            sched::current().posix.lock().signal_mask = mask & !unblockable();
            true
        }
    }
}

/// Deliver the first pending, unblocked signal of the current thread to `ctx` (then others are
/// delivered when that handler's `rt_sigreturn` returns, as on Linux). Returns whether one was.
pub fn deliver_pending_to(ctx: &mut UserContext) -> bool {
    deliver_first(ctx, None)
}

fn deliver_first(ctx: &mut UserContext, restart: Option<u64>) -> bool {
    loop {
        let (sig, user_sent) = {
            let mut t = sched::current().posix.lock();
            let ready = t.pending_signals & !t.signal_mask;
            if ready == 0 {
                return false;
            }
            let sig = ready.trailing_zeros() as u64 + 1;
            t.pending_signals &= !bit(sig);
            let user_sent = t.pending_from_kill & bit(sig) != 0;
            t.pending_from_kill &= !bit(sig);
            (sig, user_sent)
        };
        let code = if user_sent {
            sigframe::SI_USER
        } else {
            sigframe::SI_TKILL
        };
        let info = SignalInfo {
            signo: sig as i32,
            code,
            pid: thread::MAIN_TID as i32,
            addr: None,
            trapno: 0,
            error: 0,
        };
        if act(ctx, sig, info, restart) {
            return true;
        }
    }
}

fn context_of(frame: &SyscallFrame, rax: i64) -> UserContext {
    UserContext {
        rax: rax as u64,
        rbx: frame.rbx,
        // What `syscall` left in them: the return address and the flags.
        rcx: frame.rip,
        r11: frame.rflags,
        rdx: frame.rdx,
        rsi: frame.rsi,
        rdi: frame.rdi,
        rbp: frame.rbp,
        rsp: frame.rsp,
        r8: frame.r8,
        r9: frame.r9,
        r10: frame.r10,
        r12: frame.r12,
        r13: frame.r13,
        r14: frame.r14,
        r15: frame.r15,
        rip: frame.rip,
        rflags: frame.rflags,
    }
}

/// Deliver pending, unblocked signals as a system call returns with `rax`. Returns the value the
/// service's rax gets (unchanged unless a handler frame was set up).
pub fn deliver_pending(frame: &mut SyscallFrame, rax: i64) -> i64 {
    let pending = {
        let t = sched::current().posix.lock();
        t.pending_signals & !t.signal_mask
    };
    let mut ctx = context_of(frame, rax);
    if pending == 0 || !deliver_first(&mut ctx, Some(frame.rax)) {
        {
            // An rt_sigsuspend whose signal did not run a handler: its mask ends with the call.
            let mut t = sched::current().posix.lock();
            if let Some(mask) = t.suspend_saved_mask.take() {
                t.signal_mask = mask;
            }
        }
        if rax == -(ERESTARTSYS.0 as i64) {
            // No handler ran: the call starts again, as Linux's.
            frame.rip -= SYSCALL_INSN_LEN;
            return frame.rax as i64;
        }
        return rax;
    }
    frame.rdi = ctx.rdi;
    frame.rsi = ctx.rsi;
    frame.rdx = ctx.rdx;
    frame.rsp = ctx.rsp;
    frame.rip = ctx.rip;
    frame.rflags = ctx.rflags;
    ctx.rax as i64
}

/// A CPU exception in the service raised `sig`: run its handler if there is one and it is not
/// blocked (returns true, `ctx` now resumes in the handler); otherwise the caller reports the
/// fault and ends the VM, as Linux kills a process whose fault signal is blocked or defaulted.
pub fn deliver_fault(
    ctx: &mut UserContext,
    sig: u64,
    code: i32,
    addr: u64,
    trapno: u64,
    error: u64,
) -> bool {
    let handler = ACTIONS.lock()[sig as usize - 1].handler;
    let blocked = sched::current().posix.lock().signal_mask & bit(sig) != 0;
    if handler == SIG_DFL || handler == SIG_IGN || blocked {
        return false;
    }
    let info = SignalInfo {
        signo: sig as i32,
        code,
        pid: 0,
        addr: Some(addr),
        trapno,
        error,
    };
    act(ctx, sig, info, None)
}

/// `rt_sigsuspend`: wait with `mask`; the old mask comes back when the signal has been handled.
pub fn suspend_with_mask(mask: u64) {
    let mut t = sched::current().posix.lock();
    t.suspend_saved_mask = Some(t.signal_mask);
    t.signal_mask = mask & !unblockable();
}

/// A process-directed signal (SIGALRM from the interval timer): to a thread that does not block
/// it, else pending on the main thread until one unblocks it.
pub fn send_to_process(sig: u64) {
    let target = thread::find_first(|t| t.posix.lock().signal_mask & bit(sig) == 0)
        .or_else(|| thread::find(thread::MAIN_TID))
        .or_else(|| thread::find_first(|_| true));
    if let Some(t) = target {
        let _ = send(&t, sig, false);
    }
}

/// Hook for pipes (fs::pipe): a write with no readers sends SIGPIPE to the writing thread, as
/// Linux's `send_sig(SIGPIPE, current, 0)`; delivered (or ignored) as the call returns.
pub fn send_sigpipe_to_current() {
    let _ = send(&sched::current_arc(), abi::SIGPIPE as u64, true);
}

// ---- Hooks for signalfd (fs::signalfd) ----

/// Take `thread`'s lowest pending signal in `mask` (only ones sent with kill and blocked there,
/// unless `own`): (signal, sent with kill).
fn take_pending(thread: &thread::Thread, mask: u64, own: bool) -> Option<(u64, bool)> {
    let mut state = thread.posix.lock();
    let mut ready = state.pending_signals & mask;
    if !own {
        ready &= state.pending_from_kill & state.signal_mask;
    }
    if ready == 0 {
        return None;
    }
    let sig = ready.trailing_zeros() as u64 + 1;
    state.pending_signals &= !bit(sig);
    let from_kill = state.pending_from_kill & bit(sig) != 0;
    state.pending_from_kill &= !bit(sig);
    Some((sig, from_kill))
}

fn kill_sent_elsewhere(mask: u64) -> Option<alloc::sync::Arc<thread::Thread>> {
    thread::find_first(|t| {
        let s = t.posix.lock();
        s.pending_signals & s.pending_from_kill & s.signal_mask & mask != 0
    })
}

/// A signalfd read: dequeue the lowest signal of `mask` pending for the current thread, else
/// one sent to the process with kill that waits, blocked, on another thread (Linux's shared
/// pending set). Returns (signal, si_code, sender's pid).
pub fn dequeue_for_signalfd(mask: u64) -> Option<(u64, i32, u32)> {
    let (sig, from_kill) = take_pending(sched::current(), mask, true)
        .or_else(|| take_pending(&*kill_sent_elsewhere(mask)?, mask, false))?;
    let code = if from_kill {
        sigframe::SI_USER
    } else {
        sigframe::SI_TKILL
    };
    Some((sig, code, thread::MAIN_TID))
}

/// Whether a signalfd read with `mask` would find a signal now.
pub fn pending_for_signalfd(mask: u64) -> bool {
    let own = sched::current().posix.lock().pending_signals & mask;
    own != 0 || kill_sent_elsewhere(mask).is_some()
}

/// Send `sig` to `target` (a thread of the service): it becomes pending there and is delivered as
/// that thread next returns from a system call; a blocking call it is waiting in ends with EINTR.
fn send(
    target: &alloc::sync::Arc<ferrite_smp::thread::Thread>,
    sig: u64,
    from_kill: bool,
) -> SysResult {
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
    let ignored =
        handler == SIG_IGN || (handler == SIG_DFL && default_action(sig) == DefaultAction::Ignore);
    let interrupt = {
        let mut state = target.posix.lock();
        // An ignored signal that is not blocked is dropped when sent, as Linux's `sig_ignored`:
        // it never becomes pending nor interrupts a wait (a blocked one stays pending: its
        // action may change before it is unblocked).
        if ignored && state.signal_mask & bit(sig) == 0 {
            return Ok(0);
        }
        state.pending_signals |= bit(sig);
        if from_kill {
            state.pending_from_kill |= bit(sig);
        } else {
            state.pending_from_kill &= !bit(sig);
        }
        state.signal_mask & bit(sig) == 0
    };
    // Hook for signalfd: readers and pollers of signalfds re-check what is pending.
    crate::fs::signalfd::signal_queued();
    if interrupt && !core::ptr::eq(alloc::sync::Arc::as_ptr(target), sched::current()) {
        ferrite_smp::futex::interrupt(target);
        ferrite_smp::sched::kick_thread(target);
    }
    Ok(0)
}

/// `rt_sigreturn`: the handler returned into sa_restorer, which called us with rsp just above
/// the return-address slot, i.e. at the frame's `ucontext`. Every register comes back, so this
/// returns through the interrupt return path (which restores rcx and r11 too).
pub fn sys_rt_sigreturn(f: &mut SyscallFrame) -> SysResult {
    let (mut ctx, mask) = match sigframe::restore(f.rsp) {
        Ok(restored) => restored,
        Err(_) => terminate_by_signal(abi::SIGSEGV as u64),
    };
    sched::current().posix.lock().signal_mask = mask & !unblockable();
    deliver_pending_to(&mut ctx);
    crate::return_to_service(&ctx)
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
    send(&sched::current_arc(), f.arg(1), true)
}

pub fn sys_tkill(f: &mut SyscallFrame) -> SysResult {
    let target = thread::find(f.arg(0) as u32).ok_or(Errno::ESRCH)?;
    send(&target, f.arg(1), false)
}

pub fn sys_tgkill(f: &mut SyscallFrame) -> SysResult {
    if f.arg(0) as i32 != thread::MAIN_TID as i32 {
        return Err(Errno::ESRCH);
    }
    let target = thread::find(f.arg(1) as u32).ok_or(Errno::ESRCH)?;
    send(&target, f.arg(2), false)
}
