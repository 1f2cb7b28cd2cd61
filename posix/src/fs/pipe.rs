//! Pipes and FIFOs: a ring of page buffers, as Linux's (`fs/pipe.c`), so capacities, merging of
//! small writes, atomicity and partial copies behave the same.
//!
//! The ring is a `SleepLock` (Linux's `pipe->mutex`): readers and writers copy straight between
//! the service's memory and the pages while holding it, and never sleep for data or room with it
//! held. `poll` and the blocking conditions read atomic mirrors of the ring's occupancy and the
//! reader/writer counts, so they never take the lock. Every change notifies the pipe's queue:
//! data written (EPOLLIN, on every write as Linux does for epoll), a slot freed in a full ring
//! (EPOLLOUT), the last reader or writer gone (EPOLLERR / EPOLLHUP).
//!
//! Each open end is its own `PipeEnd` (the `FileOps` of one open file description); the counts
//! drop when an end is dropped, i.e. when its last `OpenFile` goes, not on every fd close.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::file::{FileOps, OpenFile, ReadBuf, WriteBuf};
use crate::fs::vfs::InodeRef;
use crate::fs::wait::{self, Deadline, SleepLock, WaitQueue};
use crate::syscalls::signal;
use crate::uaccess;

const PAGE: usize = 4096;
/// Writes of at most this many bytes are atomic.
pub const PIPE_BUF: usize = 4096;
/// A new pipe's capacity: 16 pages.
pub const DEFAULT_SLOTS: usize = 16;
/// /proc/sys/fs/pipe-max-size: larger F_SETPIPE_SZ needs CAP_SYS_RESOURCE (the service is root).
pub const PIPE_MAX_SIZE: u64 = 1 << 20;

const READABLE: u32 = abi::EPOLLIN | abi::EPOLLRDNORM;
const WRITABLE: u32 = abi::EPOLLOUT | abi::EPOLLWRNORM;

struct Buffer {
    page: Box<[u8]>,
    offset: usize,
    len: usize,
    /// Written in packet mode (O_DIRECT): a read takes the whole buffer.
    packet: bool,
    /// Whether a later small write may append to it (not packets, not `tee` copies).
    can_merge: bool,
}

struct Ring {
    buffers: VecDeque<Buffer>,
    /// The capacity in buffers (Linux's `max_usage`).
    slots: usize,
    /// A page kept from the last consumed buffer (Linux's `tmp_page`).
    spare: Option<Box<[u8]>>,
    /// Bytes in the buffers.
    bytes: usize,
}

impl Ring {
    /// A page for a new buffer and room for it in the ring; None when memory is short (the
    /// write then stops with what it wrote, or ENOMEM, as Linux's).
    fn new_page(&mut self) -> Option<Box<[u8]>> {
        self.buffers.try_reserve(1).ok()?;
        if let Some(page) = self.spare.take() {
            return Some(page);
        }
        let mut page = alloc::vec::Vec::new();
        page.try_reserve_exact(PAGE).ok()?;
        page.resize(PAGE, 0);
        Some(page.into_boxed_slice())
    }
}

static NEXT_INODE: AtomicU64 = AtomicU64::new(1000);

pub struct Pipe {
    ring: SleepLock<Ring>,
    queue: WaitQueue,
    /// Mirrors of the ring, updated with the lock held and read without it.
    used_slots: AtomicUsize,
    slots: AtomicUsize,
    bytes: AtomicUsize,
    readers: AtomicUsize,
    writers: AtomicUsize,
    /// Writers that ever opened (a FIFO reader that opened before any writer sees no EPOLLHUP).
    writer_opens: AtomicU64,
    inode: u64,
}

