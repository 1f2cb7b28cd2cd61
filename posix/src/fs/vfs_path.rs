//! Path resolution, the mount table and the current directory (part of `vfs`).
//!
//! A location is just an inode: every file system gives its directories a `parent`, and the
//! mount table maps a mount point (by inode identity) to the mounted root and back, so ".."
//! at a mounted root steps out to the mount point's parent. File systems tell themselves apart
//! by `st_dev` (EXDEV for links and renames across them).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use ferrite_libos::sync::IrqMutex;

use super::{FileType, InodeRef};
use crate::abi;
use crate::errno::Errno;

/// Linux's MAXSYMLINKS: symlinks followed in one resolution before ELOOP.
pub const MAX_SYMLINKS: u32 = 40;
/// PATH_MAX including the NUL; a path this long or longer is ENAMETOOLONG.
pub const PATH_MAX: usize = 4096;
pub const NAME_MAX: usize = 255;

struct Mount {
    /// The directory mounted on (kept alive here).
    point: InodeRef,
    root: InodeRef,
}

struct State {
    root: Option<InodeRef>,
    mounts: Vec<Mount>,
    cwd: Option<InodeRef>,
    /// The current directory's path when it was entered (for the paths open files report).
    cwd_path: Option<String>,
}

static STATE: IrqMutex<State> = IrqMutex::new(State {
    root: None,
    mounts: Vec::new(),
    cwd: None,
    cwd_path: None,
});

static UMASK: AtomicU32 = AtomicU32::new(0o022);
/// The root directory's identity, and a one-word filter of the inodes that are mount points or
/// mounted roots: a path walk takes the state lock only for inodes whose bit is set.
static ROOT_KEY: AtomicUsize = AtomicUsize::new(0);
static MOUNT_FILTER: AtomicU64 = AtomicU64::new(0);

fn filter_bit(k: usize) -> u64 {
    1 << ((k >> 4).wrapping_mul(0x9E37_79B9) >> 26 & 63)
}

fn maybe_mounted(inode: &InodeRef) -> bool {
    MOUNT_FILTER.load(Ordering::Acquire) & filter_bit(key(inode)) != 0
}
static NEXT_DEV: AtomicU32 = AtomicU32::new(0x10);

/// A device number for a new file-system instance (major 0, as Linux's anonymous devices):
/// every file system must give its inodes a distinct st_dev (EXDEV checks compare them).
pub fn new_dev() -> u64 {
    NEXT_DEV.fetch_add(1, Ordering::Relaxed) as u64
}

/// An inode's identity (the address of its allocation).
pub fn key(inode: &InodeRef) -> usize {
    Arc::as_ptr(inode) as *const () as usize
}

pub fn same(a: &InodeRef, b: &InodeRef) -> bool {
    key(a) == key(b)
}

/// Make `root` the root directory and the current directory (at boot).
pub fn set_root(root: InodeRef) {
    let mut s = STATE.lock();
    ROOT_KEY.store(key(&root), Ordering::Release);
    s.cwd = Some(root.clone());
    s.root = Some(root);
}

pub fn root() -> InodeRef {
    STATE.lock().root.clone().expect("vfs: no root file system")
}

pub fn cwd() -> InodeRef {
    let s = STATE.lock();
    s.cwd
        .clone()
        .or_else(|| s.root.clone())
        .expect("vfs: no root file system")
}

pub fn set_cwd(dir: InodeRef) {
    let path = path_of(&dir).ok();
    let mut s = STATE.lock();
    s.cwd = Some(dir);
    s.cwd_path = path;
}

/// The current directory's path as it was when entered.
pub fn cwd_path() -> String {
    STATE
        .lock()
        .cwd_path
        .clone()
        .unwrap_or_else(|| String::from("/"))
}

