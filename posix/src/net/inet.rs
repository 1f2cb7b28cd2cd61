//! AF_INET and AF_INET6 sockets over smoltcp (`stack.rs`): TCP and UDP.
//!
//! A socket keeps its own state (bound port, peer, the smoltcp handle and its interface, the
//! accept queue) under its own lock; the stack's lock is taken only for the moment a smoltcp
//! socket is read or written. Data moves service ↔ kernel bounce buffer ↔ smoltcp buffer, so no
//! copy from or to the service happens under a spin lock. A listening socket keeps one smoltcp
//! socket listening per interface; when a connection arrives on it, that socket moves to the
//! socket's pending list and a new one listens in its place (up to the backlog).

use alloc::sync::{Arc, Weak};
use alloc::vec;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};

use ferrite_libos::sync::IrqMutex;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::{tcp, udp};
use smoltcp::wire::{IpAddress, IpEndpoint, IpListenEndpoint, Ipv4Address, Ipv6Address};

use super::stack::{self, Link, NET, Net};
use super::{Family, Io, Received, SendMsg, SockAddr, Socket, SocketCommon, sockaddr};
use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::file::{ReadBuf, WriteBuf};
use crate::fs::wait::{SleepLock, WaitQueue};

pub const FAMILY_INET: Family = Family {
    domain: abi::AF_INET,
    create: create_v4,
    pair: None,
};

pub const FAMILY_INET6: Family = Family {
    domain: abi::AF_INET6,
    create: create_v6,
    pair: None,
};

const UDP_BUFFER: usize = 64 * 1024;
const UDP_PACKETS: usize = 64;
/// Largest piece moved through a bounce buffer at once.
const CHUNK: usize = 64 * 1024;

fn create_v4(kind: u32, protocol: u32) -> Result<Arc<dyn Socket>, Errno> {
    create(abi::AF_INET, kind, protocol)
}

fn create_v6(kind: u32, protocol: u32) -> Result<Arc<dyn Socket>, Errno> {
    create(abi::AF_INET6, kind, protocol)
}

fn create(domain: u32, kind: u32, protocol: u32) -> Result<Arc<dyn Socket>, Errno> {
    stack::apply_lease();
    let tcp = match (kind, protocol) {
        (abi::SOCK_STREAM, 0) | (abi::SOCK_STREAM, abi::IPPROTO_TCP) => true,
        (abi::SOCK_DGRAM, 0) | (abi::SOCK_DGRAM, abi::IPPROTO_UDP) => false,
        (abi::SOCK_STREAM | abi::SOCK_DGRAM, _) => return Err(Errno::EPROTONOSUPPORT),
        _ => return Err(Errno::ESOCKTNOSUPPORT),
    };
    let protocol = if tcp {
        abi::IPPROTO_TCP
    } else {
        abi::IPPROTO_UDP
    };
    let s = InetSocket::new(domain, kind, protocol, tcp, Inner::default());
    Ok(s)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Phase {
    #[default]
    Idle,
    Listening,
    Connecting,
    Connected,
    /// Connection over (reset, refused, or both directions finished).
    Closed,
}

#[derive(Default)]
struct Inner {
    phase: Phase,
    /// Bound address (None: any) and port (0: not bound).
    local_addr: Option<IpAddress>,
    port: u16,
    peer: Option<IpEndpoint>,
    link: Option<Link>,
    handle: Option<SocketHandle>,
    /// UDP: the smoltcp socket on each interface it receives on.
    udp: Vec<(Link, SocketHandle)>,
    /// The accept queue's id in the stack (`Net::listeners`) once listening.
    listener: Option<u64>,
    shut_rd: bool,
    shut_wr: bool,
    /// Whether the peer ever got connected (a reset then is ECONNRESET, else ECONNREFUSED).
    was_connected: bool,
    nodelay: bool,
    keepidle: u32,
    keepintvl: u32,
    keepcnt: u32,
    v6only: bool,
    /// EPOLL bits last reported.
    last_events: u32,
    watch: u64,
}

pub struct InetSocket {
    common: SocketCommon,
    tcp: bool,
    wait: WaitQueue,
    inner: IrqMutex<Inner>,
    /// Serialises senders (and receivers) so a bounce-buffer transfer is not split.
    send_lock: SleepLock<()>,
    recv_lock: SleepLock<()>,
    /// Connection errors seen by the stack, reported once by the next call.
    pending_error: AtomicU32,
}

impl stack::Watcher for InetSocket {
    fn refresh(&self) {
        let events = self.poll();
        let changed = {
            let mut inner = self.inner.lock();
            let changed = events != inner.last_events;
            inner.last_events = events;
            changed
        };
        if changed {
            self.wait.notify(events);
        }
    }
}

fn with_net<R>(f: impl FnOnce(&mut Net) -> R) -> Result<R, Errno> {
    let mut guard = NET.lock();
    let net = guard.as_mut().ok_or(Errno::ENETDOWN)?;
    Ok(f(net))
}

fn tcp_of(net: &mut Net, link: Link, h: SocketHandle) -> Option<&mut tcp::Socket<'static>> {
    Some(net.link(link)?.sockets.get_mut::<tcp::Socket>(h))
}

fn udp_of(net: &mut Net, link: Link, h: SocketHandle) -> Option<&mut udp::Socket<'static>> {
    Some(net.link(link)?.sockets.get_mut::<udp::Socket>(h))
}

