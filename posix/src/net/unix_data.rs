//! AF_UNIX data paths: stream, packet and datagram sends (back-pressure, the datagram queue
//! bound, out-of-band bytes) and receives (merging, MSG_PEEK/WAITALL/TRUNC, EOF and errors).

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::{
    Conn, Core, MAX_DGRAM_QLEN, QUEUE_ROOM, RCV_SHUTDOWN, SEND_SHUTDOWN, UnixSocket, WRITABLE,
};
use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::file::{ReadBuf, WriteBuf};
use crate::net::sockaddr::{self, SockAddr, UnixName};
use crate::net::unix_queue::{self, Message, READABLE};
use crate::net::{Io, Received, SendMsg};

impl UnixSocket {
    pub(super) fn send_stream(&self, buf: &mut WriteBuf, msg: SendMsg, io: Io) -> SysResult {
        if msg.to.as_ref().is_some_and(|a| !a.is_empty()) && self.kind() == abi::SOCK_STREAM {
            return Err(if self.conn() == Conn::Connected {
                Errno::EISCONN
            } else {
                Errno::EOPNOTSUPP
            });
        }
        let Some(peer) = self.peer().filter(|_| self.conn() == Conn::Connected) else {
            return Err(Errno::ENOTCONN);
        };
        if self.kind() == abi::SOCK_SEQPACKET {
            return self.send_packet(&peer, buf, msg, io);
        }
        let oob = io.flags & abi::MSG_OOB != 0;
        if oob && buf.remaining() == 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        // With MSG_OOB the last byte goes out of band, after the others.
        let total = buf.remaining() - oob as usize;
        let mut sent = 0usize;
        let mut rights = Some(msg.rights);
        loop {
            if self.core.shut() & SEND_SHUTDOWN != 0
                || peer.dead()
                || peer.shut() & RCV_SHUTDOWN != 0
            {
                return if sent > 0 {
                    Ok(sent as i64)
                } else {
                    Err(Errno::EPIPE)
                };
            }
            if sent == total {
                return if oob {
                    self.send_urgent(&peer, buf, io, sent)
                } else {
                    Ok(sent as i64)
                };
            }
            // Room in this socket's send budget.
            let room = io.wait(&self.core.queue, WRITABLE, || {
                (unix_queue::has_room(&self.core)
                    || self.core.shut() & SEND_SHUTDOWN != 0
                    || peer.dead()
                    || peer.shut() & RCV_SHUTDOWN != 0)
                    .then_some(())
            });
            if let Err(e) = room {
                return if sent > 0 { Ok(sent as i64) } else { Err(e) };
            }
            if self.core.shut() & SEND_SHUTDOWN != 0
                || peer.dead()
                || peer.shut() & RCV_SHUTDOWN != 0
            {
                continue;
            }
            let size = (total - sent).min(unix_queue::segment_limit(self.core.common.sndbuf()));
            let mut data = Vec::new();
            if data.try_reserve_exact(size).is_err() {
                return if sent > 0 {
                    Ok(sent as i64)
                } else {
                    Err(Errno::ENOBUFS)
                };
            }
            data.resize(size, 0);
            let got = buf.take(&mut data);
            data.truncate(got);
            if got == 0 && size > 0 {
                return if sent > 0 {
                    Ok(sent as i64)
                } else {
                    Err(Errno::EFAULT)
                };
            }
            let n = data.len();
            self.core.charge(n + unix_queue::MESSAGE_OVERHEAD);
            let message = Message {
                data,
                offset: 0,
                from: self.core.name(),
                rights: rights.take().unwrap_or_default(),
                sender: self.core.clone(),
                urgent: false,
            };
            if peer.rx.push(message).is_err() {
                // (Dropping the message uncharged it.)
                return if sent > 0 {
                    Ok(sent as i64)
                } else {
                    Err(Errno::EPIPE)
                };
            }
            peer.queue.notify(READABLE);
            sent += n;
            if got < size {
                return Ok(sent as i64); // a fault: a short count
            }
            if sent == total && !oob {
                return Ok(sent as i64);
            }
        }
    }

