//! The BSD socket calls: generic argument handling (flags, address lengths, msghdr, control
//! messages) in front of the families' `Socket` operations (net/).

use alloc::sync::Arc;
use alloc::vec::Vec;

use ferrite_libos::frame::SyscallFrame;

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::fdtable;
use crate::fs::file::{OpenFile, ReadBuf, WriteBuf};
use crate::net::{self, Received, SendMsg, Socket, sockaddr};
use crate::uaccess;

/// net.core.somaxconn: listen's backlog is cut to it.
const SOMAXCONN: i32 = 4096;
/// SCM_MAX_FD: the most fds one SCM_RIGHTS message may carry.
const SCM_MAX_FD: usize = 253;
/// UIO_MAXIOV: sendmmsg/recvmmsg handle at most this many messages a call.
const UIO_MAXIOV: u64 = 1024;
const SOCK_FLAGS: u32 = abi::SOCK_NONBLOCK | abi::SOCK_CLOEXEC;
/// sizeof(struct cmsghdr) as the kernel lays it out (size_t length, two ints).
const CMSG_HDR: usize = 16;

fn cmsg_align(len: usize) -> usize {
    (len + 7) & !7
}

/// The open file and socket behind `fd`: EBADF, then ENOTSOCK.
fn socket_file(fd: u64) -> Result<(Arc<OpenFile>, Arc<dyn Socket>), Errno> {
    let file = fdtable::get_arg(fd)?;
    let socket = net::socket_of(&file)?.clone();
    Ok((file, socket))
}

/// socket(2)/socketpair(2)'s type argument: the kind and the SOCK_* flags.
fn split_type(raw: u64) -> Result<(u32, u32), Errno> {
    let raw = raw as u32;
    let flags = raw & !0xf;
    if flags & !SOCK_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let kind = raw & 0xf;
    // SOCK_MAX is 11 (0 and the unused numbers are the family's ESOCKTNOSUPPORT).
    if kind > 10 {
        return Err(Errno::EINVAL);
    }
    Ok((kind, flags))
}

/// AF_MAX on the Linux we compare with.
const AF_MAX: u32 = 46;

fn family(domain: u64) -> Result<&'static net::Family, Errno> {
    let domain = domain as u32;
    if domain >= AF_MAX {
        return Err(Errno::EAFNOSUPPORT);
    }
    net::family(domain).ok_or(Errno::EAFNOSUPPORT)
}

pub fn sys_socket(f: &mut SyscallFrame) -> SysResult {
    let (kind, flags) = split_type(f.arg(1))?;
    let family = family(f.arg(0))?;
    let socket = (family.create)(kind, f.arg(2) as u32)?;
    let file = net::open_socket(socket, flags);
    Ok(fdtable::install(file, flags & abi::SOCK_CLOEXEC != 0)? as i64)
}

pub fn sys_socketpair(f: &mut SyscallFrame) -> SysResult {
    let (kind, flags) = split_type(f.arg(1))?;
    let family = family(f.arg(0))?;
    let pair = family.pair.ok_or(Errno::EOPNOTSUPP)?;
    let [a, b] = pair(kind, f.arg(2) as u32)?;
    let cloexec = flags & abi::SOCK_CLOEXEC != 0;
    let fd_a = fdtable::install(net::open_socket(a, flags), cloexec)?;
    let fd_b = match fdtable::install(net::open_socket(b, flags), cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = fdtable::close(fd_a);
            return Err(e);
        }
    };
    if uaccess::write(f.arg(3), &[fd_a, fd_b]).is_err() {
        let _ = fdtable::close(fd_a);
        let _ = fdtable::close(fd_b);
        return Err(Errno::EFAULT);
    }
    Ok(0)
}

pub fn sys_bind(f: &mut SyscallFrame) -> SysResult {
    let (_, socket) = socket_file(f.arg(0))?;
    let addr = sockaddr::read_user(f.arg(1), f.arg(2))?;
    socket.bind(&addr)?;
    Ok(0)
}

pub fn sys_listen(f: &mut SyscallFrame) -> SysResult {
    let (_, socket) = socket_file(f.arg(0))?;
    let backlog = f.arg(1) as u32;
    let backlog = if backlog > SOMAXCONN as u32 {
        SOMAXCONN
    } else {
        backlog as i32
    };
    socket.listen(backlog)?;
    Ok(0)
}

