//! Clocks and sleeping.

use core::sync::atomic::{AtomicU64, Ordering};

use ferrite_libos::frame::SyscallFrame;

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::uaccess;

const NS_PER_SEC: u64 = 1_000_000_000;
/// `sysconf(_SC_CLK_TCK)`: the unit of `times`.
pub const CLOCK_TICKS_PER_SEC: u64 = 100;

/// Nanoseconds the service spent waiting (sleeping, waiting for input) rather than running:
/// CPU time is elapsed time minus this, while there is one thread.
static WAITING_NS: AtomicU64 = AtomicU64::new(0);

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

pub fn cpu_time_ns() -> u64 {
    monotonic_ns().saturating_sub(WAITING_NS.load(Ordering::Relaxed))
}

/// Wait until the monotonic clock reaches `deadline_ns`, counted as waiting time.
pub fn wait_until(deadline_ns: u64) {
    let start = monotonic_ns();
    while monotonic_ns() < deadline_ns {
        // One thread, no timer interrupts yet: spinning politely is all a wait can do.
        core::hint::spin_loop();
    }
    WAITING_NS.fetch_add(monotonic_ns().saturating_sub(start), Ordering::Relaxed);
}

/// Account time spent waiting elsewhere (e.g. for console input).
pub fn add_waiting(ns: u64) {
    WAITING_NS.fetch_add(ns, Ordering::Relaxed);
}

fn clock_now(clock: u64) -> Result<u64, Errno> {
    Ok(match clock as u32 {
        abi::CLOCK_REALTIME | abi::CLOCK_REALTIME_COARSE | abi::CLOCK_TAI => realtime_ns(),
        abi::CLOCK_MONOTONIC
        | abi::CLOCK_MONOTONIC_RAW
        | abi::CLOCK_MONOTONIC_COARSE
        | abi::CLOCK_BOOTTIME => monotonic_ns(),
        abi::CLOCK_PROCESS_CPUTIME_ID | abi::CLOCK_THREAD_CPUTIME_ID => cpu_time_ns(),
        _ => return Err(Errno::EINVAL),
    })
}

fn to_timespec(ns: u64) -> abi::timespec {
    abi::timespec {
        tv_sec: (ns / NS_PER_SEC) as i64,
        tv_nsec: (ns % NS_PER_SEC) as i64,
    }
}

fn from_timespec(ts: &abi::timespec) -> Result<u64, Errno> {
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

pub fn sys_nanosleep(f: &mut SyscallFrame) -> SysResult {
    let request: abi::timespec = uaccess::read(f.arg(0))?;
    let duration = from_timespec(&request)?;
    wait_until(monotonic_ns().saturating_add(duration));
    Ok(0)
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
    let remaining = if flags & abi::TIMER_ABSTIME != 0 {
        value.saturating_sub(now)
    } else {
        value
    };
    wait_until(monotonic_ns().saturating_add(remaining));
    Ok(0)
}

pub fn sys_times(f: &mut SyscallFrame) -> SysResult {
    let ticks = |ns: u64| (ns / (NS_PER_SEC / CLOCK_TICKS_PER_SEC)) as i64;
    if f.arg(0) != 0 {
        let t = abi::tms {
            tms_utime: ticks(cpu_time_ns()),
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
        w if w == abi::RUSAGE_SELF as i32 || w == abi::RUSAGE_THREAD as i32 => cpu_time_ns(),
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
