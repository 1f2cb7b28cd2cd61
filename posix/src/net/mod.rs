//! Sockets: the `Socket` trait every address family implements, the options every family shares,
//! and `SocketFile`, the `FileOps` that puts a socket behind an fd (read/write are recv/send with
//! no flags; poll/select/epoll see the socket's readiness through its wait queue).
//!
//! The system calls (syscalls/net.rs) find the socket behind an fd, parse what is generic (flags,
//! address lengths, msghdr, control messages) and call the family. A family is registered in
//! `FAMILIES` with a constructor; anything else is EAFNOSUPPORT.
//! See docs/architecture.md ("Sockets").

#[cfg(target_os = "none")]
pub mod inet;
pub mod sockaddr;
#[cfg(target_os = "none")]
pub mod stack;
/// The host build (unit tests) has no network stack.
#[cfg(not(target_os = "none"))]
pub mod stack {
    pub fn drain_before_exit() {}
}
pub mod unix;
mod unix_queue;

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::file::{FileOps, OpenFile, ReadBuf, WriteBuf};
use crate::fs::wait::{self, Deadline, WaitError, WaitQueue};
use crate::syscalls::signal;
use crate::uaccess;

pub use sockaddr::SockAddr;

/// socketpair's constructor: a connected pair of `kind` and `protocol`.
pub type PairFn = fn(kind: u32, protocol: u32) -> Result<[Arc<dyn Socket>; 2], Errno>;

/// One registered address family: how `socket` and `socketpair` make its sockets.
pub struct Family {
    pub domain: u32,
    /// A new socket of `kind` (SOCK_STREAM...; the flags are already removed) and `protocol`.
    pub create: fn(kind: u32, protocol: u32) -> Result<Arc<dyn Socket>, Errno>,
    /// A connected pair (socketpair); `None`: EOPNOTSUPP.
    pub pair: Option<PairFn>,
}

/// The registered families. Helper E: add AF_INET/AF_INET6 here (one line each).
#[cfg(target_os = "none")]
static FAMILIES: &[&Family] = &[&unix::FAMILY, &inet::FAMILY_INET, &inet::FAMILY_INET6];
#[cfg(not(target_os = "none"))]
static FAMILIES: &[&Family] = &[&unix::FAMILY];

pub fn family(domain: u32) -> Option<&'static Family> {
    FAMILIES.iter().copied().find(|f| f.domain == domain)
}

/// How an operation may wait: not at all (O_NONBLOCK, MSG_DONTWAIT), until a deadline
/// (SO_RCVTIMEO/SO_SNDTIMEO), or forever.
#[derive(Clone, Copy, Debug)]
pub struct Io {
    pub nonblocking: bool,
    /// The timeout in ns (0: none).
    pub timeout_ns: u64,
    /// The call's flags (MSG_*): families read MSG_PEEK, MSG_WAITALL, MSG_TRUNC... from here.
    pub flags: u32,
}

impl Io {
    pub fn new(nonblocking: bool, timeout_ns: u64, flags: u32) -> Io {
        Io {
            nonblocking: nonblocking || flags & abi::MSG_DONTWAIT != 0,
            timeout_ns,
            flags,
        }
    }

    /// Sleep on `queue` for `mask` until `ready` returns Some, as a socket waits: EAGAIN at once
    /// when non-blocking or when the timeout passes; on a signal EINTR with a timeout (Linux's
    /// `sock_intr_errno`), a restart without one.
    pub fn wait<T>(
        &self,
        queue: &WaitQueue,
        mask: u32,
        ready: impl FnMut() -> Option<T>,
    ) -> Result<T, Errno> {
        self.wait_any(&[queue], mask, ready)
    }

    /// `wait` on several queues (a sender waiting for its own room and a receiver's).
    pub fn wait_any<T>(
        &self,
        queues: &[&WaitQueue],
        mask: u32,
        mut ready: impl FnMut() -> Option<T>,
    ) -> Result<T, Errno> {
        if let Some(v) = ready() {
            return Ok(v);
        }
        if self.nonblocking {
            return Err(Errno::EAGAIN);
        }
        let deadline = if self.timeout_ns == 0 {
            Deadline::Never
        } else {
            Deadline::after_ns(self.timeout_ns)
        };
        wait::wait_until(queues, mask, deadline, ready).map_err(|e| self.wait_error(e))
    }

