//! Clocks: a calibrated TSC for monotonic time, the CMOS RTC (read on first use) for the wall clock.
//!
//! The TSC frequency comes from kvmclock's scale factors when KVM offers them, else from CPUID
//! (leaf 0x15, the hypervisor timing leaf 0x40000010, leaf 0x16), else from a short PIT measurement.
//! None of these but the last costs boot time.

use core::sync::atomic::{AtomicU64, Ordering};

/// Converts TSC ticks to nanoseconds: ns = ticks * mult >> 32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TscScale {
    pub mult: u64,
    pub hz: u64,
}

impl TscScale {
    pub fn from_hz(hz: u64) -> Self {
        TscScale {
            mult: ((1_000_000_000u128 << 32) / hz.max(1) as u128) as u64,
            hz,
        }
    }

    pub fn ticks_to_ns(&self, ticks: u64) -> u64 {
        ((ticks as u128 * self.mult as u128) >> 32) as u64
    }

    pub fn ns_to_ticks(&self, ns: u64) -> u64 {
        ((ns as u128 * self.hz as u128) / 1_000_000_000) as u64
    }
}

/// kvmclock publishes ns = ((tsc << shift) * mul) >> 32 (shift may be negative).
pub fn hz_from_pvclock(mul: u32, shift: i8) -> u64 {
    let scaled = (1_000_000_000u128 << 32) / mul.max(1) as u128;
    let hz = if shift >= 0 {
        scaled >> shift
    } else {
        scaled << (-shift)
    };
    hz as u64
}

static TSC_MULT: AtomicU64 = AtomicU64::new(0);
static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static TSC_AT_BOOT: AtomicU64 = AtomicU64::new(0);
/// Wall-clock nanoseconds at boot (0 until the RTC has been read).
static REALTIME_AT_BOOT_NS: AtomicU64 = AtomicU64::new(0);

pub fn scale() -> TscScale {
    TscScale {
        mult: TSC_MULT.load(Ordering::Relaxed),
        hz: TSC_HZ.load(Ordering::Relaxed),
    }
}

pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(target_os = "none")]
mod hw {
    use super::*;
    use crate::arch::cpu::{cpuid, rdtsc, wrmsr};
    use crate::arch::port::{inb, outb};

    const MSR_KVM_SYSTEM_TIME_NEW: u32 = 0x4b56_4d01;

    #[repr(C, align(64))]
    struct PvclockTimeInfo {
        version: u32,
        pad0: u32,
        tsc_timestamp: u64,
        system_time: u64,
        tsc_to_system_mul: u32,
        tsc_shift: i8,
        flags: u8,
        pad: [u8; 2],
    }

    static mut PVCLOCK: PvclockTimeInfo = PvclockTimeInfo {
        version: 0,
        pad0: 0,
        tsc_timestamp: 0,
        system_time: 0,
        tsc_to_system_mul: 0,
        tsc_shift: 0,
        flags: 0,
        pad: [0; 2],
    };

    fn hypervisor_leaf_base() -> Option<(u32, [u8; 12])> {
        let [max, b, c, d] = cpuid(0x4000_0000, 0);
        let mut sig = [0u8; 12];
        sig[0..4].copy_from_slice(&b.to_le_bytes());
        sig[4..8].copy_from_slice(&c.to_le_bytes());
        sig[8..12].copy_from_slice(&d.to_le_bytes());
        (max >= 0x4000_0000).then_some((max, sig))
    }

    fn kvmclock_hz() -> Option<u64> {
        let (_, sig) = hypervisor_leaf_base()?;
        if &sig != b"KVMKVMKVM\0\0\0" {
            return None;
        }
        let features = cpuid(0x4000_0001, 0)[0];
        if features & (1 << 3) == 0 {
            return None;
        }
        let addr = &raw mut PVCLOCK as u64;
        // SAFETY: registering a static, identity-mapped structure for the hypervisor to fill.
        unsafe { wrmsr(MSR_KVM_SYSTEM_TIME_NEW, addr | 1) };
        // SAFETY: the hypervisor wrote the structure during the MSR write; read its scale.
        let (mul, shift) = unsafe {
            let p = &raw const PVCLOCK;
            (
                core::ptr::read_volatile(&raw const (*p).tsc_to_system_mul),
                core::ptr::read_volatile(&raw const (*p).tsc_shift),
            )
        };
        // SAFETY: stop updates: nothing reads the structure after calibration.
        unsafe { wrmsr(MSR_KVM_SYSTEM_TIME_NEW, 0) };
        (mul != 0).then(|| hz_from_pvclock(mul, shift))
    }

    fn cpuid_hz() -> Option<u64> {
        if cpuid(0, 0)[0] >= 0x15 {
            let [den, num, crystal, _] = cpuid(0x15, 0);
            if den != 0 && num != 0 && crystal != 0 {
                return Some(crystal as u64 * num as u64 / den as u64);
            }
        }
        if let Some((max, _)) = hypervisor_leaf_base()
            && max >= 0x4000_0010
        {
            let khz = cpuid(0x4000_0010, 0)[0];
            if khz != 0 {
                return Some(khz as u64 * 1000);
            }
        }
        None
    }