/// `path` (relative to `dir`, unless absolute) as an absolute path, for display only.
pub fn display_path(dir: &InodeRef, path: &str) -> String {
    if path.starts_with('/') {
        return String::from(path);
    }
    let base = if same(dir, &cwd()) {
        cwd_path()
    } else {
        path_of(dir).unwrap_or_default()
    };
    if base.ends_with('/') {
        alloc::format!("{}{}", base, path)
    } else {
        alloc::format!("{}/{}", base, path)
    }
}

pub fn umask() -> u32 {
    UMASK.load(Ordering::Relaxed)
}

/// Set the umask, returning the old one.
pub fn swap_umask(mask: u32) -> u32 {
    UMASK.swap(mask & 0o777, Ordering::Relaxed)
}

/// The root mounted on `dir`, if any (the latest mount wins).
fn mounted_on(dir: &InodeRef) -> Option<InodeRef> {
    if !maybe_mounted(dir) {
        return None;
    }
    let k = key(dir);
    let s = STATE.lock();
    s.mounts
        .iter()
        .rev()
        .find(|m| key(&m.point) == k)
        .map(|m| m.root.clone())
}

/// The mount point `root` is mounted on, if it is a mounted root.
fn mount_point_of(root: &InodeRef) -> Option<InodeRef> {
    if !maybe_mounted(root) {
        return None;
    }
    let k = key(root);
    let s = STATE.lock();
    s.mounts
        .iter()
        .rev()
        .find(|m| key(&m.root) == k)
        .map(|m| m.point.clone())
}

fn is_global_root(dir: &InodeRef) -> bool {
    ROOT_KEY.load(Ordering::Acquire) == key(dir)
}

/// Follow mounts from `inode` down to what is visible there.
fn cross_mounts(mut inode: InodeRef) -> InodeRef {
    while let Some(root) = mounted_on(&inode) {
        inode = root;
    }
    inode
}

/// "..": the parent, stepping out of mounted roots; the root's parent is itself.
pub fn parent_of(dir: &InodeRef) -> InodeRef {
    let mut dir = dir.clone();
    loop {
        if is_global_root(&dir) {
            return dir;
        }
        match mount_point_of(&dir) {
            Some(point) => dir = point,
            None => break,
        }
    }
    match dir.parent() {
        Some(p) => cross_mounts(p),
        None => dir,
    }
}

/// openat2's RESOLVE_* restrictions on a walk.
pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;
pub const RESOLVE_CACHED: u64 = 0x20;

/// Restrictions on a walk (openat2): RESOLVE_* flags and the directory that BENEATH and
/// IN_ROOT are relative to.
#[derive(Clone, Default)]
pub struct Scope {
    pub flags: u64,
    pub base: Option<InodeRef>,
}

pub const NO_SCOPE: Scope = Scope {
    flags: 0,
    base: None,
};

impl Scope {
    fn has(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }

    fn at_base(&self, dir: &InodeRef) -> bool {
        self.base.as_ref().is_some_and(|b| same(b, dir))
    }

    /// Where an absolute path (or symlink target) starts.
    fn root(&self) -> Result<InodeRef, Errno> {
        if self.has(RESOLVE_BENEATH) {
            return Err(Errno::EXDEV);
        }
        match (&self.base, self.has(RESOLVE_IN_ROOT)) {
            (Some(b), true) => Ok(b.clone()),
            _ => Ok(root()),
        }
    }
}

/// One step: `name` in directory `dir` (no symlink following), with "." and "..".
pub fn lookup_in(dir: &InodeRef, name: &str) -> Result<InodeRef, Errno> {
    lookup_in_scoped(&NO_SCOPE, dir, name)
}

