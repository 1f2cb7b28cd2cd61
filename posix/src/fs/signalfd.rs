//! signalfd: pending signals read as 128-byte `signalfd_siginfo` records (Linux's
//! `fs/signalfd.c`). A read dequeues signals of the fd's mask pending for the reading thread
//! (they stay pending only while the thread blocks them, as on Linux), then signals sent to the
//! process with kill that wait on another thread. Readiness is the calling thread's, as Linux's.
//! Every signal that becomes pending notifies one queue shared by all signalfds (Linux's
//! `sighand->signalfd_wqh`), through `signal_queued`, a hook in syscalls/signal.rs.

use alloc::string::String;
use alloc::sync::Arc;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::file::{FileOps, OpenFile, ReadBuf};
use crate::fs::wait::{self, Deadline, WaitQueue};
use crate::syscalls::signal;

const READABLE: u32 = abi::EPOLLIN | abi::EPOLLRDNORM;

/// Notified whenever a signal becomes pending for any thread.
static QUEUE: WaitQueue = WaitQueue::new();

/// A signal became pending (called by syscalls/signal.rs).
pub fn signal_queued() {
    QUEUE.notify(READABLE);
}

pub struct SignalFd {
    /// The signals this fd reads (bit n-1 for signal n; never SIGKILL or SIGSTOP).
    mask: AtomicU64,
}

const RECORD: usize = core::mem::size_of::<abi::signalfd_siginfo>();

fn without_unstoppable(mask: u64) -> u64 {
    mask & !((1 << (abi::SIGKILL - 1)) | (1 << (abi::SIGSTOP - 1)))
}

pub fn new(mask: u64) -> Arc<SignalFd> {
    Arc::new(SignalFd {
        mask: AtomicU64::new(without_unstoppable(mask)),
    })
}

impl SignalFd {
    /// signalfd4 on an existing signalfd: a new mask (readers re-check it).
    pub fn set_mask(&self, mask: u64) {
        self.mask.store(without_unstoppable(mask), Ordering::SeqCst);
        QUEUE.notify(READABLE);
    }

    fn record(&self) -> Option<abi::signalfd_siginfo> {
        let (signo, code, pid) = signal::dequeue_for_signalfd(self.mask.load(Ordering::SeqCst))?;
        Some(abi::signalfd_siginfo {
            ssi_signo: signo as u32,
            ssi_code: code,
            ssi_pid: pid,
            ..Default::default()
        })
    }
}

fn record_bytes(info: &abi::signalfd_siginfo) -> [u8; RECORD] {
    let mut bytes = [0u8; RECORD];
    let fields: [(usize, &[u8]); 3] = [
        (0, &info.ssi_signo.to_ne_bytes()),
        (8, &info.ssi_code.to_ne_bytes()),
        (12, &info.ssi_pid.to_ne_bytes()),
    ];
    for (offset, value) in fields {
        bytes[offset..offset + value.len()].copy_from_slice(value);
    }
    bytes
}

impl FileOps for SignalFd {
    /// Linux's `noop_llseek`: lseek succeeds and the position stays 0.
    fn seek(&self, _file: &OpenFile, _pos: u64, _offset: i64, _whence: u32) -> SysResult {
        Ok(0)
    }

    fn read(&self, file: &OpenFile, buf: &mut ReadBuf, _offset: Option<u64>) -> SysResult {
        let mut count = buf.remaining() / RECORD;
        if count == 0 {
            return Err(Errno::EINVAL);
        }
        // Only the first record is waited for.
        let first = match self.record() {
            Some(r) => r,
            None if file.nonblocking() => return Err(Errno::EAGAIN),
            None => wait::wait_until(&[&QUEUE], READABLE, Deadline::Never, || self.record())
                .map_err(signal::restartable)?,
        };
        let mut total = 0usize;
        let mut next = Some(first);
        while let Some(info) = next {
            // (As Linux, a signal whose record cannot be copied is lost.)
            if buf.put(&record_bytes(&info)) < RECORD {
                return if total > 0 {
                    Ok(total as i64)
                } else {
                    Err(Errno::EFAULT)
                };
            }
            total += RECORD;
            count -= 1;
            next = if count > 0 { self.record() } else { None };
        }
        Ok(total as i64)
    }

    fn poll(&self, _file: &OpenFile) -> u32 {
        if signal::pending_for_signalfd(self.mask.load(Ordering::SeqCst)) {
            READABLE
        } else {
            0
        }
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&QUEUE)
    }

    fn stat(&self) -> Result<abi::stat, Errno> {
        Ok(crate::fs::eventfd::anon_inode_stat())
    }

    fn describe(&self) -> String {
        String::from("anon_inode:[signalfd]")
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