fn is_unspecified(a: &IpAddress) -> bool {
    a.is_unspecified()
}

impl InetSocket {
    fn new(domain: u32, kind: u32, protocol: u32, tcp: bool, inner: Inner) -> Arc<InetSocket> {
        let s = Arc::new(InetSocket {
            common: SocketCommon::new(domain, kind, protocol),
            tcp,
            wait: WaitQueue::new(),
            inner: IrqMutex::new(inner),
            send_lock: SleepLock::new(()),
            recv_lock: SleepLock::new(()),
            pending_error: AtomicU32::new(0),
        });
        let weak: Weak<dyn stack::Watcher> = Arc::downgrade(&s) as Weak<dyn stack::Watcher>;
        s.inner.lock().watch = stack::watch(weak);
        s
    }

    fn v6(&self) -> bool {
        self.common.domain == abi::AF_INET6
    }

    /// The service's address bytes as an endpoint (family checked).
    fn parse_addr(&self, raw: &[u8]) -> Result<IpEndpoint, Errno> {
        match sockaddr::family_of(raw) {
            Some(abi::AF_INET) if !self.v6() => {
                let (a, port) = sockaddr::parse_inet(raw)?;
                Ok(IpEndpoint::new(
                    IpAddress::Ipv4(Ipv4Address::from_octets(a)),
                    port,
                ))
            }
            Some(abi::AF_INET6) if self.v6() => match sockaddr::parse_inet6(raw)? {
                SockAddr::Inet6 { addr, port, .. } => {
                    let a = Ipv6Address::from_octets(addr);
                    // A v4-mapped address reaches the IPv4 peer.
                    let ip = match &a.octets() {
                        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d] => {
                            IpAddress::v4(*a, *b, *c, *d)
                        }
                        _ => IpAddress::Ipv6(a),
                    };
                    Ok(IpEndpoint::new(ip, port))
                }
                _ => Err(Errno::EINVAL),
            },
            Some(abi::AF_UNSPEC) if !self.tcp => Err(Errno::EAFNOSUPPORT),
            Some(_) if raw.len() < 2 => Err(Errno::EINVAL),
            Some(_) => Err(Errno::EAFNOSUPPORT),
            None => Err(Errno::EINVAL),
        }
    }

    fn sockaddr_of(&self, addr: Option<IpAddress>, port: u16) -> SockAddr {
        match (self.v6(), addr) {
            (false, Some(IpAddress::Ipv4(a))) => SockAddr::Inet {
                addr: a.octets(),
                port,
            },
            (false, _) => SockAddr::Inet { addr: [0; 4], port },
            (true, Some(IpAddress::Ipv6(a))) => SockAddr::Inet6 {
                addr: a.octets(),
                port,
                flowinfo: 0,
                scope_id: 0,
            },
            (true, Some(IpAddress::Ipv4(a))) => {
                let o = a.octets();
                SockAddr::Inet6 {
                    addr: [
                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, o[0], o[1], o[2], o[3],
                    ],
                    port,
                    flowinfo: 0,
                    scope_id: 0,
                }
            }
            (true, None) => SockAddr::Inet6 {
                addr: [0; 16],
                port,
                flowinfo: 0,
                scope_id: 0,
            },
        }
    }

    /// Bind to a port (0: ephemeral) with the stack lock held.
    fn bind_locked(&self, inner: &mut Inner, net: &mut Net, ep: IpEndpoint) -> Result<(), Errno> {
        if inner.port != 0 {
            return Err(Errno::EINVAL);
        }
        if !is_unspecified(&ep.addr)
            && stack::link_for(ep.addr) == Link::Ethernet
            && !net.is_own_address(ep.addr)
        {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let shared = self.common.switch(abi::SO_REUSEPORT)
            || (self.tcp && self.common.switch(abi::SO_REUSEADDR) && ep.port != 0);
        let port = net
            .claim_port(self.tcp, ep.port, shared)
            .ok_or(Errno::EADDRINUSE)?;
        inner.port = port;
        inner.local_addr = (!is_unspecified(&ep.addr)).then_some(ep.addr);
        Ok(())
    }

    fn unspecified(&self) -> IpAddress {
        if self.v6() {
            IpAddress::Ipv6(Ipv6Address::UNSPECIFIED)
        } else {
            IpAddress::Ipv4(Ipv4Address::UNSPECIFIED)
        }
    }

    /// Take the connection error the stack recorded.
    fn take_pending_error(&self) -> Option<Errno> {
        match self.pending_error.swap(0, Ordering::SeqCst) {
            0 => None,
            e => Some(Errno(e as i32)),
        }
    }

    /// Follow the smoltcp state of a connecting or connected socket: (phase, readable bytes,
    /// can send, peer finished).
    fn tcp_status(&self, inner: &mut Inner) -> Option<(tcp::State, usize, bool, bool)> {
        let (link, h) = (inner.link?, inner.handle?);
        let st = with_net(|net| {
            tcp_of(net, link, h).map(|s| (s.state(), s.recv_queue(), s.can_send(), !s.may_recv()))
        })
        .ok()??;
        let state = st.0;
        match (inner.phase, state) {
            (Phase::Connecting, tcp::State::Established | tcp::State::CloseWait) => {
                inner.phase = Phase::Connected;
                inner.was_connected = true;
            }
            (Phase::Connecting, tcp::State::Closed) => {
                inner.phase = Phase::Closed;
                self.common.set_error(Errno::ECONNREFUSED);
                self.pending_error
                    .store(Errno::ECONNREFUSED.0 as u32, Ordering::SeqCst);
            }
            (Phase::Connected, tcp::State::Closed) => {
                inner.phase = Phase::Closed;
                // Closed without our FIN being the cause: the peer reset it.
                if !inner.shut_wr || st.1 > 0 {
                    self.common.set_error(Errno::ECONNRESET);
                    self.pending_error
                        .store(Errno::ECONNRESET.0 as u32, Ordering::SeqCst);
                }
            }
            _ => {}
        }
        Some(st)
    }

    /// smoltcp's keep-alive for the options: with SO_KEEPALIVE, a probe after TCP_KEEPIDLE
    /// seconds of silence (smoltcp repeats it at that interval; TCP_KEEPINTVL and TCP_KEEPCNT
    /// are kept for getsockopt only).
    fn keep_alive(&self, inner: &Inner) -> Option<smoltcp::time::Duration> {
        self.common.switch(abi::SO_KEEPALIVE).then(|| {
            let idle = if inner.keepidle == 0 {
                7200
            } else {
                inner.keepidle
            };
            smoltcp::time::Duration::from_secs(idle as u64)
        })
    }

    /// The listener's id in the stack (None: not listening).
    fn listener_id(&self) -> Option<u64> {
        self.inner.lock().listener
    }

    fn close_all(&self) {
        let mut inner = self.inner.lock();
        let port = inner.port;
        let link = inner.link;
        let handle = inner.handle.take();
        let listener = inner.listener.take();
        let udp = core::mem::take(&mut inner.udp);
        stack::unwatch(inner.watch);
        let tcp = self.tcp;
        let linger_zero = self.common.linger() == Some(0);
        let _ = with_net(|net| {
            for (link, h) in udp {
                net.disown(link, h);
                if let Some(iface) = net.link(link) {
                    iface.sockets.remove(h);
                }
            }
            if let (Some(link), Some(h)) = (link, handle) {
                net.disown(link, h);
            }
            if let (Some(link), Some(h)) = (link, handle)
                && let Some(iface) = net.link(link)
            {
                if tcp {
                    let s = iface.sockets.get_mut::<tcp::Socket>(h);
                    // As Linux: unread data or SO_LINGER 0 make the close a reset.
                    if linger_zero || s.recv_queue() > 0 {
                        s.abort();
                    } else {
                        s.close();
                    }
                    net.reap_later(link, h);
                } else {
                    iface.sockets.remove(h);
                }
            }
            if let Some(id) = listener {
                net.remove_listener(id);
            }
            if port != 0 {
                net.release_port(tcp, port);
            }
        });
        drop(inner);
        stack::poll();
    }

    // ---- TCP ----

    fn tcp_connect(&self, ep: IpEndpoint, io: Io) -> Result<(), Errno> {
        {
            let mut inner = self.inner.lock();
            self.tcp_status(&mut inner);
            match inner.phase {
                Phase::Connecting => {
                    return Err(Errno::EALREADY);
                }
                Phase::Connected => return Err(Errno::EISCONN),
                Phase::Listening => return Err(Errno::EISCONN),
                Phase::Closed => return Err(Errno::EISCONN),
                Phase::Idle => {}
            }
            let remote = if is_unspecified(&ep.addr) {
                // Linux connects to the loopback address then.
                match ep.addr {
                    IpAddress::Ipv4(_) => IpAddress::v4(127, 0, 0, 1),
                    IpAddress::Ipv6(_) => IpAddress::Ipv6(Ipv6Address::LOCALHOST),
                }
            } else {
                ep.addr
            };
            let remote = IpEndpoint::new(remote, ep.port);
            let link = stack::link_for(remote.addr);
            let nodelay = inner.nodelay;
            with_net(|net| -> Result<(), Errno> {
                if net.link(link).is_none() {
                    return Err(Errno::ENETUNREACH);
                }
                if inner.port == 0 {
                    let any = self.unspecified();
                    self.bind_locked(&mut inner, net, IpEndpoint::new(any, 0))?;
                }
                let local = IpListenEndpoint {
                    addr: inner.local_addr,
                    port: inner.port,
                };
                let iface = net.link(link).ok_or(Errno::ENETUNREACH)?;
                let mut s = stack::new_tcp_socket();
                s.set_nagle_enabled(!nodelay);
                s.set_keep_alive(self.keep_alive(&inner));
                s.connect(iface.iface.context(), remote, local)
                    .map_err(|e| match e {
                        tcp::ConnectError::Unaddressable => Errno::ENETUNREACH,
                        tcp::ConnectError::InvalidState => Errno::EISCONN,
                    })?;
                let h = iface.sockets.add(s);
                inner.link = Some(link);
                inner.handle = Some(h);
                net.own(link, h, inner.watch, true);
                inner.peer = Some(remote);
                inner.phase = Phase::Connecting;
                Ok(())
            })??;
        }
        stack::poll();
        if io.nonblocking {
            let mut inner = self.inner.lock();
            self.tcp_status(&mut inner);
            return match inner.phase {
                Phase::Connected => Ok(()),
                _ => Err(Errno::EINPROGRESS),
            };
        }
        let result = io.wait(&self.wait, abi::EPOLLOUT, || {
            let mut inner = self.inner.lock();
            self.tcp_status(&mut inner);
            match inner.phase {
                Phase::Connecting => None,
                Phase::Connected => Some(Ok(())),
                _ => Some(Err(self
                    .take_pending_error()
                    .inspect(|_| {
                        self.common.take_error();
                    })
                    .unwrap_or(Errno::ECONNREFUSED))),
            }
        });
        match result {
            Ok(r) => r,
            // A blocking connect interrupted goes on in the background, as Linux's.
            Err(Errno::EAGAIN) => Err(Errno::ETIMEDOUT),
            Err(e) => Err(e),
        }
    }

    fn tcp_send(&self, buf: &mut WriteBuf, io: Io) -> SysResult {
        let _serial = self.send_lock.lock();
        let mut sent = 0usize;
        let mut bounce = vec![0u8; CHUNK.min(buf.remaining().max(1))];
        loop {
            if buf.remaining() == 0 && sent > 0 {
                return Ok(sent as i64);
            }
            let room = io.wait(&self.wait, abi::EPOLLOUT, || {
                let mut inner = self.inner.lock();
                if inner.shut_wr {
                    return Some(Err(Errno::EPIPE));
                }
                match inner.phase {
                    Phase::Idle | Phase::Listening => return Some(Err(Errno::ENOTCONN)),
                    Phase::Connecting => return None,
                    _ => {}
                }
                let st = self.tcp_status(&mut inner);
                if let Some(e) = self.take_pending_error() {
                    self.common.take_error();
                    return Some(Err(e));
                }
                match st {
                    None => Some(Err(Errno::EPIPE)),
                    Some((state, ..))
                        if !matches!(state, tcp::State::Established | tcp::State::CloseWait) =>
                    {
                        Some(Err(Errno::EPIPE))
                    }
                    Some(_) => {
                        let (link, h) = (inner.link?, inner.handle?);
                        let room = with_net(|net| {
                            tcp_of(net, link, h).map(|s| s.send_capacity() - s.send_queue())
                        })
                        .ok()
                        .flatten()
                        .unwrap_or(0);
                        (room > 0).then_some(Ok(room))
                    }
                }
            });
            let room = match room {
                Ok(Ok(room)) => room,
                Ok(Err(e)) | Err(e) => {
                    return if sent > 0 { Ok(sent as i64) } else { Err(e) };
                }
            };
            let want = room.min(bounce.len()).min(buf.remaining());
            if want == 0 {
                return Ok(sent as i64);
            }
            let got = buf.take(&mut bounce[..want]);
            if got > 0 {
                let (link, h) = {
                    let inner = self.inner.lock();
                    (inner.link, inner.handle)
                };
                let n = match (link, h) {
                    (Some(link), Some(h)) => with_net(|net| {
                        tcp_of(net, link, h)
                            .and_then(|s| s.send_slice(&bounce[..got]).ok())
                            .unwrap_or(0)
                    })
                    .unwrap_or(0),
                    _ => 0,
                };
                if n < got {
                    buf.untake(got - n);
                }
                sent += n;
                stack::poll();
            }
            if buf.faulted() {
                return if sent > 0 {
                    Ok(sent as i64)
                } else {
                    Err(Errno::EFAULT)
                };
            }
            if io.nonblocking && buf.remaining() > 0 {
                // Take what fits now, then stop at the next full buffer.
                continue;
            }
        }
    }

    fn tcp_recv(&self, buf: &mut ReadBuf, io: Io) -> Result<Received, Errno> {
        let _serial = self.recv_lock.lock();
        let peek = io.flags & abi::MSG_PEEK != 0;
        let waitall = io.flags & abi::MSG_WAITALL != 0 && !peek;
        let mut bounce = vec![0u8; CHUNK.min(buf.remaining().max(1))];
        let mut done = 0usize;
        loop {
            let avail = io.wait(&self.wait, abi::EPOLLIN | abi::EPOLLRDHUP, || {
                let mut inner = self.inner.lock();
                match inner.phase {
                    Phase::Idle | Phase::Listening => return Some(Err(Errno::ENOTCONN)),
                    Phase::Connecting => return None,
                    _ => {}
                }
                let st = self.tcp_status(&mut inner);
                if let Some((_, n, _, _)) = st
                    && n > 0
                {
                    return Some(Ok(n));
                }
                if let Some(e) = self.take_pending_error() {
                    self.common.take_error();
                    return Some(Err(e));
                }
                if inner.shut_rd {
                    return Some(Ok(0));
                }
                match st {
                    None => Some(Ok(0)),
                    Some((_, _, _, fin)) if fin => Some(Ok(0)),
                    Some((tcp::State::Closed, ..)) => Some(Ok(0)),
                    _ => None,
                }
            });
            let avail = match avail {
                Ok(Ok(n)) => n,
                Ok(Err(e)) | Err(e) => {
                    return if done > 0 {
                        Ok(Received {
                            len: done,
                            ..Default::default()
                        })
                    } else {
                        Err(e)
                    };
                }
            };
            if avail == 0 {
                return Ok(Received {
                    len: done,
                    ..Default::default()
                });
            }
            let want = avail.min(bounce.len()).min(buf.remaining());
            let (link, h) = {
                let inner = self.inner.lock();
                (inner.link, inner.handle)
            };
            let (Some(link), Some(h)) = (link, h) else {
                return Err(Errno::ENOTCONN);
            };
            let n = with_net(|net| {
                tcp_of(net, link, h)
                    .and_then(|s| {
                        if peek {
                            s.peek_slice(&mut bounce[..want]).ok()
                        } else {
                            s.recv_slice(&mut bounce[..want]).ok()
                        }
                    })
                    .unwrap_or(0)
            })?;
            let put = buf.put(&bounce[..n]);
            done += put;
            if !peek && n > 0 {
                // The window opened: let the peer know.
                stack::poll();
            }
            if put < n {
                return if done > 0 {
                    Ok(Received {
                        len: done,
                        ..Default::default()
                    })
                } else {
                    Err(Errno::EFAULT)
                };
            }
            if !waitall || buf.remaining() == 0 || io.nonblocking {
                return Ok(Received {
                    len: done,
                    ..Default::default()
                });
            }
        }
    }

    fn tcp_poll(&self) -> u32 {
        let mut inner = self.inner.lock();
        if let Some(id) = inner.listener {
            return if with_net(|net| net.ready_connections(id)).unwrap_or(0) == 0 {
                0
            } else {
                abi::EPOLLIN | abi::EPOLLRDNORM
            };
        }
        let mut ev = 0;
        match inner.phase {
            Phase::Idle => return abi::EPOLLOUT | abi::EPOLLWRNORM | abi::EPOLLHUP,
            Phase::Listening => return 0,
            Phase::Connecting => {
                self.tcp_status(&mut inner);
                if inner.phase == Phase::Connecting {
                    return 0;
                }
            }
            _ => {}
        }
        let st = self.tcp_status(&mut inner);
        if self.common.has_error() {
            ev |= abi::EPOLLERR;
        }
        match st {
            None => ev |= abi::EPOLLIN | abi::EPOLLRDNORM | abi::EPOLLHUP | abi::EPOLLRDHUP,
            Some((state, n, can_send, fin)) => {
                if n > 0 {
                    ev |= abi::EPOLLIN | abi::EPOLLRDNORM;
                }
                if fin || inner.shut_rd {
                    ev |= abi::EPOLLIN | abi::EPOLLRDNORM | abi::EPOLLRDHUP;
                }
                if can_send && !inner.shut_wr {
                    ev |= abi::EPOLLOUT | abi::EPOLLWRNORM;
                }
                if state == tcp::State::Closed
                    || state == tcp::State::TimeWait
                    || (inner.shut_wr && fin)
                {
                    ev |= abi::EPOLLHUP | abi::EPOLLIN | abi::EPOLLRDNORM | abi::EPOLLRDHUP;
                    if state == tcp::State::Closed && inner.shut_wr {
                        ev |= abi::EPOLLOUT | abi::EPOLLWRNORM;
                    }
                }
                if state == tcp::State::Closed && !inner.shut_wr {
                    ev |= abi::EPOLLOUT | abi::EPOLLWRNORM;
                }
            }
        }
        ev
    }

    // ---- UDP ----

    /// Bind (an ephemeral port if none) and make the smoltcp sockets: one on the interface of
    /// the bound address, or one per interface when bound to any address.
    fn udp_ensure_bound(&self, inner: &mut Inner) -> Result<(), Errno> {
        with_net(|net| -> Result<(), Errno> {
            if inner.port == 0 {
                let any = self.unspecified();
                self.bind_locked(inner, net, IpEndpoint::new(any, 0))?;
            }
            if !inner.udp.is_empty() {
                return Ok(());
            }
            let links = match inner.local_addr {
                Some(a) => vec![stack::link_for(a)],
                None => vec![Link::Loopback, Link::Ethernet],
            };
            for link in links {
                let Some(iface) = net.link(link) else {
                    continue;
                };
                let mut s = udp::Socket::new(
                    udp::PacketBuffer::new(
                        vec![udp::PacketMetadata::EMPTY; UDP_PACKETS],
                        vec![0u8; UDP_BUFFER],
                    ),
                    udp::PacketBuffer::new(
                        vec![udp::PacketMetadata::EMPTY; UDP_PACKETS],
                        vec![0u8; UDP_BUFFER],
                    ),
                );
                s.bind(IpListenEndpoint {
                    addr: inner.local_addr,
                    port: inner.port,
                })
                .map_err(|_| Errno::EINVAL)?;
                let h = iface.sockets.add(s);
                inner.udp.push((link, h));
                net.own(link, h, inner.watch, false);
            }
            Ok(())
        })?
    }

    fn udp_send(&self, buf: &mut WriteBuf, msg: SendMsg, io: Io) -> SysResult {
        let to = match &msg.to {
            Some(raw) => Some(self.parse_addr(raw)?),
            None => None,
        };
        let len = buf.remaining();
        if len > 65507 {
            return Err(Errno::EMSGSIZE);
        }
        let mut data = vec![0u8; len];
        let got = buf.take(&mut data);
        if got < len {
            return Err(Errno::EFAULT);
        }
        let _serial = self.send_lock.lock();
        let (dest, link, h) = {
            let mut inner = self.inner.lock();
            if inner.shut_wr {
                return Err(Errno::EPIPE);
            }
            let dest = match to.or(inner.peer) {
                Some(d) => d,
                None => return Err(Errno::EDESTADDRREQ),
            };
            let dest = if is_unspecified(&dest.addr) {
                IpEndpoint::new(
                    match dest.addr {
                        IpAddress::Ipv4(_) => IpAddress::v4(127, 0, 0, 1),
                        IpAddress::Ipv6(_) => IpAddress::Ipv6(Ipv6Address::LOCALHOST),
                    },
                    dest.port,
                )
            } else {
                dest
            };
            self.udp_ensure_bound(&mut inner)?;
            let link = stack::link_for(dest.addr);
            let h = inner
                .udp
                .iter()
                .find(|(l, _)| *l == link)
                .map(|(_, h)| *h)
                .ok_or(Errno::ENETUNREACH)?;
            (dest, link, h)
        };
        let r = io.wait(&self.wait, abi::EPOLLOUT, || {
            let r = with_net(|net| {
                udp_of(net, link, h).map(|s| match s.send_slice(&data, dest) {
                    Ok(()) => Some(Ok(())),
                    Err(udp::SendError::BufferFull) => None,
                    Err(udp::SendError::Unaddressable) => Some(Err(Errno::ENETUNREACH)),
                })
            });
            match r {
                Ok(Some(v)) => v,
                _ => Some(Err(Errno::ENETDOWN)),
            }
        })?;
        r?;
        stack::poll();
        Ok(len as i64)
    }

    fn udp_recv(&self, buf: &mut ReadBuf, io: Io) -> Result<Received, Errno> {
        let _serial = self.recv_lock.lock();
        let peek = io.flags & abi::MSG_PEEK != 0;
        loop {
            let got = io.wait(&self.wait, abi::EPOLLIN, || {
                let inner = self.inner.lock();
                if inner.shut_rd {
                    return Some(None);
                }
                let peer = inner.peer;
                with_net(|net| {
                    for &(link, h) in &inner.udp {
                        let Some(s) = udp_of(net, link, h) else {
                            continue;
                        };
                        let r = if peek {
                            s.peek().ok().map(|(d, m)| (d.to_vec(), m.endpoint))
                        } else {
                            s.recv().ok().map(|(d, m)| (d.to_vec(), m.endpoint))
                        };
                        if let Some((d, from)) = r {
                            return Some(Some((d, from, peer, link, h)));
                        }
                    }
                    None
                })
                .ok()
                .flatten()
            })?;
            let Some((data, from, peer, link, h)) = got else {
                return Ok(Received::default());
            };
            if let Some(p) = peer
                && (p.port != from.port || p.addr != from.addr)
            {
                if peek {
                    // A datagram from elsewhere at the head: drop it and look again.
                    let _ = with_net(|net| udp_of(net, link, h).map(|s| s.recv().is_ok()));
                }
                continue;
            }
            let room = buf.remaining();
            let put = buf.put(&data);
            if put < data.len().min(room) {
                return Err(Errno::EFAULT);
            }
            let truncated = put < data.len();
            return Ok(Received {
                len: if truncated && io.flags & abi::MSG_TRUNC != 0 {
                    data.len()
                } else {
                    put
                },
                from: Some(self.sockaddr_of(Some(from.addr), from.port)),
                msg_flags: if truncated { abi::MSG_TRUNC } else { 0 },
                rights: Vec::new(),
            });
        }
    }

    fn udp_readable(&self) -> usize {
        let inner = self.inner.lock();
        with_net(|net| {
            inner
                .udp
                .iter()
                .find_map(|&(link, h)| udp_of(net, link, h)?.peek().ok().map(|(d, _)| d.len()))
                .unwrap_or(0)
        })
        .unwrap_or(0)
    }

    fn udp_poll(&self) -> u32 {
        let inner = self.inner.lock();
        let mut ev = abi::EPOLLOUT | abi::EPOLLWRNORM;
        let readable = with_net(|net| {
            inner
                .udp
                .iter()
                .any(|&(link, h)| udp_of(net, link, h).is_some_and(|s| s.can_recv()))
        })
        .unwrap_or(false);
        if readable {
            ev |= abi::EPOLLIN | abi::EPOLLRDNORM;
        }
        if inner.shut_rd {
            ev |= abi::EPOLLIN | abi::EPOLLRDNORM | abi::EPOLLRDHUP;
        }
        if self.common.has_error() {
            ev |= abi::EPOLLERR;
        }
        ev
    }
}

