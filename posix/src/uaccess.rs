//! Access to the service's memory from system calls. Every pointer is checked against the page
//! tables first: a bad pointer is EFAULT for that call, never a kernel fault.

use alloc::string::String;
use alloc::vec::Vec;

use crate::errno::Errno;

/// Pages of lazy areas the service has not touched yet are given their frames here, as a fault
/// of the service itself would.
#[cfg(target_os = "none")]
fn accessible(addr: u64, len: u64, write: bool) -> bool {
    if ferrite_libos::mm::is_accessible(addr, len, write) {
        return true;
    }
    let mut page = addr & !4095;
    while page < addr + len {
        if !ferrite_libos::mm::is_accessible(page, 1, write) {
            use crate::syscalls::memory::{FaultResolution, resolve_fault};
            match resolve_fault(page, write, false) {
                FaultResolution::Resolved => {}
                FaultResolution::NotAllowed => return false,
                // As the service's own touch would have (and as Linux's OOM killer does).
                FaultResolution::OutOfMemory => crate::faults::out_of_memory_kill(page),
            }
        }
        page += 4096;
    }
    ferrite_libos::mm::is_accessible(addr, len, write)
}

/// Host builds (unit tests) have no service memory: only null is rejected.
#[cfg(not(target_os = "none"))]
fn accessible(addr: u64, _len: u64, _write: bool) -> bool {
    addr != 0
}

fn check(addr: u64, len: u64, write: bool) -> Result<(), Errno> {
    if len == 0 {
        return Ok(());
    }
    if addr < 4096 || !accessible(addr, len, write) {
        return Err(Errno::EFAULT);
    }
    Ok(())
}

/// The service's bytes at `[addr, addr+len)`, readable.
pub fn slice<'a>(addr: u64, len: u64) -> Result<&'a [u8], Errno> {
    if len == 0 {
        return Ok(&[]);
    }
    check(addr, len, false)?;
    // SAFETY: the whole range is mapped readable (checked); the service owns it and the kernel
    // only reads it during this call.
    Ok(unsafe { core::slice::from_raw_parts(addr as *const u8, len as usize) })
}

/// The service's bytes at `[addr, addr+len)`, writable.
pub fn slice_mut<'a>(addr: u64, len: u64) -> Result<&'a mut [u8], Errno> {
    if len == 0 {
        return Ok(&mut []);
    }
    check(addr, len, true)?;
    // SAFETY: the whole range is mapped writable (checked); the call writes the service's buffer
    // as the system call's contract says.
    Ok(unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len as usize) })
}

/// Read a plain value (a C struct of integers) from the service.
pub fn read<T: Copy>(addr: u64) -> Result<T, Errno> {
    let size = core::mem::size_of::<T>() as u64;
    check(addr, size, false)?;
    // SAFETY: mapped readable (checked); read_unaligned tolerates any alignment; T is plain data.
    Ok(unsafe { core::ptr::read_unaligned(addr as *const T) })
}

/// Write a plain value to the service.
pub fn write<T: Copy>(addr: u64, value: &T) -> Result<(), Errno> {
    let size = core::mem::size_of::<T>() as u64;
    check(addr, size, true)?;
    // SAFETY: mapped writable (checked); write_unaligned tolerates any alignment.
    unsafe { core::ptr::write_unaligned(addr as *mut T, *value) };
    Ok(())
}

/// A NUL-terminated string of at most `max` bytes.
pub fn c_string(addr: u64, max: usize) -> Result<String, Errno> {
    let mut bytes = Vec::new();
    let mut at = addr;
    loop {
        // Check page by page: the string may end right before an unmapped page.
        let page_left = 4096 - (at % 4096);
        let chunk = slice(at, page_left)?;
        if let Some(end) = chunk.iter().position(|&b| b == 0) {
            bytes.extend_from_slice(&chunk[..end]);
            break;
        }
        bytes.extend_from_slice(chunk);
        if bytes.len() > max {
            return Err(Errno::ERANGE);
        }
        at += page_left;
    }
    String::from_utf8(bytes).map_err(|_| Errno::EINVAL)
}

/// An iovec array: (base, len) pairs.
pub fn iovecs(addr: u64, count: u64) -> Result<Vec<(u64, u64)>, Errno> {
    const IOV_MAX: u64 = 1024;
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let raw = slice(addr, count * 16)?;
    Ok(raw
        .chunks_exact(16)
        .map(|c| {
            let base = u64::from_le_bytes(c[0..8].try_into().expect("8 bytes"));
            let len = u64::from_le_bytes(c[8..16].try_into().expect("8 bytes"));
            (base, len)
        })
        .collect())
}
