//! A 4 KiB frame the kernel owns for its own data (tmpfs file pages): allocated zeroed, reached
//! through safe byte slices, given back to the frame allocator when dropped.
//!
//! Frames, not heap blocks, for data that comes and goes in bulk: the kernel heap keeps every
//! frame it ever claims, so file data kept in heap blocks would never return to the frame
//! allocator when its file goes, and the service could not map that memory again. All RAM is
//! identity-mapped, so a frame's physical address is also where the kernel reads and writes it.
//! Host builds (unit tests) use heap blocks.

#[cfg(not(target_os = "none"))]
use alloc::boxed::Box;
#[cfg(not(target_os = "none"))]
use alloc::vec::Vec;

const PAGE: usize = 4096;

/// A zeroed frame, owned: its bytes are reached only through `&self`/`&mut self`.
pub struct OwnedFrame {
    #[cfg(target_os = "none")]
    phys: u64,
    #[cfg(not(target_os = "none"))]
    data: Box<[u8]>,
}

#[cfg(target_os = "none")]
impl OwnedFrame {
    /// A fresh zeroed page, or None when the frame allocator has none.
    pub fn new() -> Option<OwnedFrame> {
        let phys = super::alloc_frames_contiguous(1, 1)?;
        // SAFETY: the frame was just allocated, so nothing else references it, and all RAM is
        // identity-mapped writable for the kernel.
        unsafe { core::ptr::write_bytes(phys as *mut u8, 0, PAGE) };
        Some(OwnedFrame { phys })
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the frame belongs to this page until it is dropped (identity-mapped RAM);
        // the shared borrow of `self` excludes any `bytes_mut` borrow.
        unsafe { core::slice::from_raw_parts(self.phys as *const u8, PAGE) }
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as `bytes`; the exclusive borrow of `self` makes this the only reference.
        unsafe { core::slice::from_raw_parts_mut(self.phys as *mut u8, PAGE) }
    }
}

#[cfg(target_os = "none")]
impl Drop for OwnedFrame {
    fn drop(&mut self) {
        super::free_frames(self.phys, 1);
    }
}

#[cfg(not(target_os = "none"))]
impl OwnedFrame {
    pub fn new() -> Option<OwnedFrame> {
        let mut v: Vec<u8> = Vec::new();
        v.try_reserve_exact(PAGE).ok()?;
        v.resize(PAGE, 0);
        Some(OwnedFrame {
            data: v.into_boxed_slice(),
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }
}
