//! Access to the service's memory from system calls, as Linux's `copy_from_user`/`copy_to_user`.
//!
//! Kernel and service share one address space, so a service pointer is first limited to where
//! the service's memory can be (`user_prefix`): the program break and mmap areas
//! (`[BRK_BASE, USER_TOP)`), the image (all its pages are the service's too), and the low window
//! `[MMAP_MIN_ADDR, image start)` page by page (a page there that the kernel's identity map still
//! holds is not the service's). Anything else counts as unmapped.
//!
//! The copy itself is `ferrite_uaccess_copy`, one `rep movsb` listed in a small exception table.
//! When it faults — an unmapped page, a write to a read-only page (CR0.WP is set), a page another
//! thread has just unmapped — the page-fault handler (faults.rs) gives a lazy page its frame and
//! retries the instruction, as the service's own touch would, or resumes at the fixup, which
//! returns the bytes not copied. A bad pointer is therefore a short count or EFAULT for that call,
//! never a kernel fault, even when the buffer disappears in the middle of the copy. The kernel
//! never holds a Rust reference to the service's memory: it copies into and out of its own
//! buffers. Callers must not hold the memory-area lock (`syscalls::memory`) or the page-table
//! locks while copying: the fault handler takes them.

use alloc::string::String;
use alloc::vec::Vec;

use crate::errno::Errno;

/// Linux's TASK_SIZE on x86-64 (47-bit user addresses, the last page excluded).
pub const USER_TOP: u64 = 0x7FFF_FFFF_F000;
/// Linux's largest byte count for one read or write (`MAX_RW_COUNT`).
pub const MAX_RW_COUNT: u64 = 0x7FFF_F000;
const PAGE: u64 = 4096;

#[cfg(target_os = "none")]
core::arch::global_asm!(
    r#"
    .pushsection .text.ferrite_uaccess, "ax"
    .balign 16
    /* (dst, src, len) -> bytes not copied. Eight bytes at a time, then the tail (TCG runs
     * rep movsb a byte per step). A fault in the qword loop goes on byte by byte from the
     * faulting qword (rep movs leaves rsi, rdi and rcx there), so the copy stops at the exact
     * byte; a fault in the byte loop returns rcx, the bytes left. */
    .global ferrite_uaccess_copy
ferrite_uaccess_copy:
    mov rcx, rdx
    shr rcx, 3
    and edx, 7
    .global ferrite_uaccess_copy_qwords_insn
ferrite_uaccess_copy_qwords_insn:
    rep movsq
    mov rcx, rdx
ferrite_uaccess_copy_bytes:
    .global ferrite_uaccess_copy_insn
ferrite_uaccess_copy_insn:
    rep movsb
    .global ferrite_uaccess_copy_fixup
ferrite_uaccess_copy_fixup:
    mov rax, rcx
    ret
    .global ferrite_uaccess_copy_qwords_fixup
ferrite_uaccess_copy_qwords_fixup:
    lea rcx, [rdx + rcx * 8]
    jmp ferrite_uaccess_copy_bytes

    .balign 16
    /* (addr, expected, new, *old) -> 0, with the old value in *old; 1 when addr faulted. */
    .global ferrite_uaccess_cmpxchg32
ferrite_uaccess_cmpxchg32:
    mov eax, esi
    .global ferrite_uaccess_cmpxchg32_insn
ferrite_uaccess_cmpxchg32_insn:
    lock cmpxchg dword ptr [rdi], edx
    mov dword ptr [rcx], eax
    xor eax, eax
    ret
    .global ferrite_uaccess_cmpxchg32_fixup
ferrite_uaccess_cmpxchg32_fixup:
    mov eax, 1
    ret
    .popsection
"#
);

#[cfg(target_os = "none")]
unsafe extern "C" {
    fn ferrite_uaccess_copy(dst: *mut u8, src: *const u8, len: usize) -> usize;
    fn ferrite_uaccess_cmpxchg32(addr: *mut u32, expected: u32, new: u32, old: *mut u32) -> u32;
    static ferrite_uaccess_copy_qwords_insn: u8;
    static ferrite_uaccess_copy_qwords_fixup: u8;
    static ferrite_uaccess_copy_insn: u8;
    static ferrite_uaccess_copy_fixup: u8;
    static ferrite_uaccess_cmpxchg32_insn: u8;
    static ferrite_uaccess_cmpxchg32_fixup: u8;
}

