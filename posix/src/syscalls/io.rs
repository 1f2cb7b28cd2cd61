//! Reading, writing and descriptor management on open files of every kind (fs::file).

use ferrite_libos::frame::SyscallFrame;

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::fdtable;
use crate::fs::file::{ReadBuf, WriteBuf};
use crate::uaccess;

/// A pread/pwrite offset argument: EINVAL when negative.
fn offset_arg(raw: u64) -> Result<u64, Errno> {
    if (raw as i64) < 0 {
        Err(Errno::EINVAL)
    } else {
        Ok(raw)
    }
}

fn read_into(fd: u64, iovecs: &[(u64, u64)], at: Option<u64>) -> SysResult {
    let file = fdtable::get_arg(fd)?;
    let mut buf = ReadBuf::user(iovecs);
    file.read(&mut buf, at)
}

fn write_from(fd: u64, iovecs: &[(u64, u64)], at: Option<u64>) -> SysResult {
    let file = fdtable::get_arg(fd)?;
    let mut buf = WriteBuf::user(iovecs);
    file.write(&mut buf, at)
}

fn one_buffer(addr: u64, len: u64) -> Result<[(u64, u64); 1], Errno> {
    uaccess::check_range(addr, len)?;
    Ok([(addr, len.min(uaccess::MAX_RW_COUNT))])
}

pub fn sys_read(f: &mut SyscallFrame) -> SysResult {
    let fd = fdtable::get_arg(f.arg(0))?; // EBADF before EFAULT, as Linux
    drop(fd);
    read_into(f.arg(0), &one_buffer(f.arg(1), f.arg(2))?, None)
}

pub fn sys_write(f: &mut SyscallFrame) -> SysResult {
    let fd = fdtable::get_arg(f.arg(0))?;
    drop(fd);
    write_from(f.arg(0), &one_buffer(f.arg(1), f.arg(2))?, None)
}

pub fn sys_readv(f: &mut SyscallFrame) -> SysResult {
    fdtable::get_arg(f.arg(0))?;
    read_into(f.arg(0), &uaccess::iovecs(f.arg(1), f.arg(2))?, None)
}

pub fn sys_writev(f: &mut SyscallFrame) -> SysResult {
    fdtable::get_arg(f.arg(0))?;
    write_from(f.arg(0), &uaccess::iovecs(f.arg(1), f.arg(2))?, None)
}

pub fn sys_pread64(f: &mut SyscallFrame) -> SysResult {
    let file = fdtable::get_arg(f.arg(0))?;
    if !file.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let at = offset_arg(f.arg(3))?;
    read_into(f.arg(0), &one_buffer(f.arg(1), f.arg(2))?, Some(at))
}

pub fn sys_pwrite64(f: &mut SyscallFrame) -> SysResult {
    let file = fdtable::get_arg(f.arg(0))?;
    if !file.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let at = offset_arg(f.arg(3))?;
    write_from(f.arg(0), &one_buffer(f.arg(1), f.arg(2))?, Some(at))
}

/// preadv/pwritev(2): offset -1 means the file position (preadv2/pwritev2 only).
fn vector_offset(raw: u64, v2: bool) -> Result<Option<u64>, Errno> {
    if v2 && raw as i64 == -1 {
        Ok(None)
    } else {
        offset_arg(raw).map(Some)
    }
}

/// preadv/pwritev and their v2 variants: the 64-bit offset is the fourth argument (the fifth
/// holds its high half for 32-bit callers); the v2 flags come sixth.
fn vector_io(f: &SyscallFrame, v2: bool, write: bool) -> SysResult {
    let file = fdtable::get_arg(f.arg(0))?;
    let at = vector_offset(f.arg(3), v2)?;
    if v2 && f.arg(5) & !RWF_SUPPORTED != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if at.is_some() && !file.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    let iovecs = uaccess::iovecs(f.arg(1), f.arg(2))?;
    if write {
        write_from(f.arg(0), &iovecs, at)
    } else {
        read_into(f.arg(0), &iovecs, at)
    }
}

/// RWF_HIPRI, RWF_DSYNC, RWF_SYNC: hints with nothing to do on memory-backed files.
const RWF_SUPPORTED: u64 = 0x1 | 0x2 | 0x4;

pub fn sys_preadv(f: &mut SyscallFrame) -> SysResult {
    vector_io(f, false, false)
}

pub fn sys_pwritev(f: &mut SyscallFrame) -> SysResult {
    vector_io(f, false, true)
}

pub fn sys_preadv2(f: &mut SyscallFrame) -> SysResult {
    vector_io(f, true, false)
}

pub fn sys_pwritev2(f: &mut SyscallFrame) -> SysResult {
    vector_io(f, true, true)
}

pub fn sys_lseek(f: &mut SyscallFrame) -> SysResult {
    let file = fdtable::get_arg(f.arg(0))?;
    // (Streams answer ESPIPE through FileOps::seek; anonymous files like eventfd answer 0.)
    file.seek(f.arg(1) as i64, f.arg(2) as u32)
}

