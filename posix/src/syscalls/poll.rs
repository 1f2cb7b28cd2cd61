//! poll, select and epoll.

use ferrite_libos::frame::SyscallFrame;

use crate::errno::{Errno, SysResult};

pub fn sys_poll(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_select(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_ppoll(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_pselect6(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_epoll_create(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_epoll_create1(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_epoll_ctl(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_epoll_wait(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_epoll_pwait(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_epoll_pwait2(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}