/// The exception table: where to resume when the kernel faults at `rip`, if `rip` is one of the
/// instructions that touch the service's memory.
#[cfg(target_os = "none")]
pub fn fixup_for(rip: u64) -> Option<u64> {
    let table = [
        (
            &raw const ferrite_uaccess_copy_qwords_insn as u64,
            &raw const ferrite_uaccess_copy_qwords_fixup as u64,
        ),
        (
            &raw const ferrite_uaccess_copy_insn as u64,
            &raw const ferrite_uaccess_copy_fixup as u64,
        ),
        (
            &raw const ferrite_uaccess_cmpxchg32_insn as u64,
            &raw const ferrite_uaccess_cmpxchg32_fixup as u64,
        ),
    ];
    table
        .iter()
        .find(|&&(insn, _)| insn == rip)
        .map(|&(_, fixup)| fixup)
}

/// Whether a fault at `addr` can be in the service's memory (a cheap range test, for the fault
/// handler: faults elsewhere are kernel bugs even inside the copy routine).
#[cfg(target_os = "none")]
pub fn in_user_range(addr: u64) -> bool {
    use crate::syscalls::memory::{BRK_BASE, MMAP_MIN_ADDR};
    let image = ferrite_libos::mm::image_layout();
    (BRK_BASE..USER_TOP).contains(&addr) || (MMAP_MIN_ADDR..image.end).contains(&addr)
}

/// How many bytes from `addr` (at most `len`) lie where the service's memory can be. Whether
/// they are mapped is the copy's business.
#[cfg(target_os = "none")]
fn user_prefix(addr: u64, len: u64) -> u64 {
    use crate::syscalls::memory::{BRK_BASE, MMAP_MIN_ADDR};
    let image = ferrite_libos::mm::image_layout();
    let end = addr.saturating_add(len);
    let mut at = addr;
    while at < end {
        let limit = if (BRK_BASE..USER_TOP).contains(&at) {
            USER_TOP
        } else if (image.start..image.end).contains(&at) {
            image.end
        } else if (MMAP_MIN_ADDR..image.start).contains(&at) {
            // The low window: a page the service mapped, or one nobody has (it faults); a page
            // of the kernel's identity map is not the service's.
            let page = at & !(PAGE - 1);
            match ferrite_libos::mm::page_flags(page) {
                Some(flags) if flags & ferrite_libos::mm::paging::USER == 0 => break,
                _ => page + PAGE,
            }
        } else {
            break;
        };
        at = limit.min(end);
    }
    at - addr
}

/// Host builds (unit tests) have no service memory: everything but the first page is "mapped".
#[cfg(not(target_os = "none"))]
fn user_prefix(addr: u64, len: u64) -> u64 {
    if addr < PAGE { 0 } else { len }
}

/// Copy `len` bytes from `src` to `dst`, one of which is in the service's memory; returns the
/// bytes not copied (the copy stops at the first fault).
///
/// # Safety
/// The kernel side must be valid for `len` bytes; the service side must lie in the service's
/// address range (`user_prefix`).
#[cfg(target_os = "none")]
unsafe fn raw_copy(dst: *mut u8, src: *const u8, len: usize) -> usize {
    // SAFETY: the routine only touches [dst, dst+len) and [src, src+len); a fault on the service
    // side resumes at its fixup (faults.rs), which returns what was left.
    unsafe { ferrite_uaccess_copy(dst, src, len) }
}

#[cfg(not(target_os = "none"))]
unsafe fn raw_copy(dst: *mut u8, src: *const u8, len: usize) -> usize {
    // SAFETY: host tests pass real host memory.
    unsafe { core::ptr::copy(src, dst, len) };
    0
}