pub fn sys_close(f: &mut SyscallFrame) -> SysResult {
    fdtable::close(f.arg(0) as u32 as i32)?;
    Ok(0)
}

/// Linux's CLOSE_RANGE_UNSHARE and CLOSE_RANGE_CLOEXEC (musl's headers lack them).
const CLOSE_RANGE_UNSHARE: u64 = 1 << 1;
const CLOSE_RANGE_CLOEXEC: u64 = 1 << 2;

pub fn sys_close_range(f: &mut SyscallFrame) -> SysResult {
    let (first, last, flags) = (f.arg(0) as u32, f.arg(1) as u32, f.arg(2));
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    // One process, one table: UNSHARE has nothing to unshare.
    fdtable::close_range(first, last, flags & CLOSE_RANGE_CLOEXEC != 0);
    Ok(0)
}

pub fn sys_dup(f: &mut SyscallFrame) -> SysResult {
    let file = fdtable::get_arg(f.arg(0))?;
    Ok(fdtable::install(file, false)? as i64)
}

pub fn sys_dup2(f: &mut SyscallFrame) -> SysResult {
    let (old, new) = (f.arg(0) as u32 as i32, f.arg(1) as u32 as i32);
    let file = fdtable::get(old)?;
    if old == new {
        return Ok(new as i64);
    }
    Ok(fdtable::install_at(new, file, false)? as i64)
}

pub fn sys_dup3(f: &mut SyscallFrame) -> SysResult {
    let (old, new, flags) = (
        f.arg(0) as u32 as i32,
        f.arg(1) as u32 as i32,
        f.arg(2) as u32,
    );
    if flags & !abi::O_CLOEXEC != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    let file = fdtable::get(old)?;
    Ok(fdtable::install_at(new, file, flags & abi::O_CLOEXEC != 0)? as i64)
}

/// FIOCLEX/FIONCLEX (musl's headers define them under asm-generic names only).
const FIONCLEX: u32 = 0x5450;
const FIOCLEX: u32 = 0x5451;
const FIOASYNC: u32 = 0x5452;

pub fn sys_ioctl(f: &mut SyscallFrame) -> SysResult {
    let fd = f.arg(0) as u32 as i32;
    let file = fdtable::get(fd)?;
    let (request, arg) = (f.arg(1) as u32, f.arg(2));
    // The requests Linux answers for every file (`do_vfs_ioctl`).
    match request {
        FIOCLEX => fdtable::set_cloexec(fd, true).map(|_| 0),
        FIONCLEX => fdtable::set_cloexec(fd, false).map(|_| 0),
        abi::FIONBIO => {
            let on: i32 = uaccess::read(arg)?;
            let flags = file.flags();
            file.set_status_flags(if on != 0 {
                flags | abi::O_NONBLOCK
            } else {
                flags & !abi::O_NONBLOCK
            });
            Ok(0)
        }
        FIOASYNC => {
            let on: i32 = uaccess::read(arg)?;
            let flags = file.flags();
            file.set_status_flags(if on != 0 {
                flags | abi::O_ASYNC
            } else {
                flags & !abi::O_ASYNC
            });
            Ok(0)
        }
        _ => file.ops.ioctl(&file, request, arg),
    }
}

pub fn sys_fcntl(f: &mut SyscallFrame) -> SysResult {
    let fd = f.arg(0) as u32 as i32;
    let file = fdtable::get(fd)?;
    let arg = f.arg(2);
    match f.arg(1) as u32 {
        abi::F_DUPFD | abi::F_DUPFD_CLOEXEC => {
            let min = arg as u32 as i32;
            if min < 0 || min as u64 >= crate::syscalls::info::soft_limit(abi::RLIMIT_NOFILE) {
                return Err(Errno::EINVAL);
            }
            let cloexec = f.arg(1) as u32 == abi::F_DUPFD_CLOEXEC;
            Ok(fdtable::install_from(min as usize, file, cloexec)? as i64)
        }
        abi::F_GETFD => Ok(if fdtable::cloexec(fd)? {
            abi::FD_CLOEXEC as i64
        } else {
            0
        }),
        abi::F_SETFD => {
            fdtable::set_cloexec(fd, arg & abi::FD_CLOEXEC as u64 != 0)?;
            Ok(0)
        }
        abi::F_GETFL => Ok(file.flags() as i64),
        abi::F_SETFL => {
            file.set_status_flags(arg as u32);
            Ok(0)
        }
        abi::F_GETLK
        | abi::F_SETLK
        | abi::F_SETLKW
        | abi::F_OFD_GETLK
        | abi::F_OFD_SETLK
        | abi::F_OFD_SETLKW => crate::fs::record_locks(&file, f.arg(1) as u32, arg),
        abi::F_GETPIPE_SZ | abi::F_SETPIPE_SZ => crate::fs::pipe_size(&file, f.arg(1) as u32, arg),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_fstat(f: &mut SyscallFrame) -> SysResult {
    let file = fdtable::get_arg(f.arg(0))?;
    let st = file.ops.stat()?;
    uaccess::write(f.arg(1), &st)?;
    Ok(0)
}
