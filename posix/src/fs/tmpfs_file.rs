//! tmpfs regular files: sparse page maps behind a per-file `SleepLock`, and their `FileOps`.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use super::page::Page;
use super::{FsInfo, PAGE, TmpInode};
use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::file::{FileOps, OpenFile, ReadBuf, WriteBuf};
use crate::fs::vfs::{Inode, InodeRef};
use crate::fs::wait::SleepLock;

/// Linux's MAX_LFS_FILESIZE on 64-bit.
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

static ZEROS: [u8; PAGE] = [0; PAGE];

/// RAM in pages and pages free, from the frame allocator.
pub fn memory_pages() -> (u64, u64) {
    #[cfg(target_os = "none")]
    {
        let s = ferrite_libos::mm::stats();
        (s.total_frames, s.free_frames)
    }
    #[cfg(not(target_os = "none"))]
    {
        (1 << 18, 1 << 17)
    }
}

/// A tmpfs holds at most half the RAM (Linux's default `size=50%`).
pub fn fs_page_limit(total: u64) -> u64 {
    total / 2
}

/// Frames left alone for the kernel (heap growth, page tables, thread stacks): 1/32 of RAM,
/// at least 4 MiB.
fn kernel_reserve(total: u64) -> u64 {
    (total / 32).max(1024)
}

/// Pages the file systems may still allocate before asking the frame allocator again: the
/// allocator's statistics take its lock, so they are read once per batch, never per page.
static PAGE_BUDGET: AtomicI64 = AtomicI64::new(0);
static TOTAL_PAGES: AtomicU64 = AtomicU64::new(0);

/// One page's worth of the budget, refilled with a quarter of what is free above the
/// kernel's reserve (so the reserve holds even if every CPU refills at once).
fn take_page_budget() -> bool {
    if PAGE_BUDGET.fetch_sub(1, Ordering::Relaxed) > 0 {
        return true;
    }
    let (total, free) = memory_pages();
    let spare = free.saturating_sub(kernel_reserve(total));
    if spare == 0 {
        PAGE_BUDGET.store(0, Ordering::Relaxed);
        return false;
    }
    PAGE_BUDGET.store((spare / 4).clamp(0, 1024) as i64, Ordering::Relaxed);
    true
}

/// RAM in pages (read once: it does not change).
fn total_pages() -> u64 {
    match TOTAL_PAGES.load(Ordering::Relaxed) {
        0 => {
            let total = memory_pages().0;
            TOTAL_PAGES.store(total, Ordering::Relaxed);
            total
        }
        t => t,
    }
}

struct Pages {
    map: BTreeMap<u64, Page>,
    size: u64,
}

pub struct FileBody {
    data: SleepLock<Pages>,
    /// Mirrors of the size and page count, for stat without the sleeping lock.
    size: AtomicU64,
    pages: AtomicU64,
}

impl FileBody {
    pub fn new() -> FileBody {
        FileBody {
            data: SleepLock::new(Pages {
                map: BTreeMap::new(),
                size: 0,
            }),
            size: AtomicU64::new(0),
            pages: AtomicU64::new(0),
        }
    }

    pub fn size(&self) -> u64 {
        self.size.load(Ordering::Relaxed)
    }

    pub fn pages(&self) -> u64 {
        self.pages.load(Ordering::Relaxed)
    }

    /// A zeroed page, if memory allows: ENOSPC when the file system is full or the kernel's
    /// reserve would be touched (never an allocation failure in the heap).
    fn new_page(&self, fs: &FsInfo) -> Result<Page, Errno> {
        if fs.pages.load(Ordering::Relaxed) >= fs_page_limit(total_pages()) || !take_page_budget() {
            return Err(Errno::ENOSPC);
        }
        let page = Page::new().ok_or(Errno::ENOSPC)?;
        fs.pages.fetch_add(1, Ordering::Relaxed);
        self.pages.fetch_add(1, Ordering::Relaxed);
        Ok(page)
    }

    fn drop_pages(&self, fs: &FsInfo, count: u64) {
        fs.pages.fetch_sub(count, Ordering::Relaxed);
        self.pages.fetch_sub(count, Ordering::Relaxed);
    }

    fn set_size(&self, pages: &mut Pages, size: u64) {
        pages.size = size;
        self.size.store(size, Ordering::Relaxed);
    }

    fn read(&self, buf: &mut ReadBuf, offset: u64) -> SysResult {
        let pages = self.data.lock();
        let mut pos = offset;
        while pos < pages.size && buf.remaining() > 0 {
            let index = pos / PAGE as u64;
            let within = (pos % PAGE as u64) as usize;
            let n = (PAGE - within)
                .min((pages.size - pos) as usize)
                .min(buf.remaining());
            let src = match pages.map.get(&index) {
                Some(p) => &p.bytes()[within..within + n],
                None => &ZEROS[..n],
            };
            let put = buf.put(src);
            pos += put as u64;
            if put < n {
                break;
            }
        }
        buf.result()
    }

