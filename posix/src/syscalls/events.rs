//! Pipes, eventfd, timerfd and signalfd: creating them (the files are in fs::pipe,
//! fs::eventfd, fs::timerfd, fs::signalfd).

use ferrite_libos::frame::SyscallFrame;

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::file::OpenFile;
use crate::fs::{eventfd, fdtable, pipe, signalfd, timerfd};
use crate::syscalls::time;
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

/// TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET.
const TFD_SETTIME_FLAGS: u32 = abi::TFD_TIMER_ABSTIME | abi::TFD_TIMER_CANCEL_ON_SET;

pub fn sys_timerfd_create(f: &mut SyscallFrame) -> SysResult {
    let (clock, flags) = (f.arg(0) as u32, f.arg(1) as u32);
    if flags & !(abi::TFD_CLOEXEC | abi::TFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    // (The *_ALARM clocks need CAP_WAKE_ALARM, which root, the service's user, has.)
    let realtime = timerfd::clock_is_realtime(clock)?;
    let file = OpenFile::new(
        timerfd::new(realtime),
        abi::O_RDWR | (flags & abi::TFD_NONBLOCK),
    );
    Ok(fdtable::install(file, flags & abi::TFD_CLOEXEC != 0)? as i64)
}

/// The timerfd behind `fd`: EBADF if none, EINVAL if it is another kind of file.
fn timerfd_of(fd: u64) -> Result<alloc::sync::Arc<OpenFile>, Errno> {
    let file = fdtable::get_arg(fd)?;
    if file
        .ops
        .as_any()
        .downcast_ref::<timerfd::TimerFd>()
        .is_none()
    {
        return Err(Errno::EINVAL);
    }
    Ok(file)
}

fn timerfd_ops(file: &OpenFile) -> &timerfd::TimerFd {
    file.ops
        .as_any()
        .downcast_ref::<timerfd::TimerFd>()
        .expect("checked by timerfd_of")
}

fn to_itimerspec((value, interval): (u64, u64)) -> abi::itimerspec {
    let ts = |ns: u64| abi::timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    };
    abi::itimerspec {
        it_interval: ts(interval),
        it_value: ts(value),
    }
}

pub fn sys_timerfd_settime(f: &mut SyscallFrame) -> SysResult {
    let (fd, flags, new, old) = (f.arg(0), f.arg(1) as u32, f.arg(2), f.arg(3));
    let spec: abi::itimerspec = uaccess::read(new)?;
    if flags & !TFD_SETTIME_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let value = time::from_timespec(&spec.it_value)?;
    let interval = time::from_timespec(&spec.it_interval)?;
    let file = timerfd_of(fd)?;
    // TFD_TIMER_CANCEL_ON_SET: accepted; nothing can set the wall clock here, so it never fires.
    let previous = timerfd_ops(&file).set(value, interval, flags & abi::TFD_TIMER_ABSTIME != 0);
    if old != 0 {
        uaccess::write(old, &to_itimerspec(previous))?;
    }
    Ok(0)
}

pub fn sys_timerfd_gettime(f: &mut SyscallFrame) -> SysResult {
    let file = timerfd_of(f.arg(0))?;
    let current = timerfd_ops(&file).get();
    uaccess::write(f.arg(1), &to_itimerspec(current))?;
    Ok(0)
}

/// signalfd4(fd, mask, size, flags): a new signalfd (fd -1) or a new mask for an existing one.
fn signalfd_common(fd: u64, mask_addr: u64, size: u64, flags: u32) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mask: u64 = uaccess::read(mask_addr)?;
    if flags & !(abi::SFD_CLOEXEC | abi::SFD_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    if fd as i32 == -1 {
        let file = OpenFile::new(
            signalfd::new(mask),
            abi::O_RDWR | (flags & abi::SFD_NONBLOCK),
        );
        return Ok(fdtable::install(file, flags & abi::SFD_CLOEXEC != 0)? as i64);
    }
    let file = fdtable::get_arg(fd)?;
    let ops = file
        .ops
        .as_any()
        .downcast_ref::<signalfd::SignalFd>()
        .ok_or(Errno::EINVAL)?;
    ops.set_mask(mask);
    Ok(fd as i32 as i64)
}

pub fn sys_signalfd(f: &mut SyscallFrame) -> SysResult {
    signalfd_common(f.arg(0), f.arg(1), f.arg(2), 0)
}

pub fn sys_signalfd4(f: &mut SyscallFrame) -> SysResult {
    signalfd_common(f.arg(0), f.arg(1), f.arg(2), f.arg(3) as u32)
}
