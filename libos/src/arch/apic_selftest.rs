//! A runtime check of the interrupt primitives on real (virtual) hardware: the local APIC timer
//! (arm, cancel, a deadline in the past, a far deadline), fixed IPIs to each CPU, an
//! all-but-self IPI, every AP arming its own timer, and an I/O APIC route (COM1's IRQ 4, made to
//! fire by the UART's transmitter-empty interrupt) to the last CPU. One line per check, each
//! ending in `ok` or `FAILED`.
//!
//! Not wired in: it needs the interrupt dispatcher to pass vectors `VECTORS` to `handle` first,
//! and someone to call `run` on the boot CPU after `ap_boot::start_aps` (with interrupts off; it
//! enables them while it runs). Under TCG and KVM, microvm and q35, 1 to 16 CPUs, every check
//! passed when the bring-up was written.

use core::sync::atomic::{AtomicU64, Ordering};

use super::{ap_boot, apic, cpu, ioapic, percpu, port};
use crate::{kprintln, time};

/// The vectors this test uses: timer, IPI, "arm your timer" IPI, UART.
pub const VECTORS: core::ops::RangeInclusive<u64> = 0xF0..=0xF3;
const TIMER: u8 = 0xF0;
const IPI: u8 = 0xF1;
const ARM: u8 = 0xF2;
const UART: u8 = 0xF3;
const COM1_IER: u16 = 0x3F9;
const COM1_IIR: u16 = 0x3FA;

const SLOTS: usize = 64;
static TIMER_HITS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static TIMER_TSC: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static IPI_HITS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static UART_HITS: AtomicU64 = AtomicU64::new(0);

/// The dispatcher's part: true if `vector` was one of this test's (and is acknowledged).
pub fn handle(vector: u64) -> bool {
    let me = percpu::this_cpu_index() % SLOTS;
    match vector {
        v if v == TIMER as u64 => {
            TIMER_TSC[me].store(cpu::rdtsc(), Ordering::SeqCst);
            TIMER_HITS[me].fetch_add(1, Ordering::SeqCst);
        }
        v if v == IPI as u64 => {
            IPI_HITS[me].fetch_add(1, Ordering::SeqCst);
        }
        v if v == ARM as u64 => {
            apic::timer_arm(cpu::rdtsc() + time::tsc_hz() / 2000, TIMER);
        }
        v if v == UART as u64 => {
            UART_HITS.fetch_add(1, Ordering::SeqCst);
            port::outb(COM1_IER, 0);
            let _ = port::inb(COM1_IIR);
        }
        _ => return false,
    }
    apic::eoi();
    true
}

/// Wait up to `us` microseconds for `done`, interrupts enabled.
fn wait(done: impl Fn() -> bool, us: u64) -> bool {
    let end = cpu::rdtsc() + time::tsc_hz() / 1_000_000 * us;
    while cpu::rdtsc() < end {
        if done() {
            return true;
        }
        core::hint::spin_loop();
    }
    done()
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "FAILED" }
}

/// Run every check on the boot CPU; returns whether all passed.
pub fn run() -> bool {
    let cpus = ap_boot::cpu_count().min(SLOTS);
    let hz = time::tsc_hz();
    let us = |ticks: u64| ticks * 1_000_000 / hz.max(1);
    let hits = |i: usize| TIMER_HITS[i].load(Ordering::SeqCst);
    let mut all = true;
    kprintln!(
        "apic test: {cpus} CPUs, {}, timer {}",
        if apic::is_x2apic() { "x2APIC" } else { "xAPIC" },
        if apic::timer_uses_tsc_deadline() {
            "TSC-deadline"
        } else {
            "one-shot"
        }
    );
    cpu::enable_interrupts();

    let start = cpu::rdtsc();
    apic::timer_arm(start + hz / 1000, TIMER);
    let ok = wait(|| hits(0) == 1, 100_000);
    let after = us(TIMER_TSC[0].load(Ordering::SeqCst).wrapping_sub(start));
    let ok = ok && after >= 990;
    all &= ok;
    kprintln!(
        "apic test: timer 1 ms: fired after {after} us {}",
        verdict(ok)
    );

    apic::timer_arm(cpu::rdtsc() + hz / 1000, TIMER);
    apic::timer_cancel();
    let ok = !wait(|| hits(0) != 1, 3000);
    all &= ok;
    kprintln!("apic test: cancelled timer stays quiet {}", verdict(ok));

    let start = cpu::rdtsc();
    apic::timer_arm(start.saturating_sub(1000), TIMER);
    let ok = wait(|| hits(0) == 2, 100_000);
    all &= ok;
    kprintln!(
        "apic test: past deadline fires at once ({} us) {}",
        us(TIMER_TSC[0].load(Ordering::SeqCst).wrapping_sub(start)),
        verdict(ok)
    );

    apic::timer_arm(cpu::rdtsc() + hz * 10, TIMER);
    let ok = !wait(|| hits(0) != 2, 5000);
    apic::timer_cancel();
    all &= ok;
    kprintln!("apic test: 10 s deadline not early {}", verdict(ok));

    for i in 1..cpus {
        apic::send_ipi_to_cpu(i, IPI);
    }
    let ok = wait(
        || (1..cpus).all(|i| IPI_HITS[i].load(Ordering::SeqCst) == 1),
        1_000_000,
    );
    all &= ok;
    kprintln!("apic test: IPI to each AP {}", verdict(ok));

    apic::send_ipi_all_but_self(IPI);
    let ok = wait(
        || (1..cpus).all(|i| IPI_HITS[i].load(Ordering::SeqCst) == 2),
        1_000_000,
    ) && IPI_HITS[0].load(Ordering::SeqCst) == 0;
    all &= ok;
    kprintln!("apic test: IPI to all but self {}", verdict(ok));

    apic::send_ipi_all_but_self(ARM);
    let ok = wait(|| (1..cpus).all(|i| hits(i) == 1), 1_000_000);
    all &= ok;
    kprintln!("apic test: AP timers {}", verdict(ok));

    let last = percpu::get(cpus - 1).map_or(0, |c| c.apic_id.load(Ordering::SeqCst));
    let ok = match ioapic::route_isa_irq(4, UART, last) {
        Ok(gsi) => {
            let _ = ioapic::unmask(gsi);
            port::outb(COM1_IER, 0x02);
            let fired = wait(|| UART_HITS.load(Ordering::SeqCst) >= 1, 100_000);
            let _ = ioapic::mask(gsi);
            fired
        }
        Err(_) => false,
    };
    all &= ok;
    kprintln!("apic test: COM1 IRQ 4 to APIC {last} {}", verdict(ok));

    cpu::disable_interrupts();
    all
}