impl Drop for InetSocket {
    fn drop(&mut self) {
        self.close_all();
    }
}

fn int_of(value: &[u8]) -> Result<i32, Errno> {
    value
        .get(..4)
        .map(|b| i32::from_ne_bytes(b.try_into().expect("4 bytes")))
        .ok_or(Errno::EINVAL)
}

impl Socket for InetSocket {
    fn common(&self) -> &SocketCommon {
        &self.common
    }

    fn bind(&self, addr: &[u8]) -> Result<(), Errno> {
        let ep = self.parse_addr(addr)?;
        let mut inner = self.inner.lock();
        with_net(|net| self.bind_locked(&mut inner, net, ep))??;
        if !self.tcp {
            self.udp_ensure_bound(&mut inner)?;
        }
        Ok(())
    }

    fn listen(&self, backlog: i32) -> Result<(), Errno> {
        if !self.tcp {
            return Err(Errno::EOPNOTSUPP);
        }
        let backlog = backlog.clamp(1, abi::SOMAXCONN as i32 * 32) as usize;
        {
            let mut inner = self.inner.lock();
            match inner.phase {
                Phase::Idle => {}
                Phase::Listening => {
                    if let Some(id) = inner.listener {
                        with_net(|net| net.set_backlog(id, backlog))?;
                    }
                    return Ok(());
                }
                _ => return Err(Errno::EINVAL),
            }
            if inner.port == 0 {
                let any = self.unspecified();
                with_net(|net| self.bind_locked(&mut inner, net, IpEndpoint::new(any, 0)))??;
            }
            let (addr, port) = (inner.local_addr, inner.port);
            let owner = inner.watch;
            inner.listener = Some(with_net(|net| {
                net.add_listener(owner, addr, port, backlog)
            })?);
            inner.phase = Phase::Listening;
        }
        stack::poll();
        Ok(())
    }