/// `lookup_in` under openat2's restrictions.
pub fn lookup_in_scoped(scope: &Scope, dir: &InodeRef, name: &str) -> Result<InodeRef, Errno> {
    if dir.kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    match name {
        "" | "." | "/" => Ok(dir.clone()),
        ".." => {
            if scope.at_base(dir) {
                if scope.has(RESOLVE_BENEATH) {
                    return Err(Errno::EXDEV);
                }
                if scope.has(RESOLVE_IN_ROOT) {
                    return Ok(dir.clone());
                }
            }
            if scope.has(RESOLVE_NO_XDEV) && mount_point_of(dir).is_some() {
                return Err(Errno::EXDEV);
            }
            Ok(parent_of(dir))
        }
        _ => {
            let raw = dir.lookup(name)?;
            let seen = cross_mounts(raw.clone());
            if scope.has(RESOLVE_NO_XDEV) && !same(&seen, &raw) {
                return Err(Errno::EXDEV);
            }
            Ok(seen)
        }
    }
}

/// How far `resolve` goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Follow a symlink in the last component.
    Yes,
    /// Leave a symlink in the last component (lstat, AT_SYMLINK_NOFOLLOW, O_NOFOLLOW); a
    /// trailing slash still follows it, as Linux.
    No,
}

/// The directory a path's last component is in, and that component.
pub struct Parent {
    pub dir: InodeRef,
    /// The last component: "/" for a path of only slashes (the root itself); "." and ".."
    /// possible.
    pub name: String,
    /// The path ended in '/' (the last component must be a directory).
    pub trailing_slash: bool,
}

impl Parent {
    /// The last component is ".", ".." or the root: nothing to create, remove or rename.
    pub fn is_special(&self) -> bool {
        matches!(self.name.as_str(), "." | ".." | "/")
    }
}

fn check_path(path: &str) -> Result<(), Errno> {
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    Ok(())
}

/// Walk every component but the last from `start` (or the root for an absolute path),
/// following symlinks. `links` counts symlinks followed so far (ELOOP past MAX_SYMLINKS).
pub fn walk_parent(start: &InodeRef, path: &str, links: &mut u32) -> Result<Parent, Errno> {
    walk_parent_scoped(&NO_SCOPE, start, path, links)
}

/// `walk_parent` under openat2's restrictions.
pub fn walk_parent_scoped(
    scope: &Scope,
    start: &InodeRef,
    path: &str,
    links: &mut u32,
) -> Result<Parent, Errno> {
    check_path(path)?;
    let mut dir = if path.starts_with('/') {
        scope.root()?
    } else {
        start.clone()
    };
    let trailing_slash = path.ends_with('/');
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let Some((last, walk)) = components.split_last() else {
        return Ok(Parent {
            dir,
            name: String::from("/"),
            trailing_slash,
        });
    };
    for name in walk {
        let next = lookup_in_scoped(scope, &dir, name)?;
        dir = if next.kind() == FileType::Symlink {
            follow_link(scope, &dir, &next, links)?
        } else {
            next
        };
        if dir.kind() != FileType::Directory {
            return Err(Errno::ENOTDIR);
        }
    }
    if dir.kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    if last.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(Parent {
        dir,
        name: String::from(*last),
        trailing_slash,
    })
}

/// Where the symlink `link` (found in `dir`) leads, following further links.
fn follow_link(
    scope: &Scope,
    dir: &InodeRef,
    link: &InodeRef,
    links: &mut u32,
) -> Result<InodeRef, Errno> {
    if scope.has(RESOLVE_NO_SYMLINKS) {
        return Err(Errno::ELOOP);
    }
    *links += 1;
    if *links > MAX_SYMLINKS {
        return Err(Errno::ELOOP);
    }
    // /proc/self/fd/N leads to the open file itself, not to the path its text names.
    if let Some(file) = crate::fs::procfs::magic_link_target(link) {
        // (Linux refuses magic links under BENEATH and IN_ROOT too.)
        if scope.has(RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH | RESOLVE_IN_ROOT) {
            return Err(Errno::ELOOP);
        }
        return Ok(file);
    }
    let target = link.readlink()?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    resolve_counted(scope, dir, &target, Follow::Yes, links)
}

