//! epoll instances. An instance keeps its registrations (the interest list, keyed by fd and open
//! file as Linux's) and a ready list. Each registration puts a callback on its file's wait queue;
//! a notification appends the item to the ready list and wakes one `epoll_wait`er, so a wait
//! costs in proportion to the ready items, never to the registered ones: `epoll_wait` polls only
//! the items on the ready list. A level-triggered item that is still ready goes back on the list
//! after it is reported (as Linux's), an edge-triggered one waits for the next notification, a
//! one-shot one is disabled until EPOLL_CTL_MOD.
//!
//! An item holds its file weakly: closing the last reference of a file drops the registration
//! (the item is forgotten when next met on the ready list, when the interest list is swept on
//! growth, or with the instance), as Linux's `eventpoll_release`, without a hook in every file
//! kind. The weak reference also keeps the file's address from being reused by another file while
//! the item exists, so the (fd, file) key stays unique.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use ferrite_libos::sync::IrqMutex;
use ferrite_smp::thread::{Thread, WakeReason};
use ferrite_smp::{sched, timer};

use crate::abi;
use crate::errno::{Errno, SysResult};
#[path = "epoll_exclusive.rs"]
mod exclusive;
use crate::fs::file::{FileOps, OpenFile};
use crate::fs::wait::{Deadline, SleepLock, WaitKey, WaitQueue, WakeCallback};
use crate::uaccess;
use exclusive::ExclusiveGroup;

/// Flags that are not events (Linux's EP_PRIVATE_BITS): a disabled one-shot item keeps only these.
const PRIVATE: u32 = abi::EPOLLWAKEUP | abi::EPOLLONESHOT | abi::EPOLLET | abi::EPOLLEXCLUSIVE;
/// What EPOLLEXCLUSIVE may be combined with (Linux's EPOLLEXCLUSIVE_OK_BITS).
const EXCLUSIVE_OK: u32 = abi::EPOLLIN
    | abi::EPOLLOUT
    | abi::EPOLLERR
    | abi::EPOLLHUP
    | abi::EPOLLWAKEUP
    | abi::EPOLLET
    | abi::EPOLLEXCLUSIVE;
const ELOOP: Errno = Errno(abi::ELOOP as i32);
/// How deep epoll instances may nest (Linux's EP_MAX_NESTS).
const MAX_NESTS: usize = 4;
/// `sizeof(struct epoll_event)`: packed on x86-64.
pub const EVENT_SIZE: u64 = core::mem::size_of::<abi::epoll_event>() as u64;
const _: () = assert!(EVENT_SIZE == 12);
/// The most events one epoll_wait may ask for (Linux's EP_MAX_EVENTS).
pub const MAX_EVENTS: i64 = i32::MAX as i64 / EVENT_SIZE as i64;

/// The epoll file: what an epoll fd's open file refers to.
pub struct Epoll {
    inner: Arc<Instance>,
}

struct Instance {
    /// The interest list; also serialises epoll_ctl with harvesting (Linux's `ep->mtx`).
    interest: SleepLock<Interest>,
    ready: IrqMutex<Ready>,
    /// Pollers of the epoll fd itself (poll, select, an epoll it is nested in).
    poll_queue: WaitQueue,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    fd: i32,
    file: usize,
}

struct Interest {
    items: BTreeMap<Key, Registration>,
    /// The list's length after the last sweep of closed files (sweeps are amortised over ADDs).
    swept_len: usize,
}

struct Registration {
    item: Arc<Item>,
    hook: Hook,
}

/// How an item hears about its file: its own callback on the file's queue, or membership of the
/// queue's EPOLLEXCLUSIVE group.
enum Hook {
    Callback(WaitKey),
    Exclusive(Arc<ExclusiveGroup>),
}

struct Ready {
    list: VecDeque<Arc<Item>>,
    /// Threads in epoll_wait, woken one per notification.
    waiters: VecDeque<Arc<Thread>>,
}

