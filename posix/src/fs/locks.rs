//! Advisory locks: fcntl record locks (classic POSIX and open-file-description "OFD" locks)
//! and flock, kept per inode.
//!
//! The service is one process, so classic POSIX locks all have one owner: they never conflict
//! with each other, but split and merge as Linux's, and all go away when any fd of the file is
//! closed. OFD locks and flock locks belong to an open file description: they conflict between
//! descriptions (and OFD locks with the process's classic locks) and go away with the
//! description's last fd. Blocking requests sleep on the inode's wait queue (EINTR on a signal).

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use ferrite_libos::sync::IrqMutex;

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::file::OpenFile;
use crate::fs::vfs::{self, InodeRef};
use crate::fs::wait::{self, Deadline, WaitQueue};
use crate::uaccess;

const LOCK_SH: u32 = 1;
const LOCK_EX: u32 = 2;
const LOCK_NB: u32 = 4;
const LOCK_UN: u32 = 8;

/// Who holds a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The process (classic POSIX locks).
    Process,
    /// An open file description (OFD locks, flock), by address.
    Description(usize),
}

/// A locked byte range, `end` inclusive (u64::MAX: to the end of any file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
    pub write: bool,
    pub owner: Owner,
}

fn overlaps(a: &Range, start: u64, end: u64) -> bool {
    a.start <= end && start <= a.end
}

/// The first lock that keeps `owner` from taking [start, end] (write or read).
pub fn conflict(
    ranges: &[Range],
    owner: Owner,
    start: u64,
    end: u64,
    write: bool,
) -> Option<Range> {
    ranges
        .iter()
        .find(|r| r.owner != owner && overlaps(r, start, end) && (write || r.write))
        .copied()
}

/// Set `owner`'s lock on [start, end] to `kind` (None = unlock), splitting and merging the
/// owner's ranges as Linux's `posix_lock_inode`.
pub fn apply(ranges: &mut Vec<Range>, owner: Owner, start: u64, end: u64, kind: Option<bool>) {
    let mut kept: Vec<Range> = Vec::with_capacity(ranges.len() + 2);
    let (mut new_start, mut new_end) = (start, end);
    for r in ranges.drain(..) {
        if r.owner != owner {
            kept.push(r);
            continue;
        }
        let adjacent =
            (r.end != u64::MAX && r.end + 1 == start) || (end != u64::MAX && end + 1 == r.start);
        if Some(r.write) == kind && (overlaps(&r, start, end) || adjacent) {
            // Same kind, touching: merge into the new range.
            new_start = new_start.min(r.start);
            new_end = new_end.max(r.end);
            continue;
        }
        if !overlaps(&r, start, end) {
            kept.push(r);
            continue;
        }
        // Different kind (or an unlock) over part of it: keep the parts outside.
        if r.start < start {
            kept.push(Range {
                end: start - 1,
                ..r
            });
        }
        if r.end > end {
            kept.push(Range {
                start: end + 1,
                ..r
            });
        }
    }
    if let Some(write) = kind {
        kept.push(Range {
            start: new_start,
            end: new_end,
            write,
            owner,
        });
    }
    kept.sort_by_key(|r| (r.start, r.end));
    *ranges = kept;
}

#[derive(Default)]
struct Inner {
    ranges: Vec<Range>,
    /// flock holders: (description, exclusive).
    flocks: Vec<(usize, bool)>,
}

struct LockState {
    inner: IrqMutex<Inner>,
    queue: WaitQueue,
}

/// Lock state by inode identity; an entry goes when its last lock does.
static STATES: IrqMutex<BTreeMap<usize, Arc<LockState>>> = IrqMutex::new(BTreeMap::new());
/// How many inodes have lock state: a close with none anywhere skips the table.
static STATE_COUNT: AtomicUsize = AtomicUsize::new(0);

/// The identity locks are kept under: the inode, or the file kind's object for files without one.
fn lock_key(file: &OpenFile) -> (usize, Option<InodeRef>) {
    match vfs::inode_of(file) {
        Some(inode) => (vfs::key(&inode), Some(inode)),
        None => (Arc::as_ptr(&file.ops) as *const () as usize, None),
    }
}

fn state(key: usize) -> Arc<LockState> {
    STATES
        .lock()
        .entry(key)
        .or_insert_with(|| {
            STATE_COUNT.fetch_add(1, Ordering::SeqCst);
            Arc::new(LockState {
                inner: IrqMutex::new(Inner::default()),
                queue: WaitQueue::new(),
            })
        })
        .clone()
}

