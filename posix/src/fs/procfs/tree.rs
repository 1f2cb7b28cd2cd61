//! Synthetic file systems (/proc, /sys, /dev): a fixed tree of directories, generated files,
//! symlinks, device nodes, and directories whose entries are computed on each lookup
//! (/proc/self/fd). Files are generated when opened: the open file holds the snapshot, so
//! reads see one consistent text and seeking within it works.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::devfs::Device;
use crate::fs::file::{FileOps, OpenFile, ReadBuf, WriteBuf};
use crate::fs::vfs::{self, DirEntry, FileType, Inode, InodeRef};

/// A directory whose entries are computed and named by numbers (fds, thread ids): `list` gives
/// them in increasing order with their kinds, `lookup` the node for a name (`fs` makes the nodes
/// of a directory it returns). The number gives the entry's inode number and its readdir
/// position, so a listing resumed after entries come and go neither repeats nor skips the
/// others (as Linux's /proc/self/fd).
pub trait DynamicDir: Send + Sync {
    fn list(&self) -> Vec<(u64, FileType)>;
    fn lookup(&self, number: u64, fs: &Arc<Fs>) -> Option<Body>;
}

/// The number a dynamic directory's entry is named by: canonical decimal only ("01" is not 1).
fn entry_number(name: &str) -> Option<u64> {
    if name.is_empty() || name.len() > 1 && name.starts_with('0') {
        return None;
    }
    name.parse().ok()
}

pub type Generate = fn() -> Vec<u8>;
/// Makes a lazy directory's entries (with `Node::dir`, `Node::file`…) the first time they are
/// needed: most services never look at /proc, so boot does not build it.
pub type Build = fn(&Arc<Fs>) -> Vec<(String, Arc<Node>)>;
/// A generated file that depends on something fixed when its node is made (a thread id).
pub type GenerateWith = Arc<dyn Fn() -> Vec<u8> + Send + Sync>;
pub type LinkTarget = fn() -> String;

/// What a node is.
pub enum Body {
    Dir(Vec<(String, Arc<Node>)>),
    /// A fixed directory whose entries are built on first use.
    Lazy(Build, spin::Once<Vec<(String, Arc<Node>)>>),
    Dynamic(Box<dyn DynamicDir>),
    File(Generate),
    FileWith(GenerateWith),
    /// A thread's name (/proc/self/task/TID/comm): read as a file, and writing renames it.
    Comm(u32),
    Link(LinkTarget),
    /// A symlink whose target is fixed when the node is made (entries of dynamic directories).
    FixedLink(String),
    Device(Device),
    /// An entry standing for an open file (/proc/self/fd/N): a symlink whose target text is
    /// the file's description, and which opens the same file (Linux's "magic" links).
    Fd(i32),
}

/// One file-system instance: its device number, statfs type and inode numbers.
pub struct Fs {
    pub dev: u64,
    magic: u64,
    next_ino: AtomicU64,
}

/// statfs f_type values (Linux's `include/uapi/linux/magic.h`).
pub const PROC_SUPER_MAGIC: u64 = 0x9fa0;
pub const SYSFS_MAGIC: u64 = 0x6265_6572;
pub const TMPFS_MAGIC: u64 = 0x0102_1994;

impl Fs {
    /// A new instance whose statfs reports `magic` as its type.
    pub fn new(magic: u64) -> Arc<Fs> {
        Arc::new(Fs {
            dev: vfs::new_dev(),
            magic,
            next_ino: AtomicU64::new(1),
        })
    }

    fn ino(&self) -> u64 {
        self.next_ino.fetch_add(1, Ordering::Relaxed)
    }
}

pub struct Node {
    fs: Arc<Fs>,
    ino: u64,
    perm: u32,
    body: Body,
    parent: spin::Once<Weak<Node>>,
    me: Weak<Node>,
}

impl Node {
    /// A node with permission bits `perm`; a directory's children get it as their parent.
    pub fn new(fs: &Arc<Fs>, perm: u32, body: Body) -> Arc<Node> {
        let node = Arc::new_cyclic(|me| Node {
            fs: fs.clone(),
            ino: fs.ino(),
            perm,
            body,
            parent: spin::Once::new(),
            me: me.clone(),
        });
        if let Body::Dir(children) = &node.body {
            for (_, child) in children {
                child.parent.call_once(|| Arc::downgrade(&node));
            }
        }
        node
    }

