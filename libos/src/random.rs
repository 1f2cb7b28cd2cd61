//! Randomness for `getrandom` and `AT_RANDOM`: RDSEED/RDRAND when the CPU has them, otherwise a
//! ChaCha-free fallback generator seeded from the TSC (and said so once on the console).

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static HAVE_RDRAND: AtomicBool = AtomicBool::new(false);
static HAVE_RDSEED: AtomicBool = AtomicBool::new(false);
static FALLBACK_STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);

pub fn init(rdrand: bool, rdseed: bool) {
    HAVE_RDRAND.store(rdrand, Ordering::Relaxed);
    HAVE_RDSEED.store(rdseed, Ordering::Relaxed);
    #[cfg(target_os = "none")]
    if !rdrand {
        FALLBACK_STATE.fetch_xor(crate::arch::cpu::rdtsc(), Ordering::Relaxed);
        crate::log::info(
            "no RDRAND: getrandom uses a TSC-seeded generator (not cryptographically strong)",
        );
    }
}

/// SplitMix64 step: a well-mixed sequence from a counter (used only without RDRAND).
fn splitmix(state: u64) -> u64 {
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(target_os = "none")]
fn hardware_u64(seed: bool) -> Option<u64> {
    for _ in 0..16 {
        let value: u64;
        let ok: u8;
        // SAFETY: RDRAND/RDSEED only write the output register and CF; presence was checked.
        unsafe {
            if seed {
                core::arch::asm!("rdseed {v}; setc {ok}", v = out(reg) value, ok = out(reg_byte) ok, options(nomem, nostack));
            } else {
                core::arch::asm!("rdrand {v}; setc {ok}", v = out(reg) value, ok = out(reg_byte) ok, options(nomem, nostack));
            }
        }
        if ok != 0 {
            return Some(value);
        }
        core::hint::spin_loop();
    }
    None
}

#[cfg(not(target_os = "none"))]
fn hardware_u64(_seed: bool) -> Option<u64> {
    None
}

pub fn next_u64() -> u64 {
    if HAVE_RDRAND.load(Ordering::Relaxed)
        && let Some(v) = hardware_u64(false)
    {
        return v;
    }
    if HAVE_RDSEED.load(Ordering::Relaxed)
        && let Some(v) = hardware_u64(true)
    {
        return v;
    }
    splitmix(FALLBACK_STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed))
}

pub fn fill(buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        let v = next_u64().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fill_covers_odd_lengths() {
        let mut buf = [0u8; 13];
        super::fill(&mut buf);
        assert!(buf.iter().any(|&b| b != 0));
    }
}