    /// The errno for a wait that ended without its condition.
    pub fn wait_error(&self, e: WaitError) -> Errno {
        match e {
            WaitError::TimedOut => Errno::EAGAIN,
            WaitError::Interrupted if self.timeout_ns != 0 => Errno::EINTR,
            WaitError::Interrupted => signal::restartable(e),
        }
    }
}

/// What a send carries besides the bytes.
#[derive(Default)]
pub struct SendMsg {
    /// sendto's or sendmsg's address (`None` when not given), as the service's raw bytes.
    pub to: Option<Vec<u8>>,
    /// SCM_RIGHTS: the open files to pass.
    pub rights: Vec<Arc<OpenFile>>,
}

/// What a receive returns besides the bytes put in the buffer.
#[derive(Default)]
pub struct Received {
    /// The count recv returns: bytes delivered, or a datagram's whole length with MSG_TRUNC.
    pub len: usize,
    /// The sender's address (`None`: the family reports none: msg_namelen 0).
    pub from: Option<SockAddr>,
    /// MSG_TRUNC (datagram cut), MSG_EOR...
    pub msg_flags: u32,
    /// SCM_RIGHTS received.
    pub rights: Vec<Arc<OpenFile>>,
}

/// A socket of some family. Blocking operations take an `Io`; every readiness change must
/// notify `wait_queue()`.
pub trait Socket: Send + Sync + Any {
    /// The generic state: type, domain, protocol and the SOL_SOCKET options.
    fn common(&self) -> &SocketCommon;

    /// `addr`: the service's bytes (addrlen long, at most sockaddr_storage).
    fn bind(&self, addr: &[u8]) -> Result<(), Errno>;

    fn listen(&self, backlog: i32) -> Result<(), Errno>;

    /// Take a connection from the accept queue (waiting as `io` allows).
    fn accept(&self, io: Io) -> Result<Arc<dyn Socket>, Errno>;

    /// Connect (a non-blocking stream connect that cannot finish at once is EINPROGRESS; its
    /// outcome is reported by SO_ERROR and EPOLLOUT).
    fn connect(&self, addr: &[u8], io: Io) -> Result<(), Errno>;

    /// Send from `buf`: bytes taken (partial copies count), EPIPE when the stream is shut for
    /// writing (the caller raises SIGPIPE unless MSG_NOSIGNAL).
    fn send(&self, buf: &mut WriteBuf, msg: SendMsg, io: Io) -> SysResult;

    /// Receive into `buf` (`io.flags`: MSG_PEEK, MSG_WAITALL, MSG_TRUNC...).
    fn recv(&self, buf: &mut ReadBuf, io: Io) -> Result<Received, Errno>;

    /// SHUT_RD, SHUT_WR or SHUT_RDWR (already checked).
    fn shutdown(&self, how: u32) -> Result<(), Errno>;

    /// getsockname's answer.
    fn local_addr(&self) -> Result<SockAddr, Errno>;

    /// getpeername's answer (ENOTCONN when not connected).
    fn peer_addr(&self) -> Result<SockAddr, Errno>;

    /// Options of other levels than SOL_SOCKET, or SOL_SOCKET options the generic layer does not
    /// know (ENOPROTOOPT then).
    fn set_option(&self, level: i32, _name: i32, _value: &[u8]) -> Result<(), Errno> {
        Err(if level == abi::SOL_SOCKET as i32 {
            Errno::ENOPROTOOPT
        } else {
            Errno::EOPNOTSUPP
        })
    }

    /// As `set_option`: the option's value bytes (the caller cuts them to the service's length).
    fn get_option(&self, level: i32, _name: i32) -> Result<Vec<u8>, Errno> {
        Err(if level == abi::SOL_SOCKET as i32 {
            Errno::ENOPROTOOPT
        } else {
            Errno::EOPNOTSUPP
        })
    }

    /// Readiness now (EPOLLIN/OUT/RDHUP/HUP/ERR and the RDNORM/WRNORM twins).
    fn poll(&self) -> u32;

    fn wait_queue(&self) -> &WaitQueue;

    /// FIONREAD/SIOCINQ: bytes that a read would return (EINVAL when listening, as Linux).
    fn readable_bytes(&self) -> Result<usize, Errno>;

    /// SIOCOUTQ: bytes sent and not yet read by the peer.
    fn unsent_bytes(&self) -> Result<usize, Errno> {
        Ok(0)
    }

