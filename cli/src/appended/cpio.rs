//! `.ferrite.rootfs`: a directory packed as a cpio "newc" archive, unpacked by the kernel at boot.
//!
//! A newc writer is ~60 lines, so it is written here rather than pulled in as a crate. Entries:
//! directories, regular files and symlinks, parents before children, sorted by name so that the
//! same tree gives the same bytes; paths relative, without "./"; uid/gid 0; mode and mtime kept.

use crate::error::{Error, Result};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub const TRAILER: &str = "TRAILER!!!";

#[derive(Default)]
pub struct Writer {
    out: Vec<u8>,
    next_ino: u32,
}

impl Writer {
    /// Appends one entry: 110-byte ASCII header, name + NUL padded to 4, data padded to 4.
    pub fn entry(
        &mut self,
        name: &[u8],
        mode: u32,
        mtime: u32,
        nlink: u32,
        data: &[u8],
    ) -> Result<()> {
        let size = u32::try_from(data.len()).map_err(|_| {
            Error::usage(format!(
                "{} is larger than 4 GiB, the cpio newc limit",
                String::from_utf8_lossy(name)
            ))
        })?;
        self.next_ino += 1;
        let fields = [
            self.next_ino,
            mode,
            0, // uid
            0, // gid
            nlink,
            mtime,
            size,
            0, // devmajor
            0, // devminor
            0, // rdevmajor
            0, // rdevminor
            name.len() as u32 + 1,
            0, // check (only used by the "crc" variant)
        ];
        self.out.extend_from_slice(b"070701");
        for f in fields {
            self.out.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        self.out.extend_from_slice(name);
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
        Ok(())
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    pub fn finish(mut self) -> Vec<u8> {
        // The trailer cannot fail: it is tiny.
        let _ = self.entry(TRAILER.as_bytes(), 0, 0, 1, &[]);
        self.out
    }
}

/// Packs the tree under `root` (the root itself is not an entry: it becomes `/`).
pub fn pack_dir(root: &Path) -> Result<Vec<u8>> {
    let meta = fs::metadata(root).map_err(|e| Error::io(e, "cannot read the rootfs", root))?;
    if !meta.is_dir() {
        return Err(Error::usage(format!(
            "--ferrite-rootfs={}: not a directory",
            root.display()
        )));
    }
    let mut w = Writer::default();
    add_children(&mut w, root, &[])?;
    Ok(w.finish())
}

fn add_children(w: &mut Writer, dir: &Path, prefix: &[u8]) -> Result<()> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(|e| Error::io(e, "cannot read", dir))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(e, "cannot read", dir))?;
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let mut rel = prefix.to_vec();
        if !rel.is_empty() {
            rel.push(b'/');
        }
        rel.extend_from_slice(name.as_bytes());
        let m = fs::symlink_metadata(&path).map_err(|e| Error::io(e, "cannot read", &path))?;
        // Times before 1970 or after 2106 do not fit the format's u32.
        let mtime = u32::try_from(m.mtime().max(0)).unwrap_or(u32::MAX);
        let ft = m.file_type();
        if ft.is_dir() {
            w.entry(&rel, m.mode(), mtime, 2, &[])?;
            add_children(w, &path, &rel)?;
        } else if ft.is_file() {
            let data = fs::read(&path).map_err(|e| Error::io(e, "cannot read", &path))?;
            w.entry(&rel, m.mode(), mtime, 1, &data)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(&path).map_err(|e| Error::io(e, "cannot read", &path))?;
            w.entry(&rel, m.mode(), mtime, 1, target.as_os_str().as_bytes())?;
        } else {
            eprintln!(
                "ferrite: warning: rootfs: skipping {} (not a file, directory or symlink)",
                path.display()
            );
        }
    }
    Ok(())
}

/// Reads an archive back into (name, mode, data) triples; for tests.
#[cfg(test)]
pub fn read(mut archive: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
    let mut out = Vec::new();
    let start_len = archive.len();
    loop {
        assert_eq!(&archive[..6], b"070701");
        let field = |i: usize| {
            u32::from_str_radix(
                std::str::from_utf8(&archive[6 + i * 8..14 + i * 8]).unwrap(),
                16,
            )
            .unwrap()
        };
        let (mode, size, namesize) = (field(1), field(6) as usize, field(11) as usize);
        let name = String::from_utf8(archive[110..110 + namesize - 1].to_vec()).unwrap();
        let pad4 = |n: usize, consumed: usize| (n + consumed).div_ceil(4) * 4 - consumed;
        let consumed = start_len - archive.len();
        let data_start = pad4(110 + namesize, consumed);
        let data = archive[data_start..data_start + size].to_vec();
        let next = pad4(data_start + size, consumed);
        archive = &archive[next..];
        if name == TRAILER {
            assert!(archive.is_empty());
            return out;
        }
        out.push((name, mode, data));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    #[test]
    fn packs_a_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("etc/conf.d")).unwrap();
        fs::write(root.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
        fs::write(root.join("run.sh"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(root.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        symlink("etc/hosts", root.join("hosts")).unwrap();
        let archive = pack_dir(root).unwrap();
        assert_eq!(archive.len() % 4, 0);
        let entries = read(&archive);
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(names, ["etc", "etc/conf.d", "etc/hosts", "hosts", "run.sh"]);
        assert_eq!(entries[0].1 & 0o170000, 0o040000);
        assert_eq!(entries[2].2, b"127.0.0.1 localhost\n");
        assert_eq!(entries[3].1 & 0o170000, 0o120000);
        assert_eq!(entries[3].2, b"etc/hosts");
        assert_eq!(entries[4].1, 0o100755);
    }

    #[test]
    fn header_layout() {
        let mut w = Writer::default();
        w.entry(b"a", 0o100644, 0x5f5e100, 1, b"hi").unwrap();
        let out = w.finish();
        let expected = "07070100000001000081A4000000000000000000000001\
                        05F5E10000000002000000000000000000000000000000000000000200000000a\0";
        assert_eq!(&out[..112], expected.as_bytes());
        assert_eq!(&out[112..116], b"hi\0\0");
        assert_eq!(&out[116..122], b"070701");
        assert!(out.ends_with(b"TRAILER!!!\0\0\0\0"));
    }

    #[test]
    fn not_a_directory() {
        let f = tempfile::NamedTempFile::new().unwrap();
        assert_eq!(pack_dir(f.path()).unwrap_err().status, crate::error::USAGE);
        assert!(pack_dir(Path::new("/nonexistent/ferrite")).is_err());
    }

    #[test]
    fn empty_directory_is_just_the_trailer() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&pack_dir(dir.path()).unwrap()).is_empty());
    }
}
