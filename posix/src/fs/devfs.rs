//! /dev: the memory devices (null, zero, full, random, urandom), the console and tty, and the
//! stdio links. Each device is a `FileOps` with Linux's semantics (drivers/char/mem.c,
//! drivers/char/random.c): /dev/null reads end of file and swallows writes, /dev/zero and
//! /dev/full read zeros, /dev/full refuses writes with ENOSPC, lseek on null/zero/full always
//! answers 0 and on random/urandom leaves the position (always 0) alone.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::file::{FileOps, OpenFile, ReadBuf, WriteBuf};
use crate::uaccess;

/// A character device: its name under /dev, Linux's numbers and permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    pub name: &'static str,
    pub major: u32,
    pub minor: u32,
    pub perm: u32,
}

pub const NULL: Device = Device {
    name: "null",
    major: 1,
    minor: 3,
    perm: 0o666,
};
pub const ZERO: Device = Device {
    name: "zero",
    major: 1,
    minor: 5,
    perm: 0o666,
};
pub const FULL: Device = Device {
    name: "full",
    major: 1,
    minor: 7,
    perm: 0o666,
};
pub const RANDOM: Device = Device {
    name: "random",
    major: 1,
    minor: 8,
    perm: 0o666,
};
pub const URANDOM: Device = Device {
    name: "urandom",
    major: 1,
    minor: 9,
    perm: 0o666,
};
pub const TTY: Device = Device {
    name: "tty",
    major: 5,
    minor: 0,
    perm: 0o666,
};
pub const CONSOLE: Device = Device {
    name: "console",
    major: 5,
    minor: 1,
    perm: 0o600,
};

/// Every device node made in /dev at boot.
pub const DEVICES: [Device; 7] = [NULL, ZERO, FULL, RANDOM, URANDOM, TTY, CONSOLE];

/// The symbolic links made in /dev at boot (name, target), as udev/systemd make them.
pub const LINKS: [(&str, &str); 4] = [
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("fd", "/proc/self/fd"),
];

/// Linux's `makedev` (as glibc and musl encode `dev_t`).
pub const fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (major as u64, minor as u64);
    ((major & 0xffff_f000) << 32)
        | ((major & 0xfff) << 8)
        | ((minor & 0xffff_ff00) << 12)
        | (minor & 0xff)
}

/// The `dev_t` of the file system holding the device nodes (devtmpfs on Linux has an anonymous
/// device number too).
pub const DEVFS_DEV: u64 = makedev(0, 5);

impl Device {
    pub const fn rdev(&self) -> u64 {
        makedev(self.major, self.minor)
    }

    /// The device by its (major, minor), as a device inode opens it.
    pub fn by_number(major: u32, minor: u32) -> Option<Device> {
        DEVICES
            .iter()
            .copied()
            .find(|d| d.major == major && d.minor == minor)
    }

    /// What opening the device gives.
    pub fn open(&self) -> Option<Arc<dyn FileOps>> {
        let kind = match (self.major, self.minor) {
            (1, 3) => MemKind::Null,
            (1, 5) => MemKind::Zero,
            (1, 7) => MemKind::Full,
            (1, 8) => MemKind::Random,
            (1, 9) => MemKind::Urandom,
            (5, 0) | (5, 1) => return Some(crate::fs::console::open()),
            _ => return None,
        };
        Some(Arc::new(MemDevice {
            kind,
            device: *self,
        }))
    }

    /// stat of the node: a character device owned by root.
    pub fn stat(&self, ino: u64, time: abi::timespec) -> abi::stat {
        abi::stat {
            st_dev: DEVFS_DEV,
            st_ino: ino,
            st_mode: abi::S_IFCHR | self.perm,
            st_nlink: 1,
            st_rdev: self.rdev(),
            st_blksize: 4096,
            st_atim: time,
            st_mtim: time,
            st_ctim: time,
            ..Default::default()
        }
    }
}

