//! Virtual memory areas of the service: which ranges `mmap` handed out, with what protection.
//! Pure bookkeeping (page tables are changed by the caller), so it is unit-tested on the host.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

pub const PROT_READ: u32 = 1;
pub const PROT_WRITE: u32 = 2;
pub const PROT_EXEC: u32 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub prot: u32,
    /// Frames are given on first touch (a page fault) rather than when the area is made.
    pub lazy: bool,
}

/// Areas inside `[base, limit)`, keyed by start address, never overlapping.
#[derive(Debug)]
pub struct VmaSet {
    areas: BTreeMap<u64, Vma>,
    base: u64,
    limit: u64,
}

impl VmaSet {
    pub const fn new(base: u64, limit: u64) -> Self {
        VmaSet {
            areas: BTreeMap::new(),
            base,
            limit,
        }
    }

    pub fn contains_range(&self, start: u64, end: u64) -> bool {
        start >= self.base && end <= self.limit && start < end
    }

    /// The lowest free gap of `len` bytes at or above `hint` (falls back to the base).
    pub fn find_free(&self, len: u64, hint: u64) -> Option<u64> {
        let try_from = |from: u64| -> Option<u64> {
            let mut candidate = from.max(self.base);
            for area in self.areas.values() {
                if area.end <= candidate {
                    continue;
                }
                if area.start >= candidate.checked_add(len)? {
                    break;
                }
                candidate = area.end;
            }
            (candidate.checked_add(len)? <= self.limit).then_some(candidate)
        };
        if hint > self.base
            && let Some(a) = try_from(hint)
        {
            return Some(a);
        }
        try_from(self.base)
    }

    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.areas
            .range(..end)
            .next_back()
            .is_some_and(|(_, a)| a.end > start)
    }

    pub fn insert(&mut self, vma: Vma) {
        debug_assert!(!self.overlaps(vma.start, vma.end));
        self.areas.insert(vma.start, vma);
    }

    /// Cut `[start, end)` out of every area; returns the pieces removed.
    pub fn remove(&mut self, start: u64, end: u64) -> Vec<Vma> {
        let mut removed = Vec::new();
        let keys: Vec<u64> = self
            .areas
            .range(..end)
            .filter(|(_, a)| a.end > start)
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            let area = self.areas.remove(&key).expect("key just listed");
            let cut_start = area.start.max(start);
            let cut_end = area.end.min(end);
            if area.start < cut_start {
                self.areas.insert(
                    area.start,
                    Vma {
                        end: cut_start,
                        ..area
                    },
                );
            }
            if cut_end < area.end {
                self.areas.insert(
                    cut_end,
                    Vma {
                        start: cut_end,
                        ..area
                    },
                );
            }
            removed.push(Vma {
                start: cut_start,
                end: cut_end,
                ..area
            });
        }
        removed
    }

    /// Whether every byte of `[start, end)` lies in some area.
    pub fn fully_mapped(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        for area in self
            .areas
            .range(..end)
            .map(|(_, a)| a)
            .filter(|a| a.end > start)
        {
            if area.start > at {
                return false;
            }
            at = at.max(area.end);
        }
        at >= end
    }

    /// Set the protection of `[start, end)`, splitting areas at the edges.
    pub fn protect(&mut self, start: u64, end: u64, prot: u32) {
        for piece in self.remove(start, end) {
            self.insert(Vma { prot, ..piece });
        }
        self.merge_around(start, end);
    }

    fn merge_around(&mut self, start: u64, end: u64) {
        let keys: Vec<u64> = self
            .areas
            .range(..=end)
            .filter(|(_, a)| a.end >= start)
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            while let Some(area) = self.areas.get(&key).copied() {
                match self.areas.get(&area.end).copied() {
                    Some(next) if next.prot == area.prot && next.lazy == area.lazy => {
                        self.areas.remove(&next.start);
                        self.areas.insert(
                            area.start,
                            Vma {
                                end: next.end,
                                ..area
                            },
                        );
                    }
                    _ => break,
                }
            }
        }
    }

    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.areas
            .range(..=addr)
            .next_back()
            .map(|(_, a)| a)
            .filter(|a| addr < a.end)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.areas.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RW: u32 = PROT_READ | PROT_WRITE;

    #[test]
    fn finds_gaps_and_splits_on_remove() {
        let mut set = VmaSet::new(0x10000, 0x100000);
        let a = set.find_free(0x4000, 0).unwrap();
        assert_eq!(a, 0x10000);
        set.insert(Vma {
            start: a,
            end: a + 0x4000,
            prot: RW,
            lazy: false,
        });
        let b = set.find_free(0x1000, 0).unwrap();
        assert_eq!(b, 0x14000);
        set.insert(Vma {
            start: b,
            end: b + 0x1000,
            prot: RW,
            lazy: false,
        });
        // Punch a hole in the middle of the first area.
        let removed = set.remove(0x11000, 0x12000);
        assert_eq!(
            removed,
            [Vma {
                start: 0x11000,
                end: 0x12000,
                prot: RW,
                lazy: false
            }]
        );
        assert!(!set.fully_mapped(0x10000, 0x14000));
        assert!(set.fully_mapped(0x12000, 0x15000));
        assert_eq!(set.find_free(0x1000, 0), Some(0x11000));
        assert_eq!(set.find_free(0x2000, 0), Some(0x15000));
        assert!(set.find_free(0x1000_0000, 0).is_none());
    }

    #[test]
    fn protect_splits_and_merges() {
        let mut set = VmaSet::new(0, 1 << 40);
        set.insert(Vma {
            start: 0x1000,
            end: 0x5000,
            prot: RW,
            lazy: false,
        });
        set.protect(0x2000, 0x3000, PROT_READ);
        assert_eq!(set.iter().count(), 3);
        assert_eq!(set.find(0x2800).unwrap().prot, PROT_READ);
        set.protect(0x2000, 0x3000, RW);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [&Vma {
                start: 0x1000,
                end: 0x5000,
                prot: RW,
                lazy: false
            }]
        );
    }

    #[test]
    fn hint_is_honoured_when_free() {
        let mut set = VmaSet::new(0x1000, 0x100000);
        assert_eq!(set.find_free(0x1000, 0x50000), Some(0x50000));
        set.insert(Vma {
            start: 0x50000,
            end: 0x51000,
            prot: RW,
            lazy: false,
        });
        assert_eq!(set.find_free(0x1000, 0x50000), Some(0x51000));
        assert!(set.overlaps(0x50800, 0x52000));
        assert!(!set.overlaps(0x51000, 0x52000));
    }
}