fn existing_state(key: usize) -> Option<Arc<LockState>> {
    if STATE_COUNT.load(Ordering::SeqCst) == 0 {
        return None;
    }
    STATES.lock().get(&key).cloned()
}

/// Forget a state with no locks left.
fn tidy(key: usize, st: &LockState) {
    let mut states = STATES.lock();
    let inner = st.inner.lock();
    if inner.ranges.is_empty() && inner.flocks.is_empty() && states.remove(&key).is_some() {
        STATE_COUNT.fetch_sub(1, Ordering::SeqCst);
    }
}

const WAKE: u32 = abi::EPOLLIN;

fn description(file: &OpenFile) -> usize {
    file as *const OpenFile as usize
}

/// An fd was closed on `file` (FileOps::flush): classic locks on the inode go, and the
/// description's own locks go too if no fd refers to it any more.
pub fn on_close(file: &OpenFile, inode: &InodeRef) {
    let key = vfs::key(inode);
    let Some(st) = existing_state(key) else {
        return;
    };
    let desc = description(file);
    let last = !crate::fs::fdtable::snapshot()
        .iter()
        .any(|(_, f)| core::ptr::eq(Arc::as_ptr(f), file));
    {
        let mut inner = st.inner.lock();
        inner.ranges.retain(|r| {
            r.owner != Owner::Process && !(last && r.owner == Owner::Description(desc))
        });
        if last {
            inner.flocks.retain(|&(d, _)| d != desc);
        }
    }
    st.queue.notify(WAKE);
    tidy(key, &st);
}

/// A `struct flock` turned into an inclusive byte range: EINVAL for a bad whence or a range
/// starting before 0, EOVERFLOW past the largest offset.
fn flock_range(file: &OpenFile, fl: &abi::flock) -> Result<(u64, u64), Errno> {
    let base: i64 = match fl.l_whence as u32 {
        abi::SEEK_SET => 0,
        abi::SEEK_CUR => *file.position.lock() as i64,
        abi::SEEK_END => file.ops.stat()?.st_size,
        _ => return Err(Errno::EINVAL),
    };
    let start = base.checked_add(fl.l_start).ok_or(Errno::EOVERFLOW)?;
    let (start, end) = if fl.l_len > 0 {
        let end = start.checked_add(fl.l_len - 1).ok_or(Errno::EOVERFLOW)?;
        (start, end)
    } else if fl.l_len < 0 {
        (start.checked_add(fl.l_len).ok_or(Errno::EINVAL)?, start - 1)
    } else {
        (start, i64::MAX)
    };
    if start < 0 || end < start {
        return Err(Errno::EINVAL);
    }
    // (Linux stores OFFSET_MAX for "to the end"; both read back as l_len 0.)
    let end = if end == i64::MAX {
        u64::MAX
    } else {
        end as u64
    };
    Ok((start as u64, end))
}

