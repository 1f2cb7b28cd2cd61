//! File-system system calls: paths, metadata, directories, links, sizes, record locks, and
//! in-kernel copies (sendfile, copy_file_range, splice: in `files_copy.rs`).

#[path = "files_copy.rs"]
mod copy;
#[path = "files_meta.rs"]
mod meta;

pub use copy::*;
pub use meta::*;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use ferrite_libos::frame::SyscallFrame;

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::fdtable;
use crate::fs::file::OpenFile;
use crate::fs::vfs::{self, FileType, Follow, InodeRef};
use crate::uaccess;

/// AT_FDCWD as the low 32 bits of a dirfd argument.
const AT_FDCWD: i32 = -100;

/// A path argument: ENAMETOOLONG at PATH_MAX bytes or more, EFAULT if unreadable.
pub(crate) fn path_arg(addr: u64) -> Result<String, Errno> {
    let bytes = uaccess::c_bytes(addr, vfs::PATH_MAX)?;
    if bytes.len() >= vfs::PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    String::from_utf8(bytes).map_err(|_| Errno::EINVAL)
}

/// The directory a relative path starts from: the current directory for AT_FDCWD, else the
/// directory `dirfd` refers to (EBADF, ENOTDIR). Absolute paths ignore `dirfd` entirely.
pub(crate) fn start_dir(dirfd: u64, path: &str) -> Result<InodeRef, Errno> {
    let dirfd = dirfd as u32 as i32;
    if path.starts_with('/') || dirfd == AT_FDCWD {
        return Ok(vfs::cwd());
    }
    let file = fdtable::get(dirfd)?;
    let inode = vfs::inode_of(&file).ok_or(Errno::ENOTDIR)?;
    if inode.kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    Ok(inode)
}

/// The inode behind an fd (AT_EMPTY_PATH, f*-calls): AT_FDCWD is the current directory.
pub(crate) fn fd_inode(fd: u64) -> Result<(Option<Arc<OpenFile>>, Option<InodeRef>), Errno> {
    let fd = fd as u32 as i32;
    if fd == AT_FDCWD {
        return Ok((None, Some(vfs::cwd())));
    }
    let file = fdtable::get(fd)?;
    let inode = vfs::inode_of(&file);
    Ok((Some(file), inode))
}

/// Resolve `dirfd` + `path` as the *at calls do, with AT_EMPTY_PATH meaning the fd itself.
/// Returns None when the target is an fd without an inode (a pipe): the caller uses the file.
pub(crate) fn lookup_at(
    dirfd: u64,
    path_addr: u64,
    flags: u32,
) -> Result<(Option<InodeRef>, Option<Arc<OpenFile>>), Errno> {
    let path = path_arg(path_addr)?;
    if path.is_empty() {
        if flags & abi::AT_EMPTY_PATH == 0 {
            return Err(Errno::ENOENT);
        }
        let (file, inode) = fd_inode(dirfd)?;
        return Ok((inode, file));
    }
    let start = start_dir(dirfd, &path)?;
    let follow = if flags & abi::AT_SYMLINK_NOFOLLOW != 0 {
        Follow::No
    } else {
        Follow::Yes
    };
    Ok((Some(vfs::resolve(&start, &path, follow)?), None))
}

// --- open ---

/// open's flags that Linux accepts (unknown bits are ignored by open/openat, EINVAL in openat2).
const VALID_OPEN_FLAGS: u32 = abi::O_ACCMODE
    | abi::O_CREAT
    | abi::O_EXCL
    | abi::O_NOCTTY
    | abi::O_TRUNC
    | abi::O_APPEND
    | abi::O_NONBLOCK
    | abi::O_DSYNC
    | abi::O_ASYNC
    | abi::O_DIRECT
    | abi::O_LARGEFILE
    | abi::O_DIRECTORY
    | abi::O_NOFOLLOW
    | abi::O_NOATIME
    | abi::O_CLOEXEC
    | abi::O_SYNC
    | abi::O_PATH
    | abi::O_TMPFILE;

fn do_open(dirfd: u64, path: &str, flags: u32, mode: u32) -> SysResult {
    do_open_scoped(dirfd, path, flags, mode, 0)
}

