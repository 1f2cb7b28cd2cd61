//! Metadata system calls: stat and statx, access, sizes, sync, modes, owners, times, statfs,
//! flock and the advice calls (part of `files`).

use alloc::sync::Arc;

use ferrite_libos::frame::SyscallFrame;

use super::{AT_FDCWD, fd_inode, lookup_at, path_arg};
use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::fdtable;
use crate::fs::file::OpenFile;
use crate::fs::vfs::{self, FileType, Follow, InodeRef, SetAttr, Time};
use crate::uaccess;

const CWD: u64 = AT_FDCWD as u32 as u64;

/// stat of what `lookup_at` found: the inode, or the file for an fd without one.
fn stat_of(found: (Option<InodeRef>, Option<Arc<OpenFile>>)) -> Result<abi::stat, Errno> {
    match found {
        (Some(inode), _) => inode.stat(),
        (None, Some(file)) => file.ops.stat(),
        (None, None) => Err(Errno::EBADF),
    }
}

fn stat_at(dirfd: u64, path: u64, flags: u32) -> Result<abi::stat, Errno> {
    if flags & !(abi::AT_SYMLINK_NOFOLLOW | abi::AT_EMPTY_PATH | abi::AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    stat_of(lookup_at(dirfd, path, flags)?)
}

pub fn sys_stat(f: &mut SyscallFrame) -> SysResult {
    let st = stat_at(CWD, f.arg(0), 0)?;
    uaccess::write(f.arg(1), &st)?;
    Ok(0)
}

pub fn sys_lstat(f: &mut SyscallFrame) -> SysResult {
    let st = stat_at(CWD, f.arg(0), abi::AT_SYMLINK_NOFOLLOW)?;
    uaccess::write(f.arg(1), &st)?;
    Ok(0)
}

pub fn sys_newfstatat(f: &mut SyscallFrame) -> SysResult {
    let st = stat_at(f.arg(0), f.arg(1), f.arg(3) as u32)?;
    uaccess::write(f.arg(2), &st)?;
    Ok(0)
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct StatxTimestamp {
    tv_sec: i64,
    tv_nsec: u32,
    _reserved: i32,
}

/// Linux's `struct statx` (musl's headers lack it).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Statx {
    stx_mask: u32,
    stx_blksize: u32,
    stx_attributes: u64,
    stx_nlink: u32,
    stx_uid: u32,
    stx_gid: u32,
    stx_mode: u16,
    _spare0: u16,
    stx_ino: u64,
    stx_size: u64,
    stx_blocks: u64,
    stx_attributes_mask: u64,
    stx_atime: StatxTimestamp,
    stx_btime: StatxTimestamp,
    stx_ctime: StatxTimestamp,
    stx_mtime: StatxTimestamp,
    stx_rdev_major: u32,
    stx_rdev_minor: u32,
    stx_dev_major: u32,
    stx_dev_minor: u32,
    stx_mnt_id: u64,
    stx_dio_mem_align: u32,
    stx_dio_offset_align: u32,
    _spare: [u64; 12],
}

const STATX_BASIC_STATS: u32 = 0x7ff;
const STATX_RESERVED: u32 = 0x8000_0000;
const AT_STATX_SYNC_TYPE: u32 = 0x6000;

fn major(dev: u64) -> u32 {
    ((dev >> 8) & 0xfff) as u32
}

fn minor(dev: u64) -> u32 {
    ((dev & 0xff) | ((dev >> 12) & 0xfff00)) as u32
}

fn stx_time(t: abi::timespec) -> StatxTimestamp {
    StatxTimestamp {
        tv_sec: t.tv_sec,
        tv_nsec: t.tv_nsec as u32,
        _reserved: 0,
    }
}

pub fn sys_statx(f: &mut SyscallFrame) -> SysResult {
    let (dirfd, path, flags, mask, out) = (
        f.arg(0),
        f.arg(1),
        f.arg(2) as u32,
        f.arg(3) as u32,
        f.arg(4),
    );
    if mask & STATX_RESERVED != 0 || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE {
        return Err(Errno::EINVAL);
    }
    let allowed =
        abi::AT_SYMLINK_NOFOLLOW | abi::AT_EMPTY_PATH | abi::AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE;
    if flags & !allowed != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_of(lookup_at(dirfd, path, flags & !AT_STATX_SYNC_TYPE)?)?;
    let sx = Statx {
        stx_mask: STATX_BASIC_STATS,
        stx_blksize: st.st_blksize as u32,
        stx_nlink: st.st_nlink as u32,
        stx_uid: st.st_uid,
        stx_gid: st.st_gid,
        stx_mode: st.st_mode as u16,
        stx_ino: st.st_ino,
        stx_size: st.st_size as u64,
        stx_blocks: st.st_blocks as u64,
        stx_atime: stx_time(st.st_atim),
        stx_ctime: stx_time(st.st_ctim),
        stx_mtime: stx_time(st.st_mtim),
        stx_rdev_major: major(st.st_rdev),
        stx_rdev_minor: minor(st.st_rdev),
        stx_dev_major: major(st.st_dev),
        stx_dev_minor: minor(st.st_dev),
        ..Default::default()
    };
    uaccess::write(out, &sx)?;
    Ok(0)
}

// --- access ---

fn do_access(dirfd: u64, path: u64, mode: u32, flags: u32) -> SysResult {
    if mode & !(abi::R_OK | abi::W_OK | abi::X_OK) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & !(abi::AT_EACCESS | abi::AT_SYMLINK_NOFOLLOW | abi::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_of(lookup_at(dirfd, path, flags & !abi::AT_EACCESS)?)?;
    // The service is root: reading and writing are allowed; executing needs an x bit
    // somewhere (or a directory), as Linux's `generic_permission` for CAP_DAC_OVERRIDE.
    if mode & abi::X_OK != 0 && st.st_mode & abi::S_IFMT != abi::S_IFDIR && st.st_mode & 0o111 == 0
    {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub fn sys_access(f: &mut SyscallFrame) -> SysResult {
    do_access(CWD, f.arg(0), f.arg(1) as u32, 0)
}

pub fn sys_faccessat(f: &mut SyscallFrame) -> SysResult {
    do_access(f.arg(0), f.arg(1), f.arg(2) as u32, 0)
}

pub fn sys_faccessat2(f: &mut SyscallFrame) -> SysResult {
    do_access(f.arg(0), f.arg(1), f.arg(2) as u32, f.arg(3) as u32)
}

// --- sizes and syncing ---

pub fn sys_truncate(f: &mut SyscallFrame) -> SysResult {
    let path = path_arg(f.arg(0))?;
    let length = f.arg(1) as i64;
    if length < 0 {
        return Err(Errno::EINVAL);
    }
    let inode = vfs::resolve(&vfs::cwd(), &path, Follow::Yes)?;
    grow_check(&inode, length as u64)?;
    inode.truncate(length as u64)?;
    Ok(0)
}

/// Growing a regular file past RLIMIT_FSIZE: SIGXFSZ and EFBIG, as Linux's
/// `inode_newsize_ok`.
fn grow_check(inode: &InodeRef, new_size: u64) -> Result<(), Errno> {
    if inode.kind() != FileType::Regular {
        return Ok(());
    }
    let size = inode.stat()?.st_size as u64;
    if new_size > size && new_size > crate::fs::tmpfs::file_size_limit() {
        crate::fs::tmpfs::exceeded_file_size_limit();
        return Err(Errno::EFBIG);
    }
    Ok(())
}

/// The open file behind `fd` and its inode: EBADF for O_PATH files.
fn io_file(fd: u64) -> Result<(Arc<OpenFile>, Option<InodeRef>), Errno> {
    let file = fdtable::get_arg(fd)?;
    if file.flags() & abi::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let inode = vfs::inode_of(&file);
    Ok((file, inode))
}

pub fn sys_ftruncate(f: &mut SyscallFrame) -> SysResult {
    let (file, inode) = io_file(f.arg(0))?;
    let length = f.arg(1) as i64;
    if length < 0 {
        return Err(Errno::EINVAL);
    }
    let inode = inode.ok_or(Errno::EINVAL)?;
    if !file.writable() || inode.kind() != FileType::Regular {
        return Err(Errno::EINVAL);
    }
    grow_check(&inode, length as u64)?;
    inode.truncate(length as u64)?;
    Ok(0)
}

pub fn sys_fallocate(f: &mut SyscallFrame) -> SysResult {
    let (file, inode) = io_file(f.arg(0))?;
    let (mode, offset, len) = (f.arg(1) as u32, f.arg(2) as i64, f.arg(3) as i64);
    if offset < 0 || len <= 0 {
        return Err(Errno::EINVAL);
    }
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    let Some(inode) = inode else {
        return Err(if file.ops.seekable() {
            Errno::ENODEV
        } else {
            Errno::ESPIPE
        });
    };
    match inode.kind() {
        FileType::Regular => {}
        FileType::Directory => return Err(Errno::EISDIR),
        _ => return Err(Errno::ENODEV),
    }
    if offset.checked_add(len).is_none() {
        return Err(Errno::EFBIG);
    }
    if mode & abi::FALLOC_FL_KEEP_SIZE == 0 {
        grow_check(&inode, (offset + len) as u64)?;
    }
    inode.allocate(mode, offset as u64, len as u64)?;
    Ok(0)
}

/// fsync/fdatasync: memory-backed files have nothing to write back; files without a sync
/// operation (pipes, the console) are EINVAL as on Linux.
fn sync_fd(fd: u64) -> SysResult {
    let (_file, inode) = io_file(fd)?;
    inode.map(|_| 0).ok_or(Errno::EINVAL)
}

pub fn sys_fsync(f: &mut SyscallFrame) -> SysResult {
    sync_fd(f.arg(0))
}

pub fn sys_fdatasync(f: &mut SyscallFrame) -> SysResult {
    sync_fd(f.arg(0))
}

pub fn sys_sync(_f: &mut SyscallFrame) -> SysResult {
    Ok(0)
}

pub fn sys_syncfs(f: &mut SyscallFrame) -> SysResult {
    fdtable::get_arg(f.arg(0))?;
    Ok(0)
}

pub fn sys_readahead(f: &mut SyscallFrame) -> SysResult {
    let (_file, inode) = io_file(f.arg(0))?;
    match inode {
        Some(i) if i.kind() == FileType::Regular => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_fadvise64(f: &mut SyscallFrame) -> SysResult {
    let file = fdtable::get_arg(f.arg(0))?;
    if !file.ops.seekable() {
        return Err(Errno::ESPIPE);
    }
    if f.arg(3) > 5 || (f.arg(2) as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

pub fn sys_sync_file_range(f: &mut SyscallFrame) -> SysResult {
    let (offset, nbytes, flags) = (f.arg(1) as i64, f.arg(2) as i64, f.arg(3));
    if flags & !7 != 0 || offset < 0 || nbytes < 0 || offset.checked_add(nbytes).is_none() {
        return Err(Errno::EINVAL);
    }
    let (_file, inode) = io_file(f.arg(0))?;
    match inode {
        Some(i) if matches!(i.kind(), FileType::Regular | FileType::Directory) => Ok(0),
        _ => Err(Errno::ESPIPE),
    }
}

// --- modes, owners, times ---

fn chmod_inode(inode: &InodeRef, mode: u32) -> SysResult {
    inode.set_attr(&SetAttr {
        mode: Some(mode & 0o7777),
        ..Default::default()
    })?;
    Ok(0)
}

pub fn sys_chmod(f: &mut SyscallFrame) -> SysResult {
    let (inode, _) = lookup_at(CWD, f.arg(0), 0)?;
    chmod_inode(&inode.ok_or(Errno::EBADF)?, f.arg(1) as u32)
}

pub fn sys_fchmod(f: &mut SyscallFrame) -> SysResult {
    let (_file, inode) = io_file(f.arg(0))?;
    chmod_inode(&inode.ok_or(Errno::EPERM)?, f.arg(1) as u32)
}

pub fn sys_fchmodat(f: &mut SyscallFrame) -> SysResult {
    let (inode, _) = lookup_at(f.arg(0), f.arg(1), 0)?;
    chmod_inode(&inode.ok_or(Errno::EBADF)?, f.arg(2) as u32)
}

fn chown_inode(inode: &InodeRef, uid: u32, gid: u32) -> SysResult {
    let mut attr = SetAttr {
        uid: (uid != u32::MAX).then_some(uid),
        gid: (gid != u32::MAX).then_some(gid),
        ..Default::default()
    };
    // A real change of owner or group drops set-user-ID (and set-group-ID when group
    // execution is on), as Linux does for non-directories.
    let st = inode.stat()?;
    if (attr.uid.is_some() || attr.gid.is_some()) && st.st_mode & abi::S_IFMT != abi::S_IFDIR {
        let mut mode = st.st_mode & 0o7777;
        mode &= !abi::S_ISUID;
        if mode & abi::S_IXGRP != 0 {
            mode &= !abi::S_ISGID;
        }
        if mode != st.st_mode & 0o7777 {
            attr.mode = Some(mode);
        }
    }
    inode.set_attr(&attr)?;
    Ok(0)
}

pub fn sys_chown(f: &mut SyscallFrame) -> SysResult {
    let (inode, _) = lookup_at(CWD, f.arg(0), 0)?;
    chown_inode(
        &inode.ok_or(Errno::EBADF)?,
        f.arg(1) as u32,
        f.arg(2) as u32,
    )
}

pub fn sys_lchown(f: &mut SyscallFrame) -> SysResult {
    let (inode, _) = lookup_at(CWD, f.arg(0), abi::AT_SYMLINK_NOFOLLOW)?;
    chown_inode(
        &inode.ok_or(Errno::EBADF)?,
        f.arg(1) as u32,
        f.arg(2) as u32,
    )
}

pub fn sys_fchown(f: &mut SyscallFrame) -> SysResult {
    let (_file, inode) = io_file(f.arg(0))?;
    chown_inode(
        &inode.ok_or(Errno::EPERM)?,
        f.arg(1) as u32,
        f.arg(2) as u32,
    )
}

pub fn sys_fchownat(f: &mut SyscallFrame) -> SysResult {
    let flags = f.arg(4) as u32;
    if flags & !(abi::AT_SYMLINK_NOFOLLOW | abi::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let (inode, _) = lookup_at(f.arg(0), f.arg(1), flags)?;
    chown_inode(
        &inode.ok_or(Errno::EPERM)?,
        f.arg(2) as u32,
        f.arg(3) as u32,
    )
}

/// A time from utimensat's array: None for UTIME_OMIT.
fn time_arg(ts: abi::timespec) -> Result<Option<Time>, Errno> {
    match ts.tv_nsec {
        n if n == abi::UTIME_OMIT as i64 => Ok(None),
        n if n == abi::UTIME_NOW as i64 => Ok(Some(crate::fs::tmpfs::now())),
        n if (0..1_000_000_000).contains(&n) => Ok(Some(Time {
            sec: ts.tv_sec,
            nsec: n,
        })),
        _ => Err(Errno::EINVAL),
    }
}

fn set_times(inode: &InodeRef, atime: Option<Time>, mtime: Option<Time>) -> SysResult {
    if atime.is_none() && mtime.is_none() {
        return Ok(0);
    }
    inode.set_attr(&SetAttr {
        atime,
        mtime,
        ..Default::default()
    })?;
    Ok(0)
}

/// utimensat; a NULL path means `dirfd` itself (futimens).
pub fn sys_utimensat(f: &mut SyscallFrame) -> SysResult {
    let (dirfd, path, times, flags) = (f.arg(0), f.arg(1), f.arg(2), f.arg(3) as u32);
    if flags & !(abi::AT_SYMLINK_NOFOLLOW | abi::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let (atime, mtime) = if times == 0 {
        let now = crate::fs::tmpfs::now();
        (Some(now), Some(now))
    } else {
        let ts: [abi::timespec; 2] = uaccess::read(times)?;
        (time_arg(ts[0])?, time_arg(ts[1])?)
    };
    let inode = if path == 0 {
        if dirfd as u32 as i32 == AT_FDCWD {
            return Err(Errno::EFAULT);
        }
        fd_inode(dirfd)?.1.ok_or(Errno::EPERM)?
    } else {
        lookup_at(dirfd, path, flags)?.0.ok_or(Errno::EPERM)?
    };
    set_times(&inode, atime, mtime)
}

fn timeval_time(tv: abi::timeval) -> Result<Time, Errno> {
    if !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno::EINVAL);
    }
    Ok(Time {
        sec: tv.tv_sec,
        nsec: tv.tv_usec * 1000,
    })
}

fn utimes_common(dirfd: u64, path: u64, times: u64) -> SysResult {
    let (atime, mtime) = if times == 0 {
        let now = crate::fs::tmpfs::now();
        (now, now)
    } else {
        let tv: [abi::timeval; 2] = uaccess::read(times)?;
        (timeval_time(tv[0])?, timeval_time(tv[1])?)
    };
    let (inode, _) = lookup_at(dirfd, path, 0)?;
    set_times(&inode.ok_or(Errno::EPERM)?, Some(atime), Some(mtime))
}

pub fn sys_utimes(f: &mut SyscallFrame) -> SysResult {
    utimes_common(CWD, f.arg(0), f.arg(1))
}

pub fn sys_futimesat(f: &mut SyscallFrame) -> SysResult {
    utimes_common(f.arg(0), f.arg(1), f.arg(2))
}

pub fn sys_utime(f: &mut SyscallFrame) -> SysResult {
    let (atime, mtime) = if f.arg(1) == 0 {
        let now = crate::fs::tmpfs::now();
        (now, now)
    } else {
        let t: [i64; 2] = uaccess::read(f.arg(1))?;
        (Time { sec: t[0], nsec: 0 }, Time { sec: t[1], nsec: 0 })
    };
    let (inode, _) = lookup_at(CWD, f.arg(0), 0)?;
    set_times(&inode.ok_or(Errno::EPERM)?, Some(atime), Some(mtime))
}

// --- statfs, flock ---

/// Magic numbers statfs reports for files outside any mounted file system.
const PIPEFS_MAGIC: u64 = 0x5049_5045;
const ANON_INODE_FS_MAGIC: u64 = 0x0904_1934;

fn statfs_of(found: (Option<InodeRef>, Option<Arc<OpenFile>>)) -> Result<abi::statfs, Errno> {
    match found {
        (Some(inode), _) => inode.statfs(),
        (None, Some(file)) => {
            let is_fifo = file.ops.stat()?.st_mode & abi::S_IFMT == abi::S_IFIFO;
            Ok(abi::statfs {
                f_type: if is_fifo {
                    PIPEFS_MAGIC
                } else {
                    ANON_INODE_FS_MAGIC
                },
                f_bsize: 4096,
                f_frsize: 4096,
                f_namelen: 255,
                ..Default::default()
            })
        }
        (None, None) => Err(Errno::EBADF),
    }
}

pub fn sys_statfs(f: &mut SyscallFrame) -> SysResult {
    let found = lookup_at(CWD, f.arg(0), 0)?;
    uaccess::write(f.arg(1), &statfs_of(found)?)?;
    Ok(0)
}

pub fn sys_fstatfs(f: &mut SyscallFrame) -> SysResult {
    let file = fdtable::get_arg(f.arg(0))?;
    let inode = vfs::inode_of(&file);
    uaccess::write(f.arg(1), &statfs_of((inode, Some(file)))?)?;
    Ok(0)
}

pub fn sys_flock(f: &mut SyscallFrame) -> SysResult {
    let (file, _inode) = io_file(f.arg(0))?;
    crate::fs::locks::flock(&file, f.arg(1) as u32)
}
