//! The root file system packed into the image (`.ferrite.rootfs`, a cpio "newc" archive written
//! by `ferrite cc --ferrite-rootfs=DIR`), unpacked into the root tmpfs at boot before `main`;
//! the /etc defaults for what the archive does not provide; then /dev, /proc and /sys.
//!
//! A malformed archive stops the unpacking with one console line; what came before it stays.
//! File data is copied out of the archive into tmpfs pages, and the archive's pages are given
//! back to the frame allocator as the copy moves past them, so a large root file system does
//! not need twice its size in RAM.

pub mod cpio;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::abi;
use crate::errno::Errno;
use crate::fs::file::{OpenFile, WriteBuf};
use crate::fs::vfs::{FileType, InodeRef, SetAttr, Time};
use cpio::{Entry, Malformed, Reader};

/// Bytes of file data written per step (and the granularity of giving archive pages back).
const STEP: usize = 256 * 1024;

/// What an unpacking did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub entries: usize,
    /// Entries left out, with why (one line each).
    pub skipped: Vec<String>,
    /// Where the archive stopped being readable.
    pub malformed: Option<Malformed>,
}

fn time(sec: u32) -> Time {
    Time {
        sec: sec as i64,
        nsec: 0,
    }
}

fn name_of(bytes: &[u8]) -> Result<&str, &'static str> {
    core::str::from_utf8(bytes).map_err(|_| "name is not UTF-8")
}

/// The directory `parts` lead to under `root`, creating missing directories (mode 0755, as
/// cpio does for parents an archive leaves out).
fn parent_dir<'a>(
    root: &InodeRef,
    parts: impl Iterator<Item = &'a [u8]>,
) -> Result<InodeRef, &'static str> {
    let mut dir = root.clone();
    for part in parts {
        let name = name_of(part)?;
        dir = match dir.lookup(name) {
            Ok(d) if d.kind() == FileType::Directory => d,
            Ok(_) => return Err("a parent is not a directory"),
            Err(Errno::ENOENT) => dir
                .mkdir(name, 0o755)
                .map_err(|_| "cannot create a parent")?,
            Err(_) => return Err("cannot look a parent up"),
        };
    }
    Ok(dir)
}

/// Unpack `archive` under `root`. `release(offset)` is called as the copy moves on: archive
/// bytes before `offset` are no longer needed.
pub fn unpack(archive: &[u8], root: &InodeRef, mut release: impl FnMut(usize)) -> Summary {
    let mut summary = Summary::default();
    // Regular files by (inode number) for hard links: newc stores a link group's data once.
    let mut links: BTreeMap<u32, InodeRef> = BTreeMap::new();
    // Directory times are set last: creating their entries would change them again.
    let mut dir_times: Vec<(InodeRef, u32)> = Vec::new();
    let mut released = 0;
    for item in Reader::new(archive) {
        let entry = match item {
            Ok(e) => e,
            Err(m) => {
                summary.malformed = Some(m);
                break;
            }
        };
        match unpack_entry(&entry, root, &mut links, &mut dir_times, &mut |o| {
            if o >= released + STEP {
                release(o);
                released = o;
            }
        }) {
            Ok(()) => summary.entries += 1,
            Err(why) => summary.skipped.push(alloc::format!(
                "{}: {why}",
                String::from_utf8_lossy(entry.name)
            )),
        }
        if entry.end >= released + STEP {
            release(entry.end);
            released = entry.end;
        }
    }
    release(archive.len());
    for (dir, mtime) in dir_times.into_iter().rev() {
        let _ = dir.set_attr(&SetAttr {
            atime: Some(time(mtime)),
            mtime: Some(time(mtime)),
            ..Default::default()
        });
    }
    summary
}

