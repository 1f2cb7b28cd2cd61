//! The virtual file system: the `Inode` trait every file system implements, the mount table,
//! path resolution and the current directory.
//!
//! # Writing a file system
//! A file system is a tree of `Arc<dyn Inode>` (`InodeRef`). The VFS never caches names: each
//! path walk asks the directories (`lookup`, `parent`). An inode answers for itself:
//! - `stat` fills a complete `struct stat` (st_dev, st_ino, st_mode with the S_IF type bits,
//!   st_nlink, sizes, times); `kind` and `ino` are the cheap parts of it.
//! - Directories implement `lookup` (never asked for "." or ".."), `parent` (`None` only for
//!   the root of the file system: the VFS then steps out of the mount) and `readdir`, which
//!   emits every entry *including* "." and ".." from a position (0 = the start) with the
//!   position after each entry; positions must stay valid while entries come and go
//!   (`readdir_list` does it for a fixed list). Mutating operations (`create`, `mkdir`,
//!   `symlink`, `link`, `unlink`, `rmdir`, `rename`) default to EPERM, as Linux's procfs and
//!   sysfs answer; names reaching them are single components (no '/', not "." or "..", at most
//!   255 bytes) and the VFS has already checked that the name is free where that matters.
//! - `open` returns the `FileOps` for an open file description. The default suits
//!   directories (the VFS's `DirFile`, which serves getdents64 through `readdir` and lseek to
//!   rewind) and refuses anything else with ENXIO; regular files and devices override it. The
//!   VFS deals with O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW, O_PATH and O_TRUNC (which calls
//!   `truncate(0)` for regular files only) before calling `open`.
//! - `readlink` (symlinks), `truncate` (regular files), `allocate` (fallocate), `set_attr`
//!   (chmod, chown, utimensat), `create_unnamed` (O_TMPFILE) and `statfs` have Linux-like
//!   defaults (EINVAL, EINVAL/EISDIR, EOPNOTSUPP, EPERM, EOPNOTSUPP, a zero `statfs`).
//! - Every file system instance needs its own st_dev (`new_dev`): links and renames across
//!   file systems are EXDEV by that test.
//!
//! Mount a file system with `mount(path, root_inode)` (the directory is created in the root
//! tmpfs when missing). `lookup_path`, `mkdir_all`, `write_file`, `read_file` and `symlink_at`
//! serve kernel code (the root file system unpacker, /etc defaults).
//!
//! # Locks
//! No lock is held across a path walk: each step takes and drops the directory's own lock.
//! File data is locked per inode (tmpfs: a `SleepLock`), so I/O on different files never
//! contends. The mount table is an `IrqMutex` held only to look an entry up, and only for
//! inodes a one-word filter says may be mount points. Symlinks are followed by their text,
//! except procfs's magic links (/proc/self/fd/N: `procfs::magic_link_target`).

use alloc::string::String;
use alloc::sync::Arc;
use core::any::Any;

use crate::abi;
use crate::errno::Errno;
use crate::fs::file::FileOps;

#[path = "vfs_path.rs"]
mod path;
pub use path::*;
#[cfg(test)]
#[path = "vfs_tests.rs"]
mod tests;

pub type InodeRef = Arc<dyn Inode>;

/// What an inode is (the S_IF* type of its mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Regular,
    Directory,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

impl FileType {
    /// The S_IF* bits.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileType::Regular => abi::S_IFREG,
            FileType::Directory => abi::S_IFDIR,
            FileType::Symlink => abi::S_IFLNK,
            FileType::CharDevice => abi::S_IFCHR,
            FileType::BlockDevice => abi::S_IFBLK,
            FileType::Fifo => abi::S_IFIFO,
            FileType::Socket => abi::S_IFSOCK,
        }
    }

    /// From a mode's S_IF* bits (None for an invalid type).
    pub fn from_mode(mode: u32) -> Option<FileType> {
        Some(match mode & abi::S_IFMT {
            abi::S_IFREG => FileType::Regular,
            abi::S_IFDIR => FileType::Directory,
            abi::S_IFLNK => FileType::Symlink,
            abi::S_IFCHR => FileType::CharDevice,
            abi::S_IFBLK => FileType::BlockDevice,
            abi::S_IFIFO => FileType::Fifo,
            abi::S_IFSOCK => FileType::Socket,
            _ => return None,
        })
    }

    /// The DT_* value getdents64 reports.
    pub fn dirent_type(self) -> u8 {
        (match self {
            FileType::Regular => abi::DT_REG,
            FileType::Directory => abi::DT_DIR,
            FileType::Symlink => abi::DT_LNK,
            FileType::CharDevice => abi::DT_CHR,
            FileType::BlockDevice => abi::DT_BLK,
            FileType::Fifo => abi::DT_FIFO,
            FileType::Socket => abi::DT_SOCK,
        }) as u8
    }
}

