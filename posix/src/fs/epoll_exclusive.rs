//! EPOLLEXCLUSIVE: the registrations of one file made with EPOLLEXCLUSIVE (from any number of
//! epoll instances) share one callback on the file's wait queue, which offers each notification
//! to its members in order until one of them wakes an `epoll_wait`er (Linux's exclusive wait
//! entries with `nr_exclusive = 1`). Members whose instance has nobody waiting still queue the
//! item, so nothing is lost; the others are not disturbed.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use ferrite_libos::sync::IrqMutex;

use crate::fs::epoll::Item;
use crate::fs::file::FileOps;
use crate::fs::wait::{WaitKey, WaitQueue, WakeCallback};

pub struct ExclusiveGroup {
    /// The file kind that owns the queue (the queue is reached through it to unregister).
    ops: Weak<dyn FileOps>,
    id: GroupId,
    members: IrqMutex<Vec<Arc<Item>>>,
    key: IrqMutex<Option<WaitKey>>,
}

/// A group is per (queue, file kind): the weak `ops` keeps the kind's address from being reused
/// while the group exists.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct GroupId {
    queue: usize,
    ops: usize,
}

static GROUPS: IrqMutex<BTreeMap<GroupId, Arc<ExclusiveGroup>>> = IrqMutex::new(BTreeMap::new());

impl WakeCallback for ExclusiveGroup {
    fn wake(&self, events: u32) -> bool {
        let members: Vec<Arc<Item>> = self.members.lock().clone();
        for item in members {
            if item.signal(events) {
                break;
            }
        }
        // (The group leaves the queue itself when its last member does; a group whose file is
        // gone has nothing more to hear.)
        self.ops.strong_count() > 0
    }
}

/// Add `item` to the exclusive group of `queue` (creating and registering it if needed).
/// Membership changes happen under `GROUPS`, so a group is never dropped while joined.
pub fn join(queue: &WaitQueue, ops: &Arc<dyn FileOps>, item: &Arc<Item>) -> Arc<ExclusiveGroup> {
    let id = GroupId {
        queue: queue as *const WaitQueue as usize,
        ops: Arc::as_ptr(ops) as *const () as usize,
    };
    let mut groups = GROUPS.lock();
    let group = match groups.get(&id) {
        Some(g) => g.clone(),
        None => {
            let g = Arc::new(ExclusiveGroup {
                ops: Arc::downgrade(ops),
                id,
                members: IrqMutex::new(Vec::new()),
                key: IrqMutex::new(None),
            });
            let callback: Arc<dyn WakeCallback> = g.clone();
            *g.key.lock() = Some(queue.add_callback(u32::MAX, callback));
            groups.insert(id, g.clone());
            g
        }
    };
    group.members.lock().push(item.clone());
    group
}

/// Take `item` out of its group; the last member takes the group off its queue.
pub fn leave(group: &Arc<ExclusiveGroup>, item: &Arc<Item>) {
    let mut groups = GROUPS.lock();
    let empty = {
        let mut members = group.members.lock();
        members.retain(|m| !Arc::ptr_eq(m, item));
        members.is_empty()
    };
    if !empty {
        return;
    }
    if groups.get(&group.id).is_some_and(|g| Arc::ptr_eq(g, group)) {
        groups.remove(&group.id);
    }
    drop(groups);
    let key = group.key.lock().take();
    if let (Some(key), Some(ops)) = (key, group.ops.upgrade())
        && let Some(q) = ops.wait_queue()
    {
        q.remove(key);
    }
}