    fn listening(&self) -> bool;

    /// SIOCATMARK: whether the next byte is the out-of-band mark.
    fn at_mark(&self) -> Result<bool, Errno> {
        Ok(false)
    }

    /// SO_PEERCRED (AF_UNIX).
    fn peer_cred(&self) -> Option<abi::ucred> {
        None
    }

    /// SO_SNDBUF or SO_RCVBUF changed: readiness may have too.
    fn buffers_changed(&self) {}

    fn as_any(&self) -> &dyn Any;
}

/// SOL_SOCKET options every family has, and SO_ERROR.
pub struct SocketCommon {
    pub domain: u32,
    pub kind: u32,
    pub protocol: u32,
    sndbuf: AtomicU32,
    rcvbuf: AtomicU32,
    sndtimeo_ns: AtomicU64,
    rcvtimeo_ns: AtomicU64,
    /// Boolean options: bit n set for SO_* number n.
    switches: AtomicU64,
    /// SO_LINGER: on (bit 32) and seconds.
    linger: AtomicU64,
    rcvlowat: AtomicU32,
    /// SO_PRIORITY and SO_MARK: stored and read back (no queueing discipline to use them).
    priority: AtomicU32,
    mark: AtomicU32,
    /// The pending error SO_ERROR returns and clears (0: none).
    error: AtomicI32,
}

/// net.core.wmem_max / rmem_max and the defaults (Linux's on the hosts we compare with).
pub const BUF_MAX: u32 = 212_992;
pub const BUF_DEFAULT: u32 = 212_992;
/// Linux's SOCK_MIN_SNDBUF / SOCK_MIN_RCVBUF (2 × sk_buff truesize of a small buffer).
const MIN_SNDBUF: u32 = 4608;
const MIN_RCVBUF: u32 = 2304;

impl SocketCommon {
    pub fn new(domain: u32, kind: u32, protocol: u32) -> SocketCommon {
        SocketCommon {
            domain,
            kind,
            protocol,
            sndbuf: AtomicU32::new(BUF_DEFAULT),
            rcvbuf: AtomicU32::new(BUF_DEFAULT),
            sndtimeo_ns: AtomicU64::new(0),
            rcvtimeo_ns: AtomicU64::new(0),
            switches: AtomicU64::new(0),
            linger: AtomicU64::new(0),
            rcvlowat: AtomicU32::new(1),
            priority: AtomicU32::new(0),
            mark: AtomicU32::new(0),
            error: AtomicI32::new(0),
        }
    }

    /// With other buffer sizes (TCP's defaults differ).
    pub fn with_buffers(self, sndbuf: u32, rcvbuf: u32) -> SocketCommon {
        self.sndbuf.store(sndbuf, Ordering::Relaxed);
        self.rcvbuf.store(rcvbuf, Ordering::Relaxed);
        self
    }

    pub fn sndbuf(&self) -> usize {
        self.sndbuf.load(Ordering::Relaxed) as usize
    }

    pub fn rcvbuf(&self) -> usize {
        self.rcvbuf.load(Ordering::Relaxed) as usize
    }

    pub fn sndtimeo_ns(&self) -> u64 {
        self.sndtimeo_ns.load(Ordering::Relaxed)
    }

    pub fn rcvtimeo_ns(&self) -> u64 {
        self.rcvtimeo_ns.load(Ordering::Relaxed)
    }

    pub fn rcvlowat(&self) -> usize {
        self.rcvlowat.load(Ordering::Relaxed) as usize
    }

    /// Whether the boolean option `name` (SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE...) is on.
    pub fn switch(&self, name: u32) -> bool {
        self.switches.load(Ordering::Relaxed) & (1 << name) != 0
    }

    /// SO_LINGER: Some(seconds) when on.
    pub fn linger(&self) -> Option<u32> {
        let v = self.linger.load(Ordering::Relaxed);
        (v >> 32 != 0).then_some(v as u32)
    }

    /// Record an asynchronous error for SO_ERROR (a failed non-blocking connect, a reset).
    pub fn set_error(&self, e: Errno) {
        self.error.store(e.0, Ordering::SeqCst);
    }

    /// Take the pending error (SO_ERROR, or a receive that reports it).
    pub fn take_error(&self) -> Option<Errno> {
        match self.error.swap(0, Ordering::SeqCst) {
            0 => None,
            e => Some(Errno(e)),
        }
    }

