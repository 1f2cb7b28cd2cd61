//! The kernel heap: talc over a bootstrap arena in .bss, growing by claiming runs of physical
//! frames (identity-mapped RAM) when it runs out.

use core::alloc::Layout;

use talc::base::Talc;
use talc::base::binning::Binning;
use talc::source::Source;
use talc::sync::TalcLock;

use crate::sync::RawIrqSpinlock;

const BOOTSTRAP_SIZE: usize = 512 * 1024;

/// Bytes the heap has claimed (bootstrap arena plus frames), for the memory report.
static CLAIMED: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

pub fn claimed_bytes() -> usize {
    CLAIMED.load(core::sync::atomic::Ordering::Relaxed)
}
/// Smallest growth step: 2 MiB keeps the number of arenas small.
const GROW_STEP: usize = 2 * 1024 * 1024;

#[repr(align(4096))]
struct Arena([u8; BOOTSTRAP_SIZE]);
static mut BOOTSTRAP: Arena = Arena([0; BOOTSTRAP_SIZE]);

#[derive(Debug)]
pub struct FrameBacked {
    bootstrapped: bool,
}

// SAFETY: `acquire` only claims memory nothing else uses (the bootstrap arena once, then frames
// freshly taken from the frame allocator) and never touches the global allocator.
unsafe impl Source for FrameBacked {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        if !talc.source.bootstrapped {
            talc.source.bootstrapped = true;
            // SAFETY: the arena is used by nothing else; it is claimed exactly once.
            unsafe { talc.claim((&raw mut BOOTSTRAP.0).cast(), BOOTSTRAP_SIZE) }.ok_or(())?;
            CLAIMED.fetch_add(BOOTSTRAP_SIZE, core::sync::atomic::Ordering::Relaxed);
            return Ok(());
        }
        let bytes = (layout.size() + layout.align() + 4096).next_multiple_of(GROW_STEP);
        let frames = bytes as u64 / super::frames::FRAME_SIZE;
        let phys = super::alloc_frames_contiguous(frames, 1).ok_or(())?;
        // SAFETY: the frames were just allocated for the heap and are identity-mapped.
        unsafe { talc.claim(phys as *mut u8, bytes) }.ok_or(())?;
        CLAIMED.fetch_add(bytes, core::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

#[global_allocator]
static HEAP: TalcLock<RawIrqSpinlock, FrameBacked, talc::DefaultBinning> =
    TalcLock::new(FrameBacked {
        bootstrapped: false,
    });
