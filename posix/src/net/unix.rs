//! AF_UNIX sockets: SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET, named by a path (a socket
//! inode in the file system) or an abstract name, or unnamed (socketpair, unbound).
//!
//! A socket is a `UnixSocket` (its connection state, behind a short spin lock that is never
//! held while copying) around an `Arc<Core>`: the options, the wait queue, the receive queue
//! (net/unix_queue.rs) and the shutdown bits. A peer and every message a socket has sent hold
//! its `Core`, never the `UnixSocket`, so nothing keeps a closed socket alive and closing is
//! the `UnixSocket`'s drop: its queue is purged and its peer told (EOF, EPIPE, EPOLLHUP).
//!
//! A listening socket keeps an accept queue of server-side sockets made by `connect`, as
//! Linux's embryos: a client is connected (and may send) before it is accepted; the backlog
//! bounds the queue (Linux's `unix_recvq_full`: more than `backlog` waiting is full).

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use ferrite_libos::sync::IrqMutex;

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::file::{ReadBuf, WriteBuf};
use crate::fs::vfs::{self, FileType, InodeRef};
use crate::fs::wait::WaitQueue;
use crate::net::sockaddr::{self, SockAddr, UnixName};
use crate::net::unix_queue::{READABLE, RecvQueue};
use crate::net::{Family, Io, Received, SendMsg, Socket, SocketCommon};

// The data paths (send and receive for each type) are in unix_data.rs.
#[path = "unix_data.rs"]
mod data;

pub static FAMILY: Family = Family {
    domain: abi::AF_UNIX,
    create,
    pair: Some(pair),
};

pub const WRITABLE: u32 = abi::EPOLLOUT | abi::EPOLLWRNORM | abi::EPOLLWRBAND;
/// Shutdown bits (Linux's RCV_SHUTDOWN, SEND_SHUTDOWN).
const RCV_SHUTDOWN: u32 = 1;
const SEND_SHUTDOWN: u32 = 2;
const SHUTDOWN_MASK: u32 = 3;
/// A private wake-up for senders waiting for room in another socket's datagram queue.
const QUEUE_ROOM: u32 = 1 << 27;
/// net.unix.max_dgram_qlen.
const MAX_DGRAM_QLEN: usize = 10;

/// What a socket's peer and queued messages refer to.
pub struct Core {
    pub common: SocketCommon,
    queue: WaitQueue,
    rx: RecvQueue,
    /// Bytes this socket sent that sit unread in a receive queue.
    wmem: AtomicUsize,
    shutdown: AtomicU32,
    /// The socket was closed.
    dead: AtomicBool,
    /// The bound name (`Unnamed` until bound).
    name: IrqMutex<UnixName>,
    /// The address of the peer's `Core` (0: none), for the datagram queue bound.
    peer_id: AtomicUsize,
}

impl Core {
    fn new(kind: u32) -> Arc<Core> {
        Arc::new(Core {
            common: SocketCommon::new(abi::AF_UNIX, kind, 0),
            queue: WaitQueue::new(),
            rx: RecvQueue::new(),
            wmem: AtomicUsize::new(0),
            shutdown: AtomicU32::new(0),
            dead: AtomicBool::new(false),
            name: IrqMutex::new(UnixName::Unnamed),
            peer_id: AtomicUsize::new(0),
        })
    }

    pub fn wmem(&self) -> usize {
        self.wmem.load(Ordering::SeqCst)
    }

    /// Linux's `unix_writable`: a quarter of the send buffer or less in flight.
    fn writable(&self) -> bool {
        self.wmem() * 4 <= self.common.sndbuf()
    }

    fn charge(&self, n: usize) {
        self.wmem.fetch_add(n, Ordering::SeqCst);
    }

    /// `n` bytes this socket sent were read (or dropped): wake its writers when room appears.
    pub fn uncharge(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.wmem.fetch_sub(n, Ordering::SeqCst);
        if self.writable() {
            self.queue.notify(WRITABLE);
        }
    }

