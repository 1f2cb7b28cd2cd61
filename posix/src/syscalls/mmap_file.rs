//! `mmap` of a file: the file's bytes are copied into fresh anonymous memory at map time.
//!
//! That is exactly a private mapping as long as the file does not change afterwards (Linux's
//! MAP_PRIVATE shows later writes to the file until a page is first written), and a read-only
//! shared mapping of a file nobody writes. A shared writable mapping would lose the service's
//! writes (nothing writes them back), so it is refused with ENODEV and named on the console,
//! rather than pretending.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::fdtable;
use crate::fs::file::ReadBuf;

const PROT_WRITE: u32 = abi::PROT_WRITE;
static SHARED_WRITABLE_REPORTED: AtomicBool = AtomicBool::new(false);

pub fn map_file(addr: u64, len: u64, prot: u32, flags: u32, fd: i32, offset: u64) -> SysResult {
    let file = fdtable::get(fd)?;
    let st = file.ops.stat()?;
    // Pipes, sockets, the console, directories, eventfd...: nothing to map (Linux: no ->mmap).
    if !file.ops.seekable() || st.st_mode & abi::S_IFMT != abi::S_IFREG {
        return Err(Errno::ENODEV);
    }
    if !file.readable() {
        return Err(Errno::EACCES);
    }
    // (MAP_SHARED_VALIDATE is MAP_SHARED | MAP_PRIVATE: compare the two bits as a whole.)
    let sharing = flags & (abi::MAP_SHARED | abi::MAP_PRIVATE);
    let shared = sharing == abi::MAP_SHARED || sharing == abi::MAP_SHARED_VALIDATE;
    if shared && prot & PROT_WRITE != 0 {
        if !file.writable() {
            return Err(Errno::EACCES);
        }
        if !SHARED_WRITABLE_REPORTED.swap(true, Ordering::Relaxed) {
            ferrite_libos::kprintln!(
                "mmap: shared writable file mappings are not supported (ENODEV)"
            );
        }
        return Err(Errno::ENODEV);
    }
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let fixed = flags & (abi::MAP_FIXED | abi::MAP_FIXED_NOREPLACE) != 0;
    let start = super::memory::map_anonymous(
        addr,
        len,
        abi::PROT_READ | PROT_WRITE,
        fixed,
        flags & abi::MAP_FIXED_NOREPLACE != 0,
        false,
    )? as u64;
    let filled = fill(&file, start, len, offset);
    let protected = filled.and_then(|_| super::memory::protect(start, page_round_up(len), prot));
    if let Err(e) = protected {
        super::memory::unmap(start, page_round_up(len));
        return Err(e);
    }
    Ok(start as i64)
}

fn page_round_up(len: u64) -> u64 {
    len.div_ceil(4096) * 4096
}

/// Copy the file's bytes from `offset` into `[start, start+len)` up to its end (the rest of the
/// mapping stays zero, as the tail of a file's last page).
fn fill(file: &crate::fs::file::OpenFile, start: u64, len: u64, offset: u64) -> SysResult {
    let target = [(start, len)];
    let mut buf = ReadBuf::user(&target);
    while buf.remaining() > 0 {
        let at = offset + buf.done() as u64;
        let before = buf.done();
        file.ops.read(file, &mut buf, Some(at))?;
        if buf.done() == before {
            break; // end of file
        }
    }
    Ok(0)
}
