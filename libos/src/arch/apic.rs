//! The local APIC of each CPU: x2APIC through MSRs when CPUID offers it, xAPIC through MMIO
//! otherwise.
//!
//! What the scheduler uses: `eoi`, `send_ipi`/`send_ipi_all_but_self`, and the timer, which is
//! one-shot only (tickless): `timer_arm(deadline_tsc, vector)` asks for one interrupt once the TSC
//! reaches `deadline_tsc`, `timer_cancel` withdraws it. With TSC-deadline mode (CPUID.1:ECX[24])
//! the deadline goes to `IA32_TSC_DEADLINE` as is; otherwise the APIC timer counts down in
//! one-shot mode from a count computed with its frequency, calibrated once against the TSC.
//!
//! In one-shot mode the interrupt can come early: by the calibration error (about 1% under TCG),
//! and for a deadline too far away for the 32-bit counter (more than about 9 minutes at 1 GHz
//! with the largest divisor) at the longest interval the counter allows. A timer handler checks
//! the TSC and re-arms when the deadline has not come.
//!
//! The spurious vector is 0xFF; the task priority is 0 (every vector is delivered).

/// The spurious-interrupt vector (the dispatcher ignores it).
pub const SPURIOUS_VECTOR: u8 = 0xFF;

/// Divide-configuration register value for a divisor of 2^shift (shift 0..=7).
pub fn divide_config(shift: u32) -> u32 {
    // Encoded in bits 0, 1 and 3: 0b000 = /2 ... 0b110 = /128, 0b111 = /1.
    let code = (shift + 7) % 8;
    (code & 0b11) | ((code & 0b100) << 1)
}

/// The APIC timer's frequency (at divisor 1) from a measurement: `apic_ticks` counted while the
/// TSC advanced `tsc_ticks` at `tsc_hz`.
pub fn apic_hz_from_samples(apic_ticks: u64, tsc_ticks: u64, tsc_hz: u64) -> u64 {
    if tsc_ticks == 0 {
        return 0;
    }
    (apic_ticks as u128 * tsc_hz as u128 / tsc_ticks as u128) as u64
}

/// One-shot programming for an interrupt `delta_tsc` TSC ticks from now: (divisor shift, initial
/// count). The smallest divisor whose count fits 32 bits keeps the best resolution; beyond the
/// largest divisor the count saturates (the interrupt comes early). Never 0 (0 stops the timer).
pub fn oneshot_count(delta_tsc: u64, tsc_hz: u64, apic_hz: u64) -> (u32, u32) {
    let ticks = if tsc_hz == 0 {
        delta_tsc
    } else {
        (delta_tsc as u128 * apic_hz as u128 / tsc_hz as u128).min(u64::MAX as u128) as u64
    };
    for shift in 0..=7u32 {
        let count = ticks >> shift;
        if count <= u32::MAX as u64 {
            return (shift, (count as u32).max(1));
        }
    }
    (7, u32::MAX)
}

#[cfg(target_os = "none")]
pub use hw::*;

#[cfg(target_os = "none")]
mod hw {
    use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use super::{SPURIOUS_VECTOR, apic_hz_from_samples, divide_config, oneshot_count};
    use crate::arch::cpu::{self, rdmsr, rdtsc, wrmsr};
    use crate::arch::percpu;

    const IA32_APIC_BASE: u32 = 0x1B;
    const APIC_BASE_ENABLE: u64 = 1 << 11;
    const APIC_BASE_X2APIC: u64 = 1 << 10;
    const IA32_TSC_DEADLINE: u32 = 0x6E0;

    // Register offsets in the xAPIC page; the x2APIC MSR is 0x800 + offset / 16.
    const ID: u32 = 0x20;
    const TPR: u32 = 0x80;
    const EOI: u32 = 0xB0;
    const SVR: u32 = 0xF0;
    const ISR: u32 = 0x100;
    const IRR: u32 = 0x200;
    const ESR: u32 = 0x280;
    const ICR_LOW: u32 = 0x300;
    const ICR_HIGH: u32 = 0x310;
    const LVT_TIMER: u32 = 0x320;
    const LVT_LINT0: u32 = 0x350;
    const LVT_LINT1: u32 = 0x360;
    const LVT_ERROR: u32 = 0x370;
    const TIMER_INITIAL: u32 = 0x380;
    const TIMER_CURRENT: u32 = 0x390;
    const TIMER_DIVIDE: u32 = 0x3E0;

