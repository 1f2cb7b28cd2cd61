//! Wait queues: how a thread sleeps until a file becomes readable or writable, and how epoll
//! learns that it did. A file kind owns one `WaitQueue` and calls `notify(events)` whenever its
//! readiness may have changed (data arrived, space freed, the other end closed). Waiters are
//! either threads (blocking read/write, poll, select) or callbacks (epoll's ready lists).
//!
//! The blocking protocol never loses a wake-up: a waiter prepares to block, registers, checks
//! the condition again and only then sleeps; a notify in between makes `block` return at once.
//! A signal wakes the thread with `WakeReason::Interrupted` (signal delivery calls
//! `futex::interrupt`), which the waiter turns into EINTR.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ferrite_libos::sync::IrqMutex;
use ferrite_smp::thread::{Thread, WakeReason};
use ferrite_smp::{sched, timer};

use crate::errno::Errno;

/// Something to call when a queue is notified (epoll's per-fd hook). It runs on the notifying
/// CPU, possibly from an interrupt handler, with no queue lock held: it must not block.
pub trait WakeCallback: Send + Sync {
    /// Returns whether to stay registered: false drops the registration (its epoll instance or
    /// file is gone while the queue lives on, as the console's or a pipe's other end).
    fn wake(&self, events: u32) -> bool;
}

enum Waiter {
    Thread(Arc<Thread>),
    Callback(Arc<dyn WakeCallback>),
}

struct Entry {
    key: u64,
    /// The events this waiter cares about (EPOLL* bits; EPOLLHUP/EPOLLERR always match).
    mask: u32,
    waiter: Waiter,
}

/// Identifies a registration, to remove it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct WaitKey(u64);

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// Events a waiter always hears about, whatever it asked for (as Linux's poll).
const ALWAYS: u32 = crate::abi::EPOLLHUP | crate::abi::EPOLLERR;

pub struct WaitQueue {
    entries: IrqMutex<Vec<Entry>>,
    /// Whether `entries` is non-empty: `notify` on a queue nobody waits on takes no lock.
    busy: AtomicBool,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    pub const fn new() -> WaitQueue {
        WaitQueue {
            entries: IrqMutex::new(Vec::new()),
            busy: AtomicBool::new(false),
        }
    }

    fn add(&self, mask: u32, waiter: Waiter) -> WaitKey {
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock();
        entries.push(Entry { key, mask, waiter });
        self.busy.store(true, Ordering::SeqCst);
        WaitKey(key)
    }

    /// Register the current thread for `mask` events; it is woken (`WakeReason::Woken`) by the
    /// next matching `notify`. Call `sched::prepare_to_block` first.
    pub fn add_current(&self, mask: u32) -> WaitKey {
        self.add(mask, Waiter::Thread(sched::current_arc()))
    }

    /// Register a callback for `mask` events.
    pub fn add_callback(&self, mask: u32, callback: Arc<dyn WakeCallback>) -> WaitKey {
        self.add(mask, Waiter::Callback(callback))
    }

    pub fn remove(&self, key: WaitKey) {
        let mut entries = self.entries.lock();
        entries.retain(|e| e.key != key.0);
        if entries.is_empty() {
            self.busy.store(false, Ordering::SeqCst);
        }
    }

    /// Change what a registration waits for (epoll_ctl MOD).
    pub fn set_mask(&self, key: WaitKey, mask: u32) {
        if let Some(e) = self.entries.lock().iter_mut().find(|e| e.key == key.0) {
            e.mask = mask;
        }
    }

    /// Readiness may have changed to include `events`: wake every thread waiting for one of
    /// them and run the matching callbacks.
    pub fn notify(&self, events: u32) {
        // (SeqCst: pairs with `add`, so a waiter registering now either is seen here or sees the
        // new state when it checks its condition after registering.)
        if !self.busy.load(Ordering::SeqCst) {
            return;
        }
        let mut threads: Vec<Arc<Thread>> = Vec::new();
        let mut callbacks: Vec<(u64, Arc<dyn WakeCallback>)> = Vec::new();
        for e in self.entries.lock().iter() {
            if events & (e.mask | ALWAYS) == 0 {
                continue;
            }
            match &e.waiter {
                Waiter::Thread(t) => threads.push(t.clone()),
                Waiter::Callback(c) => callbacks.push((e.key, c.clone())),
            }
        }
        for t in threads {
            if t.claim_wake(WakeReason::Woken) {
                sched::wake(&t);
            }
        }
        for (key, c) in callbacks {
            if !c.wake(events) {
                self.remove(WaitKey(key));
            }
        }
    }
}

