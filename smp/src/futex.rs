//! Futex wait queues, sharded by address so unrelated futexes never share a lock.
//!
//! The service has one address space, so a futex is identified by its virtual address alone and
//! private and shared futexes are the same. A waiter is queued under its shard's lock after the
//! caller has checked the futex word under that same lock, which is what makes wait/wake race-free.

use alloc::sync::Arc;
use alloc::vec::Vec;

use ferrite_libos::sync::IrqMutex;

use crate::sched;
use crate::thread::{Thread, WakeReason};
use crate::timer;

const SHARDS: usize = 64;

struct Waiter {
    addr: u64,
    bitset: u32,
    thread: Arc<Thread>,
}

static QUEUES: [IrqMutex<Vec<Waiter>>; SHARDS] = [const { IrqMutex::new(Vec::new()) }; SHARDS];

fn shard(addr: u64) -> usize {
    // Futex words are 4-byte aligned; mix the page and offset bits.
    let x = (addr >> 2).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 58) as usize % SHARDS
}

/// Why a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    Woken,
    TimedOut,
    Interrupted,
}

/// Wait on `addr` if `still_expected()` (run under the queue lock, so no wake between the check
/// and the sleep is lost) says the futex word still holds the expected value; otherwise return
/// `Ok(None)` (EAGAIN). `deadline` is a TSC value. Errors from the check (a bad pointer) pass up.
pub fn wait<E>(
    addr: u64,
    bitset: u32,
    still_expected: impl FnOnce() -> Result<bool, E>,
    deadline: Option<u64>,
) -> Result<Option<WaitOutcome>, E> {
    let me = sched::current_arc();
    sched::prepare_to_block();
    {
        let mut queue = QUEUES[shard(addr)].lock();
        if !still_expected()? {
            return Ok(None);
        }
        queue.push(Waiter {
            addr,
            bitset,
            thread: me.clone(),
        });
    }
    let timer = deadline.map(|d| timer::add(d, me.clone()));
    let reason = sched::block();
    if let Some(t) = timer
        && reason != WakeReason::TimedOut
    {
        timer::cancel(t);
    }
    Ok(Some(match reason {
        WakeReason::Woken => WaitOutcome::Woken,
        other => {
            // Not woken by a futex wake: we may still be queued.
            remove(addr, &me);
            if other == WakeReason::TimedOut {
                WaitOutcome::TimedOut
            } else {
                WaitOutcome::Interrupted
            }
        }
    }))
}

fn remove(addr: u64, thread: &Arc<Thread>) {
    let mut queue = QUEUES[shard(addr)].lock();
    queue.retain(|w| !Arc::ptr_eq(&w.thread, thread));
}

/// Take up to `count` waiters on `addr` whose bitset intersects `bitset` out of `queue` and wake
/// them; returns how many were woken.
fn wake_from(queue: &mut Vec<Waiter>, addr: u64, count: usize, bitset: u32) -> usize {
    let mut woken = 0;
    let mut i = 0;
    while i < queue.len() && woken < count {
        if queue[i].addr == addr && queue[i].bitset & bitset != 0 {
            let w = queue.remove(i);
            if w.thread.claim_wake(WakeReason::Woken) {
                sched::wake(&w.thread);
                woken += 1;
            }
        } else {
            i += 1;
        }
    }
    woken
}

/// As Linux, a count of 0 still wakes one waiter.
pub fn wake(addr: u64, count: usize, bitset: u32) -> usize {
    let count = count.max(1);
    let mut queue = QUEUES[shard(addr)].lock();
    wake_from(&mut queue, addr, count, bitset)
}

/// Lock the shards of two addresses in a fixed order (one lock when they share a shard) and run
/// `f` with (queue of a, queue of b).
fn with_two<R>(
    a: u64,
    b: u64,
    f: impl FnOnce(&mut Vec<Waiter>, Option<&mut Vec<Waiter>>) -> R,
) -> R {
    let (sa, sb) = (shard(a), shard(b));
    if sa == sb {
        let mut q = QUEUES[sa].lock();
        return f(&mut q, None);
    }
    let (first, second) = if sa < sb { (sa, sb) } else { (sb, sa) };
    let mut q1 = QUEUES[first].lock();
    let mut q2 = QUEUES[second].lock();
    if sa < sb {
        f(&mut q1, Some(&mut q2))
    } else {
        f(&mut q2, Some(&mut q1))
    }
}

/// FUTEX_REQUEUE / FUTEX_CMP_REQUEUE: wake up to `wake_count` waiters on `from`, move up to
/// `requeue_count` of the rest to `to`. `check` runs under the locks (CMP_REQUEUE's comparison);
/// `Ok(None)` means it failed (EAGAIN). Returns woken + requeued.
pub fn requeue<E>(
    from: u64,
    to: u64,
    wake_count: usize,
    requeue_count: usize,
    check: impl FnOnce() -> Result<bool, E>,
) -> Result<Option<usize>, E> {
    with_two(from, to, |qa, qb| {
        if !check()? {
            return Ok(None);
        }
        let woken = wake_from(qa, from, wake_count, !0);
        let mut moved = Vec::new();
        let mut i = 0;
        while i < qa.len() && moved.len() < requeue_count {
            if qa[i].addr == from {
                let mut w = qa.remove(i);
                w.addr = to;
                moved.push(w);
            } else {
                i += 1;
            }
        }
        let n = moved.len();
        match qb {
            Some(q) => q.extend(moved),
            None => qa.extend(moved),
        }
        Ok(Some(woken + n))
    })
}

/// FUTEX_WAKE_OP: `op` atomically updates the word at `addr2` and says whether the old value met
/// the comparison (under both locks); wake up to `count1` on `addr1` and, if so, `count2` on
/// `addr2`.
pub fn wake_op<E>(
    addr1: u64,
    addr2: u64,
    count1: usize,
    count2: usize,
    op: impl FnOnce() -> Result<bool, E>,
) -> Result<usize, E> {
    let (count1, count2) = (count1.max(1), count2.max(1));
    with_two(addr1, addr2, |q1, q2| {
        let compare = op()?;
        let mut woken = wake_from(q1, addr1, count1, !0);
        if compare {
            woken += match q2 {
                Some(q) => wake_from(q, addr2, count2, !0),
                None => wake_from(q1, addr2, count2, !0),
            };
        }
        Ok(woken)
    })
}

/// Interrupt `thread` if it is blocked (a signal arrived): its wait ends with `Interrupted`.
pub fn interrupt(thread: &Arc<Thread>) {
    if thread.claim_wake(WakeReason::Interrupted) {
        sched::wake(thread);
    }
}
