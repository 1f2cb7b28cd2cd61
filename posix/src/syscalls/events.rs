//! Pipes, eventfd, timerfd and signalfd.

use ferrite_libos::frame::SyscallFrame;

use crate::errno::{Errno, SysResult};

pub fn sys_pipe(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_pipe2(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_eventfd(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_eventfd2(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
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