    const LVT_MASKED: u32 = 1 << 16;
    const LVT_TSC_DEADLINE: u32 = 0b10 << 17;
    const DELIVERY_NMI: u32 = 0b100 << 8;
    const ICR_DELIVERY_PENDING: u32 = 1 << 12;
    const ICR_ASSERT: u32 = 1 << 14;
    const ICR_ALL_BUT_SELF: u32 = 0b11 << 18;
    const ICR_INIT: u32 = 0b101 << 8;
    const ICR_STARTUP: u32 = 0b110 << 8;

    /// xAPIC MMIO base, or 0 in x2APIC mode (set once on the boot CPU, before the others start).
    static XAPIC_BASE: AtomicU64 = AtomicU64::new(0);
    static X2APIC: AtomicBool = AtomicBool::new(false);
    static TSC_DEADLINE: AtomicBool = AtomicBool::new(false);
    /// APIC timer ticks per second at divisor 1 (one-shot mode only).
    static TIMER_HZ: AtomicU64 = AtomicU64::new(0);

    fn read(reg: u32) -> u32 {
        if X2APIC.load(Ordering::Relaxed) {
            rdmsr(0x800 + reg / 16) as u32
        } else {
            let address = XAPIC_BASE.load(Ordering::Relaxed) + reg as u64;
            // SAFETY: the xAPIC page is mapped uncached (`init_boot_cpu`) and `reg` is a register.
            unsafe { core::ptr::read_volatile(address as *const u32) }
        }
    }

    fn write(reg: u32, value: u32) {
        if X2APIC.load(Ordering::Relaxed) {
            // SAFETY: `reg` names an x2APIC register the caller may write.
            unsafe { wrmsr(0x800 + reg / 16, value as u64) }
        } else {
            let address = XAPIC_BASE.load(Ordering::Relaxed) + reg as u64;
            // SAFETY: as in `read`.
            unsafe { core::ptr::write_volatile(address as *mut u32, value) }
        }
    }

    /// Whether the APIC runs in x2APIC mode.
    pub fn is_x2apic() -> bool {
        X2APIC.load(Ordering::Relaxed)
    }

    /// Whether the timer uses TSC-deadline mode (otherwise: calibrated one-shot).
    pub fn timer_uses_tsc_deadline() -> bool {
        TSC_DEADLINE.load(Ordering::Relaxed)
    }

    /// APIC timer frequency at divisor 1 (0 in TSC-deadline mode, where it is not needed).
    pub fn timer_hz() -> u64 {
        TIMER_HZ.load(Ordering::Relaxed)
    }

    /// Choose the mode and bring up the boot CPU's APIC. `mmio_base` is the xAPIC address (from
    /// the MADT); it is mapped only if x2APIC is not available. Needs the TSC calibrated (for the
    /// one-shot timer calibration). Returns the boot CPU's APIC id.
    pub fn init_boot_cpu(mmio_base: u64) -> Result<u32, crate::mm::MapError> {
        let features = cpu::detect_features();
        X2APIC.store(features.x2apic, Ordering::Relaxed);
        TSC_DEADLINE.store(features.tsc_deadline, Ordering::Relaxed);
        if !features.x2apic {
            crate::mm::map_device(mmio_base, 4096)?;
            XAPIC_BASE.store(mmio_base, Ordering::Relaxed);
        }
        let id = init_cpu();
        percpu::set_boot_apic_id(id);
        if !features.tsc_deadline {
            TIMER_HZ.store(calibrate_timer(), Ordering::Relaxed);
        }
        Ok(id)
    }

    /// Enable the calling CPU's APIC (in the mode the boot CPU chose) and return its id: spurious
    /// vector 0xFF, task priority 0, LINT0 masked (the 8259s are not used), LINT1 as NMI, the timer
    /// and error LVTs masked.
    pub fn init_cpu() -> u32 {
        let mut base = rdmsr(IA32_APIC_BASE);
        // SAFETY: enabling the APIC in xAPIC mode first, then x2APIC mode (the transition the
        // architecture allows), keeping the base address.
        unsafe {
            if base & APIC_BASE_ENABLE == 0 {
                base |= APIC_BASE_ENABLE;
                wrmsr(IA32_APIC_BASE, base);
            }
            if X2APIC.load(Ordering::Relaxed) && base & APIC_BASE_X2APIC == 0 {
                wrmsr(IA32_APIC_BASE, base | APIC_BASE_X2APIC);
            }
        }
        write(TPR, 0);
        let timer_off = LVT_MASKED | SPURIOUS_VECTOR as u32;
        write(LVT_TIMER, timer_off);
        write(LVT_LINT0, LVT_MASKED);
        write(LVT_LINT1, DELIVERY_NMI);
        write(LVT_ERROR, LVT_MASKED | SPURIOUS_VECTOR as u32);
        write(ESR, 0);
        write(SVR, (1 << 8) | SPURIOUS_VECTOR as u32);
        percpu::current()
            .timer_lvt
            .store(timer_off, Ordering::Relaxed);
        id()
    }