/// One registration (Linux's `epitem`).
pub struct Item {
    me: Weak<Item>,
    key: Key,
    file: Weak<OpenFile>,
    ops: Weak<dyn FileOps>,
    instance: Weak<Instance>,
    /// The requested events and flags, with EPOLLERR|EPOLLHUP; only PRIVATE bits once a one-shot
    /// item has fired, 0 once removed.
    events: AtomicU32,
    data: AtomicU64,
    /// Whether the item is on the ready list (changed under the instance's `ready` lock).
    on_list: AtomicBool,
}

/// The file's wait queue, for (un)registering.
fn queue_of(ops: &Arc<dyn FileOps>) -> Option<&WaitQueue> {
    ops.wait_queue()
}

impl Item {
    /// The file's readiness may have changed to include `events`: queue the item and wake a
    /// waiter. Returns whether an exclusive wake-up was used up (Linux's `ewake`).
    pub fn signal(&self, events: u32) -> bool {
        let Some(instance) = self.instance.upgrade() else {
            return false;
        };
        let wanted = self.events.load(Ordering::Acquire);
        if wanted & !PRIVATE == 0 {
            return false; // a fired one-shot, or removed
        }
        if events & (wanted | abi::EPOLLERR | abi::EPOLLHUP) == 0 {
            return false;
        }
        let Some(me) = self.me.upgrade() else {
            return false;
        };
        let woke = instance.queue_ready(me);
        if wanted & abi::EPOLLEXCLUSIVE == 0 {
            return true;
        }
        woke && match events & (abi::EPOLLIN | abi::EPOLLOUT) {
            abi::EPOLLIN => wanted & abi::EPOLLIN != 0,
            abi::EPOLLOUT => wanted & abi::EPOLLOUT != 0,
            0 => true,
            _ => false,
        }
    }

    pub fn alive(&self) -> bool {
        self.events.load(Ordering::Acquire) != 0
    }
}

impl WakeCallback for Item {
    fn wake(&self, events: u32) -> bool {
        self.signal(events);
        // Registered while the instance and the file live and the item was not deleted.
        self.instance.strong_count() > 0 && self.file.strong_count() > 0 && self.alive()
    }
}

/// Wake the first waiter that is still waiting (one whose timer or signal already woke it is
/// passed over). Returns whether one was woken.
fn wake_one(waiters: &mut VecDeque<Arc<Thread>>) -> bool {
    while let Some(t) = waiters.pop_front() {
        if t.claim_wake(WakeReason::Woken) {
            sched::wake(&t);
            return true;
        }
    }
    false
}

/// Whether the current thread has a signal to take (pending and not blocked).
pub fn signal_pending() -> bool {
    let t = sched::current().posix.lock();
    t.pending_signals & !t.signal_mask != 0
}

impl Instance {
    fn queue_ready(&self, item: Arc<Item>) -> bool {
        let woke = {
            let mut ready = self.ready.lock();
            if !item.on_list.swap(true, Ordering::AcqRel) {
                ready.list.push_back(item);
            }
            wake_one(&mut ready.waiters)
        };
        self.poll_queue.notify(abi::EPOLLIN | abi::EPOLLRDNORM);
        woke
    }

    /// Drop a registration from the interest list and its file's queue.
    fn unregister(&self, interest: &mut Interest, item: &Arc<Item>) {
        let same = interest
            .items
            .get(&item.key)
            .is_some_and(|r| Arc::ptr_eq(&r.item, item));
        if same && let Some(reg) = interest.items.remove(&item.key) {
            release(reg);
        }
    }

    /// Forget items whose file is gone, once the list has doubled since the last sweep.
    fn maybe_sweep(&self, interest: &mut Interest) {
        if interest.items.len() < (2 * interest.swept_len).max(64) {
            return;
        }
        let dead: Vec<Key> = interest
            .items
            .iter()
            .filter(|(_, r)| r.item.file.strong_count() == 0)
            .map(|(k, _)| *k)
            .collect();
        for key in dead {
            if let Some(reg) = interest.items.remove(&key) {
                release(reg);
            }
        }
        interest.swept_len = interest.items.len();
    }

