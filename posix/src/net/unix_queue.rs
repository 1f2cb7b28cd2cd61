//! An AF_UNIX socket's receive queue: messages (a stream's segments, or datagrams and
//! sequenced packets, each with its sender's name and SCM_RIGHTS files) behind a `SleepLock`, as
//! a pipe's ring: readers copy straight from the queued bytes to the service while holding it,
//! and never sleep for data with it held. Atomic mirrors (unread bytes, message count) serve
//! `poll` and the blocking conditions without the lock.
//!
//! Every queued byte is charged to its sender (`Core::wmem`) until it is read, as Linux charges
//! skbs to the sending socket: the sender's SO_SNDBUF bounds what it has in flight (the
//! back-pressure), and a read that frees room notifies the sender.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::abi;
use crate::errno::Errno;
use crate::fs::file::{OpenFile, ReadBuf};
use crate::fs::wait::SleepLock;
use crate::net::sockaddr::UnixName;
use crate::net::unix::Core;

pub struct Message {
    pub data: Vec<u8>,
    /// Bytes of a stream segment already read.
    pub offset: usize,
    /// The sender's name (datagrams; `Unnamed` gives no address).
    pub from: UnixName,
    pub rights: Vec<Arc<OpenFile>>,
    /// Whom the bytes are charged to.
    pub sender: Arc<Core>,
    /// The out-of-band byte of a stream (MSG_OOB): the mark normal reads stop at.
    pub urgent: bool,
}

/// What a queued message costs its sender besides its bytes (Linux charges an skb's truesize:
/// its bytes plus about this much for the sk_buff and its shared info).
pub const MESSAGE_OVERHEAD: usize = 576;

impl Message {
    fn unread(&self) -> usize {
        self.data.len() - self.offset
    }
}

impl Drop for Message {
    fn drop(&mut self) {
        self.sender.uncharge(self.unread() + MESSAGE_OVERHEAD);
    }
}

/// What one read took.
pub struct Taken {
    pub len: usize,
    pub from: Option<UnixName>,
    pub truncated: bool,
    pub rights: Vec<Arc<OpenFile>>,
    pub faulted: bool,
}

pub struct RecvQueue {
    messages: SleepLock<Queue>,
    bytes: AtomicUsize,
    count: AtomicUsize,
    /// An out-of-band byte waits (EPOLLPRI).
    urgent: AtomicBool,
}

struct Queue {
    messages: VecDeque<Message>,
    /// Unread bytes in `messages`.
    bytes: usize,
    /// The owner is gone: nothing more is queued (its last messages were purged).
    closed: bool,
}

impl RecvQueue {
    pub fn new() -> RecvQueue {
        RecvQueue {
            messages: SleepLock::new(Queue {
                messages: VecDeque::new(),
                bytes: 0,
                closed: false,
            }),
            bytes: AtomicUsize::new(0),
            count: AtomicUsize::new(0),
            urgent: AtomicBool::new(false),
        }
    }