/// One directory entry as `readdir` emits it.
#[derive(Clone, Debug)]
pub struct DirEntry {
    pub name: String,
    pub ino: u64,
    pub kind: FileType,
}

/// A point in time (CLOCK_REALTIME), as `struct timespec`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Time {
    pub sec: i64,
    pub nsec: i64,
}

/// What chmod/chown/utimensat change; `None` leaves a field alone. The VFS has resolved
/// UTIME_NOW to the current time and dropped UTIME_OMIT. The inode sets ctime itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetAttr {
    /// Permission bits only (07777).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub atime: Option<Time>,
    pub mtime: Option<Time>,
}

/// `rename` flags (RENAME_NOREPLACE and RENAME_EXCHANGE; the VFS rejects the others).
pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;

/// An inode: a file, directory, symlink or device node in some file system.
pub trait Inode: Send + Sync + Any {
    /// The whole `struct stat`.
    fn stat(&self) -> Result<abi::stat, Errno>;

    fn kind(&self) -> FileType;

    /// st_ino.
    fn ino(&self) -> u64;

    /// statfs for a path on this file system.
    fn statfs(&self) -> Result<abi::statfs, Errno> {
        Ok(abi::statfs {
            f_bsize: 4096,
            f_frsize: 4096,
            f_namelen: 255,
            ..Default::default()
        })
    }

    // --- Directories ---

    /// The child called `name` (ENOENT if none). Never "." or "..".
    fn lookup(&self, _name: &str) -> Result<InodeRef, Errno> {
        Err(Errno::ENOTDIR)
    }

    /// The directory containing this one; `None` for the root of its file system.
    fn parent(&self) -> Option<InodeRef> {
        None
    }

    /// Entries from `pos` on, "." and ".." included: `sink(entry, next_pos)` for each until it
    /// returns false (the buffer is full: the entry was not taken).
    fn readdir(
        &self,
        _pos: u64,
        _sink: &mut dyn FnMut(DirEntry, u64) -> bool,
    ) -> Result<(), Errno> {
        Err(Errno::ENOTDIR)
    }

    /// A new regular file, FIFO, socket or device node: `mode` has the S_IF type and the
    /// permission bits (umask already applied), `rdev` the device number for devices.
    fn create(&self, _name: &str, _mode: u32, _rdev: u64) -> Result<InodeRef, Errno> {
        Err(Errno::EPERM)
    }

    /// O_TMPFILE: a regular file with no name on this directory's file system (`mode` as for
    /// `create`); `linkable` says whether linkat may give it one later (not with O_EXCL).
    fn create_unnamed(&self, _mode: u32, _linkable: bool) -> Result<InodeRef, Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    fn mkdir(&self, _name: &str, _mode: u32) -> Result<InodeRef, Errno> {
        Err(Errno::EPERM)
    }

    fn symlink(&self, _name: &str, _target: &str) -> Result<InodeRef, Errno> {
        Err(Errno::EPERM)
    }

    /// A new name for `target` (not a directory; on the same file system).
    fn link(&self, _name: &str, _target: &InodeRef) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// Remove a non-directory entry (EISDIR for a directory, as unlink(2)).
    fn unlink(&self, _name: &str) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// Remove an empty directory (ENOTDIR for others, ENOTEMPTY if not empty).
    fn rmdir(&self, _name: &str) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    /// Move `old_name` here to `new_dir`/`new_name` (`new_dir` is on the same file system;
    /// the VFS has checked a directory is not moved into itself). `flags`: RENAME_NOREPLACE,
    /// RENAME_EXCHANGE. Replacing follows rename(2): a directory only over an empty directory
    /// (ENOTEMPTY, EISDIR, ENOTDIR otherwise).
    fn rename(
        &self,
        _old_name: &str,
        _new_dir: &InodeRef,
        _new_name: &str,
        _flags: u32,
    ) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    // --- Everything ---