    /// Report up to `max` ready events to the service's array at `out` (Linux's
    /// `ep_send_events`). Only items on the ready list are polled.
    fn harvest(&self, out: u64, max: usize) -> SysResult {
        let mut interest = self.interest.lock();
        let budget = self.ready.lock().list.len();
        let mut again: Vec<Arc<Item>> = Vec::new();
        let mut reported = 0usize;
        for _ in 0..budget {
            if reported == max {
                break;
            }
            let item = {
                let mut ready = self.ready.lock();
                let Some(item) = ready.list.pop_front() else {
                    break;
                };
                item.on_list.store(false, Ordering::Release);
                item
            };
            let wanted = item.events.load(Ordering::Acquire);
            if wanted & !PRIVATE == 0 {
                continue;
            }
            let Some(file) = item.file.upgrade() else {
                self.unregister(&mut interest, &item);
                continue;
            };
            let revents = file.poll() & wanted & !PRIVATE;
            drop(file);
            if revents == 0 {
                continue;
            }
            let event = abi::epoll_event {
                events: revents,
                data: abi::epoll_data {
                    u64_: item.data.load(Ordering::Acquire),
                },
            };
            let at = out + reported as u64 * EVENT_SIZE;
            if uaccess::write(at, &event).is_err() {
                // Not consumed: back at the front for the next call, as Linux's.
                let mut ready = self.ready.lock();
                if !item.on_list.swap(true, Ordering::AcqRel) {
                    ready.list.push_front(item);
                }
                if reported == 0 {
                    return Err(Errno::EFAULT);
                }
                break;
            }
            reported += 1;
            if wanted & abi::EPOLLONESHOT != 0 {
                item.events.fetch_and(PRIVATE, Ordering::AcqRel);
            } else if wanted & abi::EPOLLET == 0 {
                again.push(item);
            }
        }
        let mut ready = self.ready.lock();
        for item in again {
            if !item.on_list.swap(true, Ordering::AcqRel) {
                ready.list.push_back(item);
            }
        }
        if !ready.list.is_empty() {
            // Others may take what is left (Linux's `ep_done_scan`).
            wake_one(&mut ready.waiters);
        }
        Ok(reported as i64)
    }

    /// Whether a ready item is ready now (the epoll fd's own readiness).
    fn any_ready(&self) -> bool {
        let items: Vec<Arc<Item>> = self.ready.lock().list.iter().cloned().collect();
        items.iter().any(|item| {
            let wanted = item.events.load(Ordering::Acquire) & !PRIVATE;
            wanted != 0
                && item
                    .file
                    .upgrade()
                    .is_some_and(|file| file.poll() & wanted != 0)
        })
    }

    fn remove_waiter(&self, me: &Arc<Thread>) {
        self.ready.lock().waiters.retain(|t| !Arc::ptr_eq(t, me));
    }

    /// epoll_wait: report ready events, sleeping until there are some, the deadline passes
    /// (0 events) or a signal arrives (EINTR).
    fn wait(&self, out: u64, max: usize, deadline: Deadline) -> SysResult {
        loop {
            let n = self.harvest(out, max)?;
            if n > 0 {
                return Ok(n);
            }
            if deadline.passed() {
                return Ok(0);
            }
            if signal_pending() {
                return Err(Errno::EINTR);
            }
            sched::prepare_to_block();
            let me = sched::current_arc();
            {
                let mut ready = self.ready.lock();
                if !ready.list.is_empty() {
                    continue;
                }
                ready.waiters.push_back(me.clone());
            }
            // A signal sent before `prepare_to_block` found nothing to interrupt.
            if signal_pending() {
                self.remove_waiter(&me);
                return Err(Errno::EINTR);
            }
            let timer = match deadline {
                Deadline::Tsc(t) => Some(timer::add(t, me.clone())),
                Deadline::Never => None,
            };
            let reason = sched::block();
            if let Some(t) = timer {
                timer::cancel(t);
            }
            self.remove_waiter(&me);
            match reason {
                // As Linux's `ep_poll`, events that are there win over the signal.
                WakeReason::Interrupted => {
                    let n = self.harvest(out, max)?;
                    return if n > 0 { Ok(n) } else { Err(Errno::EINTR) };
                }
                WakeReason::TimedOut => return self.harvest(out, max),
                _ => {}
            }
        }
    }

