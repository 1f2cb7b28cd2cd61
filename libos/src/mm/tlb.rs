//! TLB shootdown: after page-table entries of the service's memory change, every CPU drops its
//! cached translations before the frames behind them can be reused.
//!
//! One shootdown runs at a time. The initiating CPU flags every other online CPU, interrupts them
//! with `VECTOR`, and waits until each has flushed. A CPU that is spinning with interrupts off
//! (waiting for a lock, or for the shootdown lock itself) answers from its spin loop, so two CPUs
//! can never wait on each other.
//!
//! An idle CPU is not interrupted (Linux's lazy TLB mode): the idle loop never touches the
//! service's memory, so a CPU marks itself lazy when it switches to its idle thread and, on
//! switching back to a service thread, flushes if a shootdown passed it by. Waking a halted vCPU
//! is one of the dearest things a guest can ask of its hypervisor.

// The host build (unit tests) has one CPU and nothing to shoot down.
#![cfg_attr(not(target_os = "none"), allow(dead_code, unused_imports))]

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The interrupt vector of shootdown requests.
pub const VECTOR: u8 = 0x42;

const MAX_CPUS: usize = 256;

static LOCK: AtomicBool = AtomicBool::new(false);
static REQUESTED: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
static OUTSTANDING: AtomicUsize = AtomicUsize::new(0);
/// The CPU runs its idle thread and has not flushed since: shootdowns skip it.
static LAZY: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
/// A shootdown happened that the CPU may have been skipped for: flush before leaving idle.
static STALE: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

#[cfg(target_os = "none")]
fn this_cpu() -> usize {
    crate::arch::percpu::this_cpu_index()
}

#[cfg(target_os = "none")]
fn online() -> usize {
    crate::arch::percpu::online_count()
}

#[cfg(target_os = "none")]
fn flush_local() {
    // SAFETY: reloading CR3 with its own value drops every non-global TLB entry of this CPU.
    unsafe { crate::arch::cpu::write_cr3(crate::arch::cpu::read_cr3()) }
}

/// Flush this CPU if a shootdown asked it to (from the interrupt, or from a spin loop).
pub fn service_requests() {
    // Nothing in flight (always so while CPUs are still starting, before their per-CPU data
    // exists): no need to look up which CPU this is.
    #[cfg(target_os = "none")]
    if OUTSTANDING.load(Ordering::Acquire) != 0
        && REQUESTED[this_cpu()].swap(false, Ordering::AcqRel)
    {
        flush_local();
        OUTSTANDING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// This CPU switches to its idle thread: shootdowns may skip it from now on.
pub fn enter_lazy() {
    #[cfg(target_os = "none")]
    LAZY[this_cpu()].store(true, Ordering::SeqCst);
}

/// This CPU switches from its idle thread to a service thread: catch up on any shootdown it was
/// skipped for. (Paired with `shootdown`: it writes STALE then reads LAZY, this writes LAZY then
/// reads STALE, both sequentially consistent, so either it interrupts this CPU or this CPU sees
/// the request.)
pub fn leave_lazy() {
    #[cfg(target_os = "none")]
    {
        let me = this_cpu();
        LAZY[me].store(false, Ordering::SeqCst);
        if STALE[me].swap(false, Ordering::SeqCst) {
            flush_local();
        }
    }
}

/// Make every CPU forget translations of the service's memory. Call after changing page-table
/// entries and before freeing the frames they pointed to, with no page-table lock held.
pub fn shootdown() {
    #[cfg(target_os = "none")]
    {
        let me = this_cpu();
        let cpus = online();
        if cpus <= 1 {
            flush_local();
            return;
        }
        while LOCK
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            service_requests();
            core::hint::spin_loop();
        }
        // Which CPUs must answer: every other one that is not idle.
        let mut busy = [false; MAX_CPUS];
        let mut targets = 0;
        for cpu in (0..cpus).filter(|&cpu| cpu != me) {
            STALE[cpu].store(true, Ordering::SeqCst);
            if !LAZY[cpu].load(Ordering::SeqCst) {
                busy[cpu] = true;
                targets += 1;
            }
        }
        OUTSTANDING.store(targets, Ordering::Release);
        for cpu in (0..cpus).filter(|&cpu| busy[cpu]) {
            REQUESTED[cpu].store(true, Ordering::Release);
        }
        if targets == cpus - 1 {
            crate::arch::apic::send_ipi_all_but_self(VECTOR);
        } else {
            for cpu in (0..cpus).filter(|&cpu| busy[cpu]) {
                crate::arch::apic::send_ipi_to_cpu(cpu, VECTOR);
            }
        }
        flush_local();
        while OUTSTANDING.load(Ordering::Acquire) != 0 {
            core::hint::spin_loop();
        }
        LOCK.store(false, Ordering::Release);
    }
}