/// When a wait ends: a TSC deadline, or never.
#[derive(Clone, Copy, Debug)]
pub enum Deadline {
    Never,
    Tsc(u64),
}

impl Deadline {
    /// `ns` nanoseconds from now.
    pub fn after_ns(ns: u64) -> Deadline {
        Deadline::Tsc(sched::now_tsc().saturating_add(sched::ns_to_tsc(ns)))
    }

    pub fn passed(&self) -> bool {
        match *self {
            Deadline::Never => false,
            Deadline::Tsc(t) => sched::now_tsc() >= t,
        }
    }
}

/// Why a wait ended without its condition.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WaitError {
    /// A signal arrived (the system call returns EINTR, or restarts as Linux would).
    Interrupted,
    TimedOut,
}

impl From<WaitError> for Errno {
    fn from(e: WaitError) -> Errno {
        match e {
            WaitError::Interrupted => Errno::EINTR,
            WaitError::TimedOut => Errno::ETIMEDOUT,
        }
    }
}

/// Sleep on the current thread's behalf until `ready` returns `Some` (checked before each
/// sleep, after registering on every queue in `queues` for `mask`), a signal arrives, or the
/// deadline passes. `ready` must not block.
pub fn wait_until<T>(
    queues: &[&WaitQueue],
    mask: u32,
    deadline: Deadline,
    mut ready: impl FnMut() -> Option<T>,
) -> Result<T, WaitError> {
    loop {
        if let Some(v) = ready() {
            return Ok(v);
        }
        if deadline.passed() {
            return Err(WaitError::TimedOut);
        }
        sched::prepare_to_block();
        let keys: Vec<WaitKey> = queues.iter().map(|q| q.add_current(mask)).collect();
        let timer = match deadline {
            Deadline::Tsc(t) => Some(timer::add(t, sched::current_arc())),
            Deadline::Never => None,
        };
        // Checked again now that a notify cannot be missed.
        let reason = match ready() {
            Some(v) => {
                cleanup(queues, &keys, timer);
                return Ok(v);
            }
            None => sched::block(),
        };
        cleanup(queues, &keys, timer);
        match reason {
            WakeReason::Interrupted => return Err(WaitError::Interrupted),
            WakeReason::TimedOut => {
                // One last look: the condition may have come true with the deadline.
                return ready().ok_or(WaitError::TimedOut);
            }
            _ => {}
        }
    }
}

fn cleanup(queues: &[&WaitQueue], keys: &[WaitKey], timer: Option<timer::TimerHandle>) {
    if let Some(t) = timer {
        timer::cancel(t);
    }
    for (q, k) in queues.iter().zip(keys) {
        q.remove(*k);
    }
}

/// A sleeping lock for long kernel operations on files (a file's position during a read, a
/// directory during a lookup that copies from the service). Waiters sleep instead of spinning
/// with interrupts off; signals do not interrupt the wait (as Linux's `mutex_lock`).
pub struct SleepLock<T> {
    locked: AtomicBool,
    queue: WaitQueue,
    value: core::cell::UnsafeCell<T>,
}

// SAFETY: the value is only reached through a guard, and at most one guard exists at a time
// (`locked` is taken with an acquire compare-exchange and released with a release store).
unsafe impl<T: Send> Sync for SleepLock<T> {}
// SAFETY: as above; moving the lock moves the value.
unsafe impl<T: Send> Send for SleepLock<T> {}

pub struct SleepLockGuard<'a, T> {
    lock: &'a SleepLock<T>,
}

/// The event a released `SleepLock` notifies its waiters with.
const UNLOCKED: u32 = crate::abi::EPOLLOUT;

impl<T> SleepLock<T> {
    pub const fn new(value: T) -> SleepLock<T> {
        SleepLock {
            locked: AtomicBool::new(false),
            queue: WaitQueue::new(),
            value: core::cell::UnsafeCell::new(value),
        }
    }

    fn try_take(&self) -> bool {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    pub fn lock(&self) -> SleepLockGuard<'_, T> {
        loop {
            match wait_until(&[&self.queue], UNLOCKED, Deadline::Never, || {
                self.try_take().then_some(())
            }) {
                Ok(()) => return SleepLockGuard { lock: self },
                // A signal does not end the wait; it is delivered when the system call returns.
                Err(_) => continue,
            }
        }
    }
}

impl<T> core::ops::Deref for SleepLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock (see `Sync` above).
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> core::ops::DerefMut for SleepLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock exclusively.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SleepLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
        self.lock.queue.notify(UNLOCKED);
    }
}
