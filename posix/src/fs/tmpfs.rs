//! tmpfs: the root file system, held in memory.
//!
//! Every inode has its own locks: a directory's entries are behind an `IrqMutex` held only to
//! look up, insert or remove (never while touching the service's memory); a regular file's
//! pages are behind a `SleepLock`, held while copying to or from the service, so I/O on
//! different files never contends. Renames and rmdir (which hold two directories) are
//! serialised by one sleeping lock, as Linux's `s_vfs_rename_mutex`.
//!
//! File data is kept per 4 KiB page in a map: holes take no memory and read as zeros. A page
//! is allocated only while the frame allocator keeps a reserve for the kernel and the file
//! system stays within half the RAM (Linux's default tmpfs size); otherwise ENOSPC.

#[path = "tmpfs_file.rs"]
mod file;
#[path = "tmpfs_page.rs"]
mod page;
#[cfg(test)]
#[path = "tmpfs_tests.rs"]
mod tests;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use core::any::Any;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ferrite_libos::sync::IrqMutex;

use crate::abi;
use crate::errno::Errno;
use crate::fs::file::FileOps;
use crate::fs::vfs::{self, DirEntry, FileType, InodeRef, SetAttr, Time};
use crate::fs::wait::SleepLock;

use file::FileBody;
pub use file::{TmpFile, exceeded_file_size_limit, file_size_limit, inode_of_file};

/// statfs's f_type for tmpfs.
pub const TMPFS_MAGIC: u64 = 0x0102_1994;
/// Directory sizes as Linux's tmpfs reports them: 20 bytes an entry ("." and ".." included).
const BOGO_DIRENT_SIZE: i64 = 20;
pub use page::PAGE;

/// One mounted tmpfs: its device number and how many pages its files hold.
pub struct FsInfo {
    dev: u64,
    pages: AtomicU64,
    inodes: AtomicU64,
}

static NEXT_INO: AtomicU64 = AtomicU64::new(1);
/// Renames and rmdir: the only operations holding two directories.
static RENAME_LOCK: SleepLock<()> = SleepLock::new(());

pub fn now() -> Time {
    #[cfg(target_os = "none")]
    let ns = ferrite_libos::time::realtime_ns();
    #[cfg(not(target_os = "none"))]
    let ns = 1_700_000_000_000_000_000u64;
    Time {
        sec: (ns / 1_000_000_000) as i64,
        nsec: (ns % 1_000_000_000) as i64,
    }
}

struct Meta {
    /// Permission bits (07777).
    perm: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    rdev: u64,
    atime: Time,
    mtime: Time,
    ctime: Time,
}

struct Dir {
    by_name: BTreeMap<String, u64>,
    /// Entries by readdir position (creation order); positions 0 and 1 are "." and "..".
    by_pos: BTreeMap<u64, (String, Arc<TmpInode>)>,
    next_pos: u64,
}

enum Body {
    Dir(IrqMutex<Dir>),
    File(FileBody),
    Symlink(String),
    /// A FIFO's pipe, shared by its openers.
    Fifo(Arc<crate::fs::pipe::Pipe>),
    /// Sockets and device nodes: only a name and metadata here.
    Node,
}

pub struct TmpInode {
    me: Weak<TmpInode>,
    fs: Arc<FsInfo>,
    ino: u64,
    kind: FileType,
    meta: IrqMutex<Meta>,
    /// A directory's parent (none for the root of the file system). Changed only under
    /// RENAME_LOCK, and kept after rmdir: ".." from a removed current directory still works.
    parent: IrqMutex<Weak<TmpInode>>,
    /// An O_TMPFILE file that linkat may still name (Linux's I_LINKABLE).
    linkable: AtomicBool,
    body: Body,
}

fn ts(t: Time) -> abi::timespec {
    abi::timespec {
        tv_sec: t.sec,
        tv_nsec: t.nsec,
    }
}

/// A new, empty tmpfs; its root directory has `mode` (permission bits).
pub fn new_fs(mode: u32) -> InodeRef {
    let fs = Arc::new(FsInfo {
        dev: vfs::new_dev(),
        pages: AtomicU64::new(0),
        inodes: AtomicU64::new(0),
    });
    TmpInode::new(&fs, FileType::Directory, mode, 0, Weak::new(), None)
}

