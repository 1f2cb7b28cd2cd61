//! Threads: what the scheduler switches between and what the system-call layer keeps per thread
//! (Linux's task fields that musl relies on).

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use ferrite_libos::sync::IrqMutex;

/// The main thread's id, which is also the process id.
pub const MAIN_TID: u32 = 1;

/// Per-thread state of the system-call layer.
#[derive(Debug, Default, Clone, Copy)]
pub struct PosixState {
    /// `set_tid_address` / `CLONE_CHILD_CLEARTID`: zeroed and woken when the thread exits.
    pub clear_child_tid: u64,
    /// `set_robust_list` head and length.
    pub robust_list: (u64, u64),
    /// Blocked signals (bit n-1 for signal n).
    pub signal_mask: u64,
    /// Signals sent to this thread while blocked, delivered when unblocked.
    pub pending_signals: u64,
    /// Which of the pending signals came from `kill` (si_code SI_USER) rather than `tkill`.
    pub pending_from_kill: u64,
    /// Alternate signal stack (ss_sp, ss_flags, ss_size).
    pub alt_stack: (u64, i32, u64),
    /// `prctl(PR_SET_NAME)`.
    pub name: [u8; 16],
    /// The mask `rt_sigsuspend` replaced, restored when its signal has been delivered.
    pub suspend_saved_mask: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// On a run queue, or chosen to run next.
    Runnable = 0,
    /// Running on a CPU.
    Running = 1,
    /// Waiting (futex, sleep, input); a waker makes it runnable.
    Blocked = 2,
    /// Finished; the object lives on until nothing refers to it.
    Exited = 3,
}

/// Why a blocked thread was made runnable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum WakeReason {
    None = 0,
    Woken = 1,
    TimedOut = 2,
    Interrupted = 3,
}

/// A kernel stack with an unmapped guard page below it.
pub struct KernelStack {
    pub base: u64,
    pub top: u64,
}

/// Bytes of every thread's kernel stack (system calls and interrupt handlers run on it).
pub const KERNEL_STACK_SIZE: u64 = 64 * 1024;

impl KernelStack {
    #[cfg(target_os = "none")]
    pub fn allocate() -> Option<KernelStack> {
        let frames = KERNEL_STACK_SIZE / 4096 + 1;
        let base = ferrite_libos::mm::alloc_frames_contiguous(frames, 1)?;
        ferrite_libos::mm::unmap_guard_page(base);
        Some(KernelStack {
            base,
            top: base + frames * 4096,
        })
    }

    #[cfg(not(target_os = "none"))]
    pub fn allocate() -> Option<KernelStack> {
        Some(KernelStack { base: 0, top: 0 })
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        #[cfg(target_os = "none")]
        if self.base != 0 {
            let frames = (self.top - self.base) / 4096;
            ferrite_libos::mm::restore_guard_page(self.base);
            ferrite_libos::mm::free_frames(self.base, frames);
        }
    }
}

/// The FPU/SSE/AVX save area (64-byte aligned for XSAVE).
pub struct FpuArea {
    ptr: *mut u8,
    layout: Layout,
}

// SAFETY: the area is only touched by the CPU running the thread or switching it.
unsafe impl Send for FpuArea {}
// SAFETY: as above.
unsafe impl Sync for FpuArea {}

impl FpuArea {
    pub fn new(size: usize) -> Option<FpuArea> {
        let layout = Layout::from_size_align(size.max(512), 64).ok()?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc::alloc::alloc_zeroed(layout) };
        (!ptr.is_null()).then_some(FpuArea { ptr, layout })
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// Copy another thread's saved state (a new thread starts with its creator's FPU state).
    pub fn copy_from(&self, other: &FpuArea) {
        let n = self.layout.size().min(other.layout.size());
        // SAFETY: both areas are valid for `n` bytes and distinct allocations.
        unsafe { core::ptr::copy_nonoverlapping(other.ptr, self.ptr, n) }
    }
}

impl Drop for FpuArea {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { alloc::alloc::dealloc(self.ptr, self.layout) }
    }
}

pub struct Thread {
    pub tid: u32,
    state: AtomicU8,
    /// Still running on (or switching away from) a CPU: another CPU must not resume it yet.
    pub(crate) on_cpu: AtomicBool,
    /// The kernel stack pointer saved by `switch_stacks` while not running.
    pub(crate) saved_rsp: UnsafeCell<u64>,
    pub kernel_stack: KernelStack,
    pub(crate) fs_base: AtomicU64,
    pub(crate) fpu: FpuArea,
    /// CPUs this thread may run on (bit per CPU index).
    pub affinity: AtomicU64,
    /// The CPU it last ran on.
    pub cpu: AtomicUsize,
    /// The CPU whose run queue it was last put on.
    pub(crate) queued_on: AtomicUsize,
    /// CPU time consumed before the current run, and the TSC when the current run started.
    pub(crate) cpu_ns: AtomicU64,
    pub(crate) run_start_tsc: AtomicU64,
    pub(crate) wake_reason: AtomicU8,
    /// Kernel-only idle thread of a CPU.
    pub is_idle: bool,
    pub posix: IrqMutex<PosixState>,
}

// SAFETY: `saved_rsp` is written only by the CPU switching the thread out and read only by the
// CPU switching it in, ordered by `on_cpu` (release/acquire).
unsafe impl Sync for Thread {}

