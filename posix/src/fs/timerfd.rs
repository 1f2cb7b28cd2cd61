//! timerfd: a timer whose expirations are read as a count (Linux's `fs/timerfd.c`).
//!
//! An armed timer is a `ferrite_smp::timer` callback at its next expiry, in monotonic time
//! (an absolute CLOCK_REALTIME expiry is converted: the wall clock cannot be set here, so the
//! offset between the two clocks is fixed). The callback runs in interrupt context with a u64:
//! each arming gets a fresh key in `ARMED`, a registry of weak references, so a callback that
//! races with a re-arm or a close finds nothing (or an old key) and does nothing. A periodic
//! timer that expired is moved to its next expiry, counting the intervals it missed, by the
//! next read, gettime or settime, as Linux's: nothing re-arms it from the interrupt, so a tiny
//! interval cannot flood a CPU with interrupts.
//!
//! The *_ALARM clocks (allowed to root, the service's only user) behave as their plain clocks:
//! there is no suspend to wake from. TFD_TIMER_CANCEL_ON_SET is accepted and never cancels,
//! since nothing can set the wall clock (clock_settime does not exist here).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

use ferrite_libos::sync::IrqMutex;
use ferrite_smp::timer::{self, TimerHandle};

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::file::{FileOps, OpenFile, ReadBuf};
use crate::fs::wait::{self, Deadline, WaitQueue};
use crate::syscalls::signal;
use crate::syscalls::time;

const READABLE: u32 = abi::EPOLLIN | abi::EPOLLRDNORM;

struct TimerState {
    /// Monotonic time of the next expiry; 0 when disarmed.
    deadline_ns: u64,
    interval_ns: u64,
    /// Expirations not yet read.
    ticks: u64,
    /// A periodic timer expired and waits to be moved to its next expiry, by the next read,
    /// gettime or settime (Linux's `expired`: a tiny interval cannot flood a CPU with
    /// interrupts, since nothing re-arms it from the interrupt).
    expired: bool,
    /// The pending callback and its key in `ARMED`.
    armed: Option<(TimerHandle, u64)>,
}

pub struct TimerFd {
    /// This timer, for the registry (the callback must not keep a closed timer alive).
    me: Weak<TimerFd>,
    realtime: bool,
    state: IrqMutex<TimerState>,
    queue: WaitQueue,
}

/// Armed timers by key (the callback's argument). Lock order: a timer's state, then this.
static ARMED: IrqMutex<BTreeMap<u64, Weak<TimerFd>>> = IrqMutex::new(BTreeMap::new());
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// The clocks timerfd_create accepts; whether it is the wall clock.
pub fn clock_is_realtime(clock: u32) -> Result<bool, Errno> {
    match clock {
        abi::CLOCK_REALTIME | abi::CLOCK_REALTIME_ALARM => Ok(true),
        abi::CLOCK_MONOTONIC | abi::CLOCK_BOOTTIME | abi::CLOCK_BOOTTIME_ALARM => Ok(false),
        _ => Err(Errno::EINVAL),
    }
}

pub fn new(realtime: bool) -> Arc<TimerFd> {
    Arc::new_cyclic(|me| TimerFd {
        me: me.clone(),
        realtime,
        state: IrqMutex::new(TimerState {
            deadline_ns: 0,
            interval_ns: 0,
            ticks: 0,
            expired: false,
            armed: None,
        }),
        queue: WaitQueue::new(),
    })
}

/// Cancel the pending callback of `state` (lock held).
fn disarm(state: &mut TimerState) {
    if let Some((handle, key)) = state.armed.take() {
        timer::cancel(handle);
        ARMED.lock().remove(&key);
    }
}

/// Arm the callback for `state.deadline_ns` (lock held).
fn arm(this: &TimerFd, state: &mut TimerState) {
    let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
    ARMED.lock().insert(key, this.me.clone());
    let handle = timer::add_callback(time::monotonic_to_tsc(state.deadline_ns), fire, key);
    state.armed = Some((handle, key));
}