    fn accept(&self, io: Io) -> Result<Arc<dyn Socket>, Errno> {
        if !self.tcp {
            return Err(Errno::EOPNOTSUPP);
        }
        let Some(id) = self.listener_id() else {
            return Err(Errno::EINVAL);
        };
        let (link, h) = io.wait(&self.wait, abi::EPOLLIN, || {
            // Listening may stop meanwhile (shutdown from another thread).
            if self.listener_id() != Some(id) {
                return Some(Err(Errno::EINVAL));
            }
            with_net(|net| net.take_connection(id))
                .ok()
                .flatten()
                .map(Ok)
        })??;
        // The accept queue shrank: let the stack see it (as recv and send do after theirs), or
        // its record of the queue length and of the listener's readiness stays at the old value
        // and the next connection, bringing the queue back to it, wakes no one.
        stack::poll();
        let (local, remote) = with_net(|net| {
            tcp_of(net, link, h).map(|s| (s.local_endpoint(), s.remote_endpoint()))
        })?
        .unwrap_or((None, None));
        let (nodelay, port, keep_alive, keep) = {
            let inner = self.inner.lock();
            (
                inner.nodelay,
                inner.port,
                self.keep_alive(&inner),
                (inner.keepidle, inner.keepintvl, inner.keepcnt),
            )
        };
        let _ = with_net(|net| {
            if let Some(s) = tcp_of(net, link, h) {
                s.set_nagle_enabled(!nodelay);
                s.set_keep_alive(keep_alive);
            }
            // The accepted socket shares the port (released when it closes).
            net.claim_port(true, port, true);
        });
        let inner = Inner {
            phase: Phase::Connected,
            local_addr: local.map(|e| e.addr),
            port,
            peer: remote,
            link: Some(link),
            handle: Some(h),
            was_connected: true,
            nodelay,
            keepidle: keep.0,
            keepintvl: keep.1,
            keepcnt: keep.2,
            ..Default::default()
        };
        let s = InetSocket::new(
            self.common.domain,
            self.common.kind,
            self.common.protocol,
            true,
            inner,
        );
        let watcher = s.inner.lock().watch;
        with_net(|net| net.own(link, h, watcher, true))?;
        Ok(s)
    }

