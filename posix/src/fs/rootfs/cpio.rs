//! A reader of cpio "newc" archives (the format `ferrite cc --ferrite-rootfs` writes, and
//! Linux's initramfs format): 110-byte ASCII headers ("070701" or "070702" and thirteen 8-digit
//! hex fields), the NUL-terminated name padded to 4 bytes, the data padded to 4 bytes, up to
//! the entry named "TRAILER!!!".
//!
//! Pure and allocation-free, so it is unit-tested on the host. Entries borrow from the archive.

use core::fmt;

pub const TRAILER_STR: &str = "TRAILER!!!";
pub const TRAILER: &[u8] = TRAILER_STR.as_bytes();
const HEADER_LEN: usize = 110;

/// File type bits of `mode` (as in `st_mode`).
pub const S_IFMT: u32 = 0o170000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;

/// One archive member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The path as stored (without the NUL): relative, maybe with "./" or "/" in front.
    pub name: &'a [u8],
    pub ino: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    pub mtime: u32,
    /// The device number of a device node (Linux's encoding).
    pub rdev: u64,
    /// Regular file contents, or a symlink's target.
    pub data: &'a [u8],
    /// Offset of the byte after this entry's (padded) data in the archive.
    pub end: usize,
}

impl Entry<'_> {
    pub fn file_type(&self) -> u32 {
        self.mode & S_IFMT
    }
}

/// Why an archive stopped being readable, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

/// Iterates over the entries of an archive. After the trailer or the first malformed entry it
/// yields nothing more: everything before a bad entry is still usable.
pub struct Reader<'a> {
    archive: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> Reader<'a> {
    pub fn new(archive: &'a [u8]) -> Self {
        Reader {
            archive,
            offset: 0,
            done: false,
        }
    }

    fn malformed(
        &mut self,
        at: usize,
        reason: &'static str,
    ) -> Option<Result<Entry<'a>, Malformed>> {
        self.done = true;
        Some(Err(Malformed { offset: at, reason }))
    }
}

fn hex_field(bytes: &[u8]) -> Option<u32> {
    let mut value: u32 = 0;
    for &b in bytes {
        let digit = (b as char).to_digit(16)?;
        value = (value << 4) | digit;
    }
    Some(value)
}

fn align4(n: usize) -> Option<usize> {
    n.checked_add(3).map(|n| n & !3)
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Entry<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let start = self.offset;
        let rest = &self.archive[start.min(self.archive.len())..];
        // Zero padding after the trailer (or an archive with no trailer at all, ending cleanly
        // on an entry boundary) ends the walk; anything else must be a header.
        if rest.iter().all(|&b| b == 0) {
            self.done = true;
            return if rest.is_empty() && start == 0 {
                None
            } else {
                self.malformed(start, "missing trailer")
            };
        }
        if rest.len() < HEADER_LEN {
            return self.malformed(start, "truncated header");
        }
        if &rest[..6] != b"070701" && &rest[..6] != b"070702" {
            return self.malformed(start, "bad magic (not a cpio newc archive)");
        }
        let mut fields = [0u32; 13];
        for (i, field) in fields.iter_mut().enumerate() {
            match hex_field(&rest[6 + i * 8..14 + i * 8]) {
                Some(v) => *field = v,
                None => return self.malformed(start, "bad header field"),
            }
        }
        let [
            ino,
            mode,
            uid,
            gid,
            nlink,
            mtime,
            size,
            _,
            _,
            rmajor,
            rminor,
            namesize,
            _,
        ] = fields;
        let namesize = namesize as usize;
        if namesize == 0 {
            return self.malformed(start, "empty name");
        }
        let Some(name_end) = (HEADER_LEN + namesize).checked_add(start) else {
            return self.malformed(start, "name too long");
        };
        if name_end > self.archive.len() {
            return self.malformed(start, "truncated name");
        }
        let name_with_nul = &self.archive[start + HEADER_LEN..name_end];
        if name_with_nul[namesize - 1] != 0 || name_with_nul[..namesize - 1].contains(&0) {
            return self.malformed(start, "name not NUL-terminated");
        }
        let name = &name_with_nul[..namesize - 1];
        let data_start = align4(name_end).unwrap_or(usize::MAX);
        let data_end = data_start.saturating_add(size as usize);
        if data_end > self.archive.len() {
            return self.malformed(start, "truncated data");
        }
        let data = &self.archive[data_start..data_end];
        let end = align4(data_end)
            .unwrap_or(usize::MAX)
            .min(self.archive.len());
        self.offset = end;
        if name == TRAILER {
            self.done = true;
            return None;
        }
        Some(Ok(Entry {
            name,
            ino,
            mode,
            uid,
            gid,
            nlink,
            mtime,
            rdev: crate::fs::devfs::makedev(rmajor, rminor),
            data,
            end,
        }))
    }
}