    pub fn dir(fs: &Arc<Fs>, children: Vec<(&str, Arc<Node>)>) -> Arc<Node> {
        let children = children
            .into_iter()
            .map(|(name, node)| (String::from(name), node))
            .collect();
        Node::new(fs, 0o555, Body::Dir(children))
    }

    pub fn file(fs: &Arc<Fs>, generate: Generate) -> Arc<Node> {
        Node::new(fs, 0o444, Body::File(generate))
    }

    pub fn link(fs: &Arc<Fs>, target: LinkTarget) -> Arc<Node> {
        Node::new(fs, 0o777, Body::Link(target))
    }

    /// A directory whose entries `build` makes on first use.
    pub fn lazy_dir(fs: &Arc<Fs>, perm: u32, build: Build) -> Arc<Node> {
        Node::new(fs, perm, Body::Lazy(build, spin::Once::new()))
    }

    /// A fixed directory's entries (building a lazy one's now).
    fn children(&self) -> Option<&Vec<(String, Arc<Node>)>> {
        match &self.body {
            Body::Dir(c) => Some(c),
            Body::Lazy(build, built) => Some(built.call_once(|| {
                let children = build(&self.fs);
                for (_, child) in &children {
                    child.parent.call_once(|| self.me.clone());
                }
                children
            })),
            _ => None,
        }
    }

    fn this(&self) -> Arc<Node> {
        self.me.upgrade().expect("node alive while used")
    }

    /// A child of a dynamic directory, made for one lookup.
    /// The inode number of a dynamic directory's entry `number`.
    fn dynamic_ino(&self, number: u64) -> u64 {
        (self.ino << 32) | (number + 1)
    }

    fn child(&self, number: u64, body: Body) -> Arc<Node> {
        let perm = match &body {
            Body::Dir(_) | Body::Lazy(..) | Body::Dynamic(_) => 0o555,
            Body::File(_) | Body::FileWith(_) => 0o444,
            Body::Comm(_) => 0o644,
            Body::Fd(fd) => fd_link_perm(*fd),
            _ => 0o777,
        };
        let ino = self.dynamic_ino(number);
        let node = Arc::new_cyclic(|me| Node {
            fs: self.fs.clone(),
            ino,
            perm,
            body,
            parent: spin::Once::new(),
            me: me.clone(),
        });
        if let Body::Dir(children) = &node.body {
            for (_, child) in children {
                child.parent.call_once(|| Arc::downgrade(&node));
            }
        }
        node.parent.call_once(|| self.me.clone());
        node
    }

    fn file_type(&self) -> FileType {
        match &self.body {
            Body::Dir(_) | Body::Lazy(..) | Body::Dynamic(_) => FileType::Directory,
            Body::File(_) | Body::FileWith(_) | Body::Comm(_) => FileType::Regular,
            Body::Link(_) | Body::FixedLink(_) | Body::Fd(_) => FileType::Symlink,
            Body::Device(_) => FileType::CharDevice,
        }
    }

    fn snapshot(&self, data: Vec<u8>, comm_of: Option<u32>, path: &str) -> Arc<dyn FileOps> {
        Arc::new(Snapshot {
            data,
            comm_of,
            node: self.this(),
            path: String::from(path),
        })
    }

    /// The open file behind a /proc/self/fd entry.
    pub fn fd_target(&self) -> Option<Arc<OpenFile>> {
        match self.body {
            Body::Fd(fd) => crate::fs::fdtable::get(fd).ok(),
            _ => None,
        }
    }
}

/// An fd link's permissions, as Linux's `proc_fd_link` inodes: r-x for reading, -wx for
/// writing (lrwx------ for a read-write file).
fn fd_link_perm(fd: i32) -> u32 {
    match crate::fs::fdtable::get(fd) {
        Ok(f) => (if f.readable() { 0o500 } else { 0 }) | (if f.writable() { 0o300 } else { 0 }),
        Err(_) => 0o700,
    }
}