    /// The calling CPU's local APIC id.
    pub fn id() -> u32 {
        let raw = read(ID);
        if X2APIC.load(Ordering::Relaxed) {
            raw
        } else {
            raw >> 24
        }
    }

    /// Whether `vector` is waiting in this CPU's interrupt request register.
    pub fn is_pending(vector: u8) -> bool {
        let reg = IRR + (vector as u32 / 32) * 0x10;
        read(reg) & (1 << (vector % 32)) != 0
    }

    /// Whether `vector` is being serviced on this CPU (its in-service register bit). A spurious
    /// interrupt is not; a real one on the same vector is and needs its EOI.
    pub fn in_service(vector: u8) -> bool {
        let reg = ISR + (vector as u32 / 32) * 0x10;
        read(reg) & (1 << (vector % 32)) != 0
    }

    /// Signal the end of the interrupt being handled.
    #[inline]
    pub fn eoi() {
        write(EOI, 0);
    }

    /// Write the ICR: `dest` is an APIC id (ignored with a shorthand).
    fn send(dest: u32, low: u32) {
        cpu::without_interrupts(|| {
            if X2APIC.load(Ordering::Relaxed) {
                // SAFETY: one 64-bit write of the x2APIC ICR sends the IPI described by `low`.
                unsafe { wrmsr(0x830, ((dest as u64) << 32) | low as u64) }
            } else {
                // The previous IPI must have left the ICR; bounded (it takes a bus message).
                for _ in 0..100_000 {
                    if read(ICR_LOW) & ICR_DELIVERY_PENDING == 0 {
                        break;
                    }
                    core::hint::spin_loop();
                }
                write(ICR_HIGH, dest << 24);
                write(ICR_LOW, low);
            }
        })
    }

    /// Send `vector` (fixed delivery, edge) to the CPU with local APIC id `apic_id`.
    pub fn send_ipi(apic_id: u32, vector: u8) {
        send(apic_id, ICR_ASSERT | vector as u32);
    }

    /// Send `vector` to CPU `cpu_index` (see `percpu`); false if there is no such CPU.
    pub fn send_ipi_to_cpu(cpu_index: usize, vector: u8) -> bool {
        match percpu::get(cpu_index) {
            Some(c) => {
                send_ipi(c.apic_id.load(Ordering::Relaxed), vector);
                true
            }
            None => false,
        }
    }

    /// Send `vector` to every CPU but the caller.
    pub fn send_ipi_all_but_self(vector: u8) {
        send(0, ICR_ASSERT | ICR_ALL_BUT_SELF | vector as u32);
    }

    /// INIT to every other CPU (they wait for a start-up IPI).
    pub(crate) fn send_init_all_but_self() {
        send(0, ICR_ASSERT | ICR_ALL_BUT_SELF | ICR_INIT);
    }

    /// Start-up IPI to every other CPU: they begin in real mode at `page * 4096`.
    pub(crate) fn send_startup_all_but_self(page: u8) {
        send(0, ICR_ASSERT | ICR_ALL_BUT_SELF | ICR_STARTUP | page as u32);
    }

    fn set_timer_lvt(value: u32) {
        let c = percpu::current();
        if c.timer_lvt.load(Ordering::Relaxed) != value {
            write(LVT_TIMER, value);
            c.timer_lvt.store(value, Ordering::Relaxed);
        }
    }