    /// The out-of-band byte of a MSG_OOB send, after `sent` ordinary bytes.
    fn send_urgent(&self, peer: &Arc<Core>, buf: &mut WriteBuf, io: Io, sent: usize) -> SysResult {
        let partial = |e: Errno| if sent > 0 { Ok(sent as i64) } else { Err(e) };
        let broken = || {
            self.core.shut() & SEND_SHUTDOWN != 0 || peer.dead() || peer.shut() & RCV_SHUTDOWN != 0
        };
        if let Err(e) = io.wait(&self.core.queue, WRITABLE, || {
            (unix_queue::has_room(&self.core) || broken()).then_some(())
        }) {
            return partial(e);
        }
        if broken() {
            return partial(Errno::EPIPE);
        }
        let mut byte = [0u8; 1];
        if buf.take(&mut byte) < 1 {
            return partial(Errno::EFAULT);
        }
        self.core.charge(1 + unix_queue::MESSAGE_OVERHEAD);
        let message = Message {
            data: byte.to_vec(),
            offset: 0,
            from: self.core.name(),
            rights: Vec::new(),
            sender: self.core.clone(),
            urgent: true,
        };
        if peer.rx.push(message).is_err() {
            return partial(Errno::EPIPE);
        }
        peer.queue.notify(READABLE | abi::EPOLLPRI);
        Ok(sent as i64 + 1)
    }

    /// One datagram or packet to `peer` (one message, its boundaries kept).
    fn send_packet(&self, peer: &Arc<Core>, buf: &mut WriteBuf, msg: SendMsg, io: Io) -> SysResult {
        let len = buf.remaining();
        if len > self.core.common.sndbuf().saturating_sub(32) {
            return Err(Errno::EMSGSIZE);
        }
        let stream_like = self.kind() == abi::SOCK_SEQPACKET;
        let broken = || -> Option<Errno> {
            if stream_like && self.core.shut() & SEND_SHUTDOWN != 0 {
                return Some(Errno::EPIPE);
            }
            if peer.dead() {
                return Some(if stream_like {
                    Errno::EPIPE
                } else {
                    Errno::ECONNREFUSED
                });
            }
            if peer.shut() & RCV_SHUTDOWN != 0 {
                return Some(Errno::EPIPE);
            }
            None
        };
        if let Some(e) = broken() {
            return Err(e);
        }
        // Room in this socket's budget and, for a datagram to a socket not connected back to
        // this one, in the receiver's queue (Linux's `unix_recvq_full`).
        let bounded = !stream_like && !peer.connected_to(&self.core);
        io.wait_any(
            &[&self.core.queue, &peer.queue],
            WRITABLE | QUEUE_ROOM,
            || {
                let room = unix_queue::has_room(&self.core)
                    && !(bounded && peer.rx.count() > MAX_DGRAM_QLEN);
                (room || broken().is_some()).then_some(())
            },
        )?;
        if let Some(e) = broken() {
            return Err(e);
        }
        let mut data = Vec::new();
        data.try_reserve_exact(len).map_err(|_| Errno::ENOBUFS)?;
        data.resize(len, 0);
        if buf.take(&mut data) < len {
            return Err(Errno::EFAULT);
        }
        self.core.charge(len + unix_queue::MESSAGE_OVERHEAD);
        let message = Message {
            data,
            offset: 0,
            from: self.core.name(),
            rights: msg.rights,
            sender: self.core.clone(),
            urgent: false,
        };
        if peer.rx.push(message).is_err() {
            return Err(if stream_like {
                Errno::EPIPE
            } else {
                Errno::ECONNREFUSED
            });
        }
        peer.queue.notify(READABLE);
        Ok(len as i64)
    }

    pub(super) fn send_dgram(&self, buf: &mut WriteBuf, msg: SendMsg, io: Io) -> SysResult {
        self.autobind_for_credentials()?;
        let target = match msg.to.as_ref().filter(|a| !a.is_empty()) {
            Some(raw) => {
                let name = sockaddr::parse_unix(raw)?;
                let other = Self::find(&name)?;
                if other.kind() != self.kind() {
                    return Err(Errno::EPROTOTYPE);
                }
                self.may_send_to(&other)?;
                other.core.clone()
            }
            None => self.peer().ok_or(Errno::ENOTCONN)?,
        };
        if self.core.shut() & SEND_SHUTDOWN != 0 {
            return Err(Errno::EPIPE);
        }
        let result = self.send_packet(&target, buf, msg, io);
        if result == Err(Errno::ECONNREFUSED) {
            // The connected peer is gone: the association is dissolved (as Linux).
            let mut s = self.state.lock();
            if s.peer.as_ref().is_some_and(|p| Arc::ptr_eq(p, &target)) {
                let old = s.set_peer(&self.core, None);
                drop(s);
                drop(old);
            }
        }
        result
    }

