//! Physical frame allocator: one bit per 4 KiB frame (set = in use), with a search hint, and a
//! second bitmap of frames known to hold zeros.
//!
//! A bitmap keeps freeing exact (any sub-range of an earlier allocation can be returned, which
//! `munmap` of part of a mapping needs) and finds 2 MiB-aligned runs for huge pages. The zero map
//! lets the kernel skip clearing RAM the hypervisor handed over zeroed: at boot that is most of it,
//! and clearing it again is the largest cost of mapping memory.

pub const FRAME_SIZE: u64 = 4096;

/// Frames handed out: the address of the first and whether all of them are known to be zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frames {
    pub start: u64,
    pub zeroed: bool,
}

pub struct FrameBitmap<'a> {
    used: &'a mut [u64],
    zero: &'a mut [u64],
    frames: u64,
    free: u64,
    hint: usize,
}

fn set_bits(words: &mut [u64], first: u64, last: u64, value: bool) {
    let mut frame = first;
    while frame < last {
        let word = (frame / 64) as usize;
        let bit = frame % 64;
        let count = (64 - bit).min(last - frame);
        let mask = if count == 64 {
            !0
        } else {
            ((1u64 << count) - 1) << bit
        };
        if value {
            words[word] |= mask;
        } else {
            words[word] &= !mask;
        }
        frame += count;
    }
}

fn count_ones(words: &[u64], first: u64, last: u64) -> u64 {
    let mut frame = first;
    let mut ones = 0;
    while frame < last {
        let word = (frame / 64) as usize;
        let bit = frame % 64;
        let count = (64 - bit).min(last - frame);
        let mask = if count == 64 {
            !0
        } else {
            ((1u64 << count) - 1) << bit
        };
        ones += (words[word] & mask).count_ones() as u64;
        frame += count;
    }
    ones
}

fn all_set(words: &[u64], first: u64, last: u64) -> bool {
    let mut frame = first;
    while frame < last {
        let word = (frame / 64) as usize;
        let bit = frame % 64;
        let count = (64 - bit).min(last - frame);
        let mask = if count == 64 {
            !0
        } else {
            ((1u64 << count) - 1) << bit
        };
        if words[word] & mask != mask {
            return false;
        }
        frame += count;
    }
    true
}

fn any_set(words: &[u64], first: u64, last: u64) -> Option<u64> {
    let mut frame = first;
    while frame < last {
        let word = (frame / 64) as usize;
        let bit = frame % 64;
        let count = (64 - bit).min(last - frame);
        let mask = if count == 64 {
            !0
        } else {
            ((1u64 << count) - 1) << bit
        };
        let hit = words[word] & mask;
        if hit != 0 {
            return Some(word as u64 * 64 + 63 - hit.leading_zeros() as u64);
        }
        frame += count;
    }
    None
}