fn resolve_counted(
    scope: &Scope,
    start: &InodeRef,
    path: &str,
    follow: Follow,
    links: &mut u32,
) -> Result<InodeRef, Errno> {
    let parent = walk_parent_scoped(scope, start, path, links)?;
    let inode = lookup_in_scoped(scope, &parent.dir, &parent.name)?;
    finish(scope, &parent, inode, follow, links)
}

/// The last step of a resolution: follow a final symlink if asked (or if a '/' follows it),
/// and check that a trailing slash names a directory.
fn finish(
    scope: &Scope,
    parent: &Parent,
    inode: InodeRef,
    follow: Follow,
    links: &mut u32,
) -> Result<InodeRef, Errno> {
    let inode =
        if inode.kind() == FileType::Symlink && (follow == Follow::Yes || parent.trailing_slash) {
            follow_link(scope, &parent.dir, &inode, links)?
        } else {
            inode
        };
    if parent.trailing_slash && inode.kind() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    Ok(inode)
}

/// The inode `path` names, relative to `start` unless absolute.
pub fn resolve(start: &InodeRef, path: &str, follow: Follow) -> Result<InodeRef, Errno> {
    resolve_counted(&NO_SCOPE, start, path, follow, &mut 0)
}

/// `resolve` under openat2's restrictions.
pub fn resolve_scoped(
    scope: &Scope,
    start: &InodeRef,
    path: &str,
    follow: Follow,
) -> Result<InodeRef, Errno> {
    resolve_counted(scope, start, path, follow, &mut 0)
}

/// Resolve the last component of an already walked `parent` (for open, which creates).
pub fn resolve_last(
    scope: &Scope,
    parent: &Parent,
    follow: Follow,
    links: &mut u32,
) -> Result<InodeRef, Errno> {
    let inode = lookup_in_scoped(scope, &parent.dir, &parent.name)?;
    finish(scope, parent, inode, follow, links)
}

/// One symlink met by open's O_CREAT: the directory and name its target names (the caller
/// creates the file there if it is missing, as Linux does through a dangling link).
pub fn follow_for_create(
    scope: &Scope,
    dir: &InodeRef,
    link: &InodeRef,
    links: &mut u32,
) -> Result<Parent, Errno> {
    if scope.has(RESOLVE_NO_SYMLINKS) {
        return Err(Errno::ELOOP);
    }
    *links += 1;
    if *links > MAX_SYMLINKS {
        return Err(Errno::ELOOP);
    }
    let target = link.readlink()?;
    walk_parent_scoped(scope, dir, &target, links)
}

/// Whether `ancestor` is `dir` or one of its ancestors (rename into its own subtree).
pub fn is_ancestor(ancestor: &InodeRef, dir: &InodeRef) -> bool {
    let mut d = dir.clone();
    for _ in 0..4096 {
        if same(&d, ancestor) {
            return true;
        }
        let up = parent_of(&d);
        if same(&up, &d) {
            return false;
        }
        d = up;
    }
    false
}

/// The absolute path of directory `dir` (getcwd): ENOENT once it has been removed.
pub fn path_of(dir: &InodeRef) -> Result<String, Errno> {
    let mut names: Vec<String> = Vec::new();
    let mut d = dir.clone();
    for _ in 0..4096 {
        if is_global_root(&d) {
            break;
        }
        if d.stat()?.st_nlink == 0 {
            return Err(Errno::ENOENT);
        }
        // The name under which the parent holds `d` (a mounted root: its mount point's name).
        let mut named = d.clone();
        while let Some(point) = mount_point_of(&named) {
            named = point;
        }
        let up = parent_of(&d);
        if same(&up, &d) {
            return Err(Errno::ENOENT);
        }
        let ino = named.ino();
        let mut found = None;
        let host = up.clone();
        let mut check = |e: super::DirEntry, _next: u64| {
            if e.ino == ino
                && e.name != "."
                && e.name != ".."
                && host.lookup(&e.name).is_ok_and(|i| same(&i, &named))
            {
                found = Some(e.name);
                return false;
            }
            true
        };
        up.readdir(0, &mut check)?;
        names.push(found.ok_or(Errno::ENOENT)?);
        d = up;
    }
    if names.is_empty() {
        return Ok(String::from("/"));
    }
    let mut path = String::new();
    for n in names.iter().rev() {
        path.push('/');
        path.push_str(n);
    }
    Ok(path)
}