/// The root file system: a tmpfs with /tmp (mode 1777), the current directory at its root.
pub fn init_root() {
    let root = new_fs(0o755);
    vfs::set_root(root.clone());
    if let Ok(tmp) = root.mkdir("tmp", 0o1777) {
        let _ = tmp.set_attr(&SetAttr {
            mode: Some(0o1777),
            ..Default::default()
        });
    }
}

impl TmpInode {
    fn new(
        fs: &Arc<FsInfo>,
        kind: FileType,
        perm: u32,
        rdev: u64,
        parent: Weak<TmpInode>,
        target: Option<String>,
    ) -> Arc<TmpInode> {
        let t = now();
        let body = match kind {
            FileType::Directory => Body::Dir(IrqMutex::new(Dir {
                by_name: BTreeMap::new(),
                by_pos: BTreeMap::new(),
                next_pos: 2,
            })),
            FileType::Regular => Body::File(FileBody::new()),
            FileType::Symlink => Body::Symlink(target.unwrap_or_default()),
            FileType::Fifo => Body::Fifo(crate::fs::pipe::Pipe::new()),
            _ => Body::Node,
        };
        fs.inodes.fetch_add(1, Ordering::Relaxed);
        Arc::new_cyclic(|me| TmpInode {
            me: me.clone(),
            fs: fs.clone(),
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
            kind,
            meta: IrqMutex::new(Meta {
                perm: perm & 0o7777,
                uid: 0,
                gid: 0,
                nlink: if kind == FileType::Directory { 2 } else { 1 },
                rdev,
                atime: t,
                mtime: t,
                ctime: t,
            }),
            parent: IrqMutex::new(parent),
            linkable: AtomicBool::new(false),
            body,
        })
    }

    fn this(&self) -> Arc<TmpInode> {
        self.me
            .upgrade()
            .expect("tmpfs: inode in use without an Arc")
    }