/// open with openat2's RESOLVE_* flags (`resolve`, already checked).
fn do_open_scoped(dirfd: u64, path: &str, flags: u32, mode: u32, resolve: u64) -> SysResult {
    let mut flags = flags;
    // O_CREAT with O_DIRECTORY (not O_TMPFILE, which includes the latter) is EINVAL, as
    // Linux since 6.4.
    if flags & abi::O_CREAT != 0 && flags & abi::O_TMPFILE == abi::O_DIRECTORY {
        return Err(Errno::EINVAL);
    }
    if flags & abi::O_PATH != 0 {
        // O_PATH keeps only these.
        flags &= abi::O_PATH | abi::O_DIRECTORY | abi::O_NOFOLLOW | abi::O_CLOEXEC;
    }
    let start = start_dir(dirfd, path)?;
    if flags & abi::O_TMPFILE == abi::O_TMPFILE {
        return open_tmpfile(&start, path, flags, mode);
    }
    // BENEATH and IN_ROOT are relative to the dirfd even for an absolute path.
    let base = if resolve & (vfs::RESOLVE_BENEATH | vfs::RESOLVE_IN_ROOT) != 0 {
        start_dir(dirfd, ".")?
    } else {
        start.clone()
    };
    let scope = vfs::Scope {
        flags: resolve,
        base: Some(base),
    };
    let mut links = 0;
    let parent = vfs::walk_parent_scoped(&scope, &start, path, &mut links)?;
    let follow = if flags & abi::O_NOFOLLOW != 0 {
        Follow::No
    } else {
        Follow::Yes
    };
    let special_name = parent.is_special();
    let inode = if flags & abi::O_CREAT != 0 {
        if special_name || parent.trailing_slash {
            return Err(Errno::EISDIR);
        }
        match vfs::lookup_in_scoped(&scope, &parent.dir, &parent.name) {
            Ok(existing) => {
                if flags & abi::O_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                if existing.kind() == FileType::Symlink {
                    if follow == Follow::No {
                        return Err(Errno::ELOOP);
                    }
                    create_through_link(&scope, &parent.dir, &existing, mode, &mut links)?
                } else {
                    existing
                }
            }
            Err(Errno::ENOENT) => {
                let perm = mode & 0o7777 & !vfs::umask();
                match parent.dir.create(&parent.name, abi::S_IFREG | perm, 0) {
                    Ok(i) => i,
                    // Lost a race with another creator: open theirs (unless O_EXCL).
                    Err(Errno::EEXIST) if flags & abi::O_EXCL == 0 => {
                        vfs::lookup_in(&parent.dir, &parent.name)?
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    } else {
        vfs::resolve_last(&scope, &parent, follow, &mut links)?
    };
    let kind = inode.kind();
    if kind == FileType::Symlink && flags & abi::O_PATH == 0 {
        return Err(Errno::ELOOP); // O_NOFOLLOW on a symlink
    }
    if flags & abi::O_DIRECTORY != 0 && kind != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    let display = vfs::display_path(&start, path);
    let ops = if flags & abi::O_PATH != 0 {
        Arc::new(vfs::PathFile {
            inode: inode.clone(),
            path: display,
        }) as Arc<dyn crate::fs::file::FileOps>
    } else {
        let accmode = flags & abi::O_ACCMODE;
        // (O_TRUNC asks for write access, as Linux's `build_open_flags`.)
        if kind == FileType::Directory
            && (accmode != abi::O_RDONLY || flags & (abi::O_CREAT | abi::O_TRUNC) != 0)
        {
            return Err(Errno::EISDIR);
        }
        if accmode == abi::O_ACCMODE {
            return Err(Errno::EINVAL);
        }
        if kind == FileType::Regular && flags & abi::O_TRUNC != 0 {
            inode.truncate(0)?;
        }
        inode.open(&inode, flags, &display)?
    };
    let file = OpenFile::new(ops, flags);
    Ok(fdtable::install(file, flags & abi::O_CLOEXEC != 0)? as i64)
}

/// O_TMPFILE: an unnamed regular file in the directory `path` names.
fn open_tmpfile(start: &InodeRef, path: &str, flags: u32, mode: u32) -> SysResult {
    if !matches!(flags & abi::O_ACCMODE, abi::O_WRONLY | abi::O_RDWR) || flags & abi::O_CREAT != 0 {
        return Err(Errno::EINVAL);
    }
    let dir = vfs::resolve(start, path, Follow::Yes)?;
    if dir.kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    let perm = mode & 0o7777 & !vfs::umask();
    let linkable = flags & abi::O_EXCL == 0;
    let inode = dir.create_unnamed(abi::S_IFREG | perm, linkable)?;
    let display = alloc::format!("{}/#{}", vfs::display_path(start, path), inode.ino());
    let ops = inode.open(&inode, flags, &display)?;
    let file = OpenFile::new(ops, flags & !abi::O_TMPFILE);
    Ok(fdtable::install(file, flags & abi::O_CLOEXEC != 0)? as i64)
}

/// O_CREAT through a symlink: open its target, creating it if missing (as Linux, which
/// creates the file a dangling link points at).
fn create_through_link(
    scope: &vfs::Scope,
    dir: &InodeRef,
    link: &InodeRef,
    mode: u32,
    links: &mut u32,
) -> Result<InodeRef, Errno> {
    let mut dir = dir.clone();
    let mut link = link.clone();
    loop {
        // /proc/self/fd/N: the open file itself.
        if let Some(file) = crate::fs::procfs::magic_link_target(&link) {
            if scope.flags
                & (vfs::RESOLVE_NO_MAGICLINKS | vfs::RESOLVE_BENEATH | vfs::RESOLVE_IN_ROOT)
                != 0
            {
                return Err(Errno::ELOOP);
            }
            return Ok(file);
        }
        let parent = vfs::follow_for_create(scope, &dir, &link, links)?;
        match vfs::lookup_in_scoped(scope, &parent.dir, &parent.name) {
            Ok(i) if i.kind() == FileType::Symlink => {
                dir = parent.dir;
                link = i;
            }
            Ok(i) => {
                if parent.trailing_slash && i.kind() != FileType::Directory {
                    return Err(Errno::ENOTDIR);
                }
                return Ok(i);
            }
            Err(Errno::ENOENT) => {
                if parent.trailing_slash || parent.is_special() {
                    return Err(Errno::EISDIR);
                }
                let perm = mode & 0o7777 & !vfs::umask();
                return parent.dir.create(&parent.name, abi::S_IFREG | perm, 0);
            }
            Err(e) => return Err(e),
        }
    }
}

pub fn sys_open(f: &mut SyscallFrame) -> SysResult {
    let path = path_arg(f.arg(0))?;
    do_open(
        AT_FDCWD as u32 as u64,
        &path,
        f.arg(1) as u32,
        f.arg(2) as u32,
    )
}

pub fn sys_openat(f: &mut SyscallFrame) -> SysResult {
    let path = path_arg(f.arg(1))?;
    do_open(f.arg(0), &path, f.arg(2) as u32, f.arg(3) as u32)
}

pub fn sys_creat(f: &mut SyscallFrame) -> SysResult {
    let path = path_arg(f.arg(0))?;
    let flags = abi::O_CREAT | abi::O_WRONLY | abi::O_TRUNC;
    do_open(AT_FDCWD as u32 as u64, &path, flags, f.arg(1) as u32)
}

/// `struct open_how` (openat2).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

pub fn sys_openat2(f: &mut SyscallFrame) -> SysResult {
    let (how_addr, size) = (f.arg(2), f.arg(3));
    const BASE: u64 = core::mem::size_of::<OpenHow>() as u64;
    if size < BASE {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let how: OpenHow = uaccess::read(how_addr)?;
    // A larger structure from a newer caller: the extra bytes must be zero.
    if size > BASE {
        let mut rest = alloc::vec![0u8; (size - BASE) as usize];
        uaccess::read_exact(how_addr + BASE, &mut rest)?;
        if rest.iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
    }
    if how.flags > u32::MAX as u64 || how.flags as u32 & !VALID_OPEN_FLAGS != 0 {
        return Err(Errno::EINVAL);
    }
    let flags = how.flags as u32;
    let creating = flags & abi::O_CREAT != 0 || flags & abi::O_TMPFILE == abi::O_TMPFILE;
    if how.mode & !0o7777 != 0 || (!creating && how.mode != 0) {
        return Err(Errno::EINVAL);
    }
    let resolve = how.resolve;
    let known = vfs::RESOLVE_NO_XDEV
        | vfs::RESOLVE_NO_MAGICLINKS
        | vfs::RESOLVE_NO_SYMLINKS
        | vfs::RESOLVE_BENEATH
        | vfs::RESOLVE_IN_ROOT
        | vfs::RESOLVE_CACHED;
    let both_roots = vfs::RESOLVE_BENEATH | vfs::RESOLVE_IN_ROOT;
    if resolve & !known != 0 || resolve & both_roots == both_roots {
        return Err(Errno::EINVAL);
    }
    // RESOLVE_CACHED: everything is in memory, but Linux refuses what may need I/O.
    if resolve & vfs::RESOLVE_CACHED != 0
        && (flags & (abi::O_CREAT | abi::O_TRUNC) != 0 || flags & abi::O_TMPFILE == abi::O_TMPFILE)
    {
        return Err(Errno::EAGAIN);
    }
    let path = path_arg(f.arg(1))?;
    do_open_scoped(f.arg(0), &path, flags, how.mode as u32, resolve)
}

// --- directories ---

/// `struct linux_dirent64` records (or the old `linux_dirent` for getdents) from an open
/// directory, at its position.
fn read_dir(fd: u64, addr: u64, count: u64, old: bool) -> SysResult {
    let file = fdtable::get_arg(fd)?;
    if file.flags() & abi::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let dir = file
        .ops
        .as_any()
        .downcast_ref::<vfs::DirFile>()
        .ok_or(Errno::ENOTDIR)?;
    let count = count.min(1 << 20) as usize;
    let mut out: Vec<u8> = Vec::new();
    let mut pos = file.position.lock();
    let mut next = *pos;
    let mut too_small = false;
    dir.inode.readdir(*pos, &mut |e, after| {
        let name = e.name.as_bytes();
        let reclen = if old {
            (18 + name.len() + 2).next_multiple_of(8)
        } else {
            (19 + name.len() + 1).next_multiple_of(8)
        };
        if out.len() + reclen > count {
            too_small = out.is_empty();
            return false;
        }
        let start = out.len();
        out.resize(start + reclen, 0);
        let rec = &mut out[start..];
        rec[0..8].copy_from_slice(&e.ino.to_ne_bytes());
        rec[8..16].copy_from_slice(&(after as i64).to_ne_bytes());
        rec[16..18].copy_from_slice(&(reclen as u16).to_ne_bytes());
        if old {
            rec[18..18 + name.len()].copy_from_slice(name);
            rec[reclen - 1] = e.kind.dirent_type();
        } else {
            rec[18] = e.kind.dirent_type();
            rec[19..19 + name.len()].copy_from_slice(name);
        }
        next = after;
        true
    })?;
    if too_small {
        return Err(Errno::EINVAL);
    }
    uaccess::write_exact(addr, &out)?;
    *pos = next;
    Ok(out.len() as i64)
}

pub fn sys_getdents64(f: &mut SyscallFrame) -> SysResult {
    read_dir(f.arg(0), f.arg(1), f.arg(2), false)
}

pub fn sys_getdents(f: &mut SyscallFrame) -> SysResult {
    read_dir(f.arg(0), f.arg(1), f.arg(2), true)
}

fn do_mkdir(dirfd: u64, path_addr: u64, mode: u32) -> SysResult {
    let path = path_arg(path_addr)?;
    let start = start_dir(dirfd, &path)?;
    let parent = vfs::walk_parent(&start, &path, &mut 0)?;
    if parent.is_special() {
        return Err(Errno::EEXIST);
    }
    if vfs::lookup_in(&parent.dir, &parent.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    parent
        .dir
        .mkdir(&parent.name, mode & 0o1777 & !vfs::umask())?;
    Ok(0)
}

pub fn sys_mkdir(f: &mut SyscallFrame) -> SysResult {
    do_mkdir(AT_FDCWD as u32 as u64, f.arg(0), f.arg(1) as u32)
}

pub fn sys_mkdirat(f: &mut SyscallFrame) -> SysResult {
    do_mkdir(f.arg(0), f.arg(1), f.arg(2) as u32)
}

/// Whether `inode` has a file system mounted on it, or is a mounted root (EBUSY to remove).
fn busy(dir: &InodeRef, name: &str) -> bool {
    match dir.lookup(name) {
        Ok(raw) => vfs::lookup_in(dir, name).is_ok_and(|seen| !vfs::same(&seen, &raw)),
        Err(_) => false,
    }
}

fn do_rmdir(dirfd: u64, path: &str) -> SysResult {
    let start = start_dir(dirfd, path)?;
    let parent = vfs::walk_parent(&start, path, &mut 0)?;
    match parent.name.as_str() {
        "." => return Err(Errno::EINVAL),
        ".." => return Err(Errno::ENOTEMPTY),
        "/" => return Err(Errno::EBUSY),
        _ => {}
    }
    let target = parent.dir.lookup(&parent.name)?;
    if target.kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    if busy(&parent.dir, &parent.name) || vfs::same(&target, &vfs::root()) {
        return Err(Errno::EBUSY);
    }
    parent.dir.rmdir(&parent.name)?;
    Ok(0)
}

fn do_unlink(dirfd: u64, path: &str) -> SysResult {
    let start = start_dir(dirfd, path)?;
    let parent = vfs::walk_parent(&start, path, &mut 0)?;
    if parent.is_special() {
        return Err(Errno::EISDIR);
    }
    let target = parent.dir.lookup(&parent.name)?;
    if target.kind() == FileType::Directory {
        return Err(Errno::EISDIR);
    }
    if parent.trailing_slash {
        return Err(Errno::ENOTDIR);
    }
    parent.dir.unlink(&parent.name)?;
    Ok(0)
}

pub fn sys_rmdir(f: &mut SyscallFrame) -> SysResult {
    let path = path_arg(f.arg(0))?;
    do_rmdir(AT_FDCWD as u32 as u64, &path)
}

pub fn sys_unlink(f: &mut SyscallFrame) -> SysResult {
    let path = path_arg(f.arg(0))?;
    do_unlink(AT_FDCWD as u32 as u64, &path)
}

pub fn sys_unlinkat(f: &mut SyscallFrame) -> SysResult {
    let flags = f.arg(2) as u32;
    if flags & !abi::AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(f.arg(1))?;
    if flags & abi::AT_REMOVEDIR != 0 {
        do_rmdir(f.arg(0), &path)
    } else {
        do_unlink(f.arg(0), &path)
    }
}

fn do_rename(
    old_dirfd: u64,
    old_addr: u64,
    new_dirfd: u64,
    new_addr: u64,
    flags: u32,
) -> SysResult {
    if flags & !(vfs::RENAME_NOREPLACE | vfs::RENAME_EXCHANGE) != 0
        || flags == vfs::RENAME_NOREPLACE | vfs::RENAME_EXCHANGE
    {
        return Err(Errno::EINVAL);
    }
    let old_path = path_arg(old_addr)?;
    let new_path = path_arg(new_addr)?;
    let old_start = start_dir(old_dirfd, &old_path)?;
    let new_start = start_dir(new_dirfd, &new_path)?;
    let old = vfs::walk_parent(&old_start, &old_path, &mut 0)?;
    let new = vfs::walk_parent(&new_start, &new_path, &mut 0)?;
    if old.is_special() {
        return Err(Errno::EBUSY);
    }
    if new.is_special() {
        return Err(if flags & vfs::RENAME_NOREPLACE != 0 {
            Errno::EEXIST
        } else {
            Errno::EBUSY
        });
    }
    let source = old.dir.lookup(&old.name)?;
    let target = new.dir.lookup(&new.name).ok();
    if old.dir.stat()?.st_dev != new.dir.stat()?.st_dev {
        return Err(Errno::EXDEV);
    }
    let source_dir = source.kind() == FileType::Directory;
    if !source_dir
        && (old.trailing_slash || (new.trailing_slash && flags & vfs::RENAME_EXCHANGE == 0))
    {
        return Err(Errno::ENOTDIR);
    }
    if let Some(t) = &target {
        if flags & vfs::RENAME_NOREPLACE != 0 {
            return Err(Errno::EEXIST);
        }
        if flags & vfs::RENAME_EXCHANGE != 0
            && t.kind() == FileType::Directory
            && vfs::is_ancestor(t, &old.dir)
        {
            return Err(Errno::EINVAL);
        }
    } else if flags & vfs::RENAME_EXCHANGE != 0 {
        return Err(Errno::ENOENT);
    }
    if busy(&old.dir, &old.name) || busy(&new.dir, &new.name) {
        return Err(Errno::EBUSY);
    }
    // A directory cannot move below itself.
    if source_dir && vfs::is_ancestor(&source, &new.dir) {
        return Err(Errno::EINVAL);
    }
    // Renaming onto an ancestor of the source: it is not empty.
    if let Some(t) = &target
        && !vfs::same(t, &source)
        && t.kind() == FileType::Directory
        && vfs::is_ancestor(t, &old.dir)
    {
        return Err(Errno::ENOTEMPTY);
    }
    old.dir.rename(&old.name, &new.dir, &new.name, flags)?;
    Ok(0)
}

pub fn sys_rename(f: &mut SyscallFrame) -> SysResult {
    let cwd = AT_FDCWD as u32 as u64;
    do_rename(cwd, f.arg(0), cwd, f.arg(1), 0)
}

pub fn sys_renameat(f: &mut SyscallFrame) -> SysResult {
    do_rename(f.arg(0), f.arg(1), f.arg(2), f.arg(3), 0)
}

pub fn sys_renameat2(f: &mut SyscallFrame) -> SysResult {
    do_rename(f.arg(0), f.arg(1), f.arg(2), f.arg(3), f.arg(4) as u32)
}

fn do_link(old_dirfd: u64, old_addr: u64, new_dirfd: u64, new_addr: u64, flags: u32) -> SysResult {
    if flags & !(abi::AT_SYMLINK_FOLLOW | abi::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let follow_flags = if flags & abi::AT_SYMLINK_FOLLOW != 0 {
        flags & abi::AT_EMPTY_PATH
    } else {
        (flags & abi::AT_EMPTY_PATH) | abi::AT_SYMLINK_NOFOLLOW
    };
    let (source, _) = lookup_at(old_dirfd, old_addr, follow_flags)?;
    let source = source.ok_or(Errno::EXDEV)?;
    let new_path = path_arg(new_addr)?;
    let start = start_dir(new_dirfd, &new_path)?;
    let new = vfs::walk_parent(&start, &new_path, &mut 0)?;
    if new.is_special() || vfs::lookup_in(&new.dir, &new.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    if source.kind() == FileType::Directory {
        return Err(Errno::EPERM);
    }
    if new.trailing_slash {
        return Err(Errno::ENOENT);
    }
    if source.stat()?.st_dev != new.dir.stat()?.st_dev {
        return Err(Errno::EXDEV);
    }
    new.dir.link(&new.name, &source)?;
    Ok(0)
}

pub fn sys_link(f: &mut SyscallFrame) -> SysResult {
    let cwd = AT_FDCWD as u32 as u64;
    do_link(cwd, f.arg(0), cwd, f.arg(1), 0)
}

pub fn sys_linkat(f: &mut SyscallFrame) -> SysResult {
    do_link(f.arg(0), f.arg(1), f.arg(2), f.arg(3), f.arg(4) as u32)
}

fn do_symlink(target_addr: u64, new_dirfd: u64, new_addr: u64) -> SysResult {
    let target = path_arg(target_addr)?;
    let new_path = path_arg(new_addr)?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let start = start_dir(new_dirfd, &new_path)?;
    let new = vfs::walk_parent(&start, &new_path, &mut 0)?;
    if new.is_special() || vfs::lookup_in(&new.dir, &new.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    if new.trailing_slash {
        return Err(Errno::ENOENT);
    }
    new.dir.symlink(&new.name, &target)?;
    Ok(0)
}

pub fn sys_symlink(f: &mut SyscallFrame) -> SysResult {
    do_symlink(f.arg(0), AT_FDCWD as u32 as u64, f.arg(1))
}

pub fn sys_symlinkat(f: &mut SyscallFrame) -> SysResult {
    do_symlink(f.arg(0), f.arg(1), f.arg(2))
}

fn do_readlink(dirfd: u64, path_addr: u64, buf: u64, size: u64) -> SysResult {
    if (size as i32) <= 0 {
        return Err(Errno::EINVAL);
    }
    let (inode, _) = lookup_at(
        dirfd,
        path_addr,
        abi::AT_SYMLINK_NOFOLLOW | abi::AT_EMPTY_PATH,
    )?;
    let inode = inode.ok_or(Errno::EINVAL)?;
    let target = inode.readlink()?;
    let n = target.len().min(size as u32 as usize);
    uaccess::write_exact(buf, &target.as_bytes()[..n])?;
    Ok(n as i64)
}

pub fn sys_readlink(f: &mut SyscallFrame) -> SysResult {
    let path = path_arg(f.arg(0))?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    do_readlink(AT_FDCWD as u32 as u64, f.arg(0), f.arg(1), f.arg(2))
}

pub fn sys_readlinkat(f: &mut SyscallFrame) -> SysResult {
    do_readlink(f.arg(0), f.arg(1), f.arg(2), f.arg(3))
}

pub fn sys_mknod(f: &mut SyscallFrame) -> SysResult {
    do_mknod(AT_FDCWD as u32 as u64, f.arg(0), f.arg(1) as u32, f.arg(2))
}

pub fn sys_mknodat(f: &mut SyscallFrame) -> SysResult {
    do_mknod(f.arg(0), f.arg(1), f.arg(2) as u32, f.arg(3))
}

fn do_mknod(dirfd: u64, path_addr: u64, mode: u32, dev: u64) -> SysResult {
    let kind_bits = match mode & abi::S_IFMT {
        0 => abi::S_IFREG,
        abi::S_IFDIR => return Err(Errno::EPERM),
        t @ (abi::S_IFREG | abi::S_IFCHR | abi::S_IFBLK | abi::S_IFIFO | abi::S_IFSOCK) => t,
        _ => return Err(Errno::EINVAL),
    };
    let path = path_arg(path_addr)?;
    let start = start_dir(dirfd, &path)?;
    let parent = vfs::walk_parent(&start, &path, &mut 0)?;
    if parent.is_special() || vfs::lookup_in(&parent.dir, &parent.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    let perm = mode & 0o7777 & !vfs::umask();
    let rdev = if kind_bits == abi::S_IFCHR || kind_bits == abi::S_IFBLK {
        dev
    } else {
        0
    };
    parent.dir.create(&parent.name, kind_bits | perm, rdev)?;
    Ok(0)
}

// --- the current directory ---

pub fn sys_chdir(f: &mut SyscallFrame) -> SysResult {
    let path = path_arg(f.arg(0))?;
    let dir = vfs::resolve(&vfs::cwd(), &path, Follow::Yes)?;
    if dir.kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    vfs::set_cwd(dir);
    Ok(0)
}

pub fn sys_fchdir(f: &mut SyscallFrame) -> SysResult {
    let file = fdtable::get_arg(f.arg(0))?;
    let dir = vfs::inode_of(&file).ok_or(Errno::ENOTDIR)?;
    if dir.kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    vfs::set_cwd(dir);
    Ok(0)
}

pub fn sys_getcwd(f: &mut SyscallFrame) -> SysResult {
    let path = vfs::path_of(&vfs::cwd())?;
    let len = path.len() + 1;
    if (f.arg(1) as usize) < len {
        return Err(Errno::ERANGE);
    }
    let mut bytes = path.into_bytes();
    bytes.push(0);
    uaccess::write_exact(f.arg(0), &bytes)?;
    Ok(len as i64)
}

pub fn sys_umask(f: &mut SyscallFrame) -> SysResult {
    Ok(vfs::swap_umask(f.arg(0) as u32) as i64)
}
