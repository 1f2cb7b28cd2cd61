//! Clocks and sleeping.

use ferrite_libos::frame::SyscallFrame;
use ferrite_smp::sched;
use ferrite_smp::thread::{self, WakeReason};

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::uaccess;

const NS_PER_SEC: u64 = 1_000_000_000;
/// `sysconf(_SC_CLK_TCK)`: the unit of `times`.
pub const CLOCK_TICKS_PER_SEC: u64 = 100;

#[cfg(target_os = "none")]
pub fn monotonic_ns() -> u64 {
    ferrite_libos::time::monotonic_ns()
}

#[cfg(target_os = "none")]
fn realtime_ns() -> u64 {
    ferrite_libos::time::realtime_ns()
}

/// Host builds (unit tests) have no clock hardware: time stands at the epoch plus a fixed offset.
#[cfg(not(target_os = "none"))]
pub fn monotonic_ns() -> u64 {
    5 * NS_PER_SEC
}

#[cfg(not(target_os = "none"))]
fn realtime_ns() -> u64 {
    1_700_000_000 * NS_PER_SEC
}

/// The monotonic time at which the wall clock will read `realtime`.
pub fn realtime_to_monotonic(realtime: u64) -> u64 {
    let offset = realtime_ns().saturating_sub(monotonic_ns());
    realtime.saturating_sub(offset)
}

pub fn monotonic_to_tsc(ns: u64) -> u64 {
    ferrite_libos::time::monotonic_to_tsc(ns)
}

/// Sleep until the monotonic clock reaches `deadline_ns`; Err(EINTR) if a signal interrupts it.
pub fn sleep_until(deadline_ns: u64) -> Result<(), Errno> {
    while monotonic_ns() < deadline_ns {
        match ferrite_smp::timer::sleep_until(monotonic_to_tsc(deadline_ns)) {
            WakeReason::Interrupted => return Err(Errno::EINTR),
            _ => continue,
        }
    }
    Ok(())
}

/// CPU-time clocks of a given process or thread, as `clock_getcpuclockid` and
/// `pthread_getcpuclockid` encode them: `(~id << 3) | kind`, where bit 2 means a thread and the
/// kind is 0 (profiling), 1 (virtual) or 2 (scheduled); all three read the same CPU time here.
fn cpu_clock_now(clock: i32) -> Result<u64, Errno> {
    let id = !(clock >> 3) as u32;
    if clock & 3 == 3 {
        return Err(Errno::EINVAL);
    }
    if clock & 4 != 0 {
        let t = thread::find(id).ok_or(Errno::EINVAL)?;
        Ok(sched::thread_cpu_time_ns(&t))
    } else if id == 0 || id == thread::MAIN_TID {
        Ok(thread::process_cpu_time_ns())
    } else {
        Err(Errno::EINVAL)
    }
}

fn clock_now(clock: u64) -> Result<u64, Errno> {
    if (clock as i32) < 0 {
        return cpu_clock_now(clock as i32);
    }
    Ok(match clock as u32 {
        abi::CLOCK_REALTIME | abi::CLOCK_REALTIME_COARSE | abi::CLOCK_TAI => realtime_ns(),
        abi::CLOCK_MONOTONIC
        | abi::CLOCK_MONOTONIC_RAW
        | abi::CLOCK_MONOTONIC_COARSE
        | abi::CLOCK_BOOTTIME => monotonic_ns(),
        abi::CLOCK_PROCESS_CPUTIME_ID => thread::process_cpu_time_ns(),
        abi::CLOCK_THREAD_CPUTIME_ID => sched::thread_cpu_time_ns(sched::current()),
        _ => return Err(Errno::EINVAL),
    })
}

fn to_timespec(ns: u64) -> abi::timespec {
    abi::timespec {
        tv_sec: (ns / NS_PER_SEC) as i64,
        tv_nsec: (ns % NS_PER_SEC) as i64,
    }
}

