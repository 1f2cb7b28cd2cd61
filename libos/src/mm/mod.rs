//! Memory: physical frames, the page tables of the one address space, the kernel heap and the
//! service's virtual memory areas.

pub mod frames;
mod owned_frame;
pub use owned_frame::OwnedFrame;
pub mod paging;
pub mod tlb;
pub mod vma;

#[cfg(target_os = "none")]
mod frame_cache;
#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
mod space;
#[cfg(target_os = "none")]
pub use space::*;
