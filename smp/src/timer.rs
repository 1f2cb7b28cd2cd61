//! Timed wake-ups: sleeping threads and wait timeouts, kept per CPU and fired by that CPU's local
//! APIC timer, which is armed for the earliest of them (or the end of the time slice), so a CPU
//! with nothing to time takes no timer interrupts at all.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use ferrite_libos::sync::IrqMutex;

use crate::sched::{self, MAX_CPUS};
use crate::thread::{Thread, WakeReason};

/// What a timer does when it fires.
enum Action {
    /// Wake a blocked thread (reason `TimedOut`).
    Wake(Arc<Thread>),
    /// Call a function (from the timer interrupt, with interrupts off) with an argument.
    Call(fn(u64), u64),
}

type Timers = BTreeMap<(u64, u64), Action>;

static TIMERS: [IrqMutex<Timers>; MAX_CPUS] = [const { IrqMutex::new(BTreeMap::new()) }; MAX_CPUS];
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// A timer that may be cancelled.
#[derive(Clone, Copy, Debug)]
pub struct TimerHandle {
    cpu: usize,
    key: (u64, u64),
}

/// Wake `thread` (with reason `TimedOut`) at TSC value `deadline`, unless cancelled first.
pub fn add(deadline: u64, thread: Arc<Thread>) -> TimerHandle {
    insert(deadline, Action::Wake(thread))
}

/// Call `f(arg)` at TSC value `deadline` (from interrupt context), unless cancelled first.
pub fn add_callback(deadline: u64, f: fn(u64), arg: u64) -> TimerHandle {
    insert(deadline, Action::Call(f, arg))
}

fn insert(deadline: u64, action: Action) -> TimerHandle {
    let cpu = sched::this_cpu();
    let key = (deadline, SEQUENCE.fetch_add(1, Ordering::Relaxed));
    TIMERS[cpu].lock().insert(key, action);
    rearm();
    TimerHandle { cpu, key }
}

pub fn cancel(handle: TimerHandle) {
    TIMERS[handle.cpu].lock().remove(&handle.key);
}

/// Fire the timers of this CPU that are due.
pub fn expire() {
    let cpu = sched::this_cpu();
    let now = now_tsc();
    loop {
        let due = {
            let mut timers = TIMERS[cpu].lock();
            match timers.first_key_value() {
                Some((&key, _)) if key.0 <= now => timers.remove(&key),
                _ => None,
            }
        };
        match due {
            Some(Action::Wake(thread)) => {
                if thread.claim_wake(WakeReason::TimedOut) {
                    sched::wake(&thread);
                }
            }
            Some(Action::Call(f, arg)) => f(arg),
            None => break,
        }
    }
}

/// Arm this CPU's timer for the earliest timer or the end of the time slice.
pub fn rearm() {
    let cpu = sched::this_cpu();
    let earliest = TIMERS[cpu].lock().first_key_value().map(|(k, _)| k.0);
    let slice = sched::slice_end_tsc();
    let deadline = match (earliest, slice) {
        (Some(e), 0) => e,
        (Some(e), s) => e.min(s),
        (None, s) => s,
    };
    sched::arm_timer(deadline);
}

/// Whether this CPU has timers pending (the idle loop must not sleep past them without a timer
/// interrupt).
pub fn pending() -> bool {
    !TIMERS[sched::this_cpu()].lock().is_empty()
}

fn now_tsc() -> u64 {
    sched::now_tsc()
}

/// Block the current thread until the TSC reaches `deadline` or something else wakes it.
pub fn sleep_until(deadline: u64) -> WakeReason {
    sched::prepare_to_block();
    let handle = add(deadline, sched::current_arc());
    let reason = sched::block();
    if reason != WakeReason::TimedOut {
        cancel(handle);
    }
    reason
}
