//! One 4 KiB page of tmpfs file data: a frame of its own (`ferrite_libos::mm::OwnedFrame`),
//! which goes back to the frame allocator when the page is dropped (part of `tmpfs`).

pub const PAGE: usize = 4096;

pub use ferrite_libos::mm::OwnedFrame as Page;