    /// Write at `offset` (or the end if `append`); returns (bytes, position after).
    fn write(
        &self,
        fs: &FsInfo,
        buf: &mut WriteBuf,
        offset: u64,
        append: bool,
    ) -> Result<(usize, u64), Errno> {
        let mut pages = self.data.lock();
        let start = if append { pages.size } else { offset };
        let mut want = buf.remaining() as u64;
        if want == 0 {
            return Ok((0, start));
        }
        // RLIMIT_FSIZE first, then the largest file, as Linux's `generic_write_check_limits`.
        let limit = file_size_limit();
        if start >= limit {
            exceeded_file_size_limit();
            return Err(Errno::EFBIG);
        }
        want = want.min(limit - start);
        if start >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        want = want.min(MAX_FILE_SIZE - start);
        let mut pos = start;
        let end = start + want;
        let mut error = None;
        while pos < end {
            let index = pos / PAGE as u64;
            let within = (pos % PAGE as u64) as usize;
            let n = (PAGE - within).min((end - pos) as usize);
            let fresh = !pages.map.contains_key(&index);
            if fresh {
                match self.new_page(fs) {
                    Ok(p) => {
                        pages.map.insert(index, p);
                    }
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            let page = pages.map.get_mut(&index).expect("page just ensured");
            let got = buf.take(&mut page.bytes_mut()[within..within + n]);
            if got == 0 && fresh {
                pages.map.remove(&index);
                self.drop_pages(fs, 1);
            }
            pos += got as u64;
            if got < n {
                break;
            }
        }
        let written = (pos - start) as usize;
        if pos > pages.size {
            self.set_size(&mut pages, pos);
        }
        if written == 0 {
            if let Some(e) = error {
                return Err(e);
            }
            if buf.faulted() {
                return Err(Errno::EFAULT);
            }
        }
        Ok((written, pos))
    }

    pub fn truncate(&self, fs: &FsInfo, size: u64) -> Result<(), Errno> {
        if size > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let mut pages = self.data.lock();
        if size < pages.size {
            let first_gone = size.div_ceil(PAGE as u64);
            let gone: Vec<u64> = pages.map.range(first_gone..).map(|(k, _)| *k).collect();
            for k in &gone {
                pages.map.remove(k);
            }
            self.drop_pages(fs, gone.len() as u64);
            // The tail of the last page must read as zeros if the file grows again.
            let within = (size % PAGE as u64) as usize;
            if within != 0
                && let Some(p) = pages.map.get_mut(&(size / PAGE as u64))
            {
                p.bytes_mut()[within..].fill(0);
            }
        }
        self.set_size(&mut pages, size);
        Ok(())
    }

    pub fn allocate(&self, fs: &FsInfo, mode: u32, offset: u64, len: u64) -> Result<(), Errno> {
        let keep_size = mode & abi::FALLOC_FL_KEEP_SIZE != 0;
        // tmpfs knows KEEP_SIZE and PUNCH_HOLE (which needs KEEP_SIZE), as Linux's.
        if mode == abi::FALLOC_FL_PUNCH_HOLE | abi::FALLOC_FL_KEEP_SIZE {
            return self.punch_hole(fs, offset, len);
        }
        if mode & !abi::FALLOC_FL_KEEP_SIZE != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let end = offset.checked_add(len).ok_or(Errno::EFBIG)?;
        if end > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let mut pages = self.data.lock();
        let first = offset / PAGE as u64;
        let last = end.div_ceil(PAGE as u64);
        let mut added = Vec::new();
        for index in first..last {
            if pages.map.contains_key(&index) {
                continue;
            }
            match self.new_page(fs) {
                Ok(p) => {
                    pages.map.insert(index, p);
                    added.push(index);
                }
                Err(e) => {
                    // As Linux's shmem_fallocate: undo this call's pages on failure.
                    for k in &added {
                        pages.map.remove(k);
                    }
                    self.drop_pages(fs, added.len() as u64);
                    return Err(e);
                }
            }
        }
        if !keep_size && end > pages.size {
            self.set_size(&mut pages, end);
        }
        Ok(())
    }

    /// The inode is going away: its pages go back (counted, not locked: nobody else holds it).
    pub fn release(&self, fs: &FsInfo) {
        self.drop_pages(fs, self.pages());
    }

    /// FALLOC_FL_PUNCH_HOLE: whole pages in the range go, partial ones are zeroed; the size
    /// stays.
    fn punch_hole(&self, fs: &FsInfo, offset: u64, len: u64) -> Result<(), Errno> {
        let end = offset.saturating_add(len);
        let mut pages = self.data.lock();
        let end = end.min(pages.size.max(offset));
        let page = PAGE as u64;
        let gone: Vec<u64> = pages
            .map
            .range(offset.div_ceil(page)..end / page)
            .map(|(k, _)| *k)
            .collect();
        for k in &gone {
            pages.map.remove(k);
        }
        self.drop_pages(fs, gone.len() as u64);
        // The partial pages at either end.
        for index in [offset / page, end / page] {
            let (from, to) = (offset.max(index * page), end.min((index + 1) * page));
            if from < to
                && let Some(p) = pages.map.get_mut(&index)
            {
                p.bytes_mut()[(from - index * page) as usize..(to - index * page) as usize].fill(0);
            }
        }
        Ok(())
    }

    /// SEEK_DATA / SEEK_HOLE from `offset` (page granularity, as tmpfs).
    fn seek_data_hole(&self, offset: u64, data: bool) -> SysResult {
        let pages = self.data.lock();
        if offset >= pages.size {
            return Err(Errno::ENXIO);
        }
        let mut index = offset / PAGE as u64;
        if data {
            match pages.map.range(index..).next() {
                Some((k, _)) => {
                    let at = (k * PAGE as u64).max(offset);
                    if at >= pages.size {
                        Err(Errno::ENXIO)
                    } else {
                        Ok(at as i64)
                    }
                }
                None => Err(Errno::ENXIO),
            }
        } else {
            while pages.map.contains_key(&index) {
                index += 1;
            }
            Ok((index * PAGE as u64).max(offset).min(pages.size) as i64)
        }
    }
}

/// RLIMIT_FSIZE's soft limit (u64::MAX for none).
pub fn file_size_limit() -> u64 {
    crate::syscalls::info::soft_limit(abi::RLIMIT_FSIZE)
}

/// A write or a size change went past RLIMIT_FSIZE: SIGXFSZ, as Linux (the caller fails with
/// EFBIG). Sent to the process (a thread that does not block it) rather than to the writing
/// thread only.
pub fn exceeded_file_size_limit() {
    #[cfg(target_os = "none")]
    crate::syscalls::signal::send_to_process(abi::SIGXFSZ as u64);
}

/// Linux's `rw_verify_area`: an offset plus count beyond the largest offset is EINVAL.
fn check_range(offset: u64, count: usize) -> Result<(), Errno> {
    match offset.checked_add(count as u64) {
        Some(end) if end <= MAX_FILE_SIZE => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// An open tmpfs regular file.
pub struct TmpFile {
    inode: Arc<TmpInode>,
    path: String,
}

impl TmpFile {
    pub fn new(inode: Arc<TmpInode>, path: &str) -> TmpFile {
        TmpFile {
            inode,
            path: String::from(path),
        }
    }

    fn body(&self) -> &FileBody {
        self.inode.file_body().expect("TmpFile on a regular file")
    }
}

impl FileOps for TmpFile {
    fn read(&self, file: &OpenFile, buf: &mut ReadBuf, offset: Option<u64>) -> SysResult {
        let offset = offset.unwrap_or(0);
        check_range(offset, buf.remaining())?;
        let n = self.body().read(buf, offset)?;
        if file.flags() & abi::O_NOATIME == 0 {
            self.inode.touch_accessed();
        }
        Ok(n)
    }

    fn write(
        &self,
        file: &OpenFile,
        buf: &mut WriteBuf,
        offset: Option<u64>,
        end: &mut Option<u64>,
    ) -> SysResult {
        let append = file.flags() & abi::O_APPEND != 0;
        if !append {
            check_range(offset.unwrap_or(0), buf.remaining())?;
        }
        let (n, after) = self
            .body()
            .write(&self.inode.fs, buf, offset.unwrap_or(0), append)?;
        if append {
            *end = Some(after);
        }
        if n > 0 {
            self.inode.touch_modified();
        }
        Ok(n as i64)
    }

    fn seekable(&self) -> bool {
        true
    }

    fn seek(&self, _file: &OpenFile, pos: u64, offset: i64, whence: u32) -> SysResult {
        let base = match whence {
            abi::SEEK_SET => 0,
            abi::SEEK_CUR => pos as i64,
            abi::SEEK_END => self.body().size() as i64,
            abi::SEEK_DATA | abi::SEEK_HOLE => {
                if offset < 0 {
                    return Err(Errno::ENXIO);
                }
                return self
                    .body()
                    .seek_data_hole(offset as u64, whence == abi::SEEK_DATA);
            }
            _ => return Err(Errno::EINVAL),
        };
        match base.checked_add(offset) {
            Some(p) if p >= 0 => Ok(p),
            _ => Err(Errno::EINVAL),
        }
    }

    fn stat(&self) -> Result<abi::stat, Errno> {
        self.inode.stat()
    }

    fn flush(&self, file: &OpenFile) {
        let inode: InodeRef = self.inode.clone();
        crate::fs::locks::on_close(file, &inode);
    }

    fn describe(&self) -> String {
        if self.inode.nlink() == 0 {
            alloc::format!("{} (deleted)", self.path)
        } else {
            self.path.clone()
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The inode of a tmpfs file's `FileOps` (for `vfs::inode_of`).
pub fn inode_of_file(any: &dyn Any) -> Option<InodeRef> {
    any.downcast_ref::<TmpFile>()
        .map(|f| f.inode.clone() as InodeRef)
}