    /// Ask for one interrupt on `vector` on this CPU once the TSC reaches `deadline_tsc` (at once
    /// if it has). Replaces any earlier request on this CPU. Call with interrupts disabled (the
    /// per-CPU LVT cache must not change under an interrupt handler that re-arms).
    pub fn timer_arm(deadline_tsc: u64, vector: u8) {
        if TSC_DEADLINE.load(Ordering::Relaxed) {
            set_timer_lvt(LVT_TSC_DEADLINE | vector as u32);
            // SAFETY: the LVT is in TSC-deadline mode (the fence orders the LVT write before the
            // MSR write, as the SDM asks); a deadline of 0 would disarm, hence the max(1).
            unsafe {
                core::arch::asm!("mfence", options(nostack, preserves_flags));
                wrmsr(IA32_TSC_DEADLINE, deadline_tsc.max(1));
            }
        } else {
            let delta = deadline_tsc.saturating_sub(rdtsc());
            let (shift, count) = oneshot_count(
                delta,
                crate::time::tsc_hz(),
                TIMER_HZ.load(Ordering::Relaxed),
            );
            set_timer_lvt(vector as u32);
            write(TIMER_DIVIDE, divide_config(shift));
            write(TIMER_INITIAL, count);
        }
    }

    /// Withdraw this CPU's timer request (if it has not fired yet).
    pub fn timer_cancel() {
        if TSC_DEADLINE.load(Ordering::Relaxed) {
            // SAFETY: writing 0 disarms the TSC-deadline timer.
            unsafe { wrmsr(IA32_TSC_DEADLINE, 0) }
        } else {
            write(TIMER_INITIAL, 0);
        }
    }

    /// Measure the APIC timer (divisor 1) against the calibrated TSC over about 1 ms. Runs once,
    /// on the boot CPU, only without TSC-deadline mode.
    fn calibrate_timer() -> u64 {
        let tsc_hz = crate::time::tsc_hz();
        let window = (tsc_hz / 1000).max(1);
        write(LVT_TIMER, LVT_MASKED);
        write(TIMER_DIVIDE, divide_config(0));
        write(TIMER_INITIAL, u32::MAX);
        // Each sample is bracketed by two TSC reads and dated at their middle.
        let sample = || {
            let before = rdtsc();
            let count = read(TIMER_CURRENT);
            let after = rdtsc();
            (before / 2 + after / 2, count)
        };
        let (tsc_start, apic_start) = sample();
        // Bounded by the TSC window (and an iteration cap should the TSC not move).
        for _ in 0..10_000_000 {
            if rdtsc().wrapping_sub(tsc_start) >= window {
                break;
            }
            core::hint::spin_loop();
        }
        let (tsc_end, apic_end) = sample();
        write(TIMER_INITIAL, 0);
        write(LVT_TIMER, LVT_MASKED | SPURIOUS_VECTOR as u32);
        percpu::current()
            .timer_lvt
            .store(LVT_MASKED | SPURIOUS_VECTOR as u32, Ordering::Relaxed);
        apic_hz_from_samples(
            apic_start.wrapping_sub(apic_end) as u64,
            tsc_end - tsc_start,
            tsc_hz,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divide_encodings() {
        // SDM: /1 = 1011b, /2 = 0000b, /4 = 0001b, /16 = 0011b, /32 = 1000b, /128 = 1010b.
        assert_eq!(divide_config(0), 0b1011);
        assert_eq!(divide_config(1), 0b0000);
        assert_eq!(divide_config(2), 0b0001);
        assert_eq!(divide_config(4), 0b0011);
        assert_eq!(divide_config(5), 0b1000);
        assert_eq!(divide_config(7), 0b1010);
    }

    #[test]
    fn calibration() {
        // 1 GHz APIC against a 2.5 GHz TSC over 1 ms.
        assert_eq!(
            apic_hz_from_samples(1_000_000, 2_500_000, 2_500_000_000),
            1_000_000_000
        );
        assert_eq!(apic_hz_from_samples(5, 0, 1), 0);
        // Large values do not overflow.
        assert_eq!(
            apic_hz_from_samples(u32::MAX as u64, 1 << 40, 1 << 40),
            u32::MAX as u64
        );
    }

    #[test]
    fn oneshot_counts() {
        let tsc = 2_000_000_000;
        let apic = 1_000_000_000;
        // 1 ms: 2,000,000 TSC ticks = 1,000,000 APIC ticks at divisor 1.
        assert_eq!(oneshot_count(2_000_000, tsc, apic), (0, 1_000_000));
        // Now or past: the shortest count, never 0.
        assert_eq!(oneshot_count(0, tsc, apic), (0, 1));
        // 10 s = 10^10 APIC ticks: /4 is the first divisor that fits 32 bits.
        assert_eq!(oneshot_count(20_000_000_000, tsc, apic), (2, 2_500_000_000));
        // Beyond /128 the count saturates (fires early; the handler re-arms).
        assert_eq!(oneshot_count(u64::MAX, tsc, apic), (7, u32::MAX));
    }
}