    fn dir(&self) -> Result<&IrqMutex<Dir>, Errno> {
        match &self.body {
            Body::Dir(d) => Ok(d),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn file_body(&self) -> Option<&FileBody> {
        match &self.body {
            Body::File(f) => Some(f),
            _ => None,
        }
    }

    fn touch_modified(&self) {
        let t = now();
        let mut m = self.meta.lock();
        m.mtime = t;
        m.ctime = t;
    }

    fn touch_changed(&self) {
        self.meta.lock().ctime = now();
    }

    /// Linux's relatime: atime moves on a read only if it is older than mtime or ctime, or a
    /// day old.
    fn touch_accessed(&self) {
        let t = now();
        let mut m = self.meta.lock();
        if m.atime.sec <= m.mtime.sec
            || m.atime.sec <= m.ctime.sec
            || t.sec - m.atime.sec >= 24 * 3600
        {
            m.atime = t;
        }
    }

    fn add_links(&self, delta: i64) {
        let mut m = self.meta.lock();
        m.nlink = (m.nlink as i64 + delta).max(0) as u64;
        m.ctime = now();
    }

    fn nlink(&self) -> u64 {
        self.meta.lock().nlink
    }

    fn is_empty_dir(&self) -> bool {
        match &self.body {
            Body::Dir(d) => d.lock().by_name.is_empty(),
            _ => false,
        }
    }

    /// Insert a new entry into this (locked) directory.
    fn insert(dir: &mut Dir, name: &str, child: Arc<TmpInode>) {
        let pos = dir.next_pos;
        dir.next_pos += 1;
        dir.by_name.insert(String::from(name), pos);
        dir.by_pos.insert(pos, (String::from(name), child));
    }

    fn remove(dir: &mut Dir, name: &str) -> Option<Arc<TmpInode>> {
        let pos = dir.by_name.remove(name)?;
        dir.by_pos.remove(&pos).map(|(_, c)| c)
    }

    fn get(dir: &Dir, name: &str) -> Option<Arc<TmpInode>> {
        let pos = dir.by_name.get(name)?;
        dir.by_pos.get(pos).map(|(_, c)| c.clone())
    }

    /// Create a child (any kind) under this directory's lock.
    fn create_child(
        &self,
        name: &str,
        kind: FileType,
        perm: u32,
        rdev: u64,
        target: Option<String>,
    ) -> Result<InodeRef, Errno> {
        let dir_lock = self.dir()?;
        let child = {
            let mut dir = dir_lock.lock();
            if self.nlink() == 0 {
                return Err(Errno::ENOENT); // removed directory
            }
            if dir.by_name.contains_key(name) {
                return Err(Errno::EEXIST);
            }
            let child = TmpInode::new(&self.fs, kind, perm, rdev, self.me.clone(), target);
            Self::insert(&mut dir, name, child.clone());
            child
        };
        if kind == FileType::Directory {
            self.add_links(1);
        }
        self.touch_modified();
        Ok(child)
    }
}

impl Drop for TmpInode {
    fn drop(&mut self) {
        self.fs.inodes.fetch_sub(1, Ordering::Relaxed);
        if let Body::File(f) = &self.body {
            f.release(&self.fs);
        }
    }
}

fn downcast(inode: &InodeRef) -> Option<Arc<TmpInode>> {
    inode.as_any().downcast_ref::<TmpInode>().map(|t| t.this())
}

impl vfs::Inode for TmpInode {
    fn stat(&self) -> Result<abi::stat, Errno> {
        // (Lock order: a directory's entries, then any inode's metadata; never the reverse.)
        let (size, blocks) = match &self.body {
            Body::Dir(d) => {
                let n = d.lock().by_name.len() as i64;
                (BOGO_DIRENT_SIZE * (n + 2), 0)
            }
            Body::File(f) => (f.size() as i64, f.pages() as i64 * 8),
            Body::Symlink(t) => (t.len() as i64, 0),
            Body::Fifo(_) | Body::Node => (0, 0),
        };
        let m = self.meta.lock();
        Ok(abi::stat {
            st_dev: self.fs.dev,
            st_ino: self.ino,
            st_nlink: m.nlink,
            st_mode: self.kind.mode_bits() | m.perm,
            st_uid: m.uid,
            st_gid: m.gid,
            st_rdev: m.rdev,
            st_size: size,
            st_blksize: PAGE as i64,
            st_blocks: blocks,
            st_atim: ts(m.atime),
            st_mtim: ts(m.mtime),
            st_ctim: ts(m.ctime),
            ..Default::default()
        })
    }

    fn kind(&self) -> FileType {
        self.kind
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn statfs(&self) -> Result<abi::statfs, Errno> {
        let (total, free) = file::memory_pages();
        let limit = file::fs_page_limit(total);
        let used = self.fs.pages.load(Ordering::Relaxed);
        let avail = limit.saturating_sub(used).min(free);
        let files = total / 2;
        Ok(abi::statfs {
            f_type: TMPFS_MAGIC,
            f_bsize: PAGE as u64,
            f_blocks: limit,
            f_bfree: avail,
            f_bavail: avail,
            f_files: files,
            f_ffree: files.saturating_sub(self.fs.inodes.load(Ordering::Relaxed)),
            f_namelen: 255,
            f_frsize: PAGE as u64,
            f_flags: 0x1020, // ST_VALID | ST_RELATIME
            ..Default::default()
        })
    }

    fn lookup(&self, name: &str) -> Result<InodeRef, Errno> {
        let dir = self.dir()?.lock();
        match Self::get(&dir, name) {
            Some(c) => Ok(c),
            None => Err(Errno::ENOENT),
        }
    }

    fn parent(&self) -> Option<InodeRef> {
        self.dir().ok()?;
        self.parent.lock().upgrade().map(|p| p as InodeRef)
    }

    fn readdir(&self, pos: u64, sink: &mut dyn FnMut(DirEntry, u64) -> bool) -> Result<(), Errno> {
        let dir_lock = self.dir()?;
        let mut pos = pos;
        if pos == 0 {
            let e = DirEntry {
                name: String::from("."),
                ino: self.ino,
                kind: FileType::Directory,
            };
            if !sink(e, 1) {
                return Ok(());
            }
            pos = 1;
        }
        if pos == 1 {
            let parent_ino = self.parent.lock().upgrade().map_or(self.ino, |p| p.ino);
            let e = DirEntry {
                name: String::from(".."),
                ino: parent_ino,
                kind: FileType::Directory,
            };
            if !sink(e, 2) {
                return Ok(());
            }
            pos = 2;
        }
        // One entry per lock hold: the sink copies to the service's memory.
        loop {
            let next = {
                let dir = dir_lock.lock();
                dir.by_pos
                    .range(pos..)
                    .next()
                    .map(|(p, (n, c))| (*p, n.clone(), c.ino, c.kind))
            };
            let Some((p, name, ino, kind)) = next else {
                return Ok(());
            };
            if !sink(DirEntry { name, ino, kind }, p + 1) {
                return Ok(());
            }
            pos = p + 1;
        }
    }

    fn create(&self, name: &str, mode: u32, rdev: u64) -> Result<InodeRef, Errno> {
        let kind = FileType::from_mode(mode).ok_or(Errno::EINVAL)?;
        if kind == FileType::Directory || kind == FileType::Symlink {
            return Err(Errno::EINVAL);
        }
        self.create_child(name, kind, mode, rdev, None)
    }

    fn create_unnamed(&self, mode: u32, linkable: bool) -> Result<InodeRef, Errno> {
        self.dir()?;
        if self.nlink() == 0 {
            return Err(Errno::ENOENT);
        }
        let file = TmpInode::new(&self.fs, FileType::Regular, mode, 0, Weak::new(), None);
        file.meta.lock().nlink = 0;
        file.linkable.store(linkable, Ordering::Relaxed);
        Ok(file)
    }

    fn mkdir(&self, name: &str, mode: u32) -> Result<InodeRef, Errno> {
        self.create_child(name, FileType::Directory, mode, 0, None)
    }

    fn symlink(&self, name: &str, target: &str) -> Result<InodeRef, Errno> {
        self.create_child(
            name,
            FileType::Symlink,
            0o777,
            0,
            Some(String::from(target)),
        )
    }

    fn link(&self, name: &str, target: &InodeRef) -> Result<(), Errno> {
        let target = downcast(target).ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&target.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        if target.kind == FileType::Directory {
            return Err(Errno::EPERM);
        }
        {
            let mut dir = self.dir()?.lock();
            if self.nlink() == 0 {
                return Err(Errno::ENOENT);
            }
            if dir.by_name.contains_key(name) {
                return Err(Errno::EEXIST);
            }
            // A file already unlinked everywhere cannot get a name back (Linux: ENOENT),
            // except an O_TMPFILE file opened without O_EXCL, once.
            if target.nlink() == 0 && !target.linkable.swap(false, Ordering::Relaxed) {
                return Err(Errno::ENOENT);
            }
            Self::insert(&mut dir, name, target.clone());
        }
        target.add_links(1);
        self.touch_modified();
        Ok(())
    }

    fn unlink(&self, name: &str) -> Result<(), Errno> {
        let child = {
            let mut dir = self.dir()?.lock();
            let child = Self::get(&dir, name).ok_or(Errno::ENOENT)?;
            if child.kind == FileType::Directory {
                return Err(Errno::EISDIR);
            }
            Self::remove(&mut dir, name);
            child
        };
        child.add_links(-1);
        self.touch_modified();
        Ok(())
    }

    fn rmdir(&self, name: &str) -> Result<(), Errno> {
        let _serial = RENAME_LOCK.lock();
        let child = {
            let mut dir = self.dir()?.lock();
            let child = Self::get(&dir, name).ok_or(Errno::ENOENT)?;
            let child_dir = child.dir()?;
            let cd = child_dir.lock();
            if !cd.by_name.is_empty() {
                return Err(Errno::ENOTEMPTY);
            }
            drop(cd);
            Self::remove(&mut dir, name);
            child
        };
        child.meta.lock().nlink = 0;
        child.touch_changed();
        self.add_links(-1);
        self.touch_modified();
        Ok(())
    }

    fn rename(
        &self,
        old_name: &str,
        new_dir: &InodeRef,
        new_name: &str,
        flags: u32,
    ) -> Result<(), Errno> {
        let target_dir = downcast(new_dir).ok_or(Errno::EXDEV)?;
        if !Arc::ptr_eq(&target_dir.fs, &self.fs) {
            return Err(Errno::EXDEV);
        }
        let _serial = RENAME_LOCK.lock();
        rename_locked(&self.this(), old_name, &target_dir, new_name, flags)
    }

    fn readlink(&self) -> Result<String, Errno> {
        match &self.body {
            Body::Symlink(t) => {
                self.touch_accessed();
                Ok(t.clone())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn open(&self, this: &InodeRef, flags: u32, path: &str) -> Result<Arc<dyn FileOps>, Errno> {
        match self.kind {
            FileType::Directory => Ok(Arc::new(vfs::DirFile::new(this.clone(), path))),
            FileType::Regular => Ok(Arc::new(TmpFile::new(self.this(), path))),
            FileType::Fifo => match &self.body {
                Body::Fifo(pipe) => {
                    crate::fs::pipe::open_fifo_node(pipe, flags, this.clone(), path)
                }
                _ => Err(Errno::ENXIO),
            },
            FileType::CharDevice => crate::fs::devfs::open_node(self.meta.lock().rdev),
            _ => Err(Errno::ENXIO),
        }
    }

    fn truncate(&self, size: u64) -> Result<(), Errno> {
        match &self.body {
            Body::File(f) => {
                f.truncate(&self.fs, size)?;
                self.touch_modified();
                Ok(())
            }
            Body::Dir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    fn allocate(&self, mode: u32, offset: u64, len: u64) -> Result<(), Errno> {
        match &self.body {
            Body::File(f) => {
                f.allocate(&self.fs, mode, offset, len)?;
                self.touch_changed();
                Ok(())
            }
            Body::Dir(_) => Err(Errno::EISDIR),
            _ => Err(Errno::ENODEV),
        }
    }

    fn set_attr(&self, attr: &SetAttr) -> Result<(), Errno> {
        let mut m = self.meta.lock();
        if let Some(mode) = attr.mode {
            m.perm = mode & 0o7777;
        }
        if let Some(uid) = attr.uid {
            m.uid = uid;
        }
        if let Some(gid) = attr.gid {
            m.gid = gid;
        }
        if let Some(t) = attr.atime {
            m.atime = t;
        }
        if let Some(t) = attr.mtime {
            m.mtime = t;
        }
        m.ctime = now();
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// rename(2) between two directories of one tmpfs, with RENAME_LOCK held.
fn rename_locked(
    from: &Arc<TmpInode>,
    old_name: &str,
    to: &Arc<TmpInode>,
    new_name: &str,
    flags: u32,
) -> Result<(), Errno> {
    // Checked again here, where parents cannot change: a directory must not land inside
    // itself (the caller's check raced with other renames), nor lock its own entries twice.
    {
        let src = TmpInode::get(&from.dir()?.lock(), old_name).ok_or(Errno::ENOENT)?;
        if src.kind == FileType::Directory && is_ancestor(&src, to) {
            return Err(Errno::EINVAL);
        }
    }
    let existing = TmpInode::get(&to.dir()?.lock(), new_name);
    if let Some(victim) = &existing
        && victim.kind == FileType::Directory
        && is_ancestor(victim, from)
    {
        return Err(if flags & vfs::RENAME_EXCHANGE != 0 {
            Errno::EINVAL
        } else {
            Errno::ENOTEMPTY
        });
    }
    let same_dir = Arc::ptr_eq(from, to);
    // Lock both directories (address order; RENAME_LOCK makes this the only two-lock path
    // besides rmdir, which also holds it).
    let from_lock = from.dir()?;
    let to_lock = to.dir()?;
    let (mut a, mut b);
    let (src_dir, dst_dir): (&mut Dir, Option<&mut Dir>) = if same_dir {
        a = from_lock.lock();
        (&mut a, None)
    } else if Arc::as_ptr(from) < Arc::as_ptr(to) {
        a = from_lock.lock();
        b = to_lock.lock();
        (&mut a, Some(&mut b))
    } else {
        b = to_lock.lock();
        a = from_lock.lock();
        (&mut a, Some(&mut b))
    };
    // Looked up again under the locks: unlink, link and create may have changed the names
    // meanwhile (they cannot make a directory an ancestor of another: only renames can).
    let src = TmpInode::get(src_dir, old_name).ok_or(Errno::ENOENT)?;
    let existing = match &dst_dir {
        Some(d) => TmpInode::get(d, new_name),
        None => TmpInode::get(src_dir, new_name),
    };
    if to.nlink() == 0 {
        return Err(Errno::ENOENT);
    }
    if let Some(victim) = &existing
        && Arc::ptr_eq(victim, &src)
    {
        return Ok(()); // two names of one file: nothing to do
    }
    let src_is_dir = src.kind == FileType::Directory;
    if flags & vfs::RENAME_EXCHANGE != 0 {
        let other = existing.ok_or(Errno::ENOENT)?;
        let other_is_dir = other.kind == FileType::Directory;
        // Swap the entries in place (positions kept).
        let swap = |dir: &mut Dir, name: &str, new: Arc<TmpInode>| {
            if let Some(pos) = dir.by_name.get(name).copied() {
                dir.by_pos.insert(pos, (String::from(name), new));
            }
        };
        match dst_dir {
            Some(d) => {
                swap(src_dir, old_name, other.clone());
                swap(d, new_name, src.clone());
            }
            None => {
                swap(src_dir, old_name, other.clone());
                swap(src_dir, new_name, src.clone());
            }
        }
        if !same_dir {
            *src.parent.lock() = Arc::downgrade(to);
            *other.parent.lock() = Arc::downgrade(from);
            if src_is_dir != other_is_dir {
                let delta = if src_is_dir { 1 } else { -1 };
                to.add_links(delta);
                from.add_links(-delta);
            }
        }
        src.touch_changed();
        other.touch_changed();
        from.touch_modified();
        to.touch_modified();
        return Ok(());
    }
    if let Some(victim) = &existing {
        if flags & vfs::RENAME_NOREPLACE != 0 {
            return Err(Errno::EEXIST);
        }
        let victim_is_dir = victim.kind == FileType::Directory;
        if src_is_dir && !victim_is_dir {
            return Err(Errno::ENOTDIR);
        }
        if !src_is_dir && victim_is_dir {
            return Err(Errno::EISDIR);
        }
        if victim_is_dir && !victim.is_empty_dir() {
            return Err(Errno::ENOTEMPTY);
        }
    }
    // Take the source out, the victim out, and put the source in.
    TmpInode::remove(src_dir, old_name);
    let target = match dst_dir {
        Some(d) => d,
        None => src_dir,
    };
    let victim = TmpInode::remove(target, new_name);
    TmpInode::insert(target, new_name, src.clone());
    if let Some(v) = victim {
        if v.kind == FileType::Directory {
            v.meta.lock().nlink = 0;
            v.touch_changed();
            to.add_links(-1);
        } else {
            v.add_links(-1);
        }
    }
    if src_is_dir && !same_dir {
        *src.parent.lock() = Arc::downgrade(to);
        from.add_links(-1);
        to.add_links(1);
    }
    src.touch_changed();
    from.touch_modified();
    if !same_dir {
        to.touch_modified();
    }
    Ok(())
}

/// Whether `ancestor` is `dir` or above it (parents are stable under RENAME_LOCK).
fn is_ancestor(ancestor: &Arc<TmpInode>, dir: &Arc<TmpInode>) -> bool {
    let mut d = dir.clone();
    loop {
        if Arc::ptr_eq(&d, ancestor) {
            return true;
        }
        let up = d.parent.lock().upgrade();
        match up {
            Some(p) => d = p,
            None => return false,
        }
    }
}