    /// Measure the TSC against PIT channel 0 for 2 ms. Channel 0 because its gate is always open
    /// (channel 2's gate is port 0x61, which microvm does not have). None without a PIT.
    fn pit_hz() -> Option<u64> {
        const PIT_HZ: u64 = 1_193_182;
        const WINDOW: u64 = PIT_HZ / 500;
        let read = || {
            outb(0x43, 0x00); // latch channel 0
            let lo = inb(0x40) as u64;
            let hi = inb(0x40) as u64;
            (hi << 8) | lo
        };
        outb(0x43, 0x34); // channel 0, lobyte/hibyte, mode 2 (rate generator), binary
        outb(0x40, 0xFF);
        outb(0x40, 0xFF);
        let start = read();
        let tsc_start = rdtsc();
        let mut elapsed = 0;
        let mut reads = 0u32;
        while elapsed < WINDOW {
            elapsed = start.wrapping_sub(read()) & 0xFFFF;
            reads += 1;
            if reads > 100_000 && elapsed == 0 {
                return None; // the counter does not move: no PIT
            }
        }
        let tsc_end = rdtsc();
        // Leave channel 0 quiet: one-shot mode with the longest count.
        outb(0x43, 0x30);
        outb(0x40, 0xFF);
        outb(0x40, 0xFF);
        Some((tsc_end - tsc_start) * PIT_HZ / elapsed)
    }

    pub fn calibrate() -> (u64, &'static str) {
        if let Some(hz) = kvmclock_hz() {
            return (hz, "kvmclock");
        }
        if let Some(hz) = cpuid_hz() {
            return (hz, "cpuid");
        }
        match pit_hz() {
            Some(hz) => (hz, "pit"),
            None => (
                2_000_000_000,
                "guessed: no kvmclock, CPUID frequency or PIT",
            ),
        }
    }

    fn cmos(reg: u8) -> u8 {
        outb(0x70, reg);
        inb(0x71)
    }

    /// Seconds since the epoch from the CMOS RTC.
    pub fn rtc_epoch_seconds() -> u64 {
        let read = || {
            while cmos(0x0A) & 0x80 != 0 {
                core::hint::spin_loop();
            }
            [
                cmos(0x00),
                cmos(0x02),
                cmos(0x04),
                cmos(0x07),
                cmos(0x08),
                cmos(0x09),
                cmos(0x32),
            ]
        };
        // Read until two reads agree so an update between register reads cannot tear the value.
        let mut now = read();
        loop {
            let again = read();
            if again == now {
                break;
            }
            now = again;
        }
        let status_b = cmos(0x0B);
        let bcd = status_b & 0x04 == 0;
        let decode = |v: u8| if bcd { (v & 0x0F) + (v >> 4) * 10 } else { v };
        let [s, m, h, day, month, year, century] = now;
        let mut hour = decode(h & 0x7F) as u64;
        if status_b & 0x02 == 0 && h & 0x80 != 0 {
            hour = (hour % 12) + 12; // 12-hour clock, PM
        }
        let century = if century != 0 && decode(century) >= 19 {
            decode(century) as i64
        } else {
            20
        };
        let year = century * 100 + decode(year) as i64;
        let days = days_from_civil(year, decode(month) as u32, decode(day) as u32);
        (days * 86_400) as u64 + hour * 3600 + decode(m) as u64 * 60 + decode(s) as u64
    }

    pub fn now_tsc() -> u64 {
        rdtsc()
    }
}

/// Calibrate the TSC. `boot_tsc` is the TSC at the first boot instruction: time zero.
#[cfg(target_os = "none")]
pub fn init(boot_tsc: u64) -> &'static str {
    let (hz, source) = hw::calibrate();
    let s = TscScale::from_hz(hz);
    TSC_HZ.store(s.hz, Ordering::Relaxed);
    TSC_MULT.store(s.mult, Ordering::Relaxed);
    TSC_AT_BOOT.store(boot_tsc, Ordering::Relaxed);
    source
}

/// Nanoseconds since the first boot instruction.
#[cfg(target_os = "none")]
pub fn monotonic_ns() -> u64 {
    let ticks = hw::now_tsc().saturating_sub(TSC_AT_BOOT.load(Ordering::Relaxed));
    scale().ticks_to_ns(ticks)
}

/// The TSC value at which the monotonic clock reads `ns`.
pub fn monotonic_to_tsc(ns: u64) -> u64 {
    TSC_AT_BOOT
        .load(Ordering::Relaxed)
        .saturating_add(scale().ns_to_ticks(ns))
}

/// Wall-clock nanoseconds since the epoch.
#[cfg(target_os = "none")]
pub fn realtime_ns() -> u64 {
    let mut base = REALTIME_AT_BOOT_NS.load(Ordering::Relaxed);
    if base == 0 {
        let mono = monotonic_ns();
        let rtc_ns = hw::rtc_epoch_seconds() * 1_000_000_000;
        base = rtc_ns.saturating_sub(mono).max(1);
        // Several CPUs may race here; they compute the same value to within a second's read.
        let _ = REALTIME_AT_BOOT_NS.compare_exchange(0, base, Ordering::Relaxed, Ordering::Relaxed);
        base = REALTIME_AT_BOOT_NS.load(Ordering::Relaxed);
    }
    base + monotonic_ns()
}

/// Set the wall clock (clock_settime) as an offset from boot.
pub fn set_realtime_at_boot_ns(ns: u64) {
    REALTIME_AT_BOOT_NS.store(ns.max(1), Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 11, 27), 20_784);
    }

    #[test]
    fn scale_round_trips() {
        let s = TscScale::from_hz(2_500_000_000);
        assert_eq!(s.ticks_to_ns(2_500_000_000), 999_999_999);
        assert_eq!(s.ns_to_ticks(1_000), 2_500);
    }

    #[test]
    fn pvclock_scale_to_hz() {
        // 2 GHz: 0.5 ns per tick = mul 2^31 with shift 0.
        assert_eq!(hz_from_pvclock(1 << 31, 0), 2_000_000_000);
        // The same frequency expressed with shift 1 and half the multiplier.
        assert_eq!(hz_from_pvclock(1 << 30, 1), 2_000_000_000);
    }
}