/// What opening a device node with number `rdev` gives (for device nodes in any file system:
/// tmpfs's mknod'ed nodes too). ENXIO for a device that does not exist, as Linux.
pub fn open_node(rdev: u64) -> Result<Arc<dyn FileOps>, Errno> {
    let major = (((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0xfff)) as u32;
    let minor = (((rdev >> 12) & 0xffff_ff00) | (rdev & 0xff)) as u32;
    Device::by_number(major, minor)
        .and_then(|d| d.open())
        .ok_or(Errno::ENXIO)
}

/// /dev's entries, sorted by name.
fn entries(
    fs: &Arc<crate::fs::procfs::tree::Fs>,
) -> Vec<(String, Arc<crate::fs::procfs::tree::Node>)> {
    use crate::fs::procfs::tree::{Body, Node};
    let mut children = Vec::new();
    for d in DEVICES {
        children.push((d.name.into(), Node::new(fs, d.perm, Body::Device(d))));
    }
    for (name, target) in LINKS {
        children.push((
            name.into(),
            Node::new(fs, 0o777, Body::FixedLink(target.into())),
        ));
    }
    children.push(("shm".into(), Node::new(fs, 0o1777, Body::Dir(Vec::new()))));
    children.sort_by(|a: &(String, _), b| a.0.cmp(&b.0));
    children
}

/// Mount /dev (the devices and links above; its entries are made on first use) and a tmpfs on
/// /dev/shm (POSIX shared memory: shm_open creates its files there).
pub fn mount() -> Result<(), Errno> {
    use crate::fs::procfs::tree::{Fs, Node};
    // devtmpfs is a tmpfs to statfs.
    let fs = Fs::new(crate::fs::procfs::tree::TMPFS_MAGIC);
    crate::fs::vfs::mount("/dev", Node::lazy_dir(&fs, 0o755, entries))?;
    crate::fs::vfs::mount("/dev/shm", crate::fs::tmpfs::new_fs(0o1777))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MemKind {
    Null,
    Zero,
    Full,
    Random,
    Urandom,
}

/// One of the memory devices (Linux's "mem" character devices, major 1).
pub struct MemDevice {
    kind: MemKind,
    device: Device,
}

/// Bytes produced per step of a zero or random read: a bounce buffer on the kernel stack.
const CHUNK: usize = 512;

/// Fill `buf` with chunks from `fill` until it is full or a copy faults (a fault after some
/// bytes is a short count, before any is EFAULT, as Linux's `read_iter_zero`).
fn produce(buf: &mut ReadBuf, mut fill: impl FnMut(&mut [u8])) -> SysResult {
    let mut chunk = [0u8; CHUNK];
    let mut left = buf.remaining().min(uaccess::MAX_RW_COUNT as usize);
    while left > 0 {
        let n = left.min(CHUNK);
        fill(&mut chunk[..n]);
        let put = buf.put(&chunk[..n]);
        left -= put;
        if put < n {
            break;
        }
    }
    buf.result()
}

impl FileOps for MemDevice {
    fn read(&self, _file: &OpenFile, buf: &mut ReadBuf, _offset: Option<u64>) -> SysResult {
        match self.kind {
            MemKind::Null => Ok(0),
            MemKind::Zero | MemKind::Full => produce(buf, |_| {}),
            MemKind::Random | MemKind::Urandom => produce(buf, random_fill),
        }
    }

    fn write(
        &self,
        _file: &OpenFile,
        buf: &mut WriteBuf,
        _offset: Option<u64>,
        _end: &mut Option<u64>,
    ) -> SysResult {
        let count = buf.remaining().min(uaccess::MAX_RW_COUNT as usize);
        match self.kind {
            // Linux's write_null/write_zero never touch the buffer.
            MemKind::Null | MemKind::Zero => Ok(count as i64),
            MemKind::Full => Err(Errno::ENOSPC),
            // Written bytes are mixed into Linux's pool: read them (a fault is a short count or
            // EFAULT), then drop them; the pool here is the CPU's RDRAND/RDSEED.
            MemKind::Random | MemKind::Urandom => {
                let mut chunk = [0u8; CHUNK];
                let mut taken = 0;
                while taken < count {
                    let want = (count - taken).min(CHUNK);
                    let got = buf.take(&mut chunk[..want]);
                    taken += got;
                    if got < want {
                        break;
                    }
                }
                if taken == 0 && buf.faulted() {
                    Err(Errno::EFAULT)
                } else {
                    Ok(taken as i64)
                }
            }
        }
    }

    fn seekable(&self) -> bool {
        true
    }

    /// null/zero/full: `null_lseek` sets the position to 0 whatever is asked; random/urandom:
    /// `noop_llseek` returns the position, which reads never move (so 0 too).
    fn seek(&self, _file: &OpenFile, _pos: u64, _offset: i64, _whence: u32) -> SysResult {
        Ok(0)
    }

    fn stat(&self) -> Result<abi::stat, Errno> {
        Ok(self
            .device
            .stat(self.device.minor as u64 + 2, super::procfs::boot_timespec()))
    }

    fn describe(&self) -> String {
        alloc::format!("/dev/{}", self.device.name)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(target_os = "none")]
fn random_fill(bytes: &mut [u8]) {
    ferrite_libos::random::fill(bytes);
}

/// Host builds (unit tests): a fixed pattern.
#[cfg(not(target_os = "none"))]
fn random_fill(bytes: &mut [u8]) {
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(11);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(d: Device) -> Arc<OpenFile> {
        OpenFile::new(d.open().unwrap(), abi::O_RDWR)
    }

    #[test]
    fn numbers_are_linux_ones() {
        assert_eq!(NULL.rdev(), 0x103);
        assert_eq!(makedev(1, 3), 259);
        assert_eq!(makedev(136, 0), 136 << 8);
        assert_eq!(makedev(0x1234, 0x5678), 0x0000_1000_0562_3478);
        assert_eq!(Device::by_number(1, 9), Some(URANDOM));
        assert_eq!(Device::by_number(1, 4), None);
        assert!(open_node(makedev(1, 7)).is_ok());
        assert!(open_node(makedev(1, 4)).is_err());
    }

    #[test]
    fn null_zero_full() {
        let mut out = [7u8; 100];
        let null = open(NULL);
        assert_eq!(null.read(&mut ReadBuf::kernel(&mut out), None), Ok(0));
        assert_eq!(null.write(&mut WriteBuf::kernel(&[1; 50]), None), Ok(50));
        assert_eq!(null.seek(123, abi::SEEK_SET), Ok(0));

        let zero = open(ZERO);
        assert_eq!(zero.read(&mut ReadBuf::kernel(&mut out), None), Ok(100));
        assert!(out.iter().all(|&b| b == 0));
        assert_eq!(zero.seek(0, abi::SEEK_CUR), Ok(0));
        assert_eq!(zero.write(&mut WriteBuf::kernel(&[1; 5]), None), Ok(5));

        let full = open(FULL);
        let mut big = alloc::vec![9u8; 3 * CHUNK + 17];
        assert_eq!(
            full.read(&mut ReadBuf::kernel(&mut big), None),
            Ok(big.len() as i64)
        );
        assert!(big.iter().all(|&b| b == 0));
        assert_eq!(
            full.write(&mut WriteBuf::kernel(&[1; 5]), None),
            Err(Errno::ENOSPC)
        );
    }

    #[test]
    fn urandom_fills_and_accepts_writes() {
        let u = open(URANDOM);
        let mut out = [0u8; 1000];
        assert_eq!(u.read(&mut ReadBuf::kernel(&mut out), None), Ok(1000));
        assert!(out.iter().any(|&b| b != 0));
        assert_eq!(u.write(&mut WriteBuf::kernel(&[1; 700]), None), Ok(700));
        assert_eq!(u.seek(5, abi::SEEK_SET), Ok(0));
    }

    #[test]
    fn stat_is_a_char_device() {
        let st = NULL.open().unwrap().stat().unwrap();
        assert_eq!(st.st_mode, abi::S_IFCHR | 0o666);
        assert_eq!(st.st_rdev, makedev(1, 3));
        assert_eq!(NULL.open().unwrap().describe(), "/dev/null");
    }
}
