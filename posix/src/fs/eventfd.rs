//! eventfd: a 64-bit counter as a file (Linux's `fs/eventfd.c`). A write adds to it (blocking
//! while the sum would reach 2^64 - 1), a read takes it all, or 1 in semaphore mode (blocking
//! while it is 0). The counter is a spin lock's value: the service's 8 bytes are copied before
//! or after, never with it held.

use alloc::string::String;
use alloc::sync::Arc;
use core::any::Any;

use ferrite_libos::sync::IrqMutex;

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::file::{FileOps, OpenFile, ReadBuf, WriteBuf};
use crate::fs::wait::{self, Deadline, WaitQueue};
use crate::syscalls::signal;

const READABLE: u32 = abi::EPOLLIN | abi::EPOLLRDNORM;
const WRITABLE: u32 = abi::EPOLLOUT | abi::EPOLLWRNORM;

pub struct EventFd {
    count: IrqMutex<u64>,
    semaphore: bool,
    queue: WaitQueue,
}

/// A new eventfd's operations (`flags`: EFD_SEMAPHORE; the caller handles the others).
pub fn new(initial: u64, semaphore: bool) -> Arc<EventFd> {
    Arc::new(EventFd {
        count: IrqMutex::new(initial),
        semaphore,
        queue: WaitQueue::new(),
    })
}

impl EventFd {
    /// Take the counter (or 1 of it) if it is not 0.
    fn try_take(&self) -> Option<u64> {
        let mut count = self.count.lock();
        if *count == 0 {
            return None;
        }
        let taken = if self.semaphore { 1 } else { *count };
        *count -= taken;
        Some(taken)
    }

    /// Add `value` if the sum stays below 2^64 - 1.
    fn try_add(&self, value: u64) -> Option<()> {
        let mut count = self.count.lock();
        if u64::MAX - *count <= value {
            return None;
        }
        *count += value;
        Some(())
    }
}

impl FileOps for EventFd {
    /// Linux's `noop_llseek`: lseek succeeds and the position stays 0.
    fn seek(&self, _file: &OpenFile, _pos: u64, _offset: i64, _whence: u32) -> SysResult {
        Ok(0)
    }

    fn read(&self, file: &OpenFile, buf: &mut ReadBuf, _offset: Option<u64>) -> SysResult {
        if buf.remaining() < 8 {
            return Err(Errno::EINVAL);
        }
        let value = match self.try_take() {
            Some(v) => v,
            None if file.nonblocking() => return Err(Errno::EAGAIN),
            None => wait::wait_until(&[&self.queue], READABLE, Deadline::Never, || {
                self.try_take()
            })
            .map_err(signal::restartable)?,
        };
        self.queue.notify(WRITABLE);
        // (As Linux, the value is consumed even if the copy then faults.)
        if buf.put(&value.to_ne_bytes()) < 8 {
            return Err(Errno::EFAULT);
        }
        Ok(8)
    }

    fn write(
        &self,
        file: &OpenFile,
        buf: &mut WriteBuf,
        _offset: Option<u64>,
        _end: &mut Option<u64>,
    ) -> SysResult {
        if buf.remaining() < 8 {
            return Err(Errno::EINVAL);
        }
        let mut bytes = [0u8; 8];
        if buf.take(&mut bytes) < 8 {
            return Err(Errno::EFAULT);
        }
        let value = u64::from_ne_bytes(bytes);
        if value == u64::MAX {
            return Err(Errno::EINVAL);
        }
        match self.try_add(value) {
            Some(()) => {}
            None if file.nonblocking() => return Err(Errno::EAGAIN),
            None => wait::wait_until(&[&self.queue], WRITABLE, Deadline::Never, || {
                self.try_add(value)
            })
            .map_err(signal::restartable)?,
        }
        self.queue.notify(READABLE);
        Ok(8)
    }

    fn poll(&self, _file: &OpenFile) -> u32 {
        let count = *self.count.lock();
        let mut events = 0;
        if count > 0 {
            events |= READABLE;
        }
        if count == u64::MAX {
            events |= abi::EPOLLERR;
        }
        if u64::MAX - 1 > count {
            events |= WRITABLE;
        }
        events
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue)
    }

    fn stat(&self) -> Result<abi::stat, Errno> {
        Ok(crate::fs::eventfd::anon_inode_stat())
    }

    fn describe(&self) -> String {
        String::from("anon_inode:[eventfd]")
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// What fstat shows for Linux's anonymous inodes (eventfd, timerfd, signalfd, epoll): mode 0600
/// without a file type, one link, a 4 KiB block size.
pub fn anon_inode_stat() -> abi::stat {
    abi::stat {
        st_mode: 0o600,
        st_nlink: 1,
        st_blksize: 4096,
        ..Default::default()
    }
}