    /// The epoll instances registered in this one.
    fn nested(&self) -> Vec<Arc<Instance>> {
        let interest = self.interest.lock();
        interest
            .items
            .values()
            .filter_map(|r| r.item.file.upgrade())
            .filter_map(|f| instance_of(&f))
            .collect()
    }
}

/// Undo a registration: off the file's queue (if the file kind is still there), out of its
/// exclusive group, and never reported again.
fn release(reg: Registration) {
    reg.item.events.store(0, Ordering::Release);
    match reg.hook {
        Hook::Callback(key) => {
            if let Some(ops) = reg.item.ops.upgrade()
                && let Some(q) = queue_of(&ops)
            {
                q.remove(key);
            }
        }
        Hook::Exclusive(group) => exclusive::leave(&group, &reg.item),
    }
}

fn instance_of(file: &OpenFile) -> Option<Arc<Instance>> {
    file.ops
        .as_any()
        .downcast_ref::<Epoll>()
        .map(|e| e.inner.clone())
}

pub fn is_epoll(file: &OpenFile) -> bool {
    file.ops.as_any().is::<Epoll>()
}

/// Serialises adding epoll files to epoll files, so the loop check sees a stable graph
/// (Linux's `epnested_mutex`).
static NESTING: SleepLock<()> = SleepLock::new(());

/// Whether adding `target` to `instance` would close a loop or nest too deep (Linux's
/// `ep_loop_check_proc`, from `target` at depth 0).
fn creates_loop(instance: &Arc<Instance>, target: &Arc<Instance>, depth: usize) -> bool {
    target.nested().iter().any(|child| {
        Arc::ptr_eq(instance, child)
            || depth > MAX_NESTS
            || creates_loop(instance, child, depth + 1)
    })
}

/// A new epoll instance, as an open file's operations.
pub fn create() -> Arc<dyn FileOps> {
    Arc::new(Epoll {
        inner: Arc::new(Instance {
            interest: SleepLock::new(Interest {
                items: BTreeMap::new(),
                swept_len: 0,
            }),
            ready: IrqMutex::new(Ready {
                list: VecDeque::new(),
                waiters: VecDeque::new(),
            }),
            poll_queue: WaitQueue::new(),
        }),
    })
}