/// Copy the service's bytes at `addr` into `buf`, stopping at the first inaccessible byte:
/// returns how many were copied (a prefix of `buf`).
pub fn copy_from(addr: u64, buf: &mut [u8]) -> usize {
    let n = user_prefix(addr, buf.len() as u64) as usize;
    if n == 0 {
        return 0;
    }
    // SAFETY: `buf` is kernel memory of at least n bytes; `[addr, addr+n)` is in the service's
    // range (user_prefix).
    n - unsafe { raw_copy(buf.as_mut_ptr(), addr as *const u8, n) }
}

/// Copy `data` to the service's memory at `addr`, stopping at the first inaccessible (or
/// read-only) byte: returns how many were copied.
pub fn copy_to(addr: u64, data: &[u8]) -> usize {
    let n = user_prefix(addr, data.len() as u64) as usize;
    if n == 0 {
        return 0;
    }
    // SAFETY: `data` is kernel memory of at least n bytes; `[addr, addr+n)` is in the service's
    // range (user_prefix).
    n - unsafe { raw_copy(addr as *mut u8, data.as_ptr(), n) }
}

/// Linux's `access_ok`: the range must end below the top of user addresses (EFAULT otherwise,
/// before anything is transferred). Whether it is mapped is found out by the copy.
pub fn check_range(addr: u64, len: u64) -> Result<(), Errno> {
    match addr.checked_add(len) {
        Some(end) if end <= USER_TOP => Ok(()),
        _ => Err(Errno::EFAULT),
    }
}

/// Read into `buf` what can be read: Ok(n) with n > 0 bytes (a short count when the buffer
/// runs into an inaccessible page), Ok(0) for an empty `buf`, EFAULT when not one byte could.
pub fn read_bytes(addr: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    match copy_from(addr, buf) {
        0 if !buf.is_empty() => Err(Errno::EFAULT),
        n => Ok(n),
    }
}

/// Write what can be written of `data` (see `read_bytes`).
pub fn write_bytes(addr: u64, data: &[u8]) -> Result<usize, Errno> {
    match copy_to(addr, data) {
        0 if !data.is_empty() => Err(Errno::EFAULT),
        n => Ok(n),
    }
}

/// Fill `buf` entirely from the service's memory, or EFAULT.
pub fn read_exact(addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
    if copy_from(addr, buf) == buf.len() {
        Ok(())
    } else {
        Err(Errno::EFAULT)
    }
}

/// Write all of `data` to the service's memory, or EFAULT (a prefix may have been written, as
/// on Linux).
pub fn write_exact(addr: u64, data: &[u8]) -> Result<(), Errno> {
    if copy_to(addr, data) == data.len() {
        Ok(())
    } else {
        Err(Errno::EFAULT)
    }
}

/// Set `len` bytes of the service's memory at `addr` to `byte`, or EFAULT.
pub fn fill(addr: u64, len: u64, byte: u8) -> Result<(), Errno> {
    let block = [byte; 256];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(block.len() as u64) as usize;
        write_exact(addr + done, &block[..n])?;
        done += n as u64;
    }
    Ok(())
}

/// Read a plain value (a C struct of integers: every bit pattern valid) from the service.
pub fn read<T: Copy>(addr: u64) -> Result<T, Errno> {
    let mut value = core::mem::MaybeUninit::<T>::zeroed();
    // SAFETY: the zeroed bytes of the MaybeUninit<T> are initialised u8s, exclusively ours.
    let bytes =
        unsafe { core::slice::from_raw_parts_mut(value.as_mut_ptr().cast::<u8>(), size_of::<T>()) };
    read_exact(addr, bytes)?;
    // SAFETY: every byte came from the service; T is plain data (caller's contract).
    Ok(unsafe { value.assume_init() })
}

/// Write a plain value to the service, or EFAULT.
pub fn write<T: Copy>(addr: u64, value: &T) -> Result<(), Errno> {
    let len = size_of::<T>();
    let n = user_prefix(addr, len as u64) as usize;
    // The value's bytes go through the copy routine as they are (padding included), never as a
    // Rust byte slice.
    let left = if n == 0 {
        0
    } else {
        // SAFETY: `value` is valid for `len >= n` bytes; `[addr, addr+n)` is in the service's
        // range.
        unsafe { raw_copy(addr as *mut u8, (value as *const T).cast::<u8>(), n) }
    };
    if n == len && left == 0 {
        Ok(())
    } else {
        Err(Errno::EFAULT)
    }
}