    pub fn urgent(&self) -> bool {
        self.urgent.load(Ordering::SeqCst)
    }

    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::SeqCst)
    }

    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    fn publish(&self, q: &Queue) {
        self.count.store(q.messages.len(), Ordering::SeqCst);
        self.bytes.store(q.bytes, Ordering::SeqCst);
    }

    /// Queue `message`; Err(message) when the queue's owner is gone.
    pub fn push(&self, message: Message) -> Result<(), Message> {
        let mut q = self.messages.lock();
        if q.closed {
            return Err(message);
        }
        if message.urgent {
            // A new mark: an older out-of-band byte becomes ordinary data (as Linux).
            for m in q.messages.iter_mut() {
                m.urgent = false;
            }
            self.urgent.store(true, Ordering::SeqCst);
        }
        q.bytes += message.unread();
        q.messages.push_back(message);
        self.publish(&q);
        Ok(())
    }

    /// The first message's length (FIONREAD on a datagram socket).
    pub fn first_len(&self) -> usize {
        let q = self.messages.lock();
        q.messages.front().map_or(0, Message::unread)
    }

    /// Drop everything and refuse more (the owner closed). Returns whether data was unread.
    pub fn close(&self) -> bool {
        let dropped = {
            let mut q = self.messages.lock();
            q.closed = true;
            q.bytes = 0;
            self.urgent.store(false, Ordering::SeqCst);
            let dropped = core::mem::take(&mut q.messages);
            self.publish(&q);
            dropped
        };
        let unread = !dropped.is_empty();
        drop(dropped); // (uncharges the senders, outside the lock)
        unread
    }

    /// Read from a stream: bytes from consecutive segments (not past one that carried files,
    /// and not into one with files once bytes were read), consumed unless MSG_PEEK.
    /// Whether the next byte is the out-of-band mark (SIOCATMARK).
    pub fn at_mark(&self) -> bool {
        let q = self.messages.lock();
        q.messages.front().is_some_and(|m| m.urgent)
    }

    /// recv(MSG_OOB): the out-of-band byte (None when there is none). It leaves an empty
    /// segment behind, as Linux's consumed skb (the queue still polls readable until a read).
    pub fn read_urgent(&self, buf: &mut ReadBuf, peek: bool) -> Option<Result<usize, Errno>> {
        let mut guard = self.messages.lock();
        let q = &mut *guard;
        let m = q.messages.iter_mut().find(|m| m.urgent)?;
        if buf.remaining() == 0 {
            return Some(Ok(0));
        }
        if buf.put(&m.data[m.offset..m.offset + 1]) < 1 {
            return Some(Err(Errno::EFAULT));
        }
        if !peek {
            m.offset += 1;
            m.urgent = false;
            m.sender.uncharge(1);
            q.bytes -= 1;
            self.urgent.store(false, Ordering::SeqCst);
            self.publish(q);
        }
        Some(Ok(1))
    }

    /// Read from a stream: bytes from consecutive segments (not past one that carried files,
    /// and not into one with files once bytes were read), consumed unless MSG_PEEK. A read
    /// stops before the out-of-band mark; one that starts at it drops the byte (reads it with
    /// SO_OOBINLINE), as Linux.
    pub fn read_stream(&self, buf: &mut ReadBuf, peek: bool, inline: bool) -> Taken {
        let mut taken = Taken {
            len: 0,
            from: None,
            truncated: false,
            rights: Vec::new(),
            faulted: false,
        };
        let mut consumed: Vec<Message> = Vec::new();
        {
            let mut guard = self.messages.lock();
            let q = &mut *guard;
            let mut index = 0;
            while buf.remaining() > 0 && index < q.messages.len() {
                let m = &mut q.messages[index];
                if m.urgent {
                    if taken.len > 0 {
                        break;
                    }
                    if !inline {
                        if peek {
                            index += 1;
                        } else {
                            m.urgent = false;
                            let dropped = m.unread();
                            m.offset += dropped;
                            m.sender.uncharge(dropped);
                            q.bytes -= dropped;
                            self.urgent.store(false, Ordering::SeqCst);
                            consumed.extend(q.messages.pop_front());
                        }
                        continue;
                    }
                    if !peek {
                        m.urgent = false;
                        self.urgent.store(false, Ordering::SeqCst);
                    }
                }
                if m.unread() == 0 {
                    // A segment whose out-of-band byte was taken.
                    if peek {
                        index += 1;
                    } else {
                        consumed.extend(q.messages.pop_front());
                    }
                    continue;
                }
                if taken.len > 0 && !m.rights.is_empty() {
                    break;
                }
                if taken.from.is_none() {
                    taken.from = Some(m.from.clone());
                }
                let unread = m.unread();
                let n = unread.min(buf.remaining());
                let got = buf.put(&m.data[m.offset..m.offset + n]);
                taken.len += got;
                if got < n {
                    taken.faulted = true;
                }
                let has_rights = !m.rights.is_empty();
                if peek {
                    // (Linux passes peeked files as new fds too.)
                    taken.rights = m.rights.clone();
                } else {
                    m.offset += got;
                    m.sender.uncharge(got);
                    q.bytes -= got;
                    if has_rights {
                        taken.rights = core::mem::take(&mut m.rights);
                    }
                }
                if got < unread {
                    break;
                }
                if peek {
                    if has_rights {
                        break;
                    }
                    index += 1;
                } else {
                    consumed.extend(q.messages.pop_front());
                    if has_rights {
                        break;
                    }
                }
            }
            self.publish(q);
        }
        drop(consumed);
        taken
    }

    /// Read one datagram or packet: what fits of it (the rest is dropped, `truncated`), with
    /// its sender and files; left queued with MSG_PEEK. None when the queue is empty.
    pub fn read_message(&self, buf: &mut ReadBuf, peek: bool) -> Option<(Taken, usize)> {
        let mut q = self.messages.lock();
        let m = q.messages.front()?;
        let whole = m.data.len();
        let n = whole.min(buf.remaining());
        let got = buf.put(&m.data[..n]);
        let mut taken = Taken {
            len: got,
            from: Some(m.from.clone()),
            truncated: whole > n,
            rights: Vec::new(),
            faulted: got < n,
        };
        if taken.faulted && got == 0 {
            // Nothing delivered: the datagram stays (Linux frees it only on success).
            return Some((taken, whole));
        }
        let popped = if peek {
            taken.rights = m.rights.clone();
            None
        } else {
            let mut m = q.messages.pop_front().expect("front message");
            q.bytes -= m.unread();
            taken.rights = core::mem::take(&mut m.rights);
            Some(m)
        };
        self.publish(&q);
        drop(q);
        drop(popped);
        Some((taken, whole))
    }
}

/// Bytes a stream sender may queue in one segment (Linux: half the send buffer, at most the
/// 32 KiB of page fragments an skb takes plus its head).
pub fn segment_limit(sndbuf: usize) -> usize {
    ((sndbuf / 2).saturating_sub(64)).clamp(1, 32768 + 3776)
}

/// Room in the sender's budget: Linux's `sock_alloc_send_pskb` waits while the bytes in
/// flight reach SO_SNDBUF.
pub fn has_room(core: &Core) -> bool {
    core.wmem() < core.common.sndbuf()
}

/// Errors a read reports when it has nothing: a pending error first.
pub fn pending_error(core: &Core) -> Option<Errno> {
    core.common.take_error()
}

pub const READABLE: u32 = abi::EPOLLIN | abi::EPOLLRDNORM;