fn kind_of(body: &Body) -> FileType {
    match body {
        Body::Dir(_) | Body::Lazy(..) | Body::Dynamic(_) => FileType::Directory,
        Body::File(_) | Body::FileWith(_) | Body::Comm(_) => FileType::Regular,
        Body::Device(_) => FileType::CharDevice,
        _ => FileType::Symlink,
    }
}

impl Inode for Node {
    fn stat(&self) -> Result<abi::stat, Errno> {
        let time = super::boot_timespec();
        if let Body::Device(d) = &self.body {
            let mut st = d.stat(self.ino, time);
            st.st_dev = self.fs.dev;
            return Ok(st);
        }
        let kind = self.file_type();
        let (nlink, size) = match &self.body {
            Body::Dir(_) | Body::Lazy(..) => (
                2 + self
                    .children()
                    .into_iter()
                    .flatten()
                    .filter(|(_, n)| n.file_type() == FileType::Directory)
                    .count() as u64,
                0,
            ),
            Body::Dynamic(_) => (2, 0),
            Body::Fd(_) => (1, 64),
            Body::Link(t) => (1, t().len() as i64),
            Body::FixedLink(t) => (1, t.len() as i64),
            _ => (1, 0),
        };
        Ok(abi::stat {
            st_dev: self.fs.dev,
            st_ino: self.ino,
            st_mode: kind.mode_bits() | self.perm,
            st_nlink: nlink,
            st_size: size,
            st_blksize: 1024,
            st_atim: time,
            st_mtim: time,
            st_ctim: time,
            ..Default::default()
        })
    }