    pub fn has_error(&self) -> bool {
        self.error.load(Ordering::SeqCst) != 0
    }
}

/// Boolean SOL_SOCKET options that are stored and read back (families read the ones they use).
const SWITCHES: &[u32] = &[
    abi::SO_DEBUG,
    abi::SO_REUSEADDR,
    abi::SO_DONTROUTE,
    abi::SO_BROADCAST,
    abi::SO_KEEPALIVE,
    abi::SO_OOBINLINE,
    abi::SO_REUSEPORT,
    abi::SO_PASSCRED,
    abi::SO_TIMESTAMP,
    abi::SO_TIMESTAMPNS,
    abi::SO_RXQ_OVFL,
    abi::SO_WIFI_STATUS,
    abi::SO_NOFCS,
    abi::SO_SELECT_ERR_QUEUE,
    abi::SO_PASSSEC,
    abi::SO_ZEROCOPY,
];

fn int_value(value: &[u8]) -> Result<i32, Errno> {
    if value.len() < 4 {
        return Err(Errno::EINVAL);
    }
    Ok(i32::from_ne_bytes(value[..4].try_into().expect("4 bytes")))
}

/// SO_RCVTIMEO/SO_SNDTIMEO's timeval as ns (0: wait forever), as Linux's `sock_set_timeout`.
fn timeout_value(value: &[u8]) -> Result<u64, Errno> {
    if value.len() < size_of::<abi::timeval>() {
        return Err(Errno::EINVAL);
    }
    let sec = i64::from_ne_bytes(value[0..8].try_into().expect("8 bytes"));
    let usec = i64::from_ne_bytes(value[8..16].try_into().expect("8 bytes"));
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 {
        return Ok(1); // already expired: no wait
    }
    if sec == 0 && usec == 0 {
        return Ok(0);
    }
    Ok((sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(usec as u64 * 1000))
}

fn timeval_bytes(ns: u64) -> Vec<u8> {
    let (sec, usec) = if ns <= 1 && ns != 0 {
        (0, 0)
    } else {
        (
            (ns / 1_000_000_000) as i64,
            ((ns % 1_000_000_000) / 1000) as i64,
        )
    };
    let mut v = Vec::with_capacity(16);
    v.extend_from_slice(&sec.to_ne_bytes());
    v.extend_from_slice(&usec.to_ne_bytes());
    v
}

fn int_bytes(v: i32) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

/// setsockopt: the generic SOL_SOCKET options here, the rest to the family.
pub fn set_option(socket: &dyn Socket, level: i32, name: i32, value: &[u8]) -> Result<(), Errno> {
    let c = socket.common();
    if level != abi::SOL_SOCKET as i32 || name < 0 {
        return socket.set_option(level, name, value);
    }
    let n = name as u32;
    if SWITCHES.contains(&n) {
        let on = int_value(value)? != 0;
        let inet = c.domain == abi::AF_INET || c.domain == abi::AF_INET6;
        if n == abi::SO_REUSEPORT && on && !inet {
            return Err(Errno::EOPNOTSUPP);
        }
        if on {
            c.switches.fetch_or(1 << n, Ordering::Relaxed);
        } else {
            c.switches.fetch_and(!(1 << n), Ordering::Relaxed);
        }
        return Ok(());
    }
    match n {
        abi::SO_SNDBUF | abi::SO_SNDBUFFORCE => {
            let v = int_value(value)?;
            let v = if n == abi::SO_SNDBUF {
                (v as u32).min(BUF_MAX)
            } else {
                v.max(0) as u32
            };
            let size = v.saturating_mul(2).max(MIN_SNDBUF).min(i32::MAX as u32);
            c.sndbuf.store(size, Ordering::Relaxed);
            socket.buffers_changed();
            Ok(())
        }
        abi::SO_RCVBUF | abi::SO_RCVBUFFORCE => {
            let v = int_value(value)?;
            let v = if n == abi::SO_RCVBUF {
                (v as u32).min(BUF_MAX)
            } else {
                v.max(0) as u32
            };
            let size = v.saturating_mul(2).max(MIN_RCVBUF).min(i32::MAX as u32);
            c.rcvbuf.store(size, Ordering::Relaxed);
            socket.buffers_changed();
            Ok(())
        }
        abi::SO_RCVTIMEO => {
            c.rcvtimeo_ns
                .store(timeout_value(value)?, Ordering::Relaxed);
            Ok(())
        }
        abi::SO_SNDTIMEO => {
            c.sndtimeo_ns
                .store(timeout_value(value)?, Ordering::Relaxed);
            Ok(())
        }
        abi::SO_LINGER => {
            if value.len() < size_of::<abi::linger>() {
                return Err(Errno::EINVAL);
            }
            let on = i32::from_ne_bytes(value[0..4].try_into().expect("4 bytes"));
            let secs = i32::from_ne_bytes(value[4..8].try_into().expect("4 bytes"));
            let v = if on != 0 {
                (1u64 << 32) | secs.max(0) as u32 as u64
            } else {
                secs.max(0) as u32 as u64
            };
            c.linger.store(v, Ordering::Relaxed);
            Ok(())
        }
        abi::SO_RCVLOWAT => {
            // (Linux: a negative value means INT_MAX, 0 means 1.)
            let v = int_value(value)?;
            let v = if v < 0 { i32::MAX } else { v.max(1) };
            c.rcvlowat.store(v as u32, Ordering::Relaxed);
            socket.buffers_changed();
            Ok(())
        }
        abi::SO_PRIORITY => {
            // (Values above 6 need CAP_NET_ADMIN, which the service, root, has.)
            c.priority
                .store(int_value(value)? as u32, Ordering::Relaxed);
            Ok(())
        }
        abi::SO_MARK => {
            c.mark.store(int_value(value)? as u32, Ordering::Relaxed);
            Ok(())
        }
        abi::SO_TYPE
        | abi::SO_DOMAIN
        | abi::SO_PROTOCOL
        | abi::SO_ERROR
        | abi::SO_ACCEPTCONN
        | abi::SO_PEERCRED => Err(Errno::ENOPROTOOPT),
        _ => socket.set_option(level, name, value),
    }
}

/// getsockopt: the option's bytes (the caller cuts them to the service's length).
pub fn get_option(socket: &dyn Socket, level: i32, name: i32) -> Result<Vec<u8>, Errno> {
    let c = socket.common();
    if level != abi::SOL_SOCKET as i32 || name < 0 {
        return socket.get_option(level, name);
    }
    let n = name as u32;
    if SWITCHES.contains(&n) {
        return Ok(int_bytes(c.switch(n) as i32));
    }
    Ok(match n {
        abi::SO_TYPE => int_bytes(c.kind as i32),
        abi::SO_DOMAIN => int_bytes(c.domain as i32),
        abi::SO_PROTOCOL => int_bytes(c.protocol as i32),
        abi::SO_ERROR => int_bytes(c.take_error().map_or(0, |e| e.0)),
        abi::SO_SNDBUF => int_bytes(c.sndbuf() as i32),
        abi::SO_RCVBUF => int_bytes(c.rcvbuf() as i32),
        abi::SO_RCVTIMEO => timeval_bytes(c.rcvtimeo_ns()),
        abi::SO_SNDTIMEO => timeval_bytes(c.sndtimeo_ns()),
        abi::SO_ACCEPTCONN => int_bytes(socket.listening() as i32),
        abi::SO_RCVLOWAT => int_bytes(c.rcvlowat() as i32),
        abi::SO_PRIORITY => int_bytes(c.priority.load(Ordering::Relaxed) as i32),
        abi::SO_MARK => int_bytes(c.mark.load(Ordering::Relaxed) as i32),
        abi::SO_SNDLOWAT => int_bytes(1),
        abi::SO_LINGER => {
            let v = c.linger.load(Ordering::Relaxed);
            let mut b = Vec::with_capacity(8);
            b.extend_from_slice(&(((v >> 32) != 0) as i32).to_ne_bytes());
            b.extend_from_slice(&(v as u32 as i32).to_ne_bytes());
            b
        }
        abi::SO_PEERCRED => {
            let cred = socket.peer_cred().unwrap_or(abi::ucred {
                pid: 0,
                uid: u32::MAX,
                gid: u32::MAX,
            });
            let mut b = Vec::with_capacity(12);
            b.extend_from_slice(&cred.pid.to_ne_bytes());
            b.extend_from_slice(&cred.uid.to_ne_bytes());
            b.extend_from_slice(&cred.gid.to_ne_bytes());
            b
        }
        _ => return socket.get_option(level, name),
    })
}

/// The credentials of the service's one process, as SO_PEERCRED and SCM_CREDENTIALS show them.
pub fn own_cred() -> abi::ucred {
    abi::ucred {
        pid: ferrite_smp::thread::MAIN_TID as i32,
        uid: 0,
        gid: 0,
    }
}

static NEXT_INODE: AtomicU64 = AtomicU64::new(20_000);

/// A socket behind an fd.
pub struct SocketFile {
    pub socket: Arc<dyn Socket>,
    inode: u64,
}

impl SocketFile {
    pub fn new(socket: Arc<dyn Socket>) -> Arc<SocketFile> {
        Arc::new(SocketFile {
            socket,
            inode: NEXT_INODE.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The inode number (what "socket:[N]" and fstat show).
    pub fn inode(&self) -> u64 {
        self.inode
    }
}

/// An OpenFile for `socket` (SOCK_NONBLOCK in `flags` becomes O_NONBLOCK).
pub fn open_socket(socket: Arc<dyn Socket>, flags: u32) -> Arc<OpenFile> {
    OpenFile::new(
        SocketFile::new(socket),
        abi::O_RDWR | (flags & abi::SOCK_NONBLOCK),
    )
}

/// The socket behind an open file: ENOTSOCK for other files.
pub fn socket_of(file: &OpenFile) -> Result<&Arc<dyn Socket>, Errno> {
    file.ops
        .as_any()
        .downcast_ref::<SocketFile>()
        .map(|s| &s.socket)
        .ok_or(Errno::ENOTSOCK)
}

/// A send through the generic path: SIGPIPE on a stream's EPIPE unless MSG_NOSIGNAL (as
/// Linux, datagram and packet sockets' EPIPE raises no signal).
pub fn send(file: &OpenFile, buf: &mut WriteBuf, msg: SendMsg, flags: u32) -> SysResult {
    let socket = socket_of(file)?;
    let io = Io::new(file.nonblocking(), socket.common().sndtimeo_ns(), flags);
    let result = socket.send(buf, msg, io);
    if result == Err(Errno::EPIPE)
        && flags & abi::MSG_NOSIGNAL == 0
        && socket.common().kind == abi::SOCK_STREAM
    {
        signal::send_sigpipe_to_current();
    }
    result
}

pub fn recv(file: &OpenFile, buf: &mut ReadBuf, flags: u32) -> Result<Received, Errno> {
    let socket = socket_of(file)?;
    let io = Io::new(file.nonblocking(), socket.common().rcvtimeo_ns(), flags);
    socket.recv(buf, io)
}

impl FileOps for SocketFile {
    fn read(&self, file: &OpenFile, buf: &mut ReadBuf, _offset: Option<u64>) -> SysResult {
        recv(file, buf, 0).map(|r| r.len as i64)
    }

    fn write(
        &self,
        file: &OpenFile,
        buf: &mut WriteBuf,
        _offset: Option<u64>,
        _end: &mut Option<u64>,
    ) -> SysResult {
        send(file, buf, SendMsg::default(), 0)
    }

    fn poll(&self, _file: &OpenFile) -> u32 {
        self.socket.poll()
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(self.socket.wait_queue())
    }

    fn ioctl(&self, _file: &OpenFile, request: u32, arg: u64) -> SysResult {
        const SIOCOUTQ: u32 = 0x5411; // TIOCOUTQ
        const SIOCATMARK: u32 = 0x8905;
        match request {
            SIOCATMARK => {
                let at = self.socket.at_mark()? as i32;
                uaccess::write(arg, &at)?;
                Ok(0)
            }
            abi::FIONREAD => {
                let n = self.socket.readable_bytes()?.min(i32::MAX as usize) as i32;
                uaccess::write(arg, &n)?;
                Ok(0)
            }
            SIOCOUTQ => {
                let n = self.socket.unsent_bytes()?.min(i32::MAX as usize) as i32;
                uaccess::write(arg, &n)?;
                Ok(0)
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    fn stat(&self) -> Result<abi::stat, Errno> {
        Ok(abi::stat {
            st_mode: abi::S_IFSOCK | 0o777,
            st_nlink: 1,
            st_ino: self.inode,
            st_blksize: 4096,
            ..Default::default()
        })
    }

    fn describe(&self) -> String {
        format!("socket:[{}]", self.inode)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