/// Mount the file system whose root is `root` at absolute `path` (created when missing).
pub fn mount(path: &str, root_inode: InodeRef) -> Result<(), Errno> {
    let point = mkdir_all(path, 0o755)?;
    let bits = filter_bit(key(&point)) | filter_bit(key(&root_inode));
    let mut s = STATE.lock();
    s.mounts.push(Mount {
        point,
        root: root_inode,
    });
    MOUNT_FILTER.fetch_or(bits, Ordering::Release);
    Ok(())
}

/// The inode at `path` (from the root unless relative to the current directory), following
/// symlinks.
pub fn lookup_path(path: &str) -> Result<InodeRef, Errno> {
    resolve(&cwd(), path, Follow::Yes)
}

/// `mkdir -p path`, creating directories with `mode`.
pub fn mkdir_all(path: &str, mode: u32) -> Result<InodeRef, Errno> {
    let mut dir = if path.starts_with('/') { root() } else { cwd() };
    for name in path.split('/').filter(|c| !c.is_empty()) {
        dir = match lookup_in(&dir, name) {
            Ok(d) => {
                let d = if d.kind() == FileType::Symlink {
                    follow_link(&NO_SCOPE, &dir, &d, &mut 0)?
                } else {
                    d
                };
                if d.kind() != FileType::Directory {
                    return Err(Errno::ENOTDIR);
                }
                d
            }
            Err(Errno::ENOENT) => dir.mkdir(name, mode & 0o7777)?,
            Err(e) => return Err(e),
        };
    }
    Ok(dir)
}

/// Create (or replace the contents of) the regular file `path` with `data` and `mode`; the
/// directories above it must exist.
pub fn write_file(path: &str, data: &[u8], mode: u32) -> Result<(), Errno> {
    let parent = walk_parent(&cwd(), path, &mut 0)?;
    if parent.is_special() {
        return Err(Errno::EISDIR);
    }
    let inode = match lookup_in(&parent.dir, &parent.name) {
        Ok(i) => i,
        Err(Errno::ENOENT) => parent
            .dir
            .create(&parent.name, abi::S_IFREG | (mode & 0o7777), 0)?,
        Err(e) => return Err(e),
    };
    inode.truncate(0)?;
    let ops = inode.open(&inode, abi::O_WRONLY, path)?;
    let file = crate::fs::file::OpenFile::new(ops, abi::O_WRONLY);
    let mut done = 0;
    while done < data.len() {
        let mut buf = crate::fs::file::WriteBuf::kernel(&data[done..]);
        let n = file.write(&mut buf, Some(done as u64))? as usize;
        if n == 0 {
            return Err(Errno::EIO);
        }
        done += n;
    }
    Ok(())
}

/// The contents of the file at `path`.
pub fn read_file(path: &str) -> Result<Vec<u8>, Errno> {
    let inode = lookup_path(path)?;
    let ops = inode.open(&inode, abi::O_RDONLY, path)?;
    let file = crate::fs::file::OpenFile::new(ops, abi::O_RDONLY);
    let mut out = Vec::new();
    let mut chunk = alloc::vec![0u8; 4096];
    loop {
        let mut buf = crate::fs::file::ReadBuf::kernel(&mut chunk);
        let n = file.read(&mut buf, None)? as usize;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Create the symlink `path` pointing at `target`.
pub fn symlink_at(path: &str, target: &str) -> Result<(), Errno> {
    let parent = walk_parent(&cwd(), path, &mut 0)?;
    if parent.is_special() {
        return Err(Errno::EEXIST);
    }
    parent.dir.symlink(&parent.name, target)?;
    Ok(())
}
