//! Pipes, eventfd, timerfd and signalfd: creating them (the files are in fs::pipe,
//! fs::eventfd, fs::timerfd, fs::signalfd).

use ferrite_libos::frame::SyscallFrame;

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::file::OpenFile;
use crate::fs::{eventfd, fdtable, pipe};
use crate::uaccess;

/// Linux's O_NOTIFICATION_PIPE (= O_EXCL): watch-queue pipes are not supported.
const O_NOTIFICATION_PIPE: u32 = abi::O_EXCL;

fn pipe_with_flags(fds_addr: u64, flags: u32) -> SysResult {
    if flags & !(abi::O_CLOEXEC | abi::O_NONBLOCK | abi::O_DIRECT) != 0 {
        // (O_NOTIFICATION_PIPE included: Linux without CONFIG_WATCH_QUEUE says EINVAL too.)
        let _ = O_NOTIFICATION_PIPE;
        return Err(Errno::EINVAL);
    }
    let cloexec = flags & abi::O_CLOEXEC != 0;
    let (read_end, write_end) = pipe::new_pipe(flags);
    let read_fd = fdtable::install(read_end, cloexec)?;
    let write_fd = match fdtable::install(write_end, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = fdtable::close(read_fd);
            return Err(e);
        }
    };
    if uaccess::write(fds_addr, &[read_fd, write_fd]).is_err() {
        // As Linux: nothing stays installed when the fds cannot be returned.
        let _ = fdtable::close(read_fd);
        let _ = fdtable::close(write_fd);
        return Err(Errno::EFAULT);
    }
    Ok(0)
}

pub fn sys_pipe(f: &mut SyscallFrame) -> SysResult {
    pipe_with_flags(f.arg(0), 0)
}

pub fn sys_pipe2(f: &mut SyscallFrame) -> SysResult {
    pipe_with_flags(f.arg(0), f.arg(1) as u32)
}

fn eventfd_with_flags(initial: u64, flags: u32) -> SysResult {
    if flags & !(abi::EFD_SEMAPHORE | abi::EFD_CLOEXEC | abi::EFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let ops = eventfd::new(initial, flags & abi::EFD_SEMAPHORE != 0);
    let file = OpenFile::new(ops, abi::O_RDWR | (flags & abi::EFD_NONBLOCK));
    Ok(fdtable::install(file, flags & abi::EFD_CLOEXEC != 0)? as i64)
}

pub fn sys_eventfd(f: &mut SyscallFrame) -> SysResult {
    eventfd_with_flags(f.arg(0) as u32 as u64, 0)
}

pub fn sys_eventfd2(f: &mut SyscallFrame) -> SysResult {
    eventfd_with_flags(f.arg(0) as u32 as u64, f.arg(1) as u32)
}

pub fn sys_timerfd_create(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_timerfd_settime(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_timerfd_gettime(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_signalfd(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_signalfd4(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}
