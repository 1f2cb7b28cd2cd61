//! Physical frame allocator: one bit per 4 KiB frame (set = in use), with a search hint.
//!
//! A bitmap keeps freeing exact (any sub-range of an earlier allocation can be returned, which
//! `munmap` of part of a mapping needs) and finds 2 MiB-aligned runs for huge pages.

pub const FRAME_SIZE: u64 = 4096;

pub struct FrameBitmap<'a> {
    bits: &'a mut [u64],
    frames: u64,
    free: u64,
    hint: usize,
}

impl<'a> FrameBitmap<'a> {
    /// A bitmap for frames `0..frames` with every frame marked in use.
    pub fn new_all_used(bits: &'a mut [u64], frames: u64) -> Self {
        assert!(bits.len() as u64 * 64 >= frames);
        bits.fill(!0);
        FrameBitmap { bits, frames, free: 0, hint: 0 }
    }

    /// Words of bitmap needed for `frames` frames.
    pub fn words_for(frames: u64) -> usize {
        frames.div_ceil(64) as usize
    }

    pub fn total_frames(&self) -> u64 {
        self.frames
    }

    pub fn free_frames(&self) -> u64 {
        self.free
    }

    fn is_used(&self, frame: u64) -> bool {
        self.bits[(frame / 64) as usize] & (1 << (frame % 64)) != 0
    }

    fn set(&mut self, frame: u64, used: bool) {
        let word = &mut self.bits[(frame / 64) as usize];
        let bit = 1u64 << (frame % 64);
        let was_used = *word & bit != 0;
        if used && !was_used {
            *word |= bit;
            self.free -= 1;
        } else if !used && was_used {
            *word &= !bit;
            self.free += 1;
        }
    }

    /// Mark the frames covering physical `[start, end)` free (rounded inward to whole frames).
    pub fn release_range(&mut self, start: u64, end: u64) {
        let first = start.div_ceil(FRAME_SIZE);
        let last = (end / FRAME_SIZE).min(self.frames);
        for frame in first..last {
            self.set(frame, false);
        }
    }

    /// Mark the frames touching physical `[start, end)` used (rounded outward).
    pub fn reserve_range(&mut self, start: u64, end: u64) {
        let first = start / FRAME_SIZE;
        let last = end.div_ceil(FRAME_SIZE).min(self.frames);
        for frame in first..last {
            self.set(frame, true);
        }
    }

    /// Allocate one frame; returns its physical address.
    pub fn alloc_one(&mut self) -> Option<u64> {
        let words = self.bits.len();
        for i in 0..words {
            let index = (self.hint + i) % words;
            let word = self.bits[index];
            if word != !0 {
                let frame = index as u64 * 64 + (!word).trailing_zeros() as u64;
                if frame >= self.frames {
                    continue;
                }
                self.set(frame, true);
                self.hint = index;
                return Some(frame * FRAME_SIZE);
            }
        }
        None
    }

    /// Allocate `count` physically contiguous frames starting at a multiple of `align` frames.
    pub fn alloc_contiguous(&mut self, count: u64, align: u64) -> Option<u64> {
        if count == 1 && align <= 1 {
            return self.alloc_one();
        }
        let align = align.max(1);
        let mut start = 0;
        while start + count <= self.frames {
            match (start..start + count).rev().find(|&f| self.is_used(f)) {
                None => {
                    for frame in start..start + count {
                        self.set(frame, true);
                    }
                    return Some(start * FRAME_SIZE);
                }
                Some(used) => start = (used + 1).div_ceil(align) * align,
            }
        }
        None
    }

    /// Return `count` frames starting at physical `start`.
    pub fn free(&mut self, start: u64, count: u64) {
        let first = start / FRAME_SIZE;
        for frame in first..(first + count).min(self.frames) {
            debug_assert!(self.is_used(frame), "double free of frame {frame:#x}");
            self.set(frame, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_frees_and_reuses() {
        let mut bits = vec![0u64; FrameBitmap::words_for(1000)];
        let mut fb = FrameBitmap::new_all_used(&mut bits, 1000);
        fb.release_range(0x1000, 1000 * FRAME_SIZE);
        assert_eq!(fb.free_frames(), 999);
        let a = fb.alloc_one().unwrap();
        assert_eq!(a, 0x1000);
        let b = fb.alloc_one().unwrap();
        assert_ne!(a, b);
        fb.free(a, 1);
        assert_eq!(fb.free_frames(), 998);
        assert_eq!(fb.alloc_one(), Some(a));
    }

    #[test]
    fn contiguous_aligned_runs() {
        let mut bits = vec![0u64; FrameBitmap::words_for(4096)];
        let mut fb = FrameBitmap::new_all_used(&mut bits, 4096);
        fb.release_range(0, 4096 * FRAME_SIZE);
        fb.reserve_range(5 * FRAME_SIZE, 6 * FRAME_SIZE);
        let huge = fb.alloc_contiguous(512, 512).unwrap();
        assert_eq!(huge, 512 * FRAME_SIZE);
        let next = fb.alloc_contiguous(512, 512).unwrap();
        assert_eq!(next, 1024 * FRAME_SIZE);
        // A partial free (munmap of part of a mapping) returns exactly those frames.
        fb.free(huge + 10 * FRAME_SIZE, 2);
        assert_eq!(fb.free_frames(), 4096 - 1 - 1024 + 2);
        assert!(fb.alloc_contiguous(4096, 1).is_none());
    }

    #[test]
    fn exhaustion_is_none() {
        let mut bits = vec![0u64; 1];
        let mut fb = FrameBitmap::new_all_used(&mut bits, 3);
        fb.release_range(0, 3 * FRAME_SIZE);
        assert!(fb.alloc_one().is_some());
        assert!(fb.alloc_one().is_some());
        assert!(fb.alloc_one().is_some());
        assert!(fb.alloc_one().is_none());
    }
}
