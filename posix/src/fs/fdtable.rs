//! The descriptor table: fd number → open file, with the close-on-exec flag. One table for the
//! service (it is one process). The lock is held only to look up, insert or remove an entry,
//! never across I/O: a lookup clones the `Arc<OpenFile>`, so a concurrent close leaves an
//! operation in flight working on its file, as Linux's.

use alloc::sync::Arc;
use alloc::vec::Vec;

use ferrite_libos::sync::IrqMutex;

use crate::abi;
use crate::errno::Errno;
use crate::fs::file::OpenFile;

#[derive(Clone)]
struct Entry {
    file: Arc<OpenFile>,
    cloexec: bool,
}

struct Table {
    slots: Vec<Option<Entry>>,
    /// No free slot below this index (a hint that keeps allocation from rescanning the front).
    lowest_free: usize,
}

static TABLE: IrqMutex<Table> = IrqMutex::new(Table {
    slots: Vec::new(),
    lowest_free: 0,
});

/// The largest RLIMIT_NOFILE the table accepts (Linux's default `fs.nr_open`).
pub const NR_OPEN: u64 = 1 << 20;

fn fd_limit() -> usize {
    crate::syscalls::info::soft_limit(abi::RLIMIT_NOFILE).min(NR_OPEN) as usize
}

/// The open file behind `fd`.
pub fn get(fd: i32) -> Result<Arc<OpenFile>, Errno> {
    let table = TABLE.lock();
    match usize::try_from(fd).ok().and_then(|i| table.slots.get(i)) {
        Some(Some(e)) => Ok(e.file.clone()),
        _ => Err(Errno::EBADF),
    }
}

/// `get` for a system call's fd argument (the low 32 bits, as Linux's `unsigned int fd`).
pub fn get_arg(fd: u64) -> Result<Arc<OpenFile>, Errno> {
    get(fd as u32 as i32)
}

/// Install `file` at the lowest free fd ≥ `min`; EMFILE past RLIMIT_NOFILE.
pub fn install_from(min: usize, file: Arc<OpenFile>, cloexec: bool) -> Result<i32, Errno> {
    let limit = fd_limit();
    let mut table = TABLE.lock();
    let start = min.max(if min <= table.lowest_free {
        table.lowest_free
    } else {
        min
    });
    let mut fd = start;
    while fd < table.slots.len() && table.slots[fd].is_some() {
        fd += 1;
    }
    if fd >= limit {
        return Err(Errno::EMFILE);
    }
    if fd >= table.slots.len() {
        table.slots.resize(fd + 1, None);
    }
    table.slots[fd] = Some(Entry { file, cloexec });
    if min <= table.lowest_free {
        table.lowest_free = fd + 1;
    }
    Ok(fd as i32)
}

/// Install `file` at the lowest free fd.
pub fn install(file: Arc<OpenFile>, cloexec: bool) -> Result<i32, Errno> {
    install_from(0, file, cloexec)
}

/// Put `file` at exactly `fd` (dup2/dup3), closing what was there; EBADF beyond the limit.
pub fn install_at(fd: i32, file: Arc<OpenFile>, cloexec: bool) -> Result<i32, Errno> {
    let index = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
    if index >= fd_limit() {
        return Err(Errno::EBADF);
    }
    let old = {
        let mut table = TABLE.lock();
        if index >= table.slots.len() {
            table.slots.resize(index + 1, None);
        }
        let old = table.slots[index].replace(Entry { file, cloexec });
        if table.lowest_free == index {
            table.lowest_free = index + 1;
        }
        old
    };
    // Dropped (and flushed) outside the table lock.
    if let Some(e) = old {
        e.file.ops.flush(&e.file);
    }
    Ok(fd)
}

/// Remove `fd` from the table; the file closes when its last reference goes.
pub fn close(fd: i32) -> Result<(), Errno> {
    let entry = {
        let mut table = TABLE.lock();
        let index = usize::try_from(fd).map_err(|_| Errno::EBADF)?;
        let entry = table
            .slots
            .get_mut(index)
            .and_then(Option::take)
            .ok_or(Errno::EBADF)?;
        table.lowest_free = table.lowest_free.min(index);
        entry
    };
    entry.file.ops.flush(&entry.file);
    Ok(())
}

/// close_range: close (or, with `cloexec_only`, mark close-on-exec) every fd in
/// `[first, last]`.
pub fn close_range(first: u32, last: u32, cloexec_only: bool) {
    let mut closed = Vec::new();
    {
        let mut table = TABLE.lock();
        let end = (last as usize).saturating_add(1).min(table.slots.len());
        for index in (first as usize)..end {
            if cloexec_only {
                if let Some(e) = table.slots[index].as_mut() {
                    e.cloexec = true;
                }
            } else if let Some(e) = table.slots[index].take() {
                closed.push(e);
            }
        }
        if !cloexec_only {
            table.lowest_free = table.lowest_free.min(first as usize);
        }
    }
    for e in closed {
        e.file.ops.flush(&e.file);
    }
}

pub fn cloexec(fd: i32) -> Result<bool, Errno> {
    let table = TABLE.lock();
    match usize::try_from(fd).ok().and_then(|i| table.slots.get(i)) {
        Some(Some(e)) => Ok(e.cloexec),
        _ => Err(Errno::EBADF),
    }
}

pub fn set_cloexec(fd: i32, on: bool) -> Result<(), Errno> {
    let mut table = TABLE.lock();
    match usize::try_from(fd)
        .ok()
        .and_then(|i| table.slots.get_mut(i))
    {
        Some(Some(e)) => {
            e.cloexec = on;
            Ok(())
        }
        _ => Err(Errno::EBADF),
    }
}

/// Every open fd with its file (for /proc/self/fd), in order.
pub fn snapshot() -> Vec<(i32, Arc<OpenFile>)> {
    let table = TABLE.lock();
    table
        .slots
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.as_ref().map(|e| (i as i32, e.file.clone())))
        .collect()
}

/// How many fds are open.
pub fn open_count() -> usize {
    TABLE.lock().slots.iter().filter(|e| e.is_some()).count()
}
