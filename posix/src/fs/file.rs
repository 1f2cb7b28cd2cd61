//! Open files: what an fd refers to. Every kind of file (the console, regular files and
//! directories, pipes, eventfd, timerfd, epoll, sockets later) implements `FileOps`; an
//! `OpenFile` is one open file description (Linux's `struct file`): the operations, the status
//! flags (`O_NONBLOCK`, `O_APPEND`, the access mode) and the position, shared by every fd
//! `dup`ed from it.
//!
//! Reads and writes move bytes through `ReadBuf`/`WriteBuf`, which are either the service's
//! buffers (an iovec list; copies stop at the first inaccessible byte, giving Linux's partial
//! transfers) or kernel buffers (sendfile, splice, the kernel's own reads of /etc files).

use alloc::string::String;
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::wait::{SleepLock, WaitQueue};
use crate::uaccess;

/// What a file kind does. Defaults are Linux's answers for a file that lacks the operation.
pub trait FileOps: Send + Sync + Any {
    /// Read into `buf`. `offset` is `Some` for seekable files (the position, or pread's
    /// offset) and `None` for streams. Returns the bytes read: partial copies count (a fault
    /// after some bytes is a short count, before any is EFAULT), 0 is end of file. Blocking
    /// files honour `file.nonblocking()` (EAGAIN).
    fn read(&self, _file: &OpenFile, _buf: &mut ReadBuf, _offset: Option<u64>) -> SysResult {
        Err(Errno::EINVAL)
    }

    /// Write from `buf`; as `read`. With O_APPEND a seekable file writes at its end and sets
    /// `*end` to the position after the write; otherwise `*end` is left alone.
    fn write(
        &self,
        _file: &OpenFile,
        _buf: &mut WriteBuf,
        _offset: Option<u64>,
        _end: &mut Option<u64>,
    ) -> SysResult {
        Err(Errno::EINVAL)
    }

    /// Whether the file has a position (regular files, directories, /dev/zero...): read and
    /// write get `Some(offset)`, pread/pwrite/lseek are allowed.
    fn seekable(&self) -> bool {
        false
    }