/// The timer interrupt: count the expiry.
fn fire(key: u64) {
    let Some(this) = ARMED.lock().remove(&key).and_then(|w| w.upgrade()) else {
        return;
    };
    {
        let mut state = this.state.lock();
        if !matches!(state.armed, Some((_, k)) if k == key) {
            return; // re-armed or disarmed meanwhile
        }
        state.armed = None;
        state.ticks += 1;
        if state.interval_ns == 0 {
            state.deadline_ns = 0;
        } else {
            state.expired = true;
        }
    }
    this.queue.notify(READABLE);
}

/// An expired periodic timer: count the intervals missed since its expiry (the expiry itself is
/// already counted), move it to the first expiry after now and arm it (Linux's
/// `hrtimer_forward_now`).
fn forward(this: &TimerFd, state: &mut TimerState) {
    if !state.expired {
        return;
    }
    state.expired = false;
    let late = time::monotonic_ns().saturating_sub(state.deadline_ns);
    if let Some(missed) = late.checked_div(state.interval_ns) {
        state.ticks += missed;
        state.deadline_ns += (missed + 1) * state.interval_ns;
        arm(this, state);
    }
}

impl TimerFd {
    /// timerfd_settime: returns the old (remaining, interval).
    pub fn set(&self, value_ns: u64, interval_ns: u64, absolute: bool) -> (u64, u64) {
        {
            let mut state = self.state.lock();
            forward(self, &mut state);
            let old = remaining(&state);
            disarm(&mut state);
            state.ticks = 0;
            state.expired = false;
            state.interval_ns = interval_ns;
            state.deadline_ns = 0;
            if value_ns != 0 {
                let now = time::monotonic_ns();
                let deadline = if !absolute {
                    now.saturating_add(value_ns)
                } else if self.realtime {
                    time::realtime_to_monotonic(value_ns)
                } else {
                    value_ns
                };
                // (0 means disarmed: an expiry at boot is in the past anyway.)
                state.deadline_ns = deadline.max(1);
                arm(self, &mut state);
            }
            old
        }
    }

    /// timerfd_gettime: (remaining, interval).
    pub fn get(&self) -> (u64, u64) {
        let mut state = self.state.lock();
        forward(self, &mut state);
        remaining(&state)
    }

    fn take_ticks(&self) -> Option<u64> {
        let mut state = self.state.lock();
        if state.ticks == 0 {
            return None;
        }
        forward(self, &mut state);
        Some(core::mem::take(&mut state.ticks))
    }
}

fn remaining(state: &TimerState) -> (u64, u64) {
    let value = if state.deadline_ns == 0 {
        0
    } else {
        // An expiry due but not yet counted reads as 1 ns, not as disarmed.
        state
            .deadline_ns
            .saturating_sub(time::monotonic_ns())
            .max(1)
    };
    (value, state.interval_ns)
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        disarm(&mut self.state.lock());
    }
}

impl FileOps for TimerFd {
    /// Linux's `noop_llseek`: lseek succeeds and the position stays 0.
    fn seek(&self, _file: &OpenFile, _pos: u64, _offset: i64, _whence: u32) -> SysResult {
        Ok(0)
    }

    fn read(&self, file: &OpenFile, buf: &mut ReadBuf, _offset: Option<u64>) -> SysResult {
        if buf.remaining() < 8 {
            return Err(Errno::EINVAL);
        }
        let ticks = match self.take_ticks() {
            Some(t) => t,
            None if file.nonblocking() => return Err(Errno::EAGAIN),
            None => wait::wait_until(&[&self.queue], READABLE, Deadline::Never, || {
                self.take_ticks()
            })
            .map_err(signal::restartable)?,
        };
        if buf.put(&ticks.to_ne_bytes()) < 8 {
            return Err(Errno::EFAULT);
        }
        Ok(8)
    }

    fn poll(&self, _file: &OpenFile) -> u32 {
        if self.state.lock().ticks > 0 {
            READABLE
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    fn stat(&self) -> Result<abi::stat, Errno> {
        Ok(crate::fs::eventfd::anon_inode_stat())
    }

    fn describe(&self) -> String {
        String::from("anon_inode:[timerfd]")
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