impl Pipe {
    pub fn new() -> Arc<Pipe> {
        Arc::new(Pipe {
            ring: SleepLock::new(Ring {
                buffers: VecDeque::new(),
                slots: DEFAULT_SLOTS,
                spare: None,
                bytes: 0,
            }),
            queue: WaitQueue::new(),
            used_slots: AtomicUsize::new(0),
            slots: AtomicUsize::new(DEFAULT_SLOTS),
            bytes: AtomicUsize::new(0),
            readers: AtomicUsize::new(0),
            writers: AtomicUsize::new(0),
            writer_opens: AtomicU64::new(0),
            inode: NEXT_INODE.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// Update the mirrors after changing the ring (lock held).
    fn publish(&self, ring: &Ring) {
        self.used_slots.store(ring.buffers.len(), Ordering::SeqCst);
        self.bytes.store(ring.bytes, Ordering::SeqCst);
        self.slots.store(ring.slots, Ordering::SeqCst);
    }

    fn full(&self) -> bool {
        self.used_slots.load(Ordering::SeqCst) >= self.slots.load(Ordering::SeqCst)
    }

    fn empty(&self) -> bool {
        self.used_slots.load(Ordering::SeqCst) == 0
    }

    fn readers(&self) -> usize {
        self.readers.load(Ordering::SeqCst)
    }

    fn writers(&self) -> usize {
        self.writers.load(Ordering::SeqCst)
    }

    /// Open an end (`reads`/`writes` as the description's access mode).
    /// `suppress_hup`: a FIFO reader opened without waiting while there is no writer sees no
    /// EPOLLHUP until a writer has come (Linux's `f_version`).
    fn open_end(self: &Arc<Pipe>, reads: bool, writes: bool, suppress_hup: bool) -> Arc<PipeEnd> {
        if reads {
            self.readers.fetch_add(1, Ordering::SeqCst);
        }
        if writes {
            self.writers.fetch_add(1, Ordering::SeqCst);
            self.writer_opens.fetch_add(1, Ordering::SeqCst);
        }
        if reads || writes {
            // FIFO opens waiting for the other side.
            self.queue.notify(READABLE | WRITABLE);
        }
        Arc::new(PipeEnd {
            pipe: self.clone(),
            reads,
            writes,
            writer_opens_seen: if suppress_hup {
                self.writer_opens.load(Ordering::SeqCst)
            } else {
                0
            },
            node: None,
        })
    }

    fn read(&self, file: &OpenFile, buf: &mut ReadBuf) -> SysResult {
        let mut wanted = buf.remaining();
        if wanted == 0 {
            return Ok(0);
        }
        let mut done = 0usize;
        let mut faulted = false;
        loop {
            let mut freed_from_full = false;
            {
                let mut guard = self.ring.lock();
                let ring = &mut *guard;
                let full_before = ring.buffers.len() >= ring.slots;
                while wanted > 0 {
                    let Some(front) = ring.buffers.front_mut() else {
                        break;
                    };
                    let chars = front.len.min(wanted);
                    let piece = &front.page[front.offset..front.offset + chars];
                    if buf.put(piece) < chars {
                        // Nothing of a piece whose copy faulted is consumed.
                        faulted = true;
                        break;
                    }
                    done += chars;
                    wanted -= chars;
                    front.offset += chars;
                    front.len -= chars;
                    ring.bytes -= chars;
                    if front.packet {
                        // A packet is read whole: what did not fit is discarded.
                        ring.bytes -= front.len;
                        front.len = 0;
                        wanted = 0;
                    }
                    if front.len == 0 {
                        let consumed = ring.buffers.pop_front().expect("front buffer");
                        if ring.spare.is_none() {
                            ring.spare = Some(consumed.page);
                        }
                        freed_from_full |= full_before;
                    }
                }
                self.publish(ring);
            }
            if freed_from_full {
                self.queue.notify(WRITABLE);
            }
            if faulted && done == 0 {
                return Err(Errno::EFAULT);
            }
            if done > 0 || faulted || wanted == 0 || self.writers() == 0 {
                return Ok(done as i64);
            }
            if file.nonblocking() {
                return Err(Errno::EAGAIN);
            }
            wait::wait_until(&[&self.queue], READABLE, Deadline::Never, || {
                (!self.empty() || self.writers() == 0).then_some(())
            })
            .map_err(signal::restartable)?;
        }
    }

    fn write(&self, file: &OpenFile, buf: &mut WriteBuf) -> SysResult {
        let total = buf.remaining();
        if total == 0 {
            return Ok(0);
        }
        let packets = file.flags() & abi::O_DIRECT != 0;
        let mut done = 0usize;
        let mut first = true;
        loop {
            if self.readers() == 0 {
                crate::syscalls::signal::send_sigpipe_to_current();
                return if done > 0 {
                    Ok(done as i64)
                } else {
                    Err(Errno::EPIPE)
                };
            }
            let mut stop: Option<Errno> = None;
            let wrote_any;
            {
                let mut guard = self.ring.lock();
                let ring = &mut *guard;
                let before = done;
                // A small remainder merges into the last page if it fits (not in packet mode).
                let chars = total & (PAGE - 1);
                if let Some(last) = ring.buffers.back_mut().filter(|_| first && !packets) {
                    let end = last.offset + last.len;
                    if chars != 0 && last.can_merge && end + chars <= PAGE {
                        if buf.take(&mut last.page[end..end + chars]) < chars {
                            stop = Some(Errno::EFAULT);
                        } else {
                            last.len += chars;
                            ring.bytes += chars;
                            done += chars;
                        }
                    }
                }
                first = false;
                while stop.is_none() && done < total && ring.buffers.len() < ring.slots {
                    let Some(mut page) = ring.new_page() else {
                        stop = Some(Errno::ENOMEM);
                        break;
                    };
                    let want = (total - done).min(PAGE);
                    let got = buf.take(&mut page[..want]);
                    if got < want {
                        // The page whose copy faulted is dropped.
                        buf.untake(got);
                        ring.spare = Some(page);
                        stop = Some(Errno::EFAULT);
                        break;
                    }
                    ring.buffers.push_back(Buffer {
                        page,
                        offset: 0,
                        len: got,
                        packet: packets,
                        can_merge: !packets,
                    });
                    ring.bytes += got;
                    done += got;
                }
                self.publish(ring);
                wrote_any = done > before;
            }
            if wrote_any {
                self.queue.notify(READABLE);
            }
            if let Some(error) = stop {
                return if done > 0 {
                    Ok(done as i64)
                } else {
                    Err(error)
                };
            }
            if done == total {
                return Ok(done as i64);
            }
            if file.nonblocking() {
                return if done > 0 {
                    Ok(done as i64)
                } else {
                    Err(Errno::EAGAIN)
                };
            }
            match wait::wait_until(&[&self.queue], WRITABLE, Deadline::Never, || {
                (!self.full() || self.readers() == 0).then_some(())
            }) {
                Ok(()) => {}
                Err(_) if done > 0 => return Ok(done as i64),
                Err(e) => return Err(signal::restartable(e)),
            }
        }
    }

    /// F_SETPIPE_SZ: the new capacity in bytes, rounded up to a power-of-two number of pages.
    fn set_size(&self, arg: u64) -> SysResult {
        let size = arg as u32 as u64; // Linux's `unsigned int` argument
        let size = if size > 1 << 31 {
            return Err(Errno::EINVAL);
        } else if size < PAGE as u64 {
            PAGE as u64
        } else {
            size.next_power_of_two()
        };
        let slots = (size / PAGE as u64) as usize;
        // (Above PIPE_MAX_SIZE needs CAP_SYS_RESOURCE, which root, the service's only user, has.)
        let grew = {
            let mut ring = self.ring.lock();
            if slots < ring.buffers.len() {
                return Err(Errno::EBUSY);
            }
            let grew = slots > ring.slots;
            ring.slots = slots;
            self.publish(&ring);
            grew
        };
        if grew {
            self.queue.notify(WRITABLE);
        }
        Ok((slots * PAGE) as i64)
    }
}

/// One open end of a pipe or FIFO.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    reads: bool,
    writes: bool,
    /// No EPOLLHUP while `pipe.writer_opens` still equals this (0: none suppressed).
    writer_opens_seen: u64,
    /// A FIFO's inode and path: what fstat and /proc/self/fd show for it.
    node: Option<(InodeRef, String)>,
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let pipe = &self.pipe;
        let mut events = 0;
        if self.reads && pipe.readers.fetch_sub(1, Ordering::SeqCst) == 1 {
            events |= abi::EPOLLERR | WRITABLE;
        }
        if self.writes && pipe.writers.fetch_sub(1, Ordering::SeqCst) == 1 {
            events |= abi::EPOLLHUP | READABLE;
        }
        if pipe.readers() == 0 && pipe.writers() == 0 {
            // A FIFO's data goes with its last opener, as Linux frees the pipe. (Nobody can be
            // holding the ring: every operation holds an end.)
            let mut ring = pipe.ring.lock();
            ring.buffers.clear();
            ring.bytes = 0;
            pipe.publish(&ring);
        }
        if events != 0 {
            pipe.queue.notify(events);
        }
    }
}

impl FileOps for PipeEnd {
    fn read(&self, file: &OpenFile, buf: &mut ReadBuf, _offset: Option<u64>) -> SysResult {
        self.pipe.read(file, buf)
    }