fn accept_common(f: &SyscallFrame, flags: u32) -> SysResult {
    if flags & !SOCK_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let (file, socket) = socket_file(f.arg(0))?;
    let io = net::Io::new(file.nonblocking(), socket.common().rcvtimeo_ns(), 0);
    let new = socket.accept(io)?;
    let peer = (f.arg(1) != 0).then(|| new.peer_addr().map(|a| a.to_bytes()).unwrap_or_default());
    let fd = fdtable::install(net::open_socket(new, flags), flags & abi::SOCK_CLOEXEC != 0)?;
    if let Some(Err(e)) = peer.map(|bytes| sockaddr::write_user(&bytes, f.arg(1), f.arg(2))) {
        let _ = fdtable::close(fd);
        return Err(e);
    }
    Ok(fd as i64)
}

pub fn sys_accept(f: &mut SyscallFrame) -> SysResult {
    accept_common(f, 0)
}

pub fn sys_accept4(f: &mut SyscallFrame) -> SysResult {
    accept_common(f, f.arg(3) as u32)
}

pub fn sys_connect(f: &mut SyscallFrame) -> SysResult {
    let (file, socket) = socket_file(f.arg(0))?;
    let addr = sockaddr::read_user(f.arg(1), f.arg(2))?;
    let io = net::Io::new(file.nonblocking(), socket.common().sndtimeo_ns(), 0);
    socket.connect(&addr, io)?;
    Ok(0)
}

fn one_buffer(addr: u64, len: u64) -> Result<[(u64, u64); 1], Errno> {
    uaccess::check_range(addr, len)?;
    Ok([(addr, len.min(uaccess::MAX_RW_COUNT))])
}

pub fn sys_sendto(f: &mut SyscallFrame) -> SysResult {
    let (file, _) = socket_file(f.arg(0))?;
    let iov = one_buffer(f.arg(1), f.arg(2))?;
    let flags = f.arg(3) as u32;
    let to = if f.arg(4) != 0 {
        Some(sockaddr::read_user(f.arg(4), f.arg(5))?)
    } else {
        None
    };
    let msg = SendMsg {
        to,
        ..Default::default()
    };
    net::send(&file, &mut WriteBuf::user(&iov), msg, flags)
}

pub fn sys_recvfrom(f: &mut SyscallFrame) -> SysResult {
    let (file, _) = socket_file(f.arg(0))?;
    let iov = one_buffer(f.arg(1), f.arg(2))?;
    let flags = f.arg(3) as u32;
    let got = net::recv(&file, &mut ReadBuf::user(&iov), flags)?;
    if f.arg(4) != 0 {
        let bytes = got.from.as_ref().map(|a| a.to_bytes()).unwrap_or_default();
        sockaddr::write_user(&bytes, f.arg(4), f.arg(5))?;
    }
    Ok(got.len as i64)
}

/// The kernel's `struct user_msghdr` (size_t lengths; musl clears its padding).
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct MsgHdr {
    name: u64,
    namelen: i32,
    _pad: i32,
    iov: u64,
    iovlen: u64,
    control: u64,
    controllen: u64,
    flags: i32,
    _pad2: i32,
}

const MSGHDR_LEN: u64 = 56;
const MMSGHDR_LEN: u64 = 64;

fn read_msghdr(addr: u64) -> Result<MsgHdr, Errno> {
    let hdr: MsgHdr = uaccess::read(addr)?;
    if hdr.iovlen > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    Ok(hdr)
}