impl<'a> FrameBitmap<'a> {
    /// A bitmap for frames `0..frames` with every frame marked in use and none known zero.
    pub fn new_all_used(used: &'a mut [u64], zero: &'a mut [u64], frames: u64) -> Self {
        assert!(used.len() as u64 * 64 >= frames && zero.len() == used.len());
        used.fill(!0);
        zero.fill(0);
        FrameBitmap {
            used,
            zero,
            frames,
            free: 0,
            hint: 0,
        }
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

    /// Mark the frames covering physical `[start, end)` free (rounded inward to whole frames);
    /// `zeroed` says whether their contents are known to be zero.
    pub fn release_range(&mut self, start: u64, end: u64, zeroed: bool) {
        let first = start.div_ceil(FRAME_SIZE);
        let last = (end / FRAME_SIZE).min(self.frames);
        if first >= last {
            return;
        }
        self.free += count_ones(self.used, first, last);
        set_bits(self.used, first, last, false);
        set_bits(self.zero, first, last, zeroed);
    }

    /// Mark the frames touching physical `[start, end)` used (rounded outward).
    pub fn reserve_range(&mut self, start: u64, end: u64) {
        let first = start / FRAME_SIZE;
        let last = end.div_ceil(FRAME_SIZE).min(self.frames);
        if first >= last {
            return;
        }
        self.free -= (last - first) - count_ones(self.used, first, last);
        set_bits(self.used, first, last, true);
        set_bits(self.zero, first, last, false);
    }

    fn take(&mut self, first: u64, count: u64) -> Frames {
        let zeroed = all_set(self.zero, first, first + count);
        set_bits(self.used, first, first + count, true);
        set_bits(self.zero, first, first + count, false);
        self.free -= count;
        Frames {
            start: first * FRAME_SIZE,
            zeroed,
        }
    }

    /// Allocate one frame.
    pub fn alloc_one(&mut self) -> Option<Frames> {
        let words = self.used.len();
        for i in 0..words {
            let index = (self.hint + i) % words;
            let word = self.used[index];
            if word != !0 {
                let frame = index as u64 * 64 + (!word).trailing_zeros() as u64;
                if frame >= self.frames {
                    continue;
                }
                self.hint = index;
                return Some(self.take(frame, 1));
            }
        }
        None
    }

    /// Allocate `count` physically contiguous frames starting at a multiple of `align` frames.
    pub fn alloc_contiguous(&mut self, count: u64, align: u64) -> Option<Frames> {
        if count == 1 && align <= 1 {
            return self.alloc_one();
        }
        let align = align.max(1);
        let mut start = 0;
        while start + count <= self.frames {
            match any_set(self.used, start, start + count) {
                None => return Some(self.take(start, count)),
                Some(used) => start = (used + 1).div_ceil(align) * align,
            }
        }
        None
    }

    /// Return `count` frames starting at physical `start`; their contents are now unknown.
    pub fn free(&mut self, start: u64, count: u64) {
        let first = start / FRAME_SIZE;
        let last = (first + count).min(self.frames);
        debug_assert!(
            all_set(self.used, first, last),
            "freeing a free frame near {start:#x}"
        );
        self.free += last - first;
        set_bits(self.used, first, last, false);
        set_bits(self.zero, first, last, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitmap(frames: u64) -> (Vec<u64>, Vec<u64>) {
        (
            vec![0u64; FrameBitmap::words_for(frames)],
            vec![0u64; FrameBitmap::words_for(frames)],
        )
    }

    #[test]
    fn allocates_frees_and_reuses() {
        let (mut u, mut z) = bitmap(1000);
        let mut fb = FrameBitmap::new_all_used(&mut u, &mut z, 1000);
        fb.release_range(0x1000, 1000 * FRAME_SIZE, true);
        assert_eq!(fb.free_frames(), 999);
        let a = fb.alloc_one().unwrap();
        assert_eq!(
            a,
            Frames {
                start: 0x1000,
                zeroed: true
            }
        );
        let b = fb.alloc_one().unwrap();
        assert_ne!(a.start, b.start);
        fb.free(a.start, 1);
        assert_eq!(fb.free_frames(), 998);
        // Reused, and no longer known to be zero.
        assert_eq!(
            fb.alloc_one(),
            Some(Frames {
                start: a.start,
                zeroed: false
            })
        );
    }

    #[test]
    fn contiguous_aligned_runs() {
        let (mut u, mut z) = bitmap(4096);
        let mut fb = FrameBitmap::new_all_used(&mut u, &mut z, 4096);
        fb.release_range(0, 4096 * FRAME_SIZE, false);
        fb.reserve_range(5 * FRAME_SIZE, 6 * FRAME_SIZE);
        assert_eq!(fb.free_frames(), 4095);
        let huge = fb.alloc_contiguous(512, 512).unwrap().start;
        assert_eq!(huge, 512 * FRAME_SIZE);
        let next = fb.alloc_contiguous(512, 512).unwrap().start;
        assert_eq!(next, 1024 * FRAME_SIZE);
        // A partial free (munmap of part of a mapping) returns exactly those frames.
        fb.free(huge + 10 * FRAME_SIZE, 2);
        assert_eq!(fb.free_frames(), 4096 - 1 - 1024 + 2);
        assert!(fb.alloc_contiguous(4096, 1).is_none());
        let small = fb.alloc_contiguous(3, 1).unwrap().start;
        assert_eq!(small, 0);
    }

    #[test]
    fn exhaustion_is_none() {
        let (mut u, mut z) = bitmap(3);
        let mut fb = FrameBitmap::new_all_used(&mut u, &mut z, 3);
        fb.release_range(0, 3 * FRAME_SIZE, true);
        assert!(fb.alloc_one().is_some());
        assert!(fb.alloc_one().is_some());
        assert!(fb.alloc_one().is_some());
        assert!(fb.alloc_one().is_none());
        assert_eq!(fb.free_frames(), 0);
    }

    #[test]
    fn word_boundaries() {
        let (mut u, mut z) = bitmap(200);
        let mut fb = FrameBitmap::new_all_used(&mut u, &mut z, 200);
        fb.release_range(60 * FRAME_SIZE, 140 * FRAME_SIZE, true);
        assert_eq!(fb.free_frames(), 80);
        let run = fb.alloc_contiguous(70, 1).unwrap();
        assert_eq!(
            run,
            Frames {
                start: 60 * FRAME_SIZE,
                zeroed: true
            }
        );
        fb.reserve_range(0, 200 * FRAME_SIZE);
        assert_eq!(fb.free_frames(), 0);
    }
}