    fn write(
        &self,
        file: &OpenFile,
        buf: &mut WriteBuf,
        _offset: Option<u64>,
        _end: &mut Option<u64>,
    ) -> SysResult {
        self.pipe.write(file, buf)
    }

    fn poll(&self, file: &OpenFile) -> u32 {
        let pipe = &self.pipe;
        let mut events = 0;
        if file.readable() {
            if !pipe.empty() {
                events |= READABLE;
            }
            if pipe.writers() == 0
                && pipe.writer_opens.load(Ordering::SeqCst) != self.writer_opens_seen
            {
                events |= abi::EPOLLHUP;
            }
        }
        if file.writable() {
            if !pipe.full() {
                events |= WRITABLE;
            }
            if pipe.readers() == 0 {
                events |= abi::EPOLLERR;
            }
        }
        events
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.pipe.queue)
    }

    fn ioctl(&self, _file: &OpenFile, request: u32, arg: u64) -> SysResult {
        match request {
            abi::FIONREAD => {
                let bytes = self.pipe.bytes.load(Ordering::SeqCst) as i32;
                uaccess::write(arg, &bytes)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn stat(&self) -> Result<abi::stat, Errno> {
        if let Some((inode, _)) = &self.node {
            return inode.stat();
        }
        Ok(abi::stat {
            st_mode: abi::S_IFIFO | 0o600,
            st_nlink: 1,
            st_ino: self.pipe.inode,
            st_blksize: PAGE as i64,
            ..Default::default()
        })
    }

    fn describe(&self) -> String {
        match &self.node {
            Some((_, path)) => path.clone(),
            None => format!("pipe:[{}]", self.pipe.inode),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A new pipe: the read end and the write end, as `pipe2` installs them.
pub fn new_pipe(flags: u32) -> (Arc<OpenFile>, Arc<OpenFile>) {
    let pipe = Pipe::new();
    let status = flags & (abi::O_NONBLOCK | abi::O_DIRECT);
    let read_end = OpenFile::new(pipe.open_end(true, false, false), abi::O_RDONLY | status);
    let write_end = OpenFile::new(pipe.open_end(false, true, false), abi::O_WRONLY | status);
    (read_end, write_end)
}

/// Open a FIFO whose pipe is `pipe` (one per FIFO inode, kept by the file system while it has
/// openers; `Pipe::new()` makes one) with open's `flags`, as Linux's `fifo_open`: O_RDONLY
/// waits for a writer unless O_NONBLOCK; O_WRONLY waits for a reader, or is ENXIO with
/// O_NONBLOCK when there is none; O_RDWR never waits. Returns the end's operations for the
/// `OpenFile` the caller makes with the same flags. EINTR if a signal ends the wait.
pub fn open_fifo(pipe: &Arc<Pipe>, flags: u32) -> Result<Arc<dyn FileOps>, Errno> {
    Ok(open_fifo_end(pipe, flags)?)
}

/// `open_fifo` for a FIFO in a file system: fstat shows `inode` and /proc/self/fd `path`, as
/// Linux's (the pipe's own inode is only for pipe(2)).
pub fn open_fifo_node(
    pipe: &Arc<Pipe>,
    flags: u32,
    inode: InodeRef,
    path: &str,
) -> Result<Arc<dyn FileOps>, Errno> {
    let end = open_fifo_end(pipe, flags)?;
    // The end was just made: nobody else holds it yet.
    let mut end = Arc::try_unwrap(end).map_err(|_| Errno::EIO)?;
    end.node = Some((inode, String::from(path)));
    Ok(Arc::new(end))
}

fn open_fifo_end(pipe: &Arc<Pipe>, flags: u32) -> Result<Arc<PipeEnd>, Errno> {
    let nonblocking = flags & abi::O_NONBLOCK != 0;
    match flags & abi::O_ACCMODE {
        abi::O_RDONLY => {
            // (Read before the count, so a writer opening meanwhile is never missed.)
            let opens = pipe.writer_opens.load(Ordering::SeqCst);
            let no_writer = pipe.writers() == 0;
            let end = pipe.open_end(true, false, nonblocking && no_writer);
            if !nonblocking && no_writer {
                wait::wait_until(&[&pipe.queue], READABLE | WRITABLE, Deadline::Never, || {
                    (pipe.writer_opens.load(Ordering::SeqCst) != opens).then_some(())
                })
                .map_err(signal::restartable)?;
            }
            Ok(end)
        }
        abi::O_WRONLY => {
            if nonblocking && pipe.readers() == 0 {
                return Err(Errno::ENXIO);
            }
            let end = pipe.open_end(false, true, false);
            if pipe.readers() == 0 {
                wait::wait_until(&[&pipe.queue], READABLE | WRITABLE, Deadline::Never, || {
                    (pipe.readers() != 0).then_some(())
                })
                .map_err(signal::restartable)?;
            }
            Ok(end)
        }
        abi::O_RDWR => Ok(pipe.open_end(true, true, false)),
        _ => Err(Errno::EINVAL),
    }
}

fn pipe_of(file: &OpenFile) -> Option<&Arc<Pipe>> {
    Some(&file.ops.as_any().downcast_ref::<PipeEnd>()?.pipe)
}

/// tee(2): copy up to `len` bytes from the pipe `input` to the pipe `output` without consuming
/// them, as Linux's `do_tee`: wait for data in `input` (0 when it has no writers) and for room in
/// `output` (EPIPE and SIGPIPE without readers), unless `nonblocking` (SPLICE_F_NONBLOCK):
/// EAGAIN. Whole buffers are copied (the last one cut at `len`), each into an output slot.
/// EINVAL unless both are pipes and different ones.
pub fn tee(input: &OpenFile, output: &OpenFile, len: usize, nonblocking: bool) -> SysResult {
    let (Some(src), Some(dst)) = (pipe_of(input), pipe_of(output)) else {
        return Err(Errno::EINVAL);
    };
    if Arc::ptr_eq(src, dst) {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let wait_for = |pipe: &Pipe, events: u32, ready: &dyn Fn() -> bool| -> Result<(), Errno> {
        if ready() {
            return Ok(());
        }
        if nonblocking {
            return Err(Errno::EAGAIN);
        }
        wait::wait_until(&[&pipe.queue], events, Deadline::Never, || {
            ready().then_some(())
        })
        .map_err(signal::restartable)
    };
    wait_for(src, READABLE, &|| !src.empty() || src.writers() == 0)?;
    if src.empty() {
        return Ok(0); // no writers
    }
    let no_reader = || {
        signal::send_sigpipe_to_current();
        Err(Errno::EPIPE)
    };
    if dst.readers() == 0 {
        return no_reader();
    }
    wait_for(dst, WRITABLE, &|| !dst.full() || dst.readers() == 0)?;
    if dst.readers() == 0 {
        return no_reader();
    }
    // Both rings, in address order (a tee the other way round takes them in the same order).
    let (first, second) = if Arc::as_ptr(src) < Arc::as_ptr(dst) {
        (src, dst)
    } else {
        (dst, src)
    };
    let mut first_ring = first.ring.lock();
    let mut second_ring = second.ring.lock();
    let (from, to) = if core::ptr::eq(first.as_ref(), src.as_ref()) {
        (&mut *first_ring, &mut *second_ring)
    } else {
        (&mut *second_ring, &mut *first_ring)
    };
    let mut copied = 0usize;
    let mut out_of_memory = false;
    for buffer in from.buffers.iter() {
        if copied == len || to.buffers.len() >= to.slots {
            break;
        }
        let n = buffer.len.min(len - copied);
        let Some(mut page) = to.new_page() else {
            out_of_memory = true;
            break;
        };
        page[..n].copy_from_slice(&buffer.page[buffer.offset..buffer.offset + n]);
        to.buffers.push_back(Buffer {
            page,
            offset: 0,
            len: n,
            packet: buffer.packet,
            can_merge: false,
        });
        to.bytes += n;
        copied += n;
    }
    dst.publish(to);
    drop(second_ring);
    drop(first_ring);
    if copied == 0 && out_of_memory {
        return Err(Errno::ENOMEM);
    }
    if copied > 0 {
        dst.queue.notify(READABLE);
    }
    Ok(copied as i64)
}

/// F_GETPIPE_SZ/F_SETPIPE_SZ on `file` (EBADF if it is not a pipe, as Linux).
pub fn pipe_size(file: &OpenFile, cmd: u32, arg: u64) -> SysResult {
    let end = file
        .ops
        .as_any()
        .downcast_ref::<PipeEnd>()
        .ok_or(Errno::EBADF)?;
    match cmd {
        abi::F_GETPIPE_SZ => Ok((end.pipe.slots.load(Ordering::SeqCst) * PAGE) as i64),
        _ => end.pipe.set_size(arg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn nonblocking_pipe(extra: u32) -> (Arc<OpenFile>, Arc<OpenFile>) {
        ferrite_smp::sched::install_host_platform();
        new_pipe(abi::O_NONBLOCK | extra)
    }

    fn write(file: &OpenFile, bytes: &[u8]) -> SysResult {
        file.write(&mut WriteBuf::kernel(bytes), None)
    }

    fn read(file: &OpenFile, len: usize) -> Result<Vec<u8>, Errno> {
        let mut buf = vec![0u8; len];
        let n = file.read(&mut ReadBuf::kernel(&mut buf), None)? as usize;
        buf.truncate(n);
        Ok(buf)
    }

    fn bytes_in(file: &OpenFile) -> usize {
        pipe_of(file).unwrap().bytes.load(Ordering::SeqCst)
    }

    #[test]
    fn small_writes_merge_into_pages_as_linux() {
        let (r, w) = nonblocking_pipe(0);
        let mut total = 0;
        while let Ok(n) = write(&w, &[7u8; 100]) {
            total += n;
        }
        assert_eq!(total, 16 * 4000); // 40 writes a page, 16 pages
        assert_eq!(write(&w, &[1u8; 96]), Ok(96)); // the last page's 96 free bytes
        assert_eq!(write(&w, &[1u8; 1]), Err(Errno::EAGAIN));
        assert_eq!(read(&r, 4000).unwrap().len(), 4000); // frees the first page
        assert_eq!(write(&w, &[2u8; 5000]), Ok(4096)); // one page fits
        assert_eq!(bytes_in(&r), 16 * 4000 + 96 - 4000 + 4096);
    }

    #[test]
    fn end_of_file_and_sizes() {
        let (r, w) = nonblocking_pipe(0);
        assert_eq!(read(&r, 10), Err(Errno::EAGAIN));
        assert_eq!(write(&w, b"abc"), Ok(3));
        assert_eq!(pipe_size(&w, abi::F_SETPIPE_SZ, 5000), Ok(8192));
        assert_eq!(pipe_size(&r, abi::F_GETPIPE_SZ, 0), Ok(8192));
        assert_eq!(pipe_size(&r, abi::F_SETPIPE_SZ, 0), Ok(4096));
        assert_eq!(
            pipe_size(&r, abi::F_SETPIPE_SZ, 0x8000_0001),
            Err(Errno::EINVAL)
        );
        drop(w);
        assert_eq!(read(&r, 10).unwrap(), b"abc");
        assert_eq!(read(&r, 10).unwrap(), b"");
        assert_eq!(r.poll() & abi::EPOLLHUP, abi::EPOLLHUP);
    }

    #[test]
    fn packets_are_read_whole() {
        let (r, w) = nonblocking_pipe(abi::O_DIRECT);
        assert_eq!(write(&w, b"0123456789"), Ok(10));
        assert_eq!(write(&w, b"abc"), Ok(3));
        assert_eq!(read(&r, 4).unwrap(), b"0123"); // the rest of the packet is dropped
        assert_eq!(bytes_in(&r), 3);
        assert_eq!(read(&r, 100).unwrap(), b"abc");
        assert_eq!(bytes_in(&r), 0);
    }

    #[test]
    fn tee_copies_without_consuming() {
        let (r1, w1) = nonblocking_pipe(0);
        let (r2, w2) = nonblocking_pipe(0);
        assert_eq!(tee(&r1, &w2, 10, true), Err(Errno::EAGAIN));
        assert_eq!(write(&w1, b"hello"), Ok(5));
        assert_eq!(write(&w1, &[b'x'; 5000]), Ok(5000));
        assert_eq!(tee(&r1, &w2, 7, true), Ok(7));
        assert_eq!(read(&r2, 100).unwrap(), b"helloxx"); // "hello" and the next 904 bytes share a page
        assert_eq!(read(&r1, 5).unwrap(), b"hello");
        assert_eq!(tee(&r1, &w2, 100_000, true), Ok(5000));
        assert_eq!((bytes_in(&r1), bytes_in(&r2)), (5000, 5000));
        assert_eq!(tee(&r1, &r1, 1, true), Err(Errno::EINVAL));
        assert_eq!(tee(&r1, &w1, 1, true), Err(Errno::EINVAL));
        drop((r2, w1));
    }
}
