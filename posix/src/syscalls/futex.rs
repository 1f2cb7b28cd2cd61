//! `futex`: wait, wake, requeue, wake-op and the bitset variants, with relative and absolute
//! timeouts on CLOCK_MONOTONIC or CLOCK_REALTIME, over the sharded wait queues of `smp::futex`.
//! Priority-inheritance operations are not implemented (ENOSYS).

use ferrite_libos::frame::SyscallFrame;
use ferrite_smp::futex::{self, WaitOutcome};

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::syscalls::time;
use crate::uaccess;

const FUTEX_WAIT: u64 = 0;
const FUTEX_WAKE: u64 = 1;
const FUTEX_REQUEUE: u64 = 3;
const FUTEX_CMP_REQUEUE: u64 = 4;
const FUTEX_WAKE_OP: u64 = 5;
const FUTEX_WAIT_BITSET: u64 = 9;
const FUTEX_WAKE_BITSET: u64 = 10;
const FUTEX_PRIVATE_FLAG: u64 = 128;
const FUTEX_CLOCK_REALTIME: u64 = 256;

fn check_address(addr: u64) -> Result<(), Errno> {
    if !addr.is_multiple_of(4) {
        Err(Errno::EINVAL)
    } else {
        Ok(())
    }
}

fn read_word(addr: u64) -> Result<u32, Errno> {
    check_address(addr)?;
    uaccess::read::<u32>(addr)
}

/// The TSC deadline for a timeout argument: relative (FUTEX_WAIT) or absolute on the chosen clock.
fn deadline(timeout: u64, absolute: bool, realtime: bool) -> Result<Option<u64>, Errno> {
    if timeout == 0 {
        return Ok(None);
    }
    let ts: abi::timespec = uaccess::read(timeout)?;
    let ns = time::from_timespec(&ts)?;
    let monotonic_deadline = if !absolute {
        time::monotonic_ns().saturating_add(ns)
    } else if realtime {
        time::realtime_to_monotonic(ns)
    } else {
        ns
    };
    Ok(Some(time::monotonic_to_tsc(monotonic_deadline)))
}

fn wait(addr: u64, expected: u32, bitset: u32, deadline: Option<u64>) -> SysResult {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    match futex::wait(
        addr,
        bitset,
        || Ok::<_, Errno>(read_word(addr)? == expected),
        deadline,
    )? {
        None => Err(Errno::EAGAIN),
        Some(WaitOutcome::Woken) => Ok(0),
        Some(WaitOutcome::TimedOut) => Err(Errno::ETIMEDOUT),
        Some(WaitOutcome::Interrupted) => Err(Errno::EINTR),
    }
}

/// FUTEX_WAKE_OP's operation on the word at `addr`: returns whether the old value met the test.
fn wake_op_apply(addr: u64, encoded: u32) -> Result<bool, Errno> {
    let op = (encoded >> 28) & 7;
    let shift_arg = (encoded >> 28) & 8 != 0;
    let cmp = (encoded >> 24) & 15;
    let mut oparg = (encoded >> 12) & 0xFFF;
    let cmparg = encoded & 0xFFF;
    if shift_arg {
        oparg = 1u32.checked_shl(oparg).unwrap_or(0);
    }
    if op > 4 || cmp > 5 {
        return Err(Errno::ENOSYS);
    }
    let update = |old: u32| match op {
        0 => oparg,
        1 => old.wrapping_add(oparg),
        2 => old | oparg,
        3 => old & !oparg,
        _ => old ^ oparg,
    };
    check_address(addr)?;
    // Read, compute, compare-and-exchange until no other thread changed the word in between
    // (Linux's futex_atomic_op_inuser); a word that is not writable is EFAULT.
    let mut old = read_word(addr)?;
    loop {
        match uaccess::cmpxchg_u32(addr, old, update(old))? {
            seen if seen == old => break,
            seen => old = seen,
        }
    }
    let (old, cmparg) = (old as i32, cmparg as i32);
    Ok(match cmp {
        0 => old == cmparg,
        1 => old != cmparg,
        2 => old < cmparg,
        3 => old <= cmparg,
        4 => old > cmparg,
        _ => old >= cmparg,
    })
}

pub fn sys_futex(f: &mut SyscallFrame) -> SysResult {
    let (addr, op, val, timeout, addr2, val3) = (
        f.arg(0),
        f.arg(1),
        f.arg(2) as u32,
        f.arg(3),
        f.arg(4),
        f.arg(5) as u32,
    );
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let command = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if realtime && command != FUTEX_WAIT_BITSET && command != FUTEX_WAIT {
        return Err(Errno::ENOSYS);
    }
    check_address(addr)?;
    match command {
        FUTEX_WAIT => wait(addr, val, !0, deadline(timeout, false, realtime)?),
        FUTEX_WAIT_BITSET => wait(addr, val, val3, deadline(timeout, true, realtime)?),
        FUTEX_WAKE => Ok(futex::wake(addr, val as usize, !0) as i64),
        FUTEX_WAKE_BITSET => {
            if val3 == 0 {
                return Err(Errno::EINVAL);
            }
            Ok(futex::wake(addr, val as usize, val3) as i64)
        }
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            check_address(addr2)?;
            // The timeout argument carries the requeue count here.
            let requeue_count = timeout as u32 as usize;
            if (val as i32) < 0 || (requeue_count as i32) < 0 {
                return Err(Errno::EINVAL);
            }
            let compare = command == FUTEX_CMP_REQUEUE;
            let result = futex::requeue(
                addr,
                addr2,
                val as usize,
                requeue_count,
                || -> Result<bool, Errno> { Ok(!compare || read_word(addr)? == val3) },
            )?;
            result.map(|n| n as i64).ok_or(Errno::EAGAIN)
        }
        FUTEX_WAKE_OP => {
            check_address(addr2)?;
            let count2 = timeout as u32 as usize;
            Ok(futex::wake_op(addr, addr2, val as usize, count2, || {
                wake_op_apply(addr2, val3)
            })? as i64)
        }
        _ => Err(Errno::ENOSYS),
    }
}