/// The SCM_RIGHTS files of a sendmsg's control buffer (Linux's `__scm_send`): malformed headers
/// are EINVAL, bad fds EBADF, more than SCM_MAX_FD EINVAL; other levels are ignored.
fn parse_control(addr: u64, len: u64) -> Result<Vec<Arc<OpenFile>>, Errno> {
    let mut rights = Vec::new();
    if len > i32::MAX as u64 {
        return Err(Errno::ENOBUFS);
    }
    let len = len as usize;
    if len < CMSG_HDR {
        return Ok(rights);
    }
    let mut buf = alloc::vec![0u8; len];
    uaccess::read_exact(addr, &mut buf)?;
    let mut at = 0;
    while at + CMSG_HDR <= len {
        let cmsg_len = u64::from_ne_bytes(buf[at..at + 8].try_into().expect("8 bytes")) as usize;
        let level = i32::from_ne_bytes(buf[at + 8..at + 12].try_into().expect("4 bytes"));
        let kind = i32::from_ne_bytes(buf[at + 12..at + 16].try_into().expect("4 bytes"));
        if cmsg_len < CMSG_HDR || cmsg_len > len - at {
            return Err(Errno::EINVAL);
        }
        if level == abi::SOL_SOCKET as i32 {
            let data = &buf[at + CMSG_HDR..at + cmsg_len];
            match kind as u32 {
                abi::SCM_RIGHTS => {
                    let count = data.len() / 4;
                    if rights.len() + count > SCM_MAX_FD {
                        return Err(Errno::EINVAL);
                    }
                    for fd in data.chunks_exact(4) {
                        let fd = i32::from_ne_bytes(fd.try_into().expect("4 bytes"));
                        rights.push(fdtable::get(fd)?);
                    }
                }
                abi::SCM_CREDENTIALS => {
                    if data.len() < 12 {
                        return Err(Errno::EINVAL);
                    }
                    let pid = i32::from_ne_bytes(data[0..4].try_into().expect("4 bytes"));
                    if pid != net::own_cred().pid {
                        return Err(Errno::EPERM);
                    }
                }
                _ => return Err(Errno::EINVAL),
            }
        }
        at += cmsg_align(cmsg_len);
    }
    Ok(rights)
}