fn unpack_entry(
    e: &Entry,
    root: &InodeRef,
    links: &mut BTreeMap<u32, InodeRef>,
    dir_times: &mut Vec<(InodeRef, u32)>,
    release: &mut dyn FnMut(usize),
) -> Result<(), &'static str> {
    let Some(parts) = cpio::components(e.name) else {
        // "." (the root itself) or a path climbing out with "..".
        return if e.file_type() == cpio::S_IFDIR {
            Ok(())
        } else {
            Err("path outside the root")
        };
    };
    let count = parts.clone().count();
    let parent = parent_dir(root, parts.clone().take(count - 1))?;
    let name = name_of(parts.last().unwrap_or_default())?;
    if name.len() > 255 {
        return Err("name too long");
    }
    let perm = e.mode & 0o7777;
    let existing = parent.lookup(name).ok();
    let attrs = SetAttr {
        mode: Some(perm),
        uid: Some(e.uid),
        gid: Some(e.gid),
        atime: Some(time(e.mtime)),
        mtime: Some(time(e.mtime)),
    };
    // A later entry replaces an earlier one of another kind (as cpio -i -u).
    let replace = |kind: FileType| -> Result<(), &'static str> {
        match &existing {
            Some(old) if old.kind() == FileType::Directory && kind != FileType::Directory => {
                parent.rmdir(name).map_err(|_| "cannot replace a directory")
            }
            Some(old) if old.kind() != kind || kind == FileType::Symlink => {
                if old.kind() == FileType::Directory {
                    return Err("cannot replace a directory");
                }
                parent.unlink(name).map_err(|_| "cannot replace a file")
            }
            _ => Ok(()),
        }
    };
    match e.file_type() {
        cpio::S_IFDIR => {
            replace(FileType::Directory)?;
            let dir = match existing {
                Some(d) if d.kind() == FileType::Directory => d,
                _ => parent
                    .mkdir(name, perm)
                    .map_err(|_| "cannot create the directory")?,
            };
            let _ = dir.set_attr(&SetAttr {
                atime: None,
                mtime: None,
                ..attrs
            });
            dir_times.push((dir, e.mtime));
        }
        cpio::S_IFREG => {
            if e.nlink > 1
                && let Some(first) = links.get(&e.ino)
            {
                replace(FileType::Regular)?;
                if parent.lookup(name).is_err() {
                    parent
                        .link(name, first)
                        .map_err(|_| "cannot make the hard link")?;
                }
                if !e.data.is_empty() {
                    write_data(first, e, release)?;
                }
                let _ = first.set_attr(&attrs);
                return Ok(());
            }
            replace(FileType::Regular)?;
            let file = match parent.lookup(name) {
                Ok(f) => {
                    f.truncate(0).map_err(|_| "cannot truncate")?;
                    f
                }
                Err(_) => parent
                    .create(name, abi::S_IFREG | perm, 0)
                    .map_err(|_| "cannot create the file")?,
            };
            write_data(&file, e, release)?;
            let _ = file.set_attr(&attrs);
            if e.nlink > 1 {
                links.insert(e.ino, file);
            }
        }
        cpio::S_IFLNK => {
            replace(FileType::Symlink)?;
            let target = name_of(e.data).map_err(|_| "link target is not UTF-8")?;
            let link = parent
                .symlink(name, target)
                .map_err(|_| "cannot create the symlink")?;
            let _ = link.set_attr(&SetAttr {
                mode: None,
                ..attrs
            });
        }
        kind => {
            // Device nodes, FIFOs and sockets: the tmpfs keeps them as nodes.
            replace(FileType::from_mode(kind).ok_or("unknown file type")?)?;
            let node = parent
                .create(name, kind | perm, e.rdev)
                .map_err(|_| "cannot create the node")?;
            let _ = node.set_attr(&attrs);
        }
    }
    Ok(())
}

/// Copy an entry's data into `file` in steps, letting the archive go behind the copy.
fn write_data(
    file: &InodeRef,
    e: &Entry,
    release: &mut dyn FnMut(usize),
) -> Result<(), &'static str> {
    if e.data.is_empty() {
        return Ok(());
    }
    let ops = file
        .open(file, abi::O_WRONLY, "")
        .map_err(|_| "cannot open the file")?;
    let open = OpenFile::new(ops, abi::O_WRONLY);
    let data_start = e.end - e.data.len().next_multiple_of(4).min(e.end);
    let mut done = 0;
    while done < e.data.len() {
        let piece = &e.data[done..(done + STEP).min(e.data.len())];
        let mut buf = WriteBuf::kernel(piece);
        match open.write(&mut buf, Some(done as u64)) {
            Ok(n) if n > 0 => done += n as usize,
            Ok(_) | Err(_) => return Err("no space for the file's data"),
        }
        release(data_start + done);
    }
    Ok(())
}

/// The /etc files made at boot when the image's root file system has none (path, contents).
pub fn etc_defaults(hostname: &str) -> Vec<(&'static str, String)> {
    alloc::vec![
        (
            "/etc/hosts",
            alloc::format!(
                "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
                 127.0.1.1\t{hostname}\n"
            ),
        ),
        // QEMU's user-mode network answers DNS at 10.0.2.3.
        ("/etc/resolv.conf", "nameserver 10.0.2.3\n".into()),
        ("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n".into()),
        ("/etc/group", "root:x:0:\n".into()),
        (
            "/etc/nsswitch.conf",
            "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n".into(),
        ),
    ]
}