    fn connect(&self, addr: &[u8], io: Io) -> Result<(), Errno> {
        if !self.tcp {
            if sockaddr::family_of(addr) == Some(abi::AF_UNSPEC) {
                self.inner.lock().peer = None;
                return Ok(());
            }
            let ep = self.parse_addr(addr)?;
            let mut inner = self.inner.lock();
            self.udp_ensure_bound(&mut inner)?;
            inner.peer = Some(ep);
            return Ok(());
        }
        let ep = self.parse_addr(addr)?;
        self.tcp_connect(ep, io)
    }

    fn send(&self, buf: &mut WriteBuf, msg: SendMsg, io: Io) -> SysResult {
        if self.tcp {
            if msg.to.is_some() {
                let inner = self.inner.lock();
                if inner.phase != Phase::Connected {
                    return Err(Errno::EPIPE);
                }
            }
            self.tcp_send(buf, io)
        } else {
            self.udp_send(buf, msg, io)
        }
    }

    fn recv(&self, buf: &mut ReadBuf, io: Io) -> Result<Received, Errno> {
        if self.tcp {
            self.tcp_recv(buf, io)
        } else {
            self.udp_recv(buf, io)
        }
    }

    fn shutdown(&self, how: u32) -> Result<(), Errno> {
        {
            let mut inner = self.inner.lock();
            if self.tcp && inner.phase == Phase::Listening {
                // As Linux: SHUT_RD stops listening (accept then fails with EINVAL, listen may
                // be called again); SHUT_WR alone does nothing.
                if how == abi::SHUT_WR {
                    return Ok(());
                }
                if let Some(id) = inner.listener.take() {
                    with_net(|net| net.remove_listener(id))?;
                }
                inner.phase = Phase::Idle;
                drop(inner);
                self.wait.notify(abi::EPOLLIN | abi::EPOLLHUP);
                stack::poll();
                return Ok(());
            }
            if self.tcp && !matches!(inner.phase, Phase::Connected | Phase::Connecting) {
                return Err(Errno::ENOTCONN);
            }
            if !self.tcp && inner.peer.is_none() {
                return Err(Errno::ENOTCONN);
            }
            if how == abi::SHUT_RD || how == abi::SHUT_RDWR {
                inner.shut_rd = true;
            }
            if how == abi::SHUT_WR || how == abi::SHUT_RDWR {
                inner.shut_wr = true;
                if let (true, Some(link), Some(h)) = (self.tcp, inner.link, inner.handle) {
                    let _ = with_net(|net| {
                        if let Some(s) = tcp_of(net, link, h) {
                            s.close();
                        }
                    });
                }
            }
        }
        stack::poll();
        stack::Watcher::refresh(self);
        Ok(())
    }

