//! Kernel locks. `IrqMutex` masks interrupts on this CPU while held, so a lock that an interrupt
//! handler also takes can never deadlock against the code it interrupted.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// A ticket lock: CPUs get the lock in the order they asked for it. A test-and-set lock let one
/// CPU that releases and retakes a lock in a loop (munmap/mmap from one thread) starve another
/// for good under TCG, where the releasing vCPU always wins the race for the cache line.
pub struct RawIrqSpinlock {
    next_ticket: AtomicU32,
    now_serving: AtomicU32,
    /// Whether interrupts were enabled before `lock`; written only by the holder.
    restore_interrupts: AtomicBool,
}

#[cfg(target_os = "none")]
fn save_and_disable() -> bool {
    let was = crate::arch::cpu::interrupts_enabled();
    crate::arch::cpu::disable_interrupts();
    was
}

#[cfg(not(target_os = "none"))]
fn save_and_disable() -> bool {
    false
}

#[cfg(target_os = "none")]
fn restore(enable: bool) {
    if enable {
        crate::arch::cpu::enable_interrupts();
    }
}

#[cfg(not(target_os = "none"))]
fn restore(_enable: bool) {}

// SAFETY: the lock is exclusive: a CPU holds it from the moment `now_serving` reaches its ticket
// (acquire load) until it advances `now_serving` (release store), and tickets are unique.
unsafe impl lock_api::RawMutex for RawIrqSpinlock {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawIrqSpinlock {
        next_ticket: AtomicU32::new(0),
        now_serving: AtomicU32::new(0),
        restore_interrupts: AtomicBool::new(false),
    };
    type GuardMarker = lock_api::GuardNoSend;

    fn lock(&self) {
        // Interrupts stay off while this CPU waits its turn: a handler taking the same lock would
        // queue behind the ticket it interrupted.
        let was_enabled = save_and_disable();
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        while self.now_serving.load(Ordering::Acquire) != ticket {
            // The holder may be waiting for this CPU to flush its TLB.
            crate::mm::tlb::service_requests();
            core::hint::spin_loop();
        }
        self.restore_interrupts
            .store(was_enabled, Ordering::Relaxed);
    }

    fn try_lock(&self) -> bool {
        let was_enabled = save_and_disable();
        // (acquire: pairs with the previous holder's release in `unlock`)
        let serving = self.now_serving.load(Ordering::Acquire);
        if self
            .next_ticket
            .compare_exchange(
                serving,
                serving.wrapping_add(1),
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            self.restore_interrupts
                .store(was_enabled, Ordering::Relaxed);
            true
        } else {
            restore(was_enabled);
            false
        }
    }

    unsafe fn unlock(&self) {
        let enable = self.restore_interrupts.load(Ordering::Relaxed);
        let serving = self.now_serving.load(Ordering::Relaxed);
        self.now_serving
            .store(serving.wrapping_add(1), Ordering::Release);
        restore(enable);
    }

    fn is_locked(&self) -> bool {
        self.next_ticket.load(Ordering::Relaxed) != self.now_serving.load(Ordering::Relaxed)
    }
}

pub type IrqMutex<T> = lock_api::Mutex<RawIrqSpinlock, T>;
pub type IrqMutexGuard<'a, T> = lock_api::MutexGuard<'a, RawIrqSpinlock, T>;