pub fn from_timespec(ts: &abi::timespec) -> Result<u64, Errno> {
    if ts.tv_sec < 0 || !(0..NS_PER_SEC as i64).contains(&ts.tv_nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((ts.tv_sec as u64)
        .saturating_mul(NS_PER_SEC)
        .saturating_add(ts.tv_nsec as u64))
}

pub fn sys_clock_gettime(f: &mut SyscallFrame) -> SysResult {
    let now = clock_now(f.arg(0))?;
    uaccess::write(f.arg(1), &to_timespec(now))?;
    Ok(0)
}

pub fn sys_clock_getres(f: &mut SyscallFrame) -> SysResult {
    clock_now(f.arg(0))?;
    if f.arg(1) != 0 {
        uaccess::write(f.arg(1), &to_timespec(1))?;
    }
    Ok(0)
}

pub fn sys_gettimeofday(f: &mut SyscallFrame) -> SysResult {
    let now = realtime_ns();
    if f.arg(0) != 0 {
        let tv = abi::timeval {
            tv_sec: (now / NS_PER_SEC) as i64,
            tv_usec: ((now % NS_PER_SEC) / 1000) as i64,
        };
        uaccess::write(f.arg(0), &tv)?;
    }
    if f.arg(1) != 0 {
        uaccess::write(f.arg(1), &abi::timezone::default())?;
    }
    Ok(0)
}

pub fn sys_time(f: &mut SyscallFrame) -> SysResult {
    let seconds = (realtime_ns() / NS_PER_SEC) as i64;
    if f.arg(0) != 0 {
        uaccess::write(f.arg(0), &seconds)?;
    }
    Ok(seconds)
}

/// Write what is left of an interrupted relative sleep to `remaining` (if given).
fn interrupted_sleep(deadline: u64, remaining: u64) -> SysResult {
    if remaining != 0 {
        uaccess::write(
            remaining,
            &to_timespec(deadline.saturating_sub(monotonic_ns())),
        )?;
    }
    Err(Errno::EINTR)
}

pub fn sys_nanosleep(f: &mut SyscallFrame) -> SysResult {
    let request: abi::timespec = uaccess::read(f.arg(0))?;
    let deadline = monotonic_ns().saturating_add(from_timespec(&request)?);
    match sleep_until(deadline) {
        Ok(()) => Ok(0),
        Err(_) => interrupted_sleep(deadline, f.arg(1)),
    }
}

pub fn sys_clock_nanosleep(f: &mut SyscallFrame) -> SysResult {
    let (clock, flags, request) = (f.arg(0), f.arg(1) as u32, f.arg(2));
    let request: abi::timespec = uaccess::read(request)?;
    let value = from_timespec(&request)?;
    let now = match clock as u32 {
        abi::CLOCK_REALTIME | abi::CLOCK_MONOTONIC | abi::CLOCK_BOOTTIME | abi::CLOCK_TAI => {
            clock_now(clock)?
        }
        abi::CLOCK_PROCESS_CPUTIME_ID | abi::CLOCK_THREAD_CPUTIME_ID => {
            return Err(Errno::EOPNOTSUPP);
        }
        _ => return Err(Errno::EINVAL),
    };
    let absolute = flags & abi::TIMER_ABSTIME != 0;
    let remaining = if absolute {
        value.saturating_sub(now)
    } else {
        value
    };
    let deadline = monotonic_ns().saturating_add(remaining);
    match sleep_until(deadline) {
        Ok(()) => Ok(0),
        Err(_) if absolute => Err(Errno::EINTR),
        Err(_) => interrupted_sleep(deadline, f.arg(3)),
    }
}

pub fn sys_times(f: &mut SyscallFrame) -> SysResult {
    let ticks = |ns: u64| (ns / (NS_PER_SEC / CLOCK_TICKS_PER_SEC)) as i64;
    if f.arg(0) != 0 {
        let t = abi::tms {
            tms_utime: ticks(thread::process_cpu_time_ns()),
            tms_stime: 0,
            tms_cutime: 0,
            tms_cstime: 0,
        };
        uaccess::write(f.arg(0), &t)?;
    }
    Ok(ticks(monotonic_ns()))
}

pub fn sys_getrusage(f: &mut SyscallFrame) -> SysResult {
    let who = f.arg(0) as i32;
    let cpu = match who {
        w if w == abi::RUSAGE_SELF as i32 => thread::process_cpu_time_ns(),
        w if w == abi::RUSAGE_THREAD as i32 => sched::thread_cpu_time_ns(sched::current()),
        w if w == abi::RUSAGE_CHILDREN => 0,
        _ => return Err(Errno::EINVAL),
    };
    let usage = abi::rusage {
        ru_utime: abi::timeval {
            tv_sec: (cpu / NS_PER_SEC) as i64,
            tv_usec: ((cpu % NS_PER_SEC) / 1000) as i64,
        },
        ..Default::default()
    };
    uaccess::write(f.arg(1), &usage)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespec_validation() {
        assert_eq!(
            from_timespec(&abi::timespec {
                tv_sec: 1,
                tv_nsec: 5
            }),
            Ok(NS_PER_SEC + 5)
        );
        assert_eq!(
            from_timespec(&abi::timespec {
                tv_sec: -1,
                tv_nsec: 0
            }),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            from_timespec(&abi::timespec {
                tv_sec: 0,
                tv_nsec: NS_PER_SEC as i64
            }),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn unknown_clocks_are_einval() {
        assert_eq!(clock_now(99), Err(Errno::EINVAL));
        assert!(clock_now(abi::CLOCK_MONOTONIC as u64).is_ok());
    }
}