impl Thread {
    pub fn new(tid: u32, kernel_stack: KernelStack, fpu: FpuArea, is_idle: bool) -> Thread {
        Thread {
            tid,
            state: AtomicU8::new(State::Runnable as u8),
            on_cpu: AtomicBool::new(false),
            saved_rsp: UnsafeCell::new(0),
            kernel_stack,
            fs_base: AtomicU64::new(0),
            fpu,
            affinity: AtomicU64::new(!0),
            cpu: AtomicUsize::new(0),
            queued_on: AtomicUsize::new(0),
            cpu_ns: AtomicU64::new(0),
            run_start_tsc: AtomicU64::new(0),
            wake_reason: AtomicU8::new(WakeReason::None as u8),
            is_idle,
            posix: IrqMutex::new(PosixState {
                alt_stack: (0, 2, 0),
                ..Default::default()
            }),
        }
    }

    pub fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            0 => State::Runnable,
            1 => State::Running,
            2 => State::Blocked,
            _ => State::Exited,
        }
    }

    pub(crate) fn set_state(&self, s: State) {
        self.state.store(s as u8, Ordering::Release);
    }

    pub(crate) fn transition(&self, from: State, to: State) -> bool {
        self.state
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub fn wake_reason(&self) -> WakeReason {
        match self.wake_reason.load(Ordering::Acquire) {
            1 => WakeReason::Woken,
            2 => WakeReason::TimedOut,
            3 => WakeReason::Interrupted,
            _ => WakeReason::None,
        }
    }

    /// Claim the wake-up of a blocked thread for `reason`; false if another waker was first.
    pub fn claim_wake(&self, reason: WakeReason) -> bool {
        self.wake_reason
            .compare_exchange(
                WakeReason::None as u8,
                reason as u8,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    pub(crate) fn reset_wake_reason(&self) {
        self.wake_reason
            .store(WakeReason::None as u8, Ordering::Release);
    }

    /// Set the FS base this thread runs with (the CPU register too, if it is the caller).
    pub fn set_fs_base(&self, value: u64) {
        self.fs_base.store(value, Ordering::Relaxed);
    }

    pub fn fs_base(&self) -> u64 {
        self.fs_base.load(Ordering::Relaxed)
    }

    /// The kernel stack pointer a new thread starts from (see `arch::context`).
    pub fn set_saved_rsp(&self, rsp: u64) {
        // SAFETY: only called before the thread is first scheduled, when nothing else reads it.
        unsafe { *self.saved_rsp.get() = rsp }
    }

    pub fn fpu_area(&self) -> &FpuArea {
        &self.fpu
    }

    /// CPU time used so far (including the current run when `running_since` is given).
    pub fn cpu_time_ns(&self) -> u64 {
        self.cpu_ns.load(Ordering::Relaxed)
    }
}

/// Every live thread of the service, by id.
static THREADS: IrqMutex<BTreeMap<u32, Arc<Thread>>> = IrqMutex::new(BTreeMap::new());
static NEXT_TID: AtomicU32 = AtomicU32::new(MAIN_TID + 1);
static LIVE_THREADS: AtomicUsize = AtomicUsize::new(0);
/// CPU time of threads that have exited (for the process's CPU clock).
static EXITED_CPU_NS: AtomicU64 = AtomicU64::new(0);

pub fn allocate_tid() -> u32 {
    NEXT_TID.fetch_add(1, Ordering::Relaxed)
}

/// Register a new service thread.
pub fn register(thread: Arc<Thread>) {
    LIVE_THREADS.fetch_add(1, Ordering::AcqRel);
    THREADS.lock().insert(thread.tid, thread);
}

/// Remove an exiting thread; returns how many service threads remain.
pub fn unregister(thread: &Thread) -> usize {
    EXITED_CPU_NS.fetch_add(thread.cpu_time_ns(), Ordering::Relaxed);
    THREADS.lock().remove(&thread.tid);
    LIVE_THREADS.fetch_sub(1, Ordering::AcqRel) - 1
}

/// The first live thread (lowest id) for which `pick` says yes.
pub fn find_first(pick: impl Fn(&Thread) -> bool) -> Option<Arc<Thread>> {
    THREADS.lock().values().find(|t| pick(t)).cloned()
}

pub fn find(tid: u32) -> Option<Arc<Thread>> {
    THREADS.lock().get(&tid).cloned()
}

/// Call `f` for every live thread if the table is free right now (for diagnostics that may run
/// while it is held: returns false then).
pub fn try_for_each(mut f: impl FnMut(&Thread)) -> bool {
    match THREADS.try_lock() {
        Some(table) => {
            table.values().for_each(|t| f(t));
            true
        }
        None => false,
    }
}

pub fn live_threads() -> usize {
    LIVE_THREADS.load(Ordering::Acquire)
}

/// CPU time of the whole process: exited threads plus every live one.
pub fn process_cpu_time_ns() -> u64 {
    let live: u64 = THREADS
        .lock()
        .values()
        .map(|t| crate::sched::thread_cpu_time_ns(t))
        .sum();
    EXITED_CPU_NS.load(Ordering::Relaxed) + live
}

/// Allocate a thread object with a fresh kernel stack and FPU area.
pub fn create(tid: u32, is_idle: bool) -> Option<Arc<Thread>> {
    let stack = KernelStack::allocate()?;
    #[cfg(target_os = "none")]
    let fpu = FpuArea::new(ferrite_libos::arch::fpu::area_size())?;
    #[cfg(not(target_os = "none"))]
    let fpu = FpuArea::new(512)?;
    Some(Arc::new(Thread::new(tid, stack, fpu, is_idle)))
}
