//! File-system system calls: paths, metadata, directories, links, sizes, record locks, and
//! in-kernel copies (sendfile, copy_file_range, splice).

use ferrite_libos::frame::SyscallFrame;

use crate::errno::{Errno, SysResult};

pub fn sys_open(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_stat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_lstat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_access(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_creat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_getdents(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_getdents64(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_mkdir(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_mkdirat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_rmdir(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_unlink(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_unlinkat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_rename(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_renameat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_renameat2(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_link(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_linkat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_symlink(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_symlinkat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_readlink(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_readlinkat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_truncate(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_ftruncate(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_fallocate(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_fsync(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_fdatasync(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_sync(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_syncfs(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_chdir(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_fchdir(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_getcwd(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_chmod(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_fchmod(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_fchmodat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_chown(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_fchown(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_lchown(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_fchownat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_utimensat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_utime(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_utimes(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_futimesat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_umask(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_statfs(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_fstatfs(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_openat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_openat2(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_newfstatat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_statx(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_faccessat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_faccessat2(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_flock(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_sendfile(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_copy_file_range(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_splice(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_tee(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_vmsplice(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_mknod(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_mknodat(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_readahead(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_fadvise64(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}

pub fn sys_sync_file_range(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::ENOSYS) // (being written)
}
