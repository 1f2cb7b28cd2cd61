//! Kernel locks. `IrqMutex` masks interrupts on this CPU while held, so a lock that an interrupt
//! handler also takes can never deadlock against the code it interrupted.

use core::sync::atomic::{AtomicBool, Ordering};

pub struct RawIrqSpinlock {
    locked: AtomicBool,
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

// SAFETY: the lock is exclusive: `locked` is acquired with compare-exchange and released with a
// release store, giving the required happens-before ordering.
unsafe impl lock_api::RawMutex for RawIrqSpinlock {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = RawIrqSpinlock {
        locked: AtomicBool::new(false),
        restore_interrupts: AtomicBool::new(false),
    };
    type GuardMarker = lock_api::GuardNoSend;

    fn lock(&self) {
        loop {
            let was_enabled = save_and_disable();
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                self.restore_interrupts
                    .store(was_enabled, Ordering::Relaxed);
                return;
            }
            restore(was_enabled);
            while self.locked.load(Ordering::Relaxed) {
                // The holder may be waiting for this CPU to flush its TLB.
                crate::mm::tlb::service_requests();
                core::hint::spin_loop();
            }
        }
    }

    fn try_lock(&self) -> bool {
        let was_enabled = save_and_disable();
        if self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
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
        self.locked.store(false, Ordering::Release);
        restore(enable);
    }
}

pub type IrqMutex<T> = lock_api::Mutex<RawIrqSpinlock, T>;
pub type IrqMutexGuard<'a, T> = lock_api::MutexGuard<'a, RawIrqSpinlock, T>;
