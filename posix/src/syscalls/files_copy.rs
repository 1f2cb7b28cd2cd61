//! In-kernel copies between files: sendfile, copy_file_range, splice, tee, vmsplice (part of
//! `files`). Data moves through a kernel bounce buffer: read from one `FileOps`, write to the
//! other, so any pair of file kinds works; nothing is held locked across the two sides.

use alloc::vec;

use ferrite_libos::frame::SyscallFrame;

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::fdtable;
use crate::fs::file::{OpenFile, ReadBuf, WriteBuf};
use crate::fs::vfs::{self, FileType};
use crate::uaccess;

const CHUNK: usize = 64 * 1024;

fn is_pipe(file: &OpenFile) -> bool {
    file.ops.as_any().is::<crate::fs::pipe::PipeEnd>()
}

/// Where one side of a copy reads or writes.
#[derive(Clone, Copy)]
enum At {
    /// An explicit offset (the file position is untouched).
    Offset(u64),
    /// The file's position, advanced by what was moved.
    Position,
    /// A stream (pipe): no offset.
    Stream,
}

/// Move up to `len` bytes from `input` to `output`; returns the bytes moved and the offsets
/// after. A stream input is read once (a pipe's reader would otherwise wait for more).
fn transfer(
    input: &OpenFile,
    in_at: At,
    output: &OpenFile,
    out_at: At,
    len: u64,
) -> Result<(u64, At, At), Errno> {
    let len = len.min(uaccess::MAX_RW_COUNT);
    let resolve = |f: &OpenFile, at: At| match at {
        At::Position => At::Offset(*f.position.lock()),
        other => other,
    };
    let (mut in_pos, mut out_pos) = (resolve(input, in_at), resolve(output, out_at));
    let mut buf = vec![0u8; CHUNK.min(len as usize).max(1)];
    let mut total = 0u64;
    let mut error = None;
    while total < len {
        let want = buf.len().min((len - total) as usize);
        let mut rb = ReadBuf::kernel(&mut buf[..want]);
        let got = match input.read(&mut rb, offset_of(in_pos)) {
            Ok(n) => n as usize,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        if got == 0 {
            break;
        }
        let mut written = 0;
        while written < got {
            let mut wb = WriteBuf::kernel(&buf[written..got]);
            match output.write(&mut wb, offset_of(out_pos)) {
                Ok(0) => break,
                Ok(n) => {
                    written += n as usize;
                    if let At::Offset(o) = &mut out_pos {
                        *o += n as u64;
                    }
                }
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        if let At::Offset(o) = &mut in_pos {
            *o += written as u64;
        }
        total += written as u64;
        if written < got || matches!(in_at, At::Stream) {
            break;
        }
    }
    // Positions advance by what went through.
    if let (At::Position, At::Offset(o)) = (in_at, in_pos) {
        *input.position.lock() = o;
    }
    if let (At::Position, At::Offset(o)) = (out_at, out_pos) {
        *output.position.lock() = o;
    }
    match error {
        Some(e) if total == 0 => Err(e),
        _ => Ok((total, in_pos, out_pos)),
    }
}

fn offset_of(at: At) -> Option<u64> {
    match at {
        At::Offset(o) => Some(o),
        _ => None,
    }
}

/// An `loff_t *` argument: Some(offset) (EINVAL when negative), None when NULL.
fn offset_ptr(addr: u64) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let v: i64 = uaccess::read(addr)?;
    if v < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(v as u64))
}

fn store_offset(addr: u64, at: At) -> Result<(), Errno> {
    if let (true, At::Offset(o)) = (addr != 0, at) {
        uaccess::write(addr, &(o as i64))?;
    }
    Ok(())
}

fn side(file: &OpenFile, explicit: Option<u64>) -> At {
    match explicit {
        Some(o) => At::Offset(o),
        None if file.ops.seekable() => At::Position,
        None => At::Stream,
    }
}

pub fn sys_sendfile(f: &mut SyscallFrame) -> SysResult {
    let output = fdtable::get_arg(f.arg(0))?;
    let input = fdtable::get_arg(f.arg(1))?;
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    // The input must be a file with pages (a regular file), as Linux's splice_read users.
    match vfs::inode_of(&input) {
        Some(i) if i.kind() == FileType::Regular => {}
        _ => return Err(Errno::EINVAL),
    }
    if output.flags() & abi::O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let offset_addr = f.arg(2);
    let explicit = offset_ptr(offset_addr)?;
    let (n, in_pos, _) = transfer(
        &input,
        side(&input, explicit),
        &output,
        side(&output, None),
        f.arg(3),
    )?;
    store_offset(offset_addr, in_pos)?;
    Ok(n as i64)
}

pub fn sys_copy_file_range(f: &mut SyscallFrame) -> SysResult {
    let (in_fd, in_addr, out_fd, out_addr, len, flags) =
        (f.arg(0), f.arg(1), f.arg(2), f.arg(3), f.arg(4), f.arg(5));
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let input = fdtable::get_arg(in_fd)?;
    let output = fdtable::get_arg(out_fd)?;
    if !input.readable() || !output.writable() || output.flags() & abi::O_APPEND != 0 {
        return Err(Errno::EBADF);
    }
    let (Some(in_inode), Some(out_inode)) = (vfs::inode_of(&input), vfs::inode_of(&output)) else {
        return Err(Errno::EINVAL);
    };
    for i in [&in_inode, &out_inode] {
        match i.kind() {
            FileType::Regular => {}
            FileType::Directory => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        }
    }
    let in_off = offset_ptr(in_addr)?;
    let out_off = offset_ptr(out_addr)?;
    let in_at = side(&input, in_off);
    let out_at = side(&output, out_off);
    // Overlapping ranges of one file are refused, as Linux.
    if vfs::same(&in_inode, &out_inode) {
        let pos = |file: &OpenFile, at: At| match at {
            At::Offset(o) => o,
            _ => *file.position.lock(),
        };
        let (a, b) = (pos(&input, in_at), pos(&output, out_at));
        if a < b.saturating_add(len) && b < a.saturating_add(len) {
            return Err(Errno::EINVAL);
        }
    }
    let (n, in_pos, out_pos) = transfer(&input, in_at, &output, out_at, len)?;
    store_offset(in_addr, in_pos)?;
    store_offset(out_addr, out_pos)?;
    Ok(n as i64)
}

pub fn sys_splice(f: &mut SyscallFrame) -> SysResult {
    let (in_fd, in_addr, out_fd, out_addr, len, flags) =
        (f.arg(0), f.arg(1), f.arg(2), f.arg(3), f.arg(4), f.arg(5));
    let input = fdtable::get_arg(in_fd)?;
    let output = fdtable::get_arg(out_fd)?;
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    let (in_pipe, out_pipe) = (is_pipe(&input), is_pipe(&output));
    if !in_pipe && !out_pipe {
        return Err(Errno::EINVAL);
    }
    if (in_pipe && in_addr != 0) || (out_pipe && out_addr != 0) {
        return Err(Errno::ESPIPE);
    }
    if (in_addr != 0 && !input.ops.seekable()) || (out_addr != 0 && !output.ops.seekable()) {
        return Err(Errno::ESPIPE);
    }
    if len == 0 {
        return Ok(0);
    }
    // SPLICE_F_NONBLOCK: the pipe side must be ready now (a transfer once started may wait).
    if flags & abi::SPLICE_F_NONBLOCK as u64 != 0 {
        let hung = abi::EPOLLHUP | abi::EPOLLERR;
        if (in_pipe && input.poll() & (abi::EPOLLIN | hung) == 0)
            || (out_pipe && output.poll() & (abi::EPOLLOUT | hung) == 0)
        {
            return Err(Errno::EAGAIN);
        }
    }
    let in_off = offset_ptr(in_addr)?;
    let out_off = offset_ptr(out_addr)?;
    let (n, in_pos, out_pos) = transfer(
        &input,
        side(&input, in_off),
        &output,
        side(&output, out_off),
        len,
    )?;
    store_offset(in_addr, in_pos)?;
    store_offset(out_addr, out_pos)?;
    Ok(n as i64)
}

/// tee: the pipes' own (`pipe::tee`), after Linux's argument checks.
pub fn sys_tee(f: &mut SyscallFrame) -> SysResult {
    let input = fdtable::get_arg(f.arg(0))?;
    let output = fdtable::get_arg(f.arg(1))?;
    let flags = f.arg(3);
    if flags & !0xf != 0 {
        return Err(Errno::EINVAL);
    }
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    let len = f.arg(2).min(uaccess::MAX_RW_COUNT) as usize;
    let nonblocking = flags & abi::SPLICE_F_NONBLOCK as u64 != 0;
    crate::fs::pipe::tee(&input, &output, len, nonblocking)
}

/// vmsplice: the service's buffers into a pipe (as writev) or out of one (as readv).
pub fn sys_vmsplice(f: &mut SyscallFrame) -> SysResult {
    let file = fdtable::get_arg(f.arg(0))?;
    if f.arg(3) & !0xf != 0 {
        return Err(Errno::EINVAL);
    }
    if !is_pipe(&file) {
        return Err(Errno::EBADF);
    }
    let iovecs = uaccess::iovecs(f.arg(1), f.arg(2))?;
    if file.writable() {
        file.write(&mut WriteBuf::user(&iovecs), None)
    } else {
        file.read(&mut ReadBuf::user(&iovecs), None)
    }
}