/// Make what the image lacks of /etc and /root (an entry of the name, even a dangling symlink,
/// counts as provided).
#[cfg(target_os = "none")]
fn add_defaults() {
    use crate::fs::vfs;
    let root = vfs::root();
    let etc = match root.lookup("etc") {
        Ok(d) if d.kind() == FileType::Directory => d,
        Ok(_) => match vfs::lookup_path("/etc") {
            Ok(d) if d.kind() == FileType::Directory => d,
            _ => return,
        },
        Err(_) => match root.mkdir("etc", 0o755) {
            Ok(d) => d,
            Err(_) => return,
        },
    };
    for (path, text) in etc_defaults(crate::syscalls::info::hostname()) {
        let name = path.rsplit('/').next().unwrap_or(path);
        if etc.lookup(name).is_ok() {
            continue;
        }
        if let Ok(file) = etc.create(name, abi::S_IFREG | 0o644, 0) {
            let _ = write_all(&file, text.as_bytes());
        }
    }
    if root.lookup("root").is_err() {
        let _ = root.mkdir("root", 0o700);
    }
}

/// Write `data` at the start of the new regular file `file`.
#[cfg(target_os = "none")]
fn write_all(file: &InodeRef, data: &[u8]) -> Result<(), Errno> {
    let open = OpenFile::new(file.open(file, abi::O_WRONLY, "")?, abi::O_WRONLY);
    let mut done = 0;
    while done < data.len() {
        match open.write(&mut WriteBuf::kernel(&data[done..]), Some(done as u64))? {
            0 => return Err(Errno::ENOSPC),
            n => done += n as usize,
        }
    }
    Ok(())
}

/// The archive the link step put into the image.
#[cfg(target_os = "none")]
fn image_archive() -> &'static [u8] {
    crate::boot::image_rootfs()
}

/// Give the archive's whole pages in `[from, to)` back to the frame allocator: make their
/// identity mapping ordinary kernel memory again (the image maps them read-only for the
/// service) and free the frames.
#[cfg(target_os = "none")]
fn give_back(from: u64, to: u64) {
    use ferrite_libos::mm::{self, paging};
    let (from, to) = (from.next_multiple_of(4096), to & !4095);
    if from >= to {
        return;
    }
    if mm::protect(
        from,
        to - from,
        paging::WRITABLE | paging::NO_EXECUTE,
        true,
        false,
    )
    .is_ok()
    {
        mm::free_frames(from, (to - from) / 4096);
    }
}