    fn shut(&self) -> u32 {
        self.shutdown.load(Ordering::SeqCst)
    }

    fn name(&self) -> UnixName {
        self.name.lock().clone()
    }

    fn dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    fn connected_to(&self, other: &Arc<Core>) -> bool {
        self.peer_id.load(Ordering::SeqCst) == Arc::as_ptr(other) as usize
    }
}

impl State {
    fn set_peer(&mut self, me: &Core, peer: Option<Arc<Core>>) -> Option<Arc<Core>> {
        let id = peer.as_ref().map_or(0, |p| Arc::as_ptr(p) as usize);
        me.peer_id.store(id, Ordering::SeqCst);
        self.conn = if peer.is_some() {
            Conn::Connected
        } else {
            Conn::Unconnected
        };
        core::mem::replace(&mut self.peer, peer)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Conn {
    Unconnected,
    Listening,
    Connected,
}

struct State {
    conn: Conn,
    /// The connected peer (streams and packets; a datagram socket's default destination).
    peer: Option<Arc<Core>>,
    backlog: usize,
    /// Server-side sockets of connections not yet accepted.
    pending: VecDeque<Arc<UnixSocket>>,
    /// A path binding: the socket inode (kept for the registry's key).
    inode: Option<InodeRef>,
}

pub struct UnixSocket {
    core: Arc<Core>,
    me: Weak<UnixSocket>,
    state: IrqMutex<State>,
    /// Not yet accepted (a server-side socket in an accept queue).
    embryo: AtomicBool,
}

/// Bound names: abstract ones by name, path ones by their socket inode.
struct Registry {
    abstract_names: BTreeMap<Vec<u8>, Weak<UnixSocket>>,
    paths: BTreeMap<usize, Weak<UnixSocket>>,
    next_auto: u32,
}

static REGISTRY: IrqMutex<Registry> = IrqMutex::new(Registry {
    abstract_names: BTreeMap::new(),
    paths: BTreeMap::new(),
    next_auto: 0,
});

fn check_kind(kind: u32, protocol: u32) -> Result<u32, Errno> {
    if protocol != 0 && protocol != abi::PF_UNIX {
        return Err(Errno::EPROTONOSUPPORT);
    }
    match kind {
        abi::SOCK_STREAM | abi::SOCK_DGRAM | abi::SOCK_SEQPACKET => Ok(kind),
        abi::SOCK_RAW => Ok(abi::SOCK_DGRAM),
        _ => Err(Errno::ESOCKTNOSUPPORT),
    }
}

fn create(kind: u32, protocol: u32) -> Result<Arc<dyn Socket>, Errno> {
    Ok(UnixSocket::new(check_kind(kind, protocol)?))
}

fn pair(kind: u32, protocol: u32) -> Result<[Arc<dyn Socket>; 2], Errno> {
    let kind = check_kind(kind, protocol)?;
    let a = UnixSocket::new(kind);
    let b = UnixSocket::new(kind);
    a.link(&b);
    Ok([a, b])
}

impl UnixSocket {
    fn new(kind: u32) -> Arc<UnixSocket> {
        Arc::new_cyclic(|me| UnixSocket {
            core: Core::new(kind),
            me: me.clone(),
            state: IrqMutex::new(State {
                conn: Conn::Unconnected,
                peer: None,
                backlog: 0,
                pending: VecDeque::new(),
                inode: None,
            }),
            embryo: AtomicBool::new(false),
        })
    }

    fn kind(&self) -> u32 {
        self.core.common.kind
    }

    fn connection_oriented(&self) -> bool {
        self.kind() != abi::SOCK_DGRAM
    }

    /// Connect two new sockets to each other.
    fn link(&self, other: &UnixSocket) {
        self.state
            .lock()
            .set_peer(&self.core, Some(other.core.clone()));
        other
            .state
            .lock()
            .set_peer(&other.core, Some(self.core.clone()));
    }

    fn peer(&self) -> Option<Arc<Core>> {
        self.state.lock().peer.clone()
    }

    fn conn(&self) -> Conn {
        self.state.lock().conn
    }

    // ---- Names ----

    fn bound(&self) -> bool {
        *self.core.name.lock() != UnixName::Unnamed
    }

    /// Bind to `name`. (Linux looks at a path before at whether the socket is bound: an
    /// existing path is EADDRINUSE even then.)
    fn bind_name(&self, name: UnixName) -> Result<(), Errno> {
        match &name {
            UnixName::Abstract(bytes) => {
                if self.bound() {
                    return Err(Errno::EINVAL);
                }
                let mut reg = REGISTRY.lock();
                if reg
                    .abstract_names
                    .get(bytes)
                    .is_some_and(|w| w.strong_count() > 0)
                {
                    return Err(Errno::EADDRINUSE);
                }
                reg.abstract_names.insert(bytes.clone(), self.me.clone());
            }
            UnixName::Path(path) => {
                let path = core::str::from_utf8(path).map_err(|_| Errno::EINVAL)?;
                let start = vfs::cwd();
                let parent = vfs::walk_parent(&start, path, &mut 0)?;
                if parent.trailing_slash
                    || parent.name == "."
                    || parent.name == ".."
                    || vfs::lookup_in(&parent.dir, &parent.name).is_ok()
                {
                    return Err(Errno::EADDRINUSE);
                }
                if self.bound() {
                    return Err(Errno::EINVAL);
                }
                let mode = abi::S_IFSOCK | (0o777 & !vfs::umask());
                let inode = parent.dir.create(&parent.name, mode, 0).map_err(|e| {
                    if e == Errno::EEXIST {
                        Errno::EADDRINUSE
                    } else {
                        e
                    }
                })?;
                REGISTRY
                    .lock()
                    .paths
                    .insert(vfs::key(&inode), self.me.clone());
                self.state.lock().inode = Some(inode);
            }
            UnixName::Unnamed => return Err(Errno::EINVAL),
        }
        *self.core.name.lock() = name;
        Ok(())
    }

    /// Linux's autobind: an abstract name of five hex digits.
    fn autobind(&self) -> Result<(), Errno> {
        for _ in 0..0x10_0000 {
            let n = {
                let mut reg = REGISTRY.lock();
                reg.next_auto = (reg.next_auto + 1) & 0xf_ffff;
                reg.next_auto
            };
            match self.bind_name(UnixName::Abstract(format!("{n:05x}").into_bytes())) {
                Err(Errno::EADDRINUSE) => continue,
                other => return other,
            }
        }
        Err(Errno::ENOSPC)
    }

    /// SO_PASSCRED makes an unnamed socket take an autobind name before it connects or sends
    /// (as Linux, so that the receiver can tell who sent).
    fn autobind_for_credentials(&self) -> Result<(), Errno> {
        if self.core.common.switch(abi::SO_PASSCRED) && !self.bound() {
            match self.autobind() {
                Ok(()) | Err(Errno::EINVAL) => {} // (bound meanwhile)
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The socket bound to `name`: errors as Linux's `unix_find_other`.
    fn find(name: &UnixName) -> Result<Arc<UnixSocket>, Errno> {
        match name {
            UnixName::Abstract(bytes) => REGISTRY
                .lock()
                .abstract_names
                .get(bytes)
                .and_then(Weak::upgrade)
                .ok_or(Errno::ECONNREFUSED),
            UnixName::Path(path) => {
                let path = core::str::from_utf8(path).map_err(|_| Errno::ENOENT)?;
                let inode = vfs::resolve(&vfs::cwd(), path, vfs::Follow::Yes)?;
                if inode.kind() != FileType::Socket {
                    return Err(Errno::ECONNREFUSED);
                }
                REGISTRY
                    .lock()
                    .paths
                    .get(&vfs::key(&inode))
                    .and_then(Weak::upgrade)
                    .ok_or(Errno::ECONNREFUSED)
            }
            UnixName::Unnamed => Err(Errno::EINVAL),
        }
    }

    // ---- Connections ----

    fn connect_stream(&self, raw: &[u8], io: Io) -> Result<(), Errno> {
        let name = sockaddr::parse_unix(raw)?;
        match self.conn() {
            Conn::Connected => return Err(Errno::EISCONN),
            Conn::Listening => return Err(Errno::EINVAL),
            Conn::Unconnected => {}
        }
        self.autobind_for_credentials()?;
        let listener = Self::find(&name)?;
        if listener.kind() != self.kind() {
            return Err(Errno::EPROTOTYPE);
        }
        let server = UnixSocket::new(self.kind());
        server.embryo.store(true, Ordering::SeqCst);
        *server.core.name.lock() = listener.core.name();
        // Wait for room in the accept queue (Linux waits on the listener with the send timeout).
        let queued = io.wait(&listener.core.queue, WRITABLE | QUEUE_ROOM, || {
            let mut l = listener.state.lock();
            if l.conn != Conn::Listening
                || listener.core.dead()
                || listener.core.shut() & RCV_SHUTDOWN != 0
            {
                return Some(Err(Errno::ECONNREFUSED));
            }
            if l.pending.len() > l.backlog {
                return None;
            }
            let mut me = self.state.lock();
            if me.conn != Conn::Unconnected {
                return Some(Err(Errno::EISCONN));
            }
            me.set_peer(&self.core, Some(server.core.clone()));
            drop(me);
            server
                .state
                .lock()
                .set_peer(&server.core, Some(self.core.clone()));
            l.pending.push_back(server.clone());
            Some(Ok(()))
        })?;
        queued?;
        listener.core.queue.notify(READABLE);
        Ok(())
    }

    fn connect_dgram(&self, raw: &[u8]) -> Result<(), Errno> {
        if sockaddr::family_of(raw) == Some(abi::AF_UNSPEC) {
            // Dissolve the association.
            let old = self.state.lock().set_peer(&self.core, None);
            drop(old);
            return Ok(());
        }
        let name = sockaddr::parse_unix(raw)?;
        self.autobind_for_credentials()?;
        let other = Self::find(&name)?;
        if other.kind() != self.kind() {
            return Err(Errno::EPROTOTYPE);
        }
        self.may_send_to(&other)?;
        let old = self
            .state
            .lock()
            .set_peer(&self.core, Some(other.core.clone()));
        drop(old);
        Ok(())
    }

    /// Linux's `unix_may_send`: a socket connected to another one takes only its peer's.
    fn may_send_to(&self, other: &UnixSocket) -> Result<(), Errno> {
        match other.peer() {
            Some(p) if !Arc::ptr_eq(&p, &self.core) => Err(Errno::EPERM),
            _ => Ok(()),
        }
    }
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        let core = &self.core;
        core.dead.store(true, Ordering::SeqCst);
        core.shutdown.store(SHUTDOWN_MASK, Ordering::SeqCst);
        let unread = core.rx.close();
        let (peer, pending, inode) = {
            let mut s = self.state.lock();
            (
                s.peer.take(),
                core::mem::take(&mut s.pending),
                s.inode.take(),
            )
        };
        {
            let mut reg = REGISTRY.lock();
            if let UnixName::Abstract(bytes) = &*core.name.lock()
                && reg
                    .abstract_names
                    .get(bytes)
                    .is_some_and(|w| w.as_ptr() == self.me.as_ptr())
            {
                reg.abstract_names.remove(bytes);
            }
            if let Some(inode) = &inode {
                reg.paths.remove(&vfs::key(inode));
            }
        }
        if let Some(peer) = peer {
            if self.connection_oriented() {
                peer.shutdown.fetch_or(SHUTDOWN_MASK, Ordering::SeqCst);
                if unread || self.embryo.load(Ordering::SeqCst) {
                    peer.common.set_error(Errno::ECONNRESET);
                }
            }
            peer.queue
                .notify(READABLE | WRITABLE | abi::EPOLLRDHUP | abi::EPOLLHUP | QUEUE_ROOM);
        }
        core.queue
            .notify(READABLE | WRITABLE | abi::EPOLLHUP | QUEUE_ROOM);
        drop(pending); // unaccepted connections close too (their clients see ECONNRESET)
    }
}

impl Socket for UnixSocket {
    fn common(&self) -> &SocketCommon {
        &self.core.common
    }

    fn bind(&self, addr: &[u8]) -> Result<(), Errno> {
        if addr.len() == sockaddr::UNIX_PATH_OFFSET
            && sockaddr::family_of(addr) == Some(abi::AF_UNIX)
        {
            if self.bound() {
                return Err(Errno::EINVAL);
            }
            return self.autobind();
        }
        let name = sockaddr::parse_unix(addr)?;
        self.bind_name(name)
    }

    fn listen(&self, backlog: i32) -> Result<(), Errno> {
        if !self.connection_oriented() {
            return Err(Errno::EOPNOTSUPP);
        }
        if !self.bound() {
            return Err(Errno::EINVAL);
        }
        let grew = {
            let mut s = self.state.lock();
            if s.conn == Conn::Connected {
                return Err(Errno::EINVAL);
            }
            let grew = backlog.max(0) as usize > s.backlog;
            s.backlog = backlog.max(0) as usize;
            s.conn = Conn::Listening;
            grew
        };
        if grew {
            self.core.queue.notify(QUEUE_ROOM);
        }
        Ok(())
    }

    fn accept(&self, io: Io) -> Result<Arc<dyn Socket>, Errno> {
        if !self.connection_oriented() {
            return Err(Errno::EOPNOTSUPP);
        }
        if self.conn() != Conn::Listening {
            return Err(Errno::EINVAL);
        }
        let server = io.wait(&self.core.queue, READABLE, || {
            let mut s = self.state.lock();
            if s.conn != Conn::Listening {
                return Some(Err(Errno::EINVAL));
            }
            if let Some(server) = s.pending.pop_front() {
                return Some(Ok(server));
            }
            // A listener shut for reading accepts no more: EINVAL, waking blocked acceptors
            // (Linux's skb_recv_datagram), which servers use to stop their accept threads.
            (self.core.shut() & RCV_SHUTDOWN != 0).then_some(Err(Errno::EINVAL))
        })??;
        server.embryo.store(false, Ordering::SeqCst);
        self.core.queue.notify(QUEUE_ROOM);
        Ok(server)
    }

    fn connect(&self, addr: &[u8], io: Io) -> Result<(), Errno> {
        if self.connection_oriented() {
            self.connect_stream(addr, io)
        } else {
            self.connect_dgram(addr)
        }
    }

    fn send(&self, buf: &mut WriteBuf, msg: SendMsg, io: Io) -> SysResult {
        if io.flags & abi::MSG_OOB != 0 && self.kind() != abi::SOCK_STREAM {
            return Err(Errno::EOPNOTSUPP);
        }
        if self.connection_oriented() {
            self.send_stream(buf, msg, io)
        } else {
            self.send_dgram(buf, msg, io)
        }
    }

    fn recv(&self, buf: &mut ReadBuf, io: Io) -> Result<Received, Errno> {
        if io.flags & abi::MSG_OOB != 0 {
            return self.recv_urgent(buf, io);
        }
        if self.kind() == abi::SOCK_STREAM {
            self.recv_stream(buf, io)
        } else {
            self.recv_packet(buf, io)
        }
    }

    fn shutdown(&self, how: u32) -> Result<(), Errno> {
        // SHUT_RD → RCV_SHUTDOWN, SHUT_WR → SEND_SHUTDOWN, SHUT_RDWR → both.
        let mode = (how + 1) & SHUTDOWN_MASK;
        self.core.shutdown.fetch_or(mode, Ordering::SeqCst);
        self.core
            .queue
            .notify(READABLE | WRITABLE | abi::EPOLLRDHUP | abi::EPOLLHUP | QUEUE_ROOM);
        if self.connection_oriented()
            && let Some(peer) = self.peer()
        {
            let mut peer_mode = 0;
            if mode & RCV_SHUTDOWN != 0 {
                peer_mode |= SEND_SHUTDOWN;
            }
            if mode & SEND_SHUTDOWN != 0 {
                peer_mode |= RCV_SHUTDOWN;
            }
            peer.shutdown.fetch_or(peer_mode, Ordering::SeqCst);
            peer.queue
                .notify(READABLE | WRITABLE | abi::EPOLLRDHUP | abi::EPOLLHUP | QUEUE_ROOM);
        }
        Ok(())
    }

    fn local_addr(&self) -> Result<SockAddr, Errno> {
        Ok(SockAddr::Unix(self.core.name()))
    }

    fn peer_addr(&self) -> Result<SockAddr, Errno> {
        let s = self.state.lock();
        match (&s.peer, s.conn) {
            (Some(peer), Conn::Connected) => Ok(SockAddr::Unix(peer.name())),
            _ => Err(Errno::ENOTCONN),
        }
    }

    fn poll(&self) -> u32 {
        let core = &self.core;
        let (conn, peer, pending) = {
            let s = self.state.lock();
            (s.conn, s.peer.clone(), s.pending.len())
        };
        let mut events = 0;
        if core.common.has_error() {
            events |= abi::EPOLLERR;
        }
        let shut = core.shut();
        if shut == SHUTDOWN_MASK {
            events |= abi::EPOLLHUP;
        }
        if shut & RCV_SHUTDOWN != 0 {
            events |= abi::EPOLLRDHUP | READABLE;
        }
        if !core.rx.is_empty() || (conn == Conn::Listening && pending > 0) {
            events |= READABLE;
        }
        if core.rx.urgent() {
            events |= abi::EPOLLPRI;
        }
        if self.connection_oriented() {
            if conn == Conn::Unconnected {
                events |= abi::EPOLLHUP;
            }
            if conn != Conn::Listening && core.writable() {
                events |= WRITABLE;
            }
        } else {
            let peer_full =
                peer.is_some_and(|p| !p.connected_to(core) && p.rx.count() > MAX_DGRAM_QLEN);
            if core.writable() && !peer_full {
                events |= WRITABLE;
            }
        }
        events
    }

    fn wait_queue(&self) -> &WaitQueue {
        &self.core.queue
    }

    fn readable_bytes(&self) -> Result<usize, Errno> {
        if self.conn() == Conn::Listening {
            return Err(Errno::EINVAL);
        }
        Ok(if self.kind() == abi::SOCK_DGRAM {
            self.core.rx.first_len()
        } else {
            self.core.rx.bytes()
        })
    }

    fn unsent_bytes(&self) -> Result<usize, Errno> {
        if self.conn() == Conn::Listening {
            return Err(Errno::EINVAL);
        }
        Ok(self.core.wmem())
    }

    fn listening(&self) -> bool {
        self.conn() == Conn::Listening
    }

    fn at_mark(&self) -> Result<bool, Errno> {
        Ok(self.core.rx.at_mark())
    }

    fn peer_cred(&self) -> Option<abi::ucred> {
        matches!(self.conn(), Conn::Connected | Conn::Listening).then(crate::net::own_cred)
    }

    fn buffers_changed(&self) {
        self.core.queue.notify(WRITABLE);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
#[path = "unix_tests.rs"]
mod tests;
