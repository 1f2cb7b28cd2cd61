//! Interval timers and waiting for signals: `setitimer`/`getitimer`/`alarm` (ITIMER_REAL, which
//! sends SIGALRM), `pause` and `rt_sigsuspend`.

use ferrite_libos::frame::SyscallFrame;
use ferrite_libos::sync::IrqMutex;
use ferrite_smp::sched;
use ferrite_smp::timer::{self, TimerHandle};

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::syscalls::{signal, time};
use crate::uaccess;

const ITIMER_REAL: u64 = 0;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct ITimerVal {
    interval: abi::timeval,
    value: abi::timeval,
}

struct RealTimer {
    handle: Option<TimerHandle>,
    /// Monotonic time it fires next (0: disarmed) and its period (0: one shot).
    deadline_ns: u64,
    interval_ns: u64,
}

static REAL: IrqMutex<RealTimer> = IrqMutex::new(RealTimer {
    handle: None,
    deadline_ns: 0,
    interval_ns: 0,
});

fn to_ns(tv: &abi::timeval) -> Result<u64, Errno> {
    if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno::EINVAL);
    }
    Ok(tv.tv_sec as u64 * 1_000_000_000 + tv.tv_usec as u64 * 1000)
}

fn to_timeval(ns: u64) -> abi::timeval {
    // Round up so a pending timer never reads as zero (disarmed).
    let us = ns.div_ceil(1000);
    abi::timeval {
        tv_sec: (us / 1_000_000) as i64,
        tv_usec: (us % 1_000_000) as i64,
    }
}

/// The timer interrupt side: send SIGALRM to the process and re-arm a periodic timer.
fn fire(_arg: u64) {
    let mut real = REAL.lock();
    real.handle = None;
    if real.interval_ns != 0 {
        real.deadline_ns += real.interval_ns;
        let at = time::monotonic_to_tsc(real.deadline_ns);
        real.handle = Some(timer::add_callback(at, fire, 0));
    } else {
        real.deadline_ns = 0;
    }
    drop(real);
    signal::send_to_process(abi::SIGALRM as u64);
}

/// Set the real timer; returns the old (remaining, interval).
fn set_real(value_ns: u64, interval_ns: u64) -> (u64, u64) {
    let mut real = REAL.lock();
    if let Some(h) = real.handle.take() {
        timer::cancel(h);
    }
    let now = time::monotonic_ns();
    let old = (
        if real.deadline_ns != 0 {
            real.deadline_ns.saturating_sub(now).max(1)
        } else {
            0
        },
        real.interval_ns,
    );
    real.interval_ns = if value_ns == 0 { 0 } else { interval_ns };
    real.deadline_ns = if value_ns == 0 { 0 } else { now + value_ns };
    if value_ns != 0 {
        real.handle = Some(timer::add_callback(
            time::monotonic_to_tsc(real.deadline_ns),
            fire,
            0,
        ));
    }
    old
}

fn current_real() -> (u64, u64) {
    let real = REAL.lock();
    let now = time::monotonic_ns();
    (
        if real.deadline_ns != 0 {
            real.deadline_ns.saturating_sub(now).max(1)
        } else {
            0
        },
        real.interval_ns,
    )
}

pub fn sys_setitimer(f: &mut SyscallFrame) -> SysResult {
    if f.arg(0) != ITIMER_REAL {
        // The CPU-time timers (ITIMER_VIRTUAL, ITIMER_PROF) are not implemented.
        return Err(Errno::EINVAL);
    }
    let new = if f.arg(1) != 0 {
        Some(uaccess::read::<ITimerVal>(f.arg(1))?)
    } else {
        None
    };
    let old = match new {
        Some(v) => set_real(to_ns(&v.value)?, to_ns(&v.interval)?),
        None => current_real(),
    };
    if f.arg(2) != 0 {
        uaccess::write(
            f.arg(2),
            &ITimerVal {
                value: to_timeval(old.0),
                interval: to_timeval(old.1),
            },
        )?;
    }
    Ok(0)
}

pub fn sys_getitimer(f: &mut SyscallFrame) -> SysResult {
    if f.arg(0) != ITIMER_REAL {
        return Err(Errno::EINVAL);
    }
    let (value, interval) = current_real();
    uaccess::write(
        f.arg(1),
        &ITimerVal {
            value: to_timeval(value),
            interval: to_timeval(interval),
        },
    )?;
    Ok(0)
}

pub fn sys_alarm(f: &mut SyscallFrame) -> SysResult {
    let (remaining, _) = set_real(f.arg(0) as u32 as u64 * 1_000_000_000, 0);
    // Whole seconds left, rounded up (a pending alarm never reads as 0).
    Ok(remaining.div_ceil(1_000_000_000) as i64)
}

/// Block until a signal is delivered to this thread.
fn wait_for_signal() -> SysResult {
    loop {
        let ready = {
            let t = sched::current().posix.lock();
            t.pending_signals & !t.signal_mask != 0
        };
        if ready {
            return Err(Errno::EINTR);
        }
        sched::prepare_to_block();
        // `send` interrupts a blocked thread whose mask lets the signal through.
        let ready = {
            let t = sched::current().posix.lock();
            t.pending_signals & !t.signal_mask != 0
        };
        if ready {
            return Err(Errno::EINTR);
        }
        sched::block();
    }
}

pub fn sys_pause(_f: &mut SyscallFrame) -> SysResult {
    wait_for_signal()
}

/// `rt_sigsuspend(mask)`: wait with `mask`, and have the handler's return restore the old mask.
pub fn sys_rt_sigsuspend(f: &mut SyscallFrame) -> SysResult {
    if f.arg(1) != 8 {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = uaccess::read(f.arg(0))?;
    signal::suspend_with_mask(mask);
    // Always EINTR: the handler's frame (or the system-call return) restores the old mask.
    wait_for_signal()
}