/// Splits an archive path into its components for unpacking under `/`: leading "/" and "./"
/// are dropped, as are "." components; `None` for a path that is empty (the root itself) or
/// climbs out with "..".
pub fn components(name: &[u8]) -> Option<impl Iterator<Item = &[u8]> + Clone> {
    let parts = name
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".");
    if parts.clone().any(|c| c == b"..") || parts.clone().next().is_none() {
        return None;
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// An archive as `ferrite cc` writes it (cli/src/appended/cpio.rs).
    fn entry(out: &mut Vec<u8>, ino: u32, name: &[u8], mode: u32, mtime: u32, data: &[u8]) {
        let fields = [
            ino,
            mode,
            0,
            0,
            1,
            mtime,
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
        out.extend_from_slice(name);
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }

    fn sample() -> Vec<u8> {
        let mut a = Vec::new();
        entry(&mut a, 1, b"etc", 0o040755, 100, b"");
        entry(
            &mut a,
            2,
            b"etc/hosts",
            0o100644,
            200,
            b"127.0.0.1 localhost\n",
        );
        entry(&mut a, 3, b"hosts", 0o120777, 300, b"etc/hosts");
        entry(&mut a, 4, b"run.sh", 0o100755, 400, b"#!/bin/sh\n");
        entry(&mut a, 5, TRAILER, 0, 0, b"");
        a
    }

    #[test]
    fn reads_every_entry() {
        let a = sample();
        let entries: Vec<Entry> = Reader::new(&a).map(|e| e.unwrap()).collect();
        let names: Vec<&[u8]> = entries.iter().map(|e| e.name).collect();
        assert_eq!(names, [&b"etc"[..], b"etc/hosts", b"hosts", b"run.sh"]);
        assert_eq!(entries[0].file_type(), S_IFDIR);
        assert_eq!(entries[0].mtime, 100);
        assert_eq!(entries[1].data, b"127.0.0.1 localhost\n");
        assert_eq!(entries[1].mode & 0o7777, 0o644);
        assert_eq!(entries[2].file_type(), S_IFLNK);
        assert_eq!(entries[2].data, b"etc/hosts");
        assert_eq!(entries[3].mode, 0o100755);
        assert!(entries.windows(2).all(|w| w[0].end < w[1].end));
        assert!(entries.iter().all(|e| e.end % 4 == 0));
    }

    #[test]
    fn header_layout_matches_the_packer() {
        // The bytes cli/src/appended/cpio.rs's `header_layout` test expects.
        let a = b"07070100000001000081A4000000000000000000000001\
                  05F5E10000000002000000000000000000000000000000000000000200000000a\0hi\0\0";
        let e = Reader::new(a).next().unwrap().unwrap();
        assert_eq!(e.name, b"a");
        assert_eq!(e.mode, 0o100644);
        assert_eq!(e.mtime, 0x5f5e100);
        assert_eq!(e.data, b"hi");
        assert_eq!(e.end, a.len());
    }

    #[test]
    fn empty_archive_and_trailer_only() {
        assert_eq!(Reader::new(&[]).count(), 0);
        let mut a = Vec::new();
        entry(&mut a, 1, TRAILER, 0, 0, b"");
        a.extend_from_slice(&[0; 512]); // padding after the trailer, as cpio -H newc writes
        assert_eq!(Reader::new(&a).count(), 0);
    }

    #[test]
    fn truncation_keeps_what_came_before() {
        let a = sample();
        for cut in [120, 150, 200, a.len() - 20] {
            let results: Vec<Result<Entry, Malformed>> = Reader::new(&a[..cut]).collect();
            let bad = results.iter().filter(|r| r.is_err()).count();
            assert_eq!(bad, 1, "cut at {cut}: {results:?}");
            assert!(results.last().unwrap().is_err(), "cut at {cut}");
            let whole: Vec<Result<Entry, Malformed>> = Reader::new(&a).collect();
            assert_eq!(results[..results.len() - 1], whole[..results.len() - 1]);
        }
    }

    #[test]
    fn garbage_is_reported_once() {
        let mut a = sample();
        let second = Reader::new(&a).next().unwrap().unwrap().end;
        a[second + 3] = b'X'; // magic of the second entry
        let results: Vec<_> = Reader::new(&a).collect();
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        let err = results[1].unwrap_err();
        assert_eq!(err.offset, second);
        assert!(err.reason.contains("magic"));

        let mut b = sample();
        b[20] = b'g'; // a hex digit of the first header's mode
        let r: Vec<_> = Reader::new(&b).collect();
        assert_eq!(
            r,
            [Err(Malformed {
                offset: 0,
                reason: "bad header field"
            })]
        );

        // A size field pointing past the end.
        let mut c = Vec::new();
        entry(&mut c, 1, b"big", 0o100644, 0, b"abcd");
        c[6 + 6 * 8..6 + 7 * 8].copy_from_slice(b"7FFFFFFF");
        let r: Vec<_> = Reader::new(&c).collect();
        assert_eq!(
            r,
            [Err(Malformed {
                offset: 0,
                reason: "truncated data"
            })]
        );

        // No trailer: everything is read, then the missing trailer is reported.
        let mut d = Vec::new();
        entry(&mut d, 1, b"x", 0o100644, 0, b"1");
        let r: Vec<_> = Reader::new(&d).collect();
        assert!(r[0].is_ok());
        assert_eq!(r[1].unwrap_err().reason, "missing trailer");
    }

    #[test]
    fn name_with_inner_nul_or_no_nul_is_malformed() {
        let mut a = Vec::new();
        entry(&mut a, 1, b"ab", 0o100644, 0, b"");
        a[HEADER_LEN + 2] = b'c'; // overwrite the NUL
        assert_eq!(
            Reader::new(&a).next().unwrap().unwrap_err().reason,
            "name not NUL-terminated"
        );
    }

    #[test]
    fn path_components() {
        fn c(p: &[u8]) -> Option<Vec<&[u8]>> {
            components(p).map(|i| i.collect())
        }
        assert_eq!(c(b"etc/hosts"), Some(alloc::vec![&b"etc"[..], b"hosts"]));
        assert_eq!(
            c(b"./etc//hosts/"),
            Some(alloc::vec![&b"etc"[..], b"hosts"])
        );
        assert_eq!(c(b"/abs/./x"), Some(alloc::vec![&b"abs"[..], b"x"]));
        assert_eq!(c(b"."), None);
        assert_eq!(c(b""), None);
        assert_eq!(c(b"a/../../etc"), None);
    }
}
