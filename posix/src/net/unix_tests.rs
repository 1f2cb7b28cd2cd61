//! Host unit tests of AF_UNIX sockets through the `Socket` trait with kernel buffers.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::fs::file::{ReadBuf, WriteBuf};

fn nonblocking() -> Io {
    Io::new(true, 0, 0)
}

fn send(s: &dyn Socket, bytes: &[u8]) -> SysResult {
    s.send(
        &mut WriteBuf::kernel(bytes),
        SendMsg::default(),
        nonblocking(),
    )
}

fn recv(s: &dyn Socket, len: usize, flags: u32) -> Result<(Vec<u8>, Received), Errno> {
    let mut buf = vec![0u8; len];
    let got = s.recv(&mut ReadBuf::kernel(&mut buf), Io::new(true, 0, flags))?;
    buf.truncate(got.len.min(len));
    Ok((buf, got))
}

fn pair_of(kind: u32) -> [Arc<dyn Socket>; 2] {
    ferrite_smp::sched::install_host_platform();
    pair(kind, 0).expect("socketpair")
}

fn abstract_addr(name: &[u8]) -> Vec<u8> {
    let mut b = (abi::AF_UNIX as u16).to_ne_bytes().to_vec();
    b.push(0);
    b.extend_from_slice(name);
    b
}

#[test]
fn stream_bytes_merge_and_peek() {
    let [a, b] = pair_of(abi::SOCK_STREAM);
    assert_eq!(recv(&*b, 4, 0).err(), Some(Errno::EAGAIN));
    assert_eq!(send(&*a, b"hello "), Ok(6));
    assert_eq!(send(&*a, b"world"), Ok(5));
    assert_eq!(b.readable_bytes(), Ok(11));
    assert_eq!(recv(&*b, 5, abi::MSG_PEEK).unwrap().0, b"hello");
    assert_eq!(recv(&*b, 100, 0).unwrap().0, b"hello world");
    assert_eq!(b.poll() & abi::EPOLLIN, 0);
    assert_ne!(a.poll() & abi::EPOLLOUT, 0);
}

#[test]
fn stream_back_pressure_follows_sndbuf() {
    let [a, b] = pair_of(abi::SOCK_STREAM);
    let chunk = vec![7u8; 65536];
    let mut total = 0i64;
    loop {
        match send(&*a, &chunk) {
            Ok(n) => total += n,
            Err(e) => {
                assert_eq!(e, Errno::EAGAIN);
                break;
            }
        }
    }
    // Bounded by the sender's SO_SNDBUF (a segment may start just below it, as on Linux).
    let limit =
        crate::net::BUF_DEFAULT as usize + crate::net::unix_queue::segment_limit(usize::MAX);
    assert!(total > 100_000 && total as usize <= limit, "{total}");
    assert_eq!(a.poll() & abi::EPOLLOUT, 0);
    let mut drained = 0;
    while let Ok((bytes, _)) = recv(&*b, 65536, 0) {
        if bytes.is_empty() {
            break;
        }
        drained += bytes.len() as i64;
    }
    assert_eq!(drained, total);
    assert_ne!(a.poll() & abi::EPOLLOUT, 0);
}

#[test]
fn closing_gives_eof_epipe_and_hangup() {
    let [a, b] = pair_of(abi::SOCK_STREAM);
    assert_eq!(send(&*a, b"bye"), Ok(3));
    drop(a);
    let events = b.poll();
    assert_ne!(events & abi::EPOLLHUP, 0);
    assert_ne!(events & abi::EPOLLRDHUP, 0);
    assert_eq!(recv(&*b, 10, 0).unwrap().0, b"bye");
    assert_eq!(recv(&*b, 10, 0).unwrap().0, b"");
    assert_eq!(send(&*b, b"x"), Err(Errno::EPIPE));
}

#[test]
fn datagrams_keep_boundaries() {
    let [a, b] = pair_of(abi::SOCK_DGRAM);
    assert_eq!(send(&*a, b"one"), Ok(3));
    assert_eq!(send(&*a, b"three"), Ok(5));
    assert_eq!(b.readable_bytes(), Ok(3));
    assert_eq!(recv(&*b, 10, 0).unwrap().0, b"one");
    let (bytes, got) = recv(&*b, 2, abi::MSG_TRUNC).unwrap();
    assert_eq!(bytes, b"th");
    assert_eq!(got.len, 5);
    assert_ne!(got.msg_flags & abi::MSG_TRUNC, 0);
    assert_eq!(recv(&*b, 10, 0).err(), Some(Errno::EAGAIN));
}

#[test]
fn accept_queue_honours_the_backlog() {
    ferrite_smp::sched::install_host_platform();
    let listener = create(abi::SOCK_STREAM, 0).unwrap();
    let name = abstract_addr(b"ferrite-unit-backlog");
    listener.bind(&name).unwrap();
    listener.listen(1).unwrap();
    let clients: Vec<Arc<dyn Socket>> = (0..3)
        .map(|_| create(abi::SOCK_STREAM, 0).unwrap())
        .collect();
    assert_eq!(clients[0].connect(&name, nonblocking()), Ok(()));
    assert_eq!(clients[1].connect(&name, nonblocking()), Ok(()));
    assert_eq!(clients[2].connect(&name, nonblocking()), Err(Errno::EAGAIN));
    assert_ne!(listener.poll() & abi::EPOLLIN, 0);
    // A client may send before it is accepted.
    assert_eq!(send(&*clients[0], b"early"), Ok(5));
    let server = listener.accept(nonblocking()).unwrap();
    assert_eq!(recv(&*server, 10, 0).unwrap().0, b"early");
    assert_eq!(clients[2].connect(&name, nonblocking()), Ok(()));
    assert_eq!(
        clients[0].connect(&name, nonblocking()),
        Err(Errno::EISCONN)
    );
    let other = create(abi::SOCK_STREAM, 0).unwrap();
    assert_eq!(other.bind(&name), Err(Errno::EADDRINUSE));
    drop(listener);
    // The listener's unaccepted connections are reset.
    let [_, second, ..] = &clients[..] else {
        unreachable!()
    };
    assert_eq!(recv(&**second, 10, 0).err(), Some(Errno::ECONNRESET));
    assert_eq!(recv(&**second, 10, 0).unwrap().0, b"");
    // The name is free again.
    assert_eq!(other.bind(&name), Ok(()));
}