/// At boot, after the root tmpfs exists and before the service starts: unpack the image's
/// archive, add the /etc defaults, mount /dev, /proc and /sys.
#[cfg(target_os = "none")]
pub fn populate() {
    use ferrite_libos::kprintln;
    let archive = image_archive();
    let base = archive.as_ptr() as u64;
    let mut freed_to = base;
    let summary = unpack(archive, &crate::fs::vfs::root(), |offset| {
        let upto = base + offset as u64;
        give_back(freed_to, upto);
        freed_to = freed_to.max(upto & !4095);
    });
    if let Some(m) = summary.malformed {
        kprintln!(
            "rootfs: the image's archive is damaged ({m}); {} entries before it were unpacked",
            summary.entries
        );
    }
    for why in summary.skipped.iter().take(8) {
        kprintln!("rootfs: skipped {why}");
    }
    add_defaults();
    for (what, result) in [
        ("/dev", crate::fs::devfs::mount()),
        ("/proc and /sys", crate::fs::procfs::mount()),
    ] {
        if let Err(e) = result {
            kprintln!("rootfs: cannot mount {what} (errno {})", e.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(out: &mut Vec<u8>, ino: u32, name: &str, mode: u32, nlink: u32, data: &[u8]) {
        let fields = [
            ino,
            mode,
            0,
            0,
            nlink,
            1_600_000_000,
            data.len() as u32,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0,
        ];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(alloc::format!("{f:08X}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }

    fn read(root: &InodeRef, path: &str) -> Vec<u8> {
        let mut node = root.clone();
        for part in path.split('/') {
            node = node.lookup(part).unwrap();
        }
        let ops = node.open(&node, abi::O_RDONLY, path).unwrap();
        let f = OpenFile::new(ops, abi::O_RDONLY);
        let mut out = alloc::vec![0u8; node.stat().unwrap().st_size as usize];
        let mut buf = crate::fs::file::ReadBuf::kernel(&mut out);
        f.read(&mut buf, Some(0)).unwrap();
        out
    }

    fn lookup(root: &InodeRef, path: &str) -> InodeRef {
        let mut node = root.clone();
        for part in path.split('/') {
            node = node.lookup(part).unwrap();
        }
        node
    }

    #[test]
    fn unpacks_dirs_files_links_modes_and_times() {
        let mut a = Vec::new();
        entry(&mut a, 1, ".", 0o040755, 2, b"");
        entry(&mut a, 2, "etc", 0o040750, 2, b"");
        entry(&mut a, 3, "etc/app.conf", 0o100600, 1, b"key=value\n");
        entry(&mut a, 4, "etc/link", 0o120777, 1, b"app.conf");
        entry(&mut a, 5, "deep/er/file", 0o100755, 1, b"x");
        entry(&mut a, 6, "hard1", 0o100644, 2, b"");
        entry(&mut a, 6, "hard2", 0o100644, 2, b"shared");
        entry(&mut a, 7, "fifo", 0o010644, 1, b"");
        let big: Vec<u8> = (0..3 * STEP + 5).map(|i| (i % 251) as u8).collect();
        entry(&mut a, 8, "big", 0o100644, 1, &big);
        entry(&mut a, 9, cpio::TRAILER_STR, 0, 1, b"");
        let root = crate::fs::tmpfs::new_fs(0o755);
        let mut released = Vec::new();
        let s = unpack(&a, &root, |o| released.push(o));
        assert_eq!(s.malformed, None);
        assert!(s.skipped.is_empty(), "{:?}", s.skipped);
        assert_eq!(read(&root, "etc/app.conf"), b"key=value\n");
        let conf = lookup(&root, "etc/app.conf").stat().unwrap();
        assert_eq!(conf.st_mode, abi::S_IFREG | 0o600);
        assert_eq!(conf.st_mtim.tv_sec, 1_600_000_000);
        let etc = lookup(&root, "etc").stat().unwrap();
        assert_eq!(etc.st_mode, abi::S_IFDIR | 0o750);
        assert_eq!(etc.st_mtim.tv_sec, 1_600_000_000);
        assert_eq!(lookup(&root, "etc/link").readlink().unwrap(), "app.conf");
        assert_eq!(read(&root, "deep/er/file"), b"x");
        assert_eq!(
            lookup(&root, "deep").stat().unwrap().st_mode,
            abi::S_IFDIR | 0o755
        );
        assert_eq!(read(&root, "hard1"), b"shared");
        assert_eq!(lookup(&root, "hard2").stat().unwrap().st_nlink, 2);
        assert_eq!(lookup(&root, "fifo").kind(), FileType::Fifo);
        assert_eq!(read(&root, "big"), big);
        assert!(released.windows(2).all(|w| w[0] <= w[1]));
        assert!(released.len() >= 3, "{released:?}");
        assert_eq!(*released.last().unwrap(), a.len());
    }

    #[test]
    fn malformed_archive_keeps_what_came_before() {
        let mut a = Vec::new();
        entry(&mut a, 1, "good", 0o100644, 1, b"ok");
        let cut = a.len();
        entry(&mut a, 2, "bad", 0o100644, 1, b"never");
        a[cut] = b'X';
        let root = crate::fs::tmpfs::new_fs(0o755);
        let s = unpack(&a, &root, |_| {});
        assert_eq!(s.entries, 1);
        assert_eq!(s.malformed.unwrap().offset, cut);
        assert_eq!(read(&root, "good"), b"ok");
        assert!(root.lookup("bad").is_err());
    }

    #[test]
    fn unsafe_paths_are_skipped() {
        let mut a = Vec::new();
        entry(&mut a, 1, "../escape", 0o100644, 1, b"x");
        entry(&mut a, 2, "file", 0o100644, 1, b"x");
        entry(&mut a, 3, "file/sub", 0o100644, 1, b"x");
        entry(&mut a, 4, cpio::TRAILER_STR, 0, 1, b"");
        let root = crate::fs::tmpfs::new_fs(0o755);
        let s = unpack(&a, &root, |_| {});
        assert_eq!(s.entries, 1);
        assert_eq!(s.skipped.len(), 2);
        assert!(s.skipped[0].starts_with("../escape: "));
    }

    #[test]
    fn etc_defaults_name_the_host() {
        let d = etc_defaults("box");
        assert!(d[0].1.contains("127.0.0.1\tlocalhost\n"));
        assert!(d[0].1.contains("\tbox\n"));
        assert_eq!(d.len(), 5);
    }
}