    /// The new position for lseek from `whence` (SEEK_END and friends need the file's size).
    fn seek(&self, _file: &OpenFile, pos: u64, offset: i64, whence: u32) -> SysResult {
        if !self.seekable() {
            return Err(Errno::ESPIPE);
        }
        let base = match whence {
            abi::SEEK_SET => 0,
            abi::SEEK_CUR => pos as i64,
            abi::SEEK_END => self.stat()?.st_size,
            _ => return Err(Errno::EINVAL),
        };
        match base.checked_add(offset) {
            Some(p) if p >= 0 => Ok(p),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Readiness now: EPOLLIN/EPOLLOUT/EPOLLHUP/EPOLLRDHUP/EPOLLERR/EPOLLPRI bits.
    fn poll(&self, _file: &OpenFile) -> u32 {
        abi::EPOLLIN | abi::EPOLLOUT | abi::EPOLLRDNORM | abi::EPOLLWRNORM
    }

    /// The queue notified when `poll`'s answer may change; `None` for files whose readiness
    /// never changes (regular files: always ready).
    fn wait_queue(&self) -> Option<&WaitQueue> {
        None
    }

    fn ioctl(&self, _file: &OpenFile, _request: u32, _arg: u64) -> SysResult {
        Err(Errno::ENOTTY)
    }

    fn stat(&self) -> Result<abi::stat, Errno>;

    /// Called on every close of an fd that refers to this file (Linux's `->flush`: POSIX record
    /// locks go away on any close).
    fn flush(&self, _file: &OpenFile) {}

    /// The file's name as /proc/self/fd shows it ("pipe:[N]", "anon_inode:[eventfd]", a path).
    fn describe(&self) -> String;

    /// For downcasting to the concrete kind (directories for getdents64, epoll instances).
    fn as_any(&self) -> &dyn Any;
}

/// One open file description.
pub struct OpenFile {
    pub ops: Arc<dyn FileOps>,
    /// O_ACCMODE, O_APPEND, O_NONBLOCK, O_DIRECT, O_NOATIME, O_ASYNC, O_PATH (as F_GETFL shows).
    flags: AtomicU32,
    /// The position; a sleeping lock, held across a read or write as Linux's `f_pos_lock`.
    pub position: SleepLock<u64>,
}

/// The status flags F_SETFL may change (Linux's SETFL_MASK without O_DIRECT's checks).
pub const SETFL_MASK: u32 =
    abi::O_APPEND | abi::O_NONBLOCK | abi::O_ASYNC | abi::O_DIRECT | abi::O_NOATIME;

impl OpenFile {
    /// `flags` as given to open (creation flags are dropped here).
    pub fn new(ops: Arc<dyn FileOps>, flags: u32) -> Arc<OpenFile> {
        let keep = abi::O_ACCMODE | SETFL_MASK | abi::O_PATH | abi::O_LARGEFILE;
        Arc::new(OpenFile {
            ops,
            flags: AtomicU32::new(flags & keep),
            position: SleepLock::new(0),
        })
    }

    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// F_SETFL: only the SETFL_MASK bits change.
    pub fn set_status_flags(&self, flags: u32) {
        let old = self.flags();
        self.flags.store(
            (old & !SETFL_MASK) | (flags & SETFL_MASK),
            Ordering::Relaxed,
        );
    }

    pub fn nonblocking(&self) -> bool {
        self.flags() & abi::O_NONBLOCK != 0
    }

    pub fn readable(&self) -> bool {
        let mode = self.flags() & abi::O_ACCMODE;
        self.flags() & abi::O_PATH == 0 && (mode == abi::O_RDONLY || mode == abi::O_RDWR)
    }

    pub fn writable(&self) -> bool {
        let mode = self.flags() & abi::O_ACCMODE;
        self.flags() & abi::O_PATH == 0 && (mode == abi::O_WRONLY || mode == abi::O_RDWR)
    }

    /// Read at the position (advancing it), or at `at` (pread: the position stays).
    pub fn read(&self, buf: &mut ReadBuf, at: Option<u64>) -> SysResult {
        if !self.readable() {
            return Err(Errno::EBADF);
        }
        if !self.ops.seekable() {
            if at.is_some() {
                return Err(Errno::ESPIPE);
            }
            return self.ops.read(self, buf, None);
        }
        if let Some(offset) = at {
            return self.ops.read(self, buf, Some(offset));
        }
        let mut pos = self.position.lock();
        let n = self.ops.read(self, buf, Some(*pos))?;
        *pos += n as u64;
        Ok(n)
    }

    /// Write at the position (advancing it; at the end with O_APPEND), or at `at` (pwrite).
    pub fn write(&self, buf: &mut WriteBuf, at: Option<u64>) -> SysResult {
        if !self.writable() {
            return Err(Errno::EBADF);
        }
        let mut end = None;
        if !self.ops.seekable() {
            if at.is_some() {
                return Err(Errno::ESPIPE);
            }
            return self.ops.write(self, buf, None, &mut end);
        }
        if let Some(offset) = at {
            // (Linux: pwrite on an O_APPEND file appends anyway.)
            return self.ops.write(self, buf, Some(offset), &mut end);
        }
        let mut pos = self.position.lock();
        let n = self.ops.write(self, buf, Some(*pos), &mut end)?;
        *pos = match end {
            Some(e) => e,
            None => *pos + n as u64,
        };
        Ok(n)
    }

    pub fn seek(&self, offset: i64, whence: u32) -> SysResult {
        let mut pos = self.position.lock();
        let new = self.ops.seek(self, *pos, offset, whence)?;
        *pos = new as u64;
        Ok(new)
    }

    pub fn poll(&self) -> u32 {
        self.ops.poll(self)
    }
}

/// A position in a list of the service's buffers ((address, length) pairs already checked with
/// `check_range`): what reads fill and writes drain, one copy per buffer piece.
pub struct IovecCursor<'a> {
    iovecs: &'a [(u64, u64)],
    /// The current buffer and how far into it the transfer is.
    index: usize,
    offset: u64,
    done: usize,
    /// A copy stopped at an inaccessible byte: nothing more moves.
    faulted: bool,
}

impl<'a> IovecCursor<'a> {
    fn new(iovecs: &'a [(u64, u64)]) -> IovecCursor<'a> {
        IovecCursor {
            iovecs,
            index: 0,
            offset: 0,
            done: 0,
            faulted: false,
        }
    }

    fn remaining(&self) -> usize {
        if self.faulted {
            return 0;
        }
        let rest: u64 = self.iovecs[self.index.min(self.iovecs.len())..]
            .iter()
            .map(|&(_, l)| l)
            .sum();
        (rest - self.offset) as usize
    }

    /// Move up to `len` bytes, one buffer piece at a time: `copy(address, start, n)` copies n
    /// bytes between the service's `address` and the kernel side at `start` and returns how many
    /// it could. Returns the bytes moved.
    fn transfer(&mut self, len: usize, mut copy: impl FnMut(u64, usize, usize) -> usize) -> usize {
        let mut moved = 0;
        while moved < len && !self.faulted && self.index < self.iovecs.len() {
            let (base, buf_len) = self.iovecs[self.index];
            let n = ((buf_len - self.offset) as usize).min(len - moved);
            let got = copy(base + self.offset, moved, n);
            moved += got;
            self.offset += got as u64;
            if got < n {
                self.faulted = true;
            } else if self.offset == buf_len {
                self.index += 1;
                self.offset = 0;
            }
        }
        self.done += moved;
        moved
    }
}

/// Where a read's bytes go.
pub enum ReadBuf<'a> {
    /// The service's buffers.
    User(IovecCursor<'a>),
    Kernel {
        buf: &'a mut [u8],
        done: usize,
    },
}

impl<'a> ReadBuf<'a> {
    pub fn user(iovecs: &'a [(u64, u64)]) -> ReadBuf<'a> {
        ReadBuf::User(IovecCursor::new(iovecs))
    }

    pub fn kernel(buf: &'a mut [u8]) -> ReadBuf<'a> {
        ReadBuf::Kernel { buf, done: 0 }
    }

    /// Bytes still wanted.
    pub fn remaining(&self) -> usize {
        match self {
            ReadBuf::User(cursor) => cursor.remaining(),
            ReadBuf::Kernel { buf, done } => buf.len() - *done,
        }
    }

    /// Bytes delivered so far.
    pub fn done(&self) -> usize {
        match self {
            ReadBuf::User(cursor) => cursor.done,
            ReadBuf::Kernel { done, .. } => *done,
        }
    }

    /// Whether a copy stopped at an inaccessible byte (nothing more will be taken).
    pub fn faulted(&self) -> bool {
        matches!(self, ReadBuf::User(cursor) if cursor.faulted)
    }

    /// Deliver `bytes` (at most `remaining()` are taken): returns how many were. Fewer than
    /// offered means the buffers are full or a copy faulted (`faulted()`).
    pub fn put(&mut self, bytes: &[u8]) -> usize {
        match self {
            ReadBuf::User(cursor) => cursor.transfer(bytes.len(), |addr, at, n| {
                uaccess::copy_to(addr, &bytes[at..at + n])
            }),
            ReadBuf::Kernel { buf, done } => {
                let n = bytes.len().min(buf.len() - *done);
                buf[*done..*done + n].copy_from_slice(&bytes[..n]);
                *done += n;
                n
            }
        }
    }

    /// The result of a read that delivered what it could: the count, or EFAULT when a copy
    /// faulted before any byte went through.
    pub fn result(&self) -> SysResult {
        if self.done() == 0 && self.faulted() {
            Err(Errno::EFAULT)
        } else {
            Ok(self.done() as i64)
        }
    }
}

/// Where a write's bytes come from.
pub enum WriteBuf<'a> {
    /// The service's buffers.
    User(IovecCursor<'a>),
    Kernel {
        buf: &'a [u8],
        done: usize,
    },
}

impl<'a> WriteBuf<'a> {
    pub fn user(iovecs: &'a [(u64, u64)]) -> WriteBuf<'a> {
        WriteBuf::User(IovecCursor::new(iovecs))
    }

    pub fn kernel(buf: &'a [u8]) -> WriteBuf<'a> {
        WriteBuf::Kernel { buf, done: 0 }
    }

    pub fn remaining(&self) -> usize {
        match self {
            WriteBuf::User(cursor) => cursor.remaining(),
            WriteBuf::Kernel { buf, done } => buf.len() - *done,
        }
    }

    pub fn done(&self) -> usize {
        match self {
            WriteBuf::User(cursor) => cursor.done,
            WriteBuf::Kernel { done, .. } => *done,
        }
    }

    pub fn faulted(&self) -> bool {
        matches!(self, WriteBuf::User(cursor) if cursor.faulted)
    }

    /// Take up to `out.len()` bytes into `out`: returns how many. Fewer than asked means the
    /// source is exhausted or a copy faulted (`faulted()`).
    pub fn take(&mut self, out: &mut [u8]) -> usize {
        match self {
            WriteBuf::User(cursor) => cursor.transfer(out.len(), |addr, at, n| {
                uaccess::copy_from(addr, &mut out[at..at + n])
            }),
            WriteBuf::Kernel { buf, done } => {
                let n = out.len().min(buf.len() - *done);
                out[..n].copy_from_slice(&buf[*done..*done + n]);
                *done += n;
                n
            }
        }
    }

    /// Give back the last `n` bytes taken, after a fault or at the end (a piece that could not
    /// be used, as Linux's pipe dropping a page whose copy faulted: the count reported excludes
    /// them).
    pub fn untake(&mut self, n: usize) {
        match self {
            WriteBuf::User(cursor) => cursor.done -= n,
            WriteBuf::Kernel { done, .. } => *done -= n,
        }
    }
}