    fn local_addr(&self) -> Result<SockAddr, Errno> {
        let inner = self.inner.lock();
        let addr = match (inner.local_addr, inner.link, inner.handle, self.tcp) {
            (Some(a), ..) => Some(a),
            (None, Some(link), Some(h), true) => with_net(|net| {
                tcp_of(net, link, h).and_then(|s| s.local_endpoint().map(|e| e.addr))
            })
            .ok()
            .flatten(),
            _ => None,
        };
        Ok(self.sockaddr_of(addr, inner.port))
    }

    fn peer_addr(&self) -> Result<SockAddr, Errno> {
        let inner = self.inner.lock();
        match inner.peer {
            Some(p) if !self.tcp || matches!(inner.phase, Phase::Connected) => {
                Ok(self.sockaddr_of(Some(p.addr), p.port))
            }
            _ => Err(Errno::ENOTCONN),
        }
    }

    fn set_option(&self, level: i32, name: i32, value: &[u8]) -> Result<(), Errno> {
        let mut inner = self.inner.lock();
        match (level as u32, name as u32) {
            (abi::IPPROTO_TCP, abi::TCP_NODELAY) if self.tcp => {
                inner.nodelay = int_of(value)? != 0;
                if let (Some(link), Some(h)) = (inner.link, inner.handle) {
                    let on = inner.nodelay;
                    let _ = with_net(|net| tcp_of(net, link, h).map(|s| s.set_nagle_enabled(!on)));
                }
                Ok(())
            }
            (abi::IPPROTO_TCP, abi::TCP_KEEPIDLE | abi::TCP_KEEPINTVL | abi::TCP_KEEPCNT)
                if self.tcp =>
            {
                let v = int_of(value)?;
                let max = if name as u32 == abi::TCP_KEEPCNT {
                    127
                } else {
                    32767
                };
                if v < 1 || v > max {
                    return Err(Errno::EINVAL);
                }
                match name as u32 {
                    abi::TCP_KEEPIDLE => inner.keepidle = v as u32,
                    abi::TCP_KEEPINTVL => inner.keepintvl = v as u32,
                    _ => inner.keepcnt = v as u32,
                }
                if let (Some(link), Some(h)) = (inner.link, inner.handle) {
                    let k = self.keep_alive(&inner);
                    let _ = with_net(|net| tcp_of(net, link, h).map(|s| s.set_keep_alive(k)));
                }
                Ok(())
            }
            (abi::IPPROTO_IPV6, abi::IPV6_V6ONLY) if self.v6() => {
                inner.v6only = int_of(value)? != 0;
                Ok(())
            }
            (abi::SOL_SOCKET, _) => Err(Errno::ENOPROTOOPT),
            (abi::IPPROTO_TCP, _) if !self.tcp => Err(Errno::EOPNOTSUPP),
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    fn get_option(&self, level: i32, name: i32) -> Result<Vec<u8>, Errno> {
        let inner = self.inner.lock();
        let v: i32 = match (level as u32, name as u32) {
            (abi::IPPROTO_TCP, abi::TCP_NODELAY) if self.tcp => inner.nodelay as i32,
            (abi::IPPROTO_TCP, abi::TCP_KEEPIDLE) if self.tcp => {
                if inner.keepidle == 0 {
                    7200
                } else {
                    inner.keepidle as i32
                }
            }
            (abi::IPPROTO_TCP, abi::TCP_KEEPINTVL) if self.tcp => {
                if inner.keepintvl == 0 {
                    75
                } else {
                    inner.keepintvl as i32
                }
            }
            (abi::IPPROTO_TCP, abi::TCP_KEEPCNT) if self.tcp => {
                if inner.keepcnt == 0 {
                    9
                } else {
                    inner.keepcnt as i32
                }
            }
            (abi::IPPROTO_IPV6, abi::IPV6_V6ONLY) if self.v6() => inner.v6only as i32,
            (abi::IPPROTO_TCP, _) if !self.tcp => return Err(Errno::EOPNOTSUPP),
            _ => return Err(Errno::ENOPROTOOPT),
        };
        Ok(v.to_ne_bytes().to_vec())
    }

    fn poll(&self) -> u32 {
        if self.tcp {
            self.tcp_poll()
        } else {
            self.udp_poll()
        }
    }

    fn wait_queue(&self) -> &WaitQueue {
        &self.wait
    }

    fn readable_bytes(&self) -> Result<usize, Errno> {
        if !self.tcp {
            return Ok(self.udp_readable());
        }
        let inner = self.inner.lock();
        if inner.listener.is_some() {
            return Err(Errno::EINVAL);
        }
        let (Some(link), Some(h)) = (inner.link, inner.handle) else {
            return Ok(0);
        };
        with_net(|net| tcp_of(net, link, h).map_or(0, |s| s.recv_queue()))
    }

    fn unsent_bytes(&self) -> Result<usize, Errno> {
        let inner = self.inner.lock();
        let (Some(link), Some(h), true) = (inner.link, inner.handle, self.tcp) else {
            return Ok(0);
        };
        with_net(|net| tcp_of(net, link, h).map_or(0, |s| s.send_queue()))
    }

    fn listening(&self) -> bool {
        self.inner.lock().listener.is_some()
    }

    fn buffers_changed(&self) {}

    fn as_any(&self) -> &dyn Any {
        self
    }
}