/// fcntl F_GETLK, F_SETLK, F_SETLKW and the F_OFD_ variants; `arg` points at a `struct flock`.
pub fn fcntl(file: &OpenFile, cmd: u32, arg: u64) -> SysResult {
    if file.flags() & abi::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let mut fl: abi::flock = uaccess::read(arg)?;
    let ofd = matches!(cmd, abi::F_OFD_GETLK | abi::F_OFD_SETLK | abi::F_OFD_SETLKW);
    if ofd && fl.l_pid != 0 {
        return Err(Errno::EINVAL);
    }
    let owner = if ofd {
        Owner::Description(description(file))
    } else {
        Owner::Process
    };
    let kind = match fl.l_type as u32 {
        abi::F_RDLCK => Some(false),
        abi::F_WRLCK => Some(true),
        abi::F_UNLCK => None,
        _ => return Err(Errno::EINVAL),
    };
    let (start, end) = flock_range(file, &fl)?;
    let (key, _inode) = lock_key(file);
    if cmd == abi::F_GETLK || cmd == abi::F_OFD_GETLK {
        let Some(write) = kind else {
            return Err(Errno::EINVAL);
        };
        let found = existing_state(key)
            .and_then(|st| conflict(&st.inner.lock().ranges, owner, start, end, write));
        match found {
            Some(r) => {
                fl.l_type = if r.write { abi::F_WRLCK } else { abi::F_RDLCK } as i16;
                fl.l_whence = abi::SEEK_SET as i16;
                fl.l_start = r.start as i64;
                fl.l_len = if r.end == u64::MAX {
                    0
                } else {
                    (r.end - r.start + 1) as i64
                };
                fl.l_pid = match r.owner {
                    Owner::Process => ferrite_smp::thread::MAIN_TID as i32,
                    Owner::Description(_) => -1,
                };
            }
            None => fl.l_type = abi::F_UNLCK as i16,
        }
        uaccess::write(arg, &fl)?;
        return Ok(0);
    }
    // Setting: the access mode must allow the kind of lock.
    match kind {
        Some(false) if !file.readable() => return Err(Errno::EBADF),
        Some(true) if !file.writable() => return Err(Errno::EBADF),
        _ => {}
    }
    let st = state(key);
    let blocking = cmd == abi::F_SETLKW || cmd == abi::F_OFD_SETLKW;
    let try_set = || {
        let mut inner = st.inner.lock();
        if let Some(write) = kind
            && conflict(&inner.ranges, owner, start, end, write).is_some()
        {
            return None;
        }
        apply(&mut inner.ranges, owner, start, end, kind);
        Some(())
    };
    let result = if blocking {
        wait::wait_until(&[&st.queue], WAKE, Deadline::Never, try_set)
            .map_err(crate::syscalls::signal::restartable)
    } else {
        try_set().ok_or(Errno::EAGAIN)
    };
    // Unlocks and downgrades may let a waiter in.
    st.queue.notify(WAKE);
    tidy(key, &st);
    result.map(|_| 0)
}

/// flock(2).
pub fn flock(file: &OpenFile, op: u32) -> SysResult {
    let nonblocking = op & LOCK_NB != 0;
    let exclusive = match op & !LOCK_NB {
        LOCK_SH => Some(false),
        LOCK_EX => Some(true),
        LOCK_UN => None,
        _ => return Err(Errno::EINVAL),
    };
    let desc = description(file);
    let (key, _inode) = lock_key(file);
    let st = state(key);
    // A conversion drops the old lock first, as Linux's (not atomic).
    st.inner.lock().flocks.retain(|&(d, _)| d != desc);
    st.queue.notify(WAKE);
    let result = match exclusive {
        None => Ok(()),
        Some(ex) => {
            let try_take = || {
                let mut inner = st.inner.lock();
                let blocked = inner.flocks.iter().any(|&(d, e)| d != desc && (e || ex));
                if blocked {
                    return None;
                }
                inner.flocks.push((desc, ex));
                Some(())
            };
            if nonblocking {
                try_take().ok_or(Errno::EAGAIN)
            } else {
                wait::wait_until(&[&st.queue], WAKE, Deadline::Never, try_take)
                    .map_err(crate::syscalls::signal::restartable)
            }
        }
    };
    tidy(key, &st);
    result.map(|_| 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Owner = Owner::Process;

    #[test]
    fn split_and_merge() {
        let mut r = Vec::new();
        apply(&mut r, P, 0, 99, Some(true));
        apply(&mut r, P, 10, 19, Some(false));
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].start, r[0].end, r[0].write), (0, 9, true));
        assert_eq!((r[1].start, r[1].end, r[1].write), (10, 19, false));
        assert_eq!((r[2].start, r[2].end, r[2].write), (20, 99, true));
        apply(&mut r, P, 10, 19, Some(true));
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].start, r[0].end), (0, 99));
        apply(&mut r, P, 50, u64::MAX, None);
        assert_eq!((r[0].start, r[0].end), (0, 49));
        apply(&mut r, P, 50, 60, Some(true)); // adjacent: merges
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].start, r[0].end), (0, 60));
    }

    #[test]
    fn conflicts_between_owners() {
        let a = Owner::Description(1);
        let b = Owner::Description(2);
        let mut r = Vec::new();
        apply(&mut r, a, 0, 9, Some(false));
        assert!(conflict(&r, b, 5, 5, false).is_none());
        assert!(conflict(&r, b, 5, 5, true).is_some());
        assert!(conflict(&r, a, 5, 5, true).is_none());
        assert!(conflict(&r, P, 10, 20, true).is_none());
        apply(&mut r, a, 0, 9, None);
        assert!(r.is_empty());
    }
}
