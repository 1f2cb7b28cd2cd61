//! Host unit tests of tmpfs (part of `tmpfs`): file pages, sizes and holes, link counts
//! through renames. One test function: renames share a sleeping lock that must not be
//! contended on the host.

use super::*;
use crate::fs::file::{OpenFile, ReadBuf, WriteBuf};
use crate::fs::vfs::{RENAME_EXCHANGE, RENAME_NOREPLACE};

fn open_rw(inode: &InodeRef) -> Arc<OpenFile> {
    OpenFile::new(inode.open(inode, abi::O_RDWR, "/t").unwrap(), abi::O_RDWR)
}

fn pwrite(f: &OpenFile, data: &[u8], at: u64) -> usize {
    f.write(&mut WriteBuf::kernel(data), Some(at)).unwrap() as usize
}

fn pread(f: &OpenFile, len: usize, at: u64) -> alloc::vec::Vec<u8> {
    let mut buf = alloc::vec![0xAAu8; len];
    let n = f.read(&mut ReadBuf::kernel(&mut buf), Some(at)).unwrap() as usize;
    buf.truncate(n);
    buf
}

fn nlink(i: &InodeRef) -> u64 {
    i.stat().unwrap().st_nlink
}

#[test]
fn files_and_directories() {
    let root = new_fs(0o755);
    let inode = root.create("f", abi::S_IFREG | 0o644, 0).unwrap();
    let f = open_rw(&inode);

    // A write past the end leaves a hole of zeros that takes no page.
    assert_eq!(pwrite(&f, b"abc", 10_000), 3);
    let st = inode.stat().unwrap();
    assert_eq!((st.st_size, st.st_blocks), (10_003, 8));
    let back = pread(&f, 20_000, 0);
    assert_eq!(back.len(), 10_003);
    assert!(back[..10_000].iter().all(|&b| b == 0));
    assert_eq!(&back[10_000..], b"abc");

    // Shrinking clears the tail of the last page; growing again reads zeros there.
    inode.truncate(10_001).unwrap();
    inode.truncate(20_000).unwrap();
    assert_eq!(pread(&f, 3, 10_000), [b'a', 0, 0]);

    // Holes and data for lseek; a punched hole frees whole pages and zeroes partial ones.
    let ops = f.ops.clone();
    assert_eq!(ops.seek(&f, 0, 0, abi::SEEK_DATA), Ok(8192));
    assert_eq!(ops.seek(&f, 0, 0, abi::SEEK_HOLE), Ok(0));
    assert_eq!(ops.seek(&f, 0, 9000, abi::SEEK_HOLE), Ok(12_288));
    assert_eq!(ops.seek(&f, 0, 20_000, abi::SEEK_DATA), Err(Errno::ENXIO));
    pwrite(&f, &[7u8; 3 * PAGE], 0);
    inode
        .allocate(
            abi::FALLOC_FL_PUNCH_HOLE | abi::FALLOC_FL_KEEP_SIZE,
            100,
            2 * PAGE as u64,
        )
        .unwrap();
    let back = pread(&f, 3 * PAGE, 0);
    assert_eq!(back[99], 7);
    assert!(back[100..100 + 2 * PAGE].iter().all(|&b| b == 0));
    assert_eq!(back[100 + 2 * PAGE], 7);
    assert_eq!(inode.stat().unwrap().st_size, 20_000);
    assert_eq!(
        inode.allocate(abi::FALLOC_FL_PUNCH_HOLE, 0, 1),
        Err(Errno::EOPNOTSUPP)
    );
    // Offsets past the largest file: EINVAL (read/write), EFBIG (truncate).
    let mut one = [0u8; 1];
    assert_eq!(
        f.read(&mut ReadBuf::kernel(&mut one), Some(i64::MAX as u64)),
        Err(Errno::EINVAL)
    );
    assert_eq!(inode.truncate(u64::MAX), Err(Errno::EFBIG));

    // Link counts: files by names, directories by "." and subdirectories.
    let a = root.mkdir("a", 0o755).unwrap();
    let b = root.mkdir("b", 0o755).unwrap();
    let sub = a.mkdir("sub", 0o755).unwrap();
    assert_eq!((nlink(&root), nlink(&a), nlink(&sub)), (4, 3, 2));
    a.link("f2", &inode).unwrap();
    assert_eq!(nlink(&inode), 2);
    assert_eq!(a.link("f2", &inode), Err(Errno::EEXIST));
    assert_eq!(root.rmdir("a"), Err(Errno::ENOTEMPTY));
    assert_eq!(root.unlink("a"), Err(Errno::EISDIR));
    assert_eq!(a.rmdir("f2"), Err(Errno::ENOTDIR));

    // Renames: across directories (counts follow), over an empty directory, NOREPLACE,
    // EXCHANGE of a directory and a file, and never into its own subtree.
    let b_ref: InodeRef = b.clone();
    a.rename("sub", &b_ref, "sub", 0).unwrap();
    assert_eq!((nlink(&a), nlink(&b)), (2, 3));
    assert!(vfs::same(&sub.parent().unwrap(), &b));
    b.mkdir("empty", 0o755).unwrap();
    b.rename("sub", &b_ref, "empty", 0).unwrap();
    assert_eq!(nlink(&b), 3);
    assert_eq!(
        b.rename("empty", &b_ref, "empty", RENAME_NOREPLACE),
        Ok(()) // the same entry: nothing to do
    );
    a.rename("f2", &b_ref, "file", 0).unwrap();
    b.rename("empty", &b_ref, "file", RENAME_EXCHANGE).unwrap();
    assert_eq!(b.lookup("file").unwrap().kind(), FileType::Directory);
    let sub_ref: InodeRef = sub.clone();
    assert_eq!(root.rename("b", &sub_ref, "x", 0), Err(Errno::EINVAL));
    // A directory over an empty one: the victim goes, the counts follow.
    root.rename("a", &b_ref, "file", 0).unwrap();
    assert_eq!((nlink(&root), nlink(&b), nlink(&sub)), (3, 3, 0));

    // Removed directories refuse new entries; their ".." still leads out.
    let gone = root.mkdir("gone", 0o755).unwrap();
    root.rmdir("gone").unwrap();
    assert_eq!(nlink(&gone), 0);
    assert_eq!(gone.create("x", abi::S_IFREG, 0).err(), Some(Errno::ENOENT));
    assert!(vfs::same(&gone.parent().unwrap(), &root));

    // O_TMPFILE: an unnamed file, linkable once.
    let tmp = root.create_unnamed(abi::S_IFREG | 0o600, true).unwrap();
    assert_eq!(nlink(&tmp), 0);
    root.link("named", &tmp).unwrap();
    assert_eq!(nlink(&tmp), 1);
    let excl = root.create_unnamed(abi::S_IFREG | 0o600, false).unwrap();
    assert_eq!(root.link("never", &excl), Err(Errno::ENOENT));
}