/// The bytes of a NUL-terminated string before its NUL, reading at most `max` bytes (as Linux's
/// `strncpy_from_user`: a string longer than `max` is cut to `max` bytes). EFAULT when the string
/// runs into an inaccessible byte first.
pub fn c_bytes(addr: u64, max: usize) -> Result<Vec<u8>, Errno> {
    let mut bytes = Vec::new();
    let mut at = addr;
    while bytes.len() < max {
        // A page at a time: the string may end right before an inaccessible page.
        let page_left = (PAGE - at % PAGE) as usize;
        let mut chunk = [0u8; 256];
        let want = page_left.min(chunk.len()).min(max - bytes.len());
        let got = copy_from(at, &mut chunk[..want]);
        if let Some(end) = chunk[..got].iter().position(|&b| b == 0) {
            bytes.extend_from_slice(&chunk[..end]);
            return Ok(bytes);
        }
        if got < want {
            return Err(Errno::EFAULT);
        }
        bytes.extend_from_slice(&chunk[..got]);
        at += got as u64;
    }
    Ok(bytes)
}

/// A NUL-terminated UTF-8 string of at most `max` bytes (ERANGE when longer).
pub fn c_string(addr: u64, max: usize) -> Result<String, Errno> {
    let bytes = c_bytes(addr, max + 1)?;
    if bytes.len() > max {
        return Err(Errno::ERANGE);
    }
    String::from_utf8(bytes).map_err(|_| Errno::EINVAL)
}

/// An iovec array, checked as Linux's `import_iovec` does: more than 1024 entries or a length
/// that is negative as `ssize_t` is EINVAL; an array that cannot be read, or a buffer that
/// reaches above the user addresses, is EFAULT. Lengths beyond a total of `MAX_RW_COUNT` are cut.
pub fn iovecs(addr: u64, count: u64) -> Result<Vec<(u64, u64)>, Errno> {
    const IOV_MAX: u64 = 1024;
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let mut raw = alloc::vec![0u8; count as usize * 16];
    read_exact(addr, &mut raw)?;
    let mut list: Vec<(u64, u64)> = raw
        .chunks_exact(16)
        .map(|c| {
            let base = u64::from_le_bytes(c[0..8].try_into().expect("8 bytes"));
            let len = u64::from_le_bytes(c[8..16].try_into().expect("8 bytes"));
            (base, len)
        })
        .collect();
    if list.iter().any(|&(_, len)| (len as i64) < 0) {
        return Err(Errno::EINVAL);
    }
    let mut total = 0u64;
    for (base, len) in list.iter_mut() {
        check_range(*base, *len)?;
        *len = (*len).min(MAX_RW_COUNT - total);
        total += *len;
    }
    Ok(list)
}

/// Atomically replace the service's 32-bit word at `addr` (4-aligned) by `new` if it holds
/// `expected`; returns the value it held. EFAULT when the word is not writable.
pub fn cmpxchg_u32(addr: u64, expected: u32, new: u32) -> Result<u32, Errno> {
    if user_prefix(addr, 4) != 4 {
        return Err(Errno::EFAULT);
    }
    #[cfg(target_os = "none")]
    let old = {
        let mut old = 0u32;
        // SAFETY: `addr` is 4 bytes in the service's range; a fault resumes at the routine's
        // fixup (faults.rs), which reports it; `old` is a kernel local.
        let faulted =
            unsafe { ferrite_uaccess_cmpxchg32(addr as *mut u32, expected, new, &mut old) };
        if faulted != 0 {
            return Err(Errno::EFAULT);
        }
        old
    };
    #[cfg(not(target_os = "none"))]
    let old = {
        use core::sync::atomic::Ordering::SeqCst;
        // SAFETY: host tests pass real, aligned host memory.
        let word = unsafe { core::sync::atomic::AtomicU32::from_ptr(addr as *mut u32) };
        match word.compare_exchange(expected, new, SeqCst, SeqCst) {
            Ok(v) | Err(v) => v,
        }
    };
    Ok(old)
}