    pub(super) fn recv_stream(&self, buf: &mut ReadBuf, io: Io) -> Result<Received, Errno> {
        if self.conn() != Conn::Connected {
            return Err(Errno::EINVAL);
        }
        let peek = io.flags & abi::MSG_PEEK != 0;
        let wanted = buf.remaining();
        if wanted == 0 {
            // Linux waits for data (or EOF) and then returns 0 without taking any.
            io.wait(&self.core.queue, READABLE | abi::EPOLLRDHUP, || {
                (!self.core.rx.is_empty()
                    || self.core.shut() & RCV_SHUTDOWN != 0
                    || self.core.common.has_error())
                .then_some(())
            })?;
            if self.core.rx.is_empty()
                && let Some(e) = unix_queue::pending_error(&self.core)
            {
                return Err(e);
            }
            return Ok(Received::default());
        }
        let target = if io.flags & abi::MSG_WAITALL != 0 && !peek {
            wanted
        } else {
            self.core.common.rcvlowat().min(wanted)
        }
        .max(1);
        let mut out = Received::default();
        loop {
            let inline = self.core.common.switch(abi::SO_OOBINLINE);
            let taken = self.core.rx.read_stream(buf, peek, inline);
            if out.from.is_none() {
                // (An unnamed sender gives no address: msg_namelen 0.)
                out.from = taken
                    .from
                    .filter(|n| *n != UnixName::Unnamed)
                    .map(SockAddr::Unix);
            }
            out.len += taken.len;
            let got_rights = !taken.rights.is_empty();
            out.rights.extend(taken.rights);
            if taken.faulted {
                return if out.len > 0 {
                    Ok(out)
                } else {
                    Err(Errno::EFAULT)
                };
            }
            if out.len >= target || got_rights || buf.remaining() == 0 || peek && out.len > 0 {
                return Ok(out);
            }
            let ready = || {
                (!self.core.rx.is_empty()
                    || self.core.shut() & RCV_SHUTDOWN != 0
                    || self.core.common.has_error())
                .then_some(())
            };
            if self.core.rx.is_empty() {
                if out.len == 0
                    && let Some(e) = unix_queue::pending_error(&self.core)
                {
                    return Err(e);
                }
                if self.core.shut() & RCV_SHUTDOWN != 0 {
                    return Ok(out);
                }
            }
            match io.wait(&self.core.queue, READABLE | abi::EPOLLRDHUP, ready) {
                Ok(()) => {}
                Err(_) if out.len > 0 => return Ok(out),
                Err(e) => return Err(e),
            }
        }
    }

    /// recv(MSG_OOB): the out-of-band byte, never waiting; EINVAL when there is none or it is
    /// read inline (SO_OOBINLINE), as Linux.
    pub(super) fn recv_urgent(&self, buf: &mut ReadBuf, io: Io) -> Result<Received, Errno> {
        if self.kind() != abi::SOCK_STREAM {
            return Err(Errno::EOPNOTSUPP);
        }
        if self.core.common.switch(abi::SO_OOBINLINE) {
            return Err(Errno::EINVAL);
        }
        let peek = io.flags & abi::MSG_PEEK != 0;
        match self.core.rx.read_urgent(buf, peek) {
            None => Err(Errno::EINVAL),
            Some(Err(e)) => Err(e),
            Some(Ok(len)) => Ok(Received {
                len,
                msg_flags: abi::MSG_OOB,
                ..Default::default()
            }),
        }
    }

    pub(super) fn recv_packet(&self, buf: &mut ReadBuf, io: Io) -> Result<Received, Errno> {
        let stream_like = self.kind() == abi::SOCK_SEQPACKET;
        if stream_like && self.conn() != Conn::Connected {
            return Err(Errno::ENOTCONN);
        }
        let peek = io.flags & abi::MSG_PEEK != 0;
        loop {
            if let Some((taken, whole)) = self.core.rx.read_message(buf, peek) {
                if taken.faulted && taken.len == 0 {
                    return Err(Errno::EFAULT);
                }
                let mut out = Received {
                    len: taken.len,
                    from: taken
                        .from
                        .filter(|n| *n != UnixName::Unnamed)
                        .map(SockAddr::Unix),
                    msg_flags: 0,
                    rights: taken.rights,
                };
                if taken.truncated {
                    out.msg_flags |= abi::MSG_TRUNC;
                    if io.flags & abi::MSG_TRUNC != 0 {
                        out.len = whole;
                    }
                }
                if !stream_like {
                    // Room for one more datagram: senders waiting on this queue may go.
                    self.core.queue.notify(QUEUE_ROOM);
                }
                return Ok(out);
            }
            if let Some(e) = unix_queue::pending_error(&self.core) {
                return Err(e);
            }
            if self.core.shut() & RCV_SHUTDOWN != 0 {
                return Ok(Received::default());
            }
            io.wait(&self.core.queue, READABLE | abi::EPOLLRDHUP, || {
                (!self.core.rx.is_empty()
                    || self.core.shut() & RCV_SHUTDOWN != 0
                    || self.core.common.has_error())
                .then_some(())
            })?;
        }
    }
}