    fn kind(&self) -> FileType {
        self.file_type()
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn statfs(&self) -> Result<abi::statfs, Errno> {
        Ok(abi::statfs {
            f_type: self.fs.magic as _,
            f_bsize: 4096,
            f_frsize: 4096,
            f_namelen: 255,
            ..Default::default()
        })
    }

    fn lookup(&self, name: &str) -> Result<InodeRef, Errno> {
        match &self.body {
            Body::Dir(_) | Body::Lazy(..) => self
                .children()
                .into_iter()
                .flatten()
                .find(|(n, _)| *n == name)
                .map(|(_, node)| node.clone() as InodeRef)
                .ok_or(Errno::ENOENT),
            Body::Dynamic(d) => entry_number(name)
                .and_then(|n| Some(self.child(n, d.lookup(n, &self.fs)?) as InodeRef))
                .ok_or(Errno::ENOENT),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn parent(&self) -> Option<InodeRef> {
        self.parent
            .get()
            .and_then(|p| p.upgrade())
            .map(|p| p as InodeRef)
    }

    fn readdir(&self, pos: u64, sink: &mut dyn FnMut(DirEntry, u64) -> bool) -> Result<(), Errno> {
        let parent_ino = self.parent().map(|p| p.ino()).unwrap_or(self.ino);
        let mut entries = alloc::vec![
            DirEntry {
                name: ".".to_string(),
                ino: self.ino,
                kind: FileType::Directory,
            },
            DirEntry {
                name: "..".to_string(),
                ino: parent_ino,
                kind: FileType::Directory,
            },
        ];
        match &self.body {
            Body::Dir(_) | Body::Lazy(..) => entries.extend(
                self.children()
                    .into_iter()
                    .flatten()
                    .map(|(n, node)| DirEntry {
                        name: n.clone(),
                        ino: node.ino,
                        kind: node.file_type(),
                    }),
            ),
            Body::Dynamic(d) => {
                // Positions: 0 ".", 1 "..", then entry n at n + 2 (the next position n + 3).
                for e in entries.iter().take(2).skip(pos as usize) {
                    let next = if e.name == "." { 1 } else { 2 };
                    if !sink(e.clone(), next) {
                        return Ok(());
                    }
                }
                for (n, kind) in d.list() {
                    if n + 2 < pos {
                        continue;
                    }
                    let entry = DirEntry {
                        name: n.to_string(),
                        ino: self.dynamic_ino(n),
                        kind,
                    };
                    if !sink(entry, n + 3) {
                        break;
                    }
                }
                return Ok(());
            }
            _ => return Err(Errno::ENOTDIR),
        }
        vfs::readdir_list(&entries, pos, sink)
    }

    fn readlink(&self) -> Result<String, Errno> {
        match &self.body {
            Body::Link(t) => Ok(t()),
            Body::FixedLink(t) => Ok(t.clone()),
            Body::Fd(_) => self
                .fd_target()
                .map(|f| f.ops.describe())
                .ok_or(Errno::ENOENT),
            _ => Err(Errno::EINVAL),
        }
    }

    fn open(&self, this: &InodeRef, flags: u32, path: &str) -> Result<Arc<dyn FileOps>, Errno> {
        let writing = flags & abi::O_ACCMODE != abi::O_RDONLY || flags & abi::O_TRUNC != 0;
        match &self.body {
            Body::Dir(_) | Body::Lazy(..) | Body::Dynamic(_) => {
                if writing {
                    return Err(Errno::EISDIR);
                }
                Ok(Arc::new(vfs::DirFile::new(this.clone(), path)))
            }
            // Opening for writing is allowed (root may); writes fail with EIO, as Linux's
            // procfs files without a write operation.
            Body::File(generate) => Ok(self.snapshot(generate(), None, path)),
            Body::FileWith(generate) => Ok(self.snapshot(generate(), None, path)),
            Body::Comm(tid) => {
                let name = thread_name(*tid).ok_or(Errno::ENOENT)?;
                let mut text = name.into_bytes();
                text.push(b'\n');
                Ok(self.snapshot(text, Some(*tid), path))
            }
            Body::Device(d) => d.open().ok_or(Errno::ENXIO),
            // Opening the link itself (the VFS follows /proc/self/fd links here): the same
            // file, as a new description.
            Body::Fd(_) => self.fd_target().map(|f| f.ops.clone()).ok_or(Errno::ENOENT),
            Body::Link(_) | Body::FixedLink(_) => Err(Errno::ELOOP),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// What a /proc/self/fd link leads to when followed: a stand-in inode for the open file (which
/// may have no inode of its own: a pipe, the console), so that open and stat through the link
/// reach the file itself rather than a path named after it.
pub fn magic_link_target(link: &InodeRef) -> Option<InodeRef> {
    let node = link.as_any().downcast_ref::<Node>()?;
    let file = node.fd_target()?;
    if let Some(inode) = vfs::inode_of(&file) {
        return Some(inode);
    }
    Some(Arc::new(OpenTarget { file }))
}

/// An open file seen through /proc/self/fd: stat is the file's, open gives the same file.
struct OpenTarget {
    file: Arc<OpenFile>,
}

impl Inode for OpenTarget {
    fn stat(&self) -> Result<abi::stat, Errno> {
        self.file.ops.stat()
    }

    fn kind(&self) -> FileType {
        self.file
            .ops
            .stat()
            .ok()
            .and_then(|st| FileType::from_mode(st.st_mode))
            .unwrap_or(FileType::Regular)
    }

    fn ino(&self) -> u64 {
        self.file.ops.stat().map(|s| s.st_ino).unwrap_or(0)
    }

    fn open(&self, _this: &InodeRef, _flags: u32, _path: &str) -> Result<Arc<dyn FileOps>, Errno> {
        Ok(self.file.ops.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A thread's name (Linux's comm), if the thread exists.
pub fn thread_name(tid: u32) -> Option<String> {
    let name = ferrite_smp::thread::find(tid)?.posix.lock().name;
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Some(String::from_utf8_lossy(&name[..end]).into_owned())
}

/// An open generated file: the text as it was at open time.
pub struct Snapshot {
    data: Vec<u8>,
    /// For a thread's comm file: the thread a write renames.
    comm_of: Option<u32>,
    node: Arc<Node>,
    path: String,
}

impl FileOps for Snapshot {
    fn read(&self, _file: &OpenFile, buf: &mut ReadBuf, offset: Option<u64>) -> SysResult {
        let at = offset.unwrap_or(0).min(self.data.len() as u64) as usize;
        buf.put(&self.data[at..]);
        buf.result()
    }

    fn write(
        &self,
        _file: &OpenFile,
        buf: &mut WriteBuf,
        _offset: Option<u64>,
        _end: &mut Option<u64>,
    ) -> SysResult {
        let Some(tid) = self.comm_of else {
            return Err(Errno::EIO);
        };
        // As Linux's comm_write: the first 15 bytes become the name, the whole count is taken.
        let count = buf.remaining();
        let mut name = [0u8; 16];
        let got = buf.take(&mut name[..15.min(count)]);
        if got < 15.min(count) {
            return Err(Errno::EFAULT);
        }
        let thread = ferrite_smp::thread::find(tid).ok_or(Errno::ESRCH)?;
        thread.posix.lock().name = name;
        Ok(count as i64)
    }

    fn seekable(&self) -> bool {
        true
    }

    /// As Linux's `seq_lseek`: SEEK_SET and SEEK_CUR only (the size is not known in advance).
    fn seek(&self, _file: &OpenFile, pos: u64, offset: i64, whence: u32) -> SysResult {
        let base = match whence {
            abi::SEEK_SET => 0,
            abi::SEEK_CUR => pos as i64,
            _ => return Err(Errno::EINVAL),
        };
        match base.checked_add(offset) {
            Some(p) if p >= 0 => Ok(p),
            _ => Err(Errno::EINVAL),
        }
    }

    fn stat(&self) -> Result<abi::stat, Errno> {
        self.node.stat()
    }

    fn describe(&self) -> String {
        self.path.clone()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The entries of a dynamic directory, by kind.
pub fn entries_of(list: impl IntoIterator<Item = (String, Body)>) -> Vec<(String, FileType)> {
    list.into_iter().map(|(n, b)| (n, kind_of(&b))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::file::ReadBuf;

    fn names(dir: &InodeRef) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        dir.readdir(0, &mut |e, next| {
            out.push((e.name, next));
            true
        })
        .unwrap();
        out
    }

    fn sample() -> Arc<Node> {
        let fs = Fs::new(PROC_SUPER_MAGIC);
        let inner = Node::dir(
            &fs,
            alloc::vec![("leaf", Node::file(&fs, || b"0123456789".to_vec()))],
        );
        Node::dir(
            &fs,
            alloc::vec![
                ("sub", inner),
                ("link", Node::link(&fs, || "sub/leaf".into())),
                (
                    "null",
                    Node::new(&fs, 0o666, Body::Device(crate::fs::devfs::NULL))
                ),
            ],
        )
    }

    #[test]
    fn directories_list_lookup_and_parents() {
        let root: InodeRef = sample();
        let listed = names(&root);
        let just_names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(just_names, [".", "..", "sub", "link", "null"]);
        // Positions resume a listing where it stopped.
        let mut rest = Vec::new();
        root.readdir(listed[2].1, &mut |e, _| {
            rest.push(e.name);
            true
        })
        .unwrap();
        assert_eq!(rest, ["link", "null"]);
        let sub = root.lookup("sub").unwrap();
        assert_eq!(sub.kind(), FileType::Directory);
        assert_eq!(sub.parent().unwrap().ino(), root.ino());
        assert!(root.parent().is_none());
        assert_eq!(root.lookup("nope").err(), Some(Errno::ENOENT));
        assert_eq!(root.stat().unwrap().st_nlink, 3);
        assert_eq!(root.statfs().unwrap().f_type as u64, PROC_SUPER_MAGIC);
        let link = root.lookup("link").unwrap();
        assert_eq!(link.readlink().unwrap(), "sub/leaf");
        assert_eq!(link.stat().unwrap().st_size, 8);
        let null = root.lookup("null").unwrap().stat().unwrap();
        assert_eq!(null.st_mode, abi::S_IFCHR | 0o666);
        assert_eq!(null.st_rdev, crate::fs::devfs::makedev(1, 3));
        assert_eq!(null.st_dev, root.stat().unwrap().st_dev);
    }

    /// Entries named by the numbers in a shared list.
    struct Numbers(Arc<spin::Mutex<Vec<u64>>>);

    impl DynamicDir for Numbers {
        fn list(&self) -> Vec<(u64, FileType)> {
            self.0
                .lock()
                .iter()
                .map(|&n| (n, FileType::Symlink))
                .collect()
        }

        fn lookup(&self, number: u64, _fs: &Arc<Fs>) -> Option<Body> {
            self.0
                .lock()
                .contains(&number)
                .then(|| Body::FixedLink(alloc::format!("target{number}")))
        }
    }

    #[test]
    fn dynamic_directories_resume_by_number() {
        let numbers = Arc::new(spin::Mutex::new(alloc::vec![0, 1, 2, 7]));
        let fs = Fs::new(PROC_SUPER_MAGIC);
        let dir: InodeRef = Node::new(
            &fs,
            0o500,
            Body::Dynamic(Box::new(Numbers(numbers.clone()))),
        );
        let all = names(&dir);
        let listed: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(listed, [".", "..", "0", "1", "2", "7"]);
        // Stop after "1", remove "2", add "3": the listing goes on with "3" and "7".
        let after_one = all[3].1;
        *numbers.lock() = alloc::vec![0, 1, 3, 7];
        let mut rest = Vec::new();
        dir.readdir(after_one, &mut |e, _| {
            rest.push(e.name);
            true
        })
        .unwrap();
        assert_eq!(rest, ["3", "7"]);
        let seven = dir.lookup("7").unwrap();
        assert_eq!(seven.readlink().unwrap(), "target7");
        assert_eq!(seven.ino(), dir.lookup("7").unwrap().ino());
        assert_ne!(seven.ino(), dir.lookup("3").unwrap().ino());
        assert!(dir.lookup("07").is_err());
        assert!(dir.lookup("2").is_err());
        assert_eq!(seven.parent().unwrap().ino(), dir.ino());
    }

    #[test]
    fn lazy_directories_build_on_first_use() {
        fn build(fs: &Arc<Fs>) -> Vec<(String, Arc<Node>)> {
            alloc::vec![("inner".into(), Node::dir(fs, alloc::vec![]))]
        }
        let fs = Fs::new(SYSFS_MAGIC);
        let lazy = Node::lazy_dir(&fs, 0o555, build);
        let Body::Lazy(_, built) = &lazy.body else {
            panic!("not lazy");
        };
        assert!(built.get().is_none());
        let root: InodeRef = lazy.clone();
        let inner = root.lookup("inner").unwrap();
        assert!(built.get().is_some());
        assert_eq!(inner.parent().unwrap().ino(), root.ino());
        assert_eq!(root.stat().unwrap().st_nlink, 3);
        assert_eq!(names(&root).len(), 3);
    }

    #[test]
    fn generated_files_are_snapshots_seekable_read_only() {
        let root: InodeRef = sample();
        let leaf = root.lookup("sub").unwrap().lookup("leaf").unwrap();
        let st = leaf.stat().unwrap();
        assert_eq!((st.st_mode, st.st_size), (abi::S_IFREG | 0o444, 0));
        let file = OpenFile::new(
            leaf.open(&leaf, abi::O_RDONLY, "/x").unwrap(),
            abi::O_RDONLY,
        );
        let mut out = [0u8; 4];
        assert_eq!(file.read(&mut ReadBuf::kernel(&mut out), None), Ok(4));
        assert_eq!(&out, b"0123");
        assert_eq!(file.seek(2, abi::SEEK_CUR), Ok(6));
        assert_eq!(file.read(&mut ReadBuf::kernel(&mut out), None), Ok(4));
        assert_eq!(&out, b"6789");
        assert_eq!(file.read(&mut ReadBuf::kernel(&mut out), None), Ok(0));
        assert_eq!(file.seek(0, abi::SEEK_END), Err(Errno::EINVAL));
        assert_eq!(file.seek(-1, abi::SEEK_SET), Err(Errno::EINVAL));
        let rw = OpenFile::new(leaf.open(&leaf, abi::O_RDWR, "/x").unwrap(), abi::O_RDWR);
        assert_eq!(rw.write(&mut WriteBuf::kernel(b"x"), None), Err(Errno::EIO));
        let dir = root.lookup("sub").unwrap();
        assert_eq!(
            dir.open(&dir, abi::O_WRONLY, "/sub").err(),
            Some(Errno::EISDIR)
        );
    }
}