/// One control message's bytes (header and data; the caller pads to the next one).
fn cmsg(kind: u32, data: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(CMSG_HDR + data.len());
    bytes.extend_from_slice(&((CMSG_HDR + data.len()) as u64).to_ne_bytes());
    bytes.extend_from_slice(&(abi::SOL_SOCKET as i32).to_ne_bytes());
    bytes.extend_from_slice(&(kind as i32).to_ne_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// Fill the service's control buffer after a receive (Linux's `scm_recv`): SCM_CREDENTIALS
/// when the socket asked for them (SO_PASSCRED; every sender is this process), then the
/// SCM_RIGHTS files, installed in the fd table (`scm_detach_fds`: what does not fit is closed
/// and MSG_CTRUNC set). Returns the control length used and the flags to add.
fn deliver_control(
    hdr: &MsgHdr,
    creds: Option<abi::ucred>,
    rights: Vec<Arc<OpenFile>>,
    cloexec: bool,
) -> (u64, u32) {
    if rights.is_empty() && creds.is_none() {
        return (0, 0);
    }
    let room = if hdr.control == 0 {
        0
    } else {
        hdr.controllen.min(i32::MAX as u64) as usize
    };
    let mut out: Vec<u8> = Vec::new();
    let mut flags = 0;
    if let Some(c) = creds {
        let mut data = Vec::with_capacity(12);
        data.extend_from_slice(&c.pid.to_ne_bytes());
        data.extend_from_slice(&c.uid.to_ne_bytes());
        data.extend_from_slice(&c.gid.to_ne_bytes());
        let bytes = cmsg(abi::SCM_CREDENTIALS, &data);
        if bytes.len() <= room {
            out.extend_from_slice(&bytes);
            out.resize(cmsg_align(out.len()).min(room), 0);
        } else {
            flags |= abi::MSG_CTRUNC;
        }
    }
    if !rights.is_empty() {
        let left = room - out.len();
        let fit = left.saturating_sub(CMSG_HDR) / 4;
        let total = rights.len();
        let mut fds: Vec<u8> = Vec::new();
        for file in rights
            .into_iter()
            .take(if left < CMSG_HDR { 0 } else { fit })
        {
            match fdtable::install(file, cloexec) {
                Ok(fd) => fds.extend_from_slice(&fd.to_ne_bytes()),
                Err(_) => break,
            }
        }
        if fds.len() / 4 < total {
            flags |= abi::MSG_CTRUNC;
        }
        if !fds.is_empty() {
            out.extend_from_slice(&cmsg(abi::SCM_RIGHTS, &fds));
            out.resize(cmsg_align(out.len()).min(room), 0);
        }
    }
    if out.is_empty() {
        return (0, flags);
    }
    // (Padding after the last message is counted but not written, as Linux.)
    let written = cmsg_unpadded(&out);
    if uaccess::write_exact(hdr.control, &out[..written]).is_err() {
        // (Linux leaves the installed fds too; the service sees MSG_CTRUNC.)
        return (0, flags | abi::MSG_CTRUNC);
    }
    (out.len() as u64, flags)
}

/// The length of `out` without the padding after its last control message.
fn cmsg_unpadded(out: &[u8]) -> usize {
    let mut at = 0;
    let mut end = 0;
    while at + CMSG_HDR <= out.len() {
        let len = u64::from_ne_bytes(out[at..at + 8].try_into().expect("8 bytes")) as usize;
        end = at + len;
        at += cmsg_align(len);
    }
    end.min(out.len())
}

fn sendmsg_one(file: &OpenFile, hdr_addr: u64, flags: u32) -> SysResult {
    let hdr = read_msghdr(hdr_addr)?;
    let iov = uaccess::iovecs(hdr.iov, hdr.iovlen)?;
    let to = if hdr.name != 0 && hdr.namelen != 0 {
        if hdr.namelen < 0 {
            return Err(Errno::EINVAL);
        }
        let len = (hdr.namelen as usize).min(sockaddr::STORAGE_LEN);
        Some(sockaddr::read_user(hdr.name, len as u64)?)
    } else {
        None
    };
    let rights = parse_control(hdr.control, hdr.controllen)?;
    let msg = SendMsg { to, rights };
    net::send(file, &mut WriteBuf::user(&iov), msg, flags)
}

fn recvmsg_one(file: &OpenFile, hdr_addr: u64, flags: u32) -> SysResult {
    let hdr = read_msghdr(hdr_addr)?;
    if hdr.namelen < 0 && hdr.name != 0 {
        return Err(Errno::EINVAL);
    }
    let iov = uaccess::iovecs(hdr.iov, hdr.iovlen)?;
    let got: Received = net::recv(
        file,
        &mut ReadBuf::user(&iov),
        flags & !abi::MSG_CMSG_CLOEXEC,
    )?;
    // msg_namelen: the full length of the sender's address, at most namelen bytes of it copied.
    let namelen = if hdr.name != 0 {
        let bytes = got.from.as_ref().map(|a| a.to_bytes()).unwrap_or_default();
        let n = (hdr.namelen as usize).min(bytes.len());
        if n > 0 {
            uaccess::write_exact(hdr.name, &bytes[..n])?;
        }
        bytes.len() as i32
    } else {
        0
    };
    let cloexec = flags & abi::MSG_CMSG_CLOEXEC != 0;
    let socket = net::socket_of(file)?;
    let creds = (socket.common().domain == abi::AF_UNIX
        && socket.common().switch(abi::SO_PASSCRED))
    .then(net::own_cred);
    let (controllen, ctrl_flags) = deliver_control(&hdr, creds, got.rights, cloexec);
    if hdr.name != 0 {
        // (Linux leaves msg_namelen alone when msg_name is NULL.)
        uaccess::write(hdr_addr + 8, &namelen)?;
    }
    uaccess::write(hdr_addr + 40, &controllen)?;
    // (Linux echoes MSG_CMSG_CLOEXEC in msg_flags.)
    let out_flags = got.msg_flags | ctrl_flags | (flags & abi::MSG_CMSG_CLOEXEC);
    uaccess::write(hdr_addr + 48, &(out_flags as i32))?;
    Ok(got.len as i64)
}

pub fn sys_sendmsg(f: &mut SyscallFrame) -> SysResult {
    let (file, _) = socket_file(f.arg(0))?;
    sendmsg_one(&file, f.arg(1), f.arg(2) as u32)
}

pub fn sys_recvmsg(f: &mut SyscallFrame) -> SysResult {
    let (file, _) = socket_file(f.arg(0))?;
    recvmsg_one(&file, f.arg(1), f.arg(2) as u32)
}

/// sendmmsg: as many messages as go; the count, or the first message's error.
pub fn sys_sendmmsg(f: &mut SyscallFrame) -> SysResult {
    let (file, _) = socket_file(f.arg(0))?;
    let (vec, vlen, flags) = (
        f.arg(1),
        (f.arg(2) as u32 as u64).min(UIO_MAXIOV),
        f.arg(3) as u32,
    );
    let mut sent = 0u64;
    while sent < vlen {
        let entry = vec + sent * MMSGHDR_LEN;
        match sendmsg_one(&file, entry, flags) {
            Ok(n) => {
                if uaccess::write(entry + MSGHDR_LEN, &(n as u32)).is_err() {
                    break;
                }
                sent += 1;
            }
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(sent as i64)
}

/// recvmmsg: MSG_WAITFORONE stops waiting after the first; the timeout is checked after each.
pub fn sys_recvmmsg(f: &mut SyscallFrame) -> SysResult {
    let (file, _) = socket_file(f.arg(0))?;
    let (vec, vlen) = (f.arg(1), (f.arg(2) as u32 as u64).min(UIO_MAXIOV));
    let mut flags = f.arg(3) as u32;
    let deadline = if f.arg(4) != 0 {
        let ts: abi::timespec = uaccess::read(f.arg(4))?;
        let ns = crate::syscalls::time::from_timespec(&ts)?;
        Some(crate::syscalls::time::monotonic_ns().saturating_add(ns))
    } else {
        None
    };
    let mut got = 0u64;
    while got < vlen {
        let entry = vec + got * MMSGHDR_LEN;
        match recvmsg_one(&file, entry, flags & !abi::MSG_WAITFORONE) {
            Ok(n) => {
                uaccess::write(entry + MSGHDR_LEN, &(n as u32))?;
                got += 1;
            }
            Err(e) if got == 0 => return Err(e),
            Err(_) => break,
        }
        if flags & abi::MSG_WAITFORONE != 0 {
            flags |= abi::MSG_DONTWAIT;
        }
        if deadline.is_some_and(|d| crate::syscalls::time::monotonic_ns() >= d) {
            break;
        }
    }
    Ok(got as i64)
}

pub fn sys_shutdown(f: &mut SyscallFrame) -> SysResult {
    let (_, socket) = socket_file(f.arg(0))?;
    let how = f.arg(1) as u32;
    if how > abi::SHUT_RDWR {
        return Err(Errno::EINVAL);
    }
    socket.shutdown(how)?;
    Ok(0)
}

pub fn sys_getsockname(f: &mut SyscallFrame) -> SysResult {
    let (_, socket) = socket_file(f.arg(0))?;
    let addr = socket.local_addr()?;
    sockaddr::write_user(&addr.to_bytes(), f.arg(1), f.arg(2))?;
    Ok(0)
}

pub fn sys_getpeername(f: &mut SyscallFrame) -> SysResult {
    let (_, socket) = socket_file(f.arg(0))?;
    let addr = socket.peer_addr()?;
    sockaddr::write_user(&addr.to_bytes(), f.arg(1), f.arg(2))?;
    Ok(0)
}

pub fn sys_setsockopt(f: &mut SyscallFrame) -> SysResult {
    let (_, socket) = socket_file(f.arg(0))?;
    let len = f.arg(4) as u32 as i32;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    // (No option is larger; the rest of a longer value is never read.)
    let mut value = alloc::vec![0u8; (len as usize).min(256)];
    uaccess::read_exact(f.arg(3), &mut value)?;
    net::set_option(&*socket, f.arg(1) as i32, f.arg(2) as i32, &value)?;
    Ok(0)
}

pub fn sys_getsockopt(f: &mut SyscallFrame) -> SysResult {
    let (_, socket) = socket_file(f.arg(0))?;
    let len: i32 = uaccess::read(f.arg(4))?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let value = net::get_option(&*socket, f.arg(1) as i32, f.arg(2) as i32)?;
    let n = (len as usize).min(value.len());
    uaccess::write_exact(f.arg(3), &value[..n])?;
    uaccess::write(f.arg(4), &(n as i32))?;
    Ok(0)
}