    /// A symlink's target.
    fn readlink(&self) -> Result<String, Errno> {
        Err(Errno::EINVAL)
    }

    /// An open file description's operations for this inode (`this` is the `Arc` of `self`,
    /// `path` the absolute path it was opened by, for /proc/self/fd). `flags` are open's.
    fn open(&self, this: &InodeRef, flags: u32, path: &str) -> Result<Arc<dyn FileOps>, Errno> {
        let _ = flags;
        if self.kind() == FileType::Directory {
            Ok(Arc::new(DirFile::new(this.clone(), path)))
        } else {
            Err(Errno::ENXIO)
        }
    }

    /// Set the size (truncate, ftruncate, O_TRUNC): regular files.
    fn truncate(&self, _size: u64) -> Result<(), Errno> {
        if self.kind() == FileType::Directory {
            Err(Errno::EISDIR)
        } else {
            Err(Errno::EINVAL)
        }
    }

    /// fallocate (mode 0 or FALLOC_FL_KEEP_SIZE): regular files.
    fn allocate(&self, _mode: u32, _offset: u64, _len: u64) -> Result<(), Errno> {
        Err(Errno::EOPNOTSUPP)
    }

    fn set_attr(&self, _attr: &SetAttr) -> Result<(), Errno> {
        Err(Errno::EPERM)
    }

    fn as_any(&self) -> &dyn Any;
}

/// `readdir` over a fixed list (a synthetic directory): `pos` is the index in `entries`, which
/// should start with "." and "..".
pub fn readdir_list(
    entries: &[DirEntry],
    pos: u64,
    sink: &mut dyn FnMut(DirEntry, u64) -> bool,
) -> Result<(), Errno> {
    for (i, e) in entries.iter().enumerate().skip(pos as usize) {
        if !sink(e.clone(), i as u64 + 1) {
            break;
        }
    }
    Ok(())
}

/// An open directory: getdents64 reads it through `Inode::readdir`.
pub struct DirFile {
    pub inode: InodeRef,
    pub path: String,
}

impl DirFile {
    pub fn new(inode: InodeRef, path: &str) -> DirFile {
        DirFile {
            inode,
            path: String::from(path),
        }
    }
}

impl FileOps for DirFile {
    fn read(
        &self,
        _file: &crate::fs::file::OpenFile,
        _buf: &mut crate::fs::file::ReadBuf,
        _offset: Option<u64>,
    ) -> crate::errno::SysResult {
        Err(Errno::EISDIR)
    }

    fn write(
        &self,
        _file: &crate::fs::file::OpenFile,
        _buf: &mut crate::fs::file::WriteBuf,
        _offset: Option<u64>,
        _end: &mut Option<u64>,
    ) -> crate::errno::SysResult {
        Err(Errno::EISDIR)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn seek(
        &self,
        _file: &crate::fs::file::OpenFile,
        pos: u64,
        offset: i64,
        whence: u32,
    ) -> crate::errno::SysResult {
        // Directory positions are readdir cookies: SEEK_SET to one (0 rewinds) or SEEK_CUR 0.
        let new = match whence {
            abi::SEEK_SET => offset,
            abi::SEEK_CUR => (pos as i64).checked_add(offset).ok_or(Errno::EINVAL)?,
            _ => return Err(Errno::EINVAL),
        };
        if new < 0 {
            return Err(Errno::EINVAL);
        }
        Ok(new)
    }

    fn stat(&self) -> Result<abi::stat, Errno> {
        self.inode.stat()
    }

    fn describe(&self) -> String {
        self.path.clone()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An O_PATH file: a location only (fstat, fchdir, *at calls, fd-based metadata calls).
pub struct PathFile {
    pub inode: InodeRef,
    pub path: String,
}

impl FileOps for PathFile {
    fn stat(&self) -> Result<abi::stat, Errno> {
        self.inode.stat()
    }

    fn describe(&self) -> String {
        self.path.clone()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The inode an open file refers to, for fd-based calls (fchdir, fchmod, ftruncate, dirfd).
pub fn inode_of(file: &crate::fs::file::OpenFile) -> Option<InodeRef> {
    let any = file.ops.as_any();
    if let Some(d) = any.downcast_ref::<DirFile>() {
        return Some(d.inode.clone());
    }
    if let Some(p) = any.downcast_ref::<PathFile>() {
        return Some(p.inode.clone());
    }
    crate::fs::tmpfs::inode_of_file(any)
}
