//! Per-thread state the system-call layer keeps (Linux's task fields that musl relies on).
//!
//! Until the scheduler exists the service has exactly one thread, the main thread (tid 1), and
//! `clone` of a thread is refused with ENOSYS, so `current()` is that thread.

use ferrite_libos::sync::IrqMutex;

/// The main thread's id, which is also the process id.
pub const MAIN_TID: u32 = 1;

#[derive(Debug, Default, Clone, Copy)]
pub struct ThreadState {
    pub tid: u32,
    /// `set_tid_address` / `CLONE_CHILD_CLEARTID`: zeroed and woken when the thread exits.
    pub clear_child_tid: u64,
    /// `set_robust_list` head and length.
    pub robust_list: (u64, u64),
    /// Blocked signals (bit n-1 for signal n).
    pub signal_mask: u64,
    /// Signals sent while blocked, delivered when unblocked.
    pub pending_signals: u64,
    /// Alternate signal stack (ss_sp, ss_flags, ss_size).
    pub alt_stack: (u64, i32, u64),
}

static MAIN: IrqMutex<ThreadState> = IrqMutex::new(ThreadState {
    tid: MAIN_TID,
    clear_child_tid: 0,
    robust_list: (0, 0),
    signal_mask: 0,
    pending_signals: 0,
    alt_stack: (0, 2, 0),
});

/// The calling thread's state.
pub fn current() -> &'static IrqMutex<ThreadState> {
    &MAIN
}