/// epoll_ctl on the open files behind `epfd` and `fd` (already looked up); `event` is `None`
/// for EPOLL_CTL_DEL.
pub fn ctl(
    epoll: &OpenFile,
    op: u32,
    fd: i32,
    target: &Arc<OpenFile>,
    event: Option<(u32, u64)>,
) -> SysResult {
    // Files whose readiness never changes cannot be watched (Linux: no `->poll`, EPERM).
    let Some(queue) = target.ops.wait_queue() else {
        return Err(Errno::EPERM);
    };
    let instance = match instance_of(epoll) {
        Some(i) if !core::ptr::eq(epoll, Arc::as_ptr(target)) => i,
        _ => return Err(Errno::EINVAL),
    };
    let (mut events, data) = event.unwrap_or((0, 0));
    let target_instance = instance_of(target);
    let exclusive = op != abi::EPOLL_CTL_DEL && events & abi::EPOLLEXCLUSIVE != 0;
    if exclusive
        && (op == abi::EPOLL_CTL_MOD
            || (op == abi::EPOLL_CTL_ADD
                && (target_instance.is_some() || events & !EXCLUSIVE_OK != 0)))
    {
        return Err(Errno::EINVAL);
    }
    let _nesting = match (&target_instance, op) {
        (Some(nested), abi::EPOLL_CTL_ADD) => {
            let guard = NESTING.lock();
            if creates_loop(&instance, nested, 0) {
                return Err(ELOOP);
            }
            Some(guard)
        }
        _ => None,
    };
    let key = Key {
        fd,
        file: Arc::as_ptr(target) as usize,
    };
    let mut interest = instance.interest.lock();
    let existing = interest.items.get(&key).map(|r| r.item.clone());
    match op {
        abi::EPOLL_CTL_ADD => {
            if existing.is_some() {
                return Err(Errno::EEXIST);
            }
            instance.maybe_sweep(&mut interest);
            events |= abi::EPOLLERR | abi::EPOLLHUP;
            let item = Arc::new_cyclic(|me| Item {
                me: me.clone(),
                key,
                file: Arc::downgrade(target),
                ops: Arc::downgrade(&target.ops),
                instance: Arc::downgrade(&instance),
                events: AtomicU32::new(events),
                data: AtomicU64::new(data),
                on_list: AtomicBool::new(false),
            });
            let hook = if events & abi::EPOLLEXCLUSIVE != 0 {
                Hook::Exclusive(exclusive::join(queue, &target.ops, &item))
            } else {
                let callback: Arc<dyn WakeCallback> = item.clone();
                Hook::Callback(queue.add_callback(events & !PRIVATE, callback))
            };
            interest.items.insert(
                key,
                Registration {
                    item: item.clone(),
                    hook,
                },
            );
            if target.poll() & events & !PRIVATE != 0 {
                instance.queue_ready(item);
            }
            Ok(0)
        }
        abi::EPOLL_CTL_DEL => {
            let item = existing.ok_or(Errno::ENOENT)?;
            instance.unregister(&mut interest, &item);
            Ok(0)
        }
        abi::EPOLL_CTL_MOD => {
            let item = existing.ok_or(Errno::ENOENT)?;
            if item.events.load(Ordering::Acquire) & abi::EPOLLEXCLUSIVE != 0 {
                return Err(Errno::EINVAL);
            }
            events |= abi::EPOLLERR | abi::EPOLLHUP;
            item.data.store(data, Ordering::Release);
            item.events.store(events, Ordering::Release);
            if let Some(Registration {
                hook: Hook::Callback(k),
                ..
            }) = interest.items.get(&key)
            {
                queue.set_mask(*k, events & !PRIVATE);
            }
            if target.poll() & events & !PRIVATE != 0 && !item.on_list.load(Ordering::Acquire) {
                instance.queue_ready(item);
            }
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// epoll_wait on the open file behind an epoll fd: EINVAL if it is not one.
pub fn wait(epoll: &OpenFile, out: u64, max: usize, deadline: Deadline) -> SysResult {
    let instance = instance_of(epoll).ok_or(Errno::EINVAL)?;
    instance.wait(out, max, deadline)
}

impl Drop for Epoll {
    fn drop(&mut self) {
        let mut interest = self.inner.interest.lock();
        let items = core::mem::take(&mut interest.items);
        for (_, reg) in items {
            release(reg);
        }
        drop(interest);
        self.inner.ready.lock().list.clear();
    }
}

impl FileOps for Epoll {
    /// Linux's `noop_llseek`: lseek succeeds and the position stays 0.
    fn seek(&self, _file: &OpenFile, _pos: u64, _offset: i64, _whence: u32) -> SysResult {
        Ok(0)
    }

    fn poll(&self, _file: &OpenFile) -> u32 {
        if self.inner.any_ready() {
            abi::EPOLLIN | abi::EPOLLRDNORM
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.inner.poll_queue)
    }

    fn stat(&self) -> Result<abi::stat, Errno> {
        Ok(crate::fs::eventfd::anon_inode_stat())
    }

    fn describe(&self) -> String {
        String::from("anon_inode:[eventpoll]")
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
