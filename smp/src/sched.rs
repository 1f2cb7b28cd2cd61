//! The scheduler: a run queue per CPU, preemption from the local APIC timer, work stealing when a
//! CPU runs dry, wake-up IPIs only to idle CPUs, and affinity.
//!
//! All of it runs with interrupts disabled (system calls enter with IF clear; interrupt handlers
//! too), and no lock is held across a switch: a thread that is switching away keeps `on_cpu` set
//! until the next thread has taken over its CPU, and nobody resumes it before that.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use ferrite_libos::sync::IrqMutex;

use crate::thread::{State, Thread, WakeReason};

/// Most CPUs Ferrite schedules on (affinity masks are one u64).
pub const MAX_CPUS: usize = 64;

/// How long a thread runs before another runnable thread on its CPU gets a turn.
pub const TIME_SLICE_NS: u64 = 10_000_000;

struct Cpu {
    queue: IrqMutex<VecDeque<Arc<Thread>>>,
    /// The running thread, as a pointer owning one reference (`Arc::into_raw`).
    current: AtomicPtr<Thread>,
    idle: AtomicPtr<Thread>,
    /// In the idle loop (halted or about to): wake-ups send it an IPI.
    idle_now: AtomicBool,
    /// Set when another thread should get this CPU at the next opportunity.
    need_resched: AtomicBool,
    /// The thread being switched away from, until the next one has taken over.
    switching_from: AtomicPtr<Thread>,
    /// TSC deadline of the current time slice (0: none).
    slice_end_tsc: AtomicU64,
}

impl Cpu {
    const fn new() -> Cpu {
        Cpu {
            queue: IrqMutex::new(VecDeque::new()),
            current: AtomicPtr::new(core::ptr::null_mut()),
            idle: AtomicPtr::new(core::ptr::null_mut()),
            idle_now: AtomicBool::new(false),
            need_resched: AtomicBool::new(false),
            switching_from: AtomicPtr::new(core::ptr::null_mut()),
            slice_end_tsc: AtomicU64::new(0),
        }
    }
}

static CPUS: [Cpu; MAX_CPUS] = [const { Cpu::new() }; MAX_CPUS];
static CPU_COUNT: AtomicUsize = AtomicUsize::new(1);

/// What the scheduler needs from the hardware layer.
pub struct Platform {
    /// Index of the calling CPU.
    pub this_cpu: fn() -> usize,
    /// Interrupt `cpu` so it leaves `hlt` and reschedules.
    pub kick: fn(cpu: usize),
    /// Make the next system call or interrupt from the service use this kernel stack.
    pub set_kernel_stack: fn(top: u64),
    /// Arm this CPU's timer interrupt at a TSC value (0: disarm).
    pub arm_timer: fn(tsc: u64),
    pub now_tsc: fn() -> u64,
    pub tsc_to_ns: fn(ticks: u64) -> u64,
    pub ns_to_tsc: fn(ns: u64) -> u64,
    /// Save the running thread's FPU state and FS base / load them for the next.
    pub save_user_state: fn(&Thread),
    pub load_user_state: fn(&Thread),
    /// Switch kernel stacks (`arch::context::switch_stacks`).
    pub switch_stacks: unsafe extern "C" fn(save: *mut u64, load: u64),
    /// Wait for an interrupt with interrupts enabled, then disable them again.
    pub wait_for_interrupt: fn(),
}

static PLATFORM: spin::Once<Platform> = spin::Once::new();

fn platform() -> &'static Platform {
    PLATFORM.get().expect("scheduler platform not set")
}

pub fn set_platform(p: Platform) {
    PLATFORM.call_once(|| p);
}

pub fn this_cpu() -> usize {
    (platform().this_cpu)()
}

pub fn cpu_count() -> usize {
    CPU_COUNT.load(Ordering::Acquire)
}

pub fn set_cpu_count(n: usize) {
    CPU_COUNT.store(n.clamp(1, MAX_CPUS), Ordering::Release);
}

/// Mask of every CPU that is up.
pub fn online_mask() -> u64 {
    let n = cpu_count();
    if n >= 64 { !0 } else { (1u64 << n) - 1 }
}

/// Make `thread` the running thread of the calling CPU without a switch (boot: the main thread
/// on the boot CPU, an AP's own boot context as its idle thread), and register `idle` as the
/// CPU's idle thread.
pub fn init_cpu(current: Arc<Thread>, idle: Arc<Thread>) {
    let cpu = &CPUS[this_cpu()];
    current.set_state(State::Running);
    current.on_cpu.store(true, Ordering::Release);
    current.cpu.store(this_cpu(), Ordering::Relaxed);
    current
        .run_start_tsc
        .store((platform().now_tsc)(), Ordering::Relaxed);
    (platform().set_kernel_stack)(current.kernel_stack.top);
    cpu.idle
        .store(Arc::into_raw(idle).cast_mut(), Ordering::Release);
    cpu.current
        .store(Arc::into_raw(current).cast_mut(), Ordering::Release);
}

/// The thread running on this CPU, if the scheduler has started here (for reports that may run
/// before it has).
pub fn try_current() -> Option<&'static Thread> {
    PLATFORM.get()?;
    let p = CPUS[this_cpu()].current.load(Ordering::Acquire);
    // SAFETY: as in `current`; null before `init_cpu`.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// The thread running on this CPU.
pub fn current() -> &'static Thread {
    let p = CPUS[this_cpu()].current.load(Ordering::Acquire);
    // SAFETY: `current` always holds a live reference while the thread runs on this CPU, and
    // the caller is that thread.
    unsafe { &*p }
}

pub fn current_arc() -> Arc<Thread> {
    let p = CPUS[this_cpu()].current.load(Ordering::Acquire);
    // SAFETY: as in `current`; the strong count is incremented for the new Arc.
    unsafe {
        Arc::increment_strong_count(p);
        Arc::from_raw(p)
    }
}

/// CPU time of `thread`, including its current run if it is running now.
///
/// The reading is retried until the run's start and the accumulated time are the same before
/// and after the clock is read: a thread preempted between reading its run's start and the clock
/// would otherwise count the time it spent off the CPU (a whole time slice, when it reads its
/// own clock), and a switch in between would count that run twice.
pub fn thread_cpu_time_ns(thread: &Thread) -> u64 {
    let p = platform();
    loop {
        let start = thread.run_start_tsc.load(Ordering::Acquire);
        // (Acquire: a switch stores the state, then adds the run to cpu_ns with Release; seeing
        // the addition means seeing that the thread no longer runs.)
        let base = thread.cpu_ns.load(Ordering::Acquire);
        let running = thread.state() == State::Running;
        let now = (p.now_tsc)();
        if thread.run_start_tsc.load(Ordering::Acquire) != start
            || thread.cpu_ns.load(Ordering::Acquire) != base
        {
            continue;
        }
        return if running {
            base + (p.tsc_to_ns)(now.saturating_sub(start))
        } else {
            base
        };
    }
}

/// The CPU a woken or new thread should go to: its last CPU if allowed and idle, else an idle
/// allowed CPU, else the allowed CPU with the shortest queue.
fn choose_cpu(thread: &Thread) -> usize {
    let allowed = thread.affinity.load(Ordering::Relaxed) & online_mask();
    let allowed = if allowed == 0 { online_mask() } else { allowed };
    let last = thread.cpu.load(Ordering::Relaxed);
    if allowed & (1 << last) != 0 && CPUS[last].idle_now.load(Ordering::Acquire) {
        return last;
    }
    let mut best = None;
    let mut best_len = usize::MAX;
    for (cpu, state) in CPUS.iter().enumerate().take(cpu_count()) {
        if allowed & (1 << cpu) == 0 {
            continue;
        }
        if state.idle_now.load(Ordering::Acquire) {
            return cpu;
        }
        let len = state.queue.lock().len() + 1;
        if len < best_len || (len == best_len && cpu == last) {
            best = Some(cpu);
            best_len = len;
        }
    }
    best.unwrap_or(last)
}

fn enqueue(cpu: usize, thread: Arc<Thread>) {
    thread.queued_on.store(cpu, Ordering::Relaxed);
    CPUS[cpu].queue.lock().push_back(thread);
    let target = &CPUS[cpu];
    target.need_resched.store(true, Ordering::Release);
    // An idle CPU must wake up; a busy one whose thread runs without a time slice (it was alone)
    // must start one, or the new thread would wait until that thread blocks.
    let unsliced = target.slice_end_tsc.load(Ordering::Relaxed) == 0;
    if cpu != this_cpu() && (target.idle_now.load(Ordering::Acquire) || unsliced) {
        (platform().kick)(cpu);
    }
}

/// Start a new thread (it must be `Runnable`).
pub fn spawn(thread: Arc<Thread>) {
    let cpu = choose_cpu(&thread);
    enqueue(cpu, thread);
}

/// Make a blocked thread runnable; false if it was not blocked.
pub fn wake(thread: &Arc<Thread>) -> bool {
    if !thread.transition(State::Blocked, State::Runnable) {
        return false;
    }
    let cpu = choose_cpu(thread);
    enqueue(cpu, thread.clone());
    true
}

/// Block the current thread until a waker makes it runnable. The caller has published it
/// somewhere a waker finds it (a futex queue, a timer) before calling.
pub fn block() -> WakeReason {
    let me = current();
    if me.transition(State::Running, State::Blocked) {
        // A waker that claimed us before we were Blocked could not enqueue us: keep running.
        if me.wake_reason() != WakeReason::None && me.transition(State::Blocked, State::Running) {
            return me.wake_reason();
        }
        schedule();
    }
    me.wake_reason()
}

/// Prepare the current thread to block: clear the previous wake reason. Call before publishing.
pub fn prepare_to_block() {
    current().reset_wake_reason();
}

pub fn yield_now() {
    CPUS[this_cpu()].need_resched.store(true, Ordering::Release);
    schedule();
}

/// Take a runnable thread that may run on `cpu` from another CPU's queue.
/// Whether `t` may be taken to run on `cpu` now. A thread still leaving another CPU (`on_cpu`)
/// is passed over: waiting for it while this CPU's own previous thread waits the same way could
/// deadlock two CPUs that swap threads. `finish_switch` wakes its queue's CPU once it is free.
fn can_take(t: &Thread, cpu: usize, prev: *const Thread) -> bool {
    t.affinity.load(Ordering::Relaxed) & (1 << cpu) != 0
        && (!t.on_cpu.load(Ordering::Acquire) || core::ptr::eq(t, prev))
}

/// Take a runnable thread that may run on `cpu` from another CPU's queue.
fn steal(cpu: usize, prev: *const Thread) -> Option<Arc<Thread>> {
    let n = cpu_count();
    for offset in 1..n {
        let victim = (cpu + offset) % n;
        let mut queue = CPUS[victim].queue.lock();
        if let Some(pos) = queue.iter().rposition(|t| can_take(t, cpu, prev)) {
            return queue.remove(pos);
        }
    }
    None
}

fn pick_next(cpu: usize, prev: *const Thread) -> Option<Arc<Thread>> {
    let mine = {
        let mut queue = CPUS[cpu].queue.lock();
        let pos = queue.iter().position(|t| can_take(t, cpu, prev));
        pos.and_then(|p| queue.remove(p))
    };
    mine.or_else(|| steal(cpu, prev))
}

/// Give the CPU to another thread if one should run: the current thread keeps running if it is
/// still runnable and nothing else is waiting. Must be called with interrupts disabled.
pub fn schedule() {
    let cpu_index = this_cpu();
    let cpu = &CPUS[cpu_index];
    cpu.need_resched.store(false, Ordering::Release);
    let prev_ptr = cpu.current.load(Ordering::Acquire);
    // SAFETY: the running thread's reference is held by `current`.
    let prev = unsafe { &*prev_ptr };
    let prev_runnable = prev.state() == State::Running && !prev.is_idle;
    let allowed_here = prev.affinity.load(Ordering::Relaxed) & (1 << cpu_index) != 0;
    let next = match pick_next(cpu_index, prev_ptr) {
        Some(next) => next,
        None if prev_runnable && allowed_here => {
            start_slice(cpu, false);
            return;
        }
        None => {
            if prev.is_idle {
                return;
            }
            let idle = cpu.idle.load(Ordering::Acquire);
            // SAFETY: the idle thread's reference is held forever by `idle`.
            unsafe {
                Arc::increment_strong_count(idle);
                Arc::from_raw(idle)
            }
        }
    };
    if core::ptr::eq(Arc::as_ptr(&next), prev_ptr) {
        // Woken while still here (it was queued by its waker): just carry on.
        prev.set_state(State::Running);
        start_slice(cpu, false);
        return;
    }
    if prev_runnable {
        // Preempted or yielding: back on a queue (another CPU's if affinity says so).
        prev.set_state(State::Runnable);
        // SAFETY: `current` holds a reference; this creates another for the queue.
        let again = unsafe {
            Arc::increment_strong_count(prev_ptr);
            Arc::from_raw(prev_ptr)
        };
        // To an idle CPU if there is one (`choose_cpu` prefers them), else back here.
        let target = match choose_cpu(&again) {
            other if other != cpu_index && CPUS[other].idle_now.load(Ordering::Acquire) => other,
            _ if allowed_here => cpu_index,
            other => other,
        };
        again.queued_on.store(target, Ordering::Relaxed);
        CPUS[target].queue.lock().push_back(again);
        if target != cpu_index {
            (platform().kick)(target);
        }
    }
    switch_to(cpu_index, prev, next);
}

fn start_slice(cpu: &Cpu, force: bool) {
    let p = platform();
    let waiting = !cpu.queue.lock().is_empty();
    if waiting || force {
        let end = (p.now_tsc)() + (p.ns_to_tsc)(TIME_SLICE_NS);
        cpu.slice_end_tsc.store(end, Ordering::Relaxed);
    } else {
        cpu.slice_end_tsc.store(0, Ordering::Relaxed);
    }
    crate::timer::rearm();
}

pub fn now_tsc() -> u64 {
    (platform().now_tsc)()
}

pub fn ns_to_tsc(ns: u64) -> u64 {
    (platform().ns_to_tsc)(ns)
}

pub(crate) fn arm_timer(tsc: u64) {
    (platform().arm_timer)(tsc)
}

/// The TSC at which this CPU's time slice ends (0: no slice running).
pub fn slice_end_tsc() -> u64 {
    CPUS[this_cpu()].slice_end_tsc.load(Ordering::Relaxed)
}

fn switch_to(cpu_index: usize, prev: &Thread, next: Arc<Thread>) {
    let p = platform();
    let cpu = &CPUS[cpu_index];
    let now = (p.now_tsc)();
    if !prev.is_idle {
        (p.save_user_state)(prev);
    }
    let start = prev.run_start_tsc.load(Ordering::Relaxed);
    prev.cpu_ns
        .fetch_add((p.tsc_to_ns)(now.saturating_sub(start)), Ordering::Release);

    // The next thread may still be leaving another CPU: wait until it is off.
    while next.on_cpu.load(Ordering::Acquire) {
        ferrite_libos::mm::tlb::service_requests();
        core::hint::spin_loop();
    }
    next.on_cpu.store(true, Ordering::Relaxed);
    next.set_state(State::Running);
    next.cpu.store(cpu_index, Ordering::Relaxed);
    // (A fresh reading: the wait above may have been long, and the time before it is still the
    // other CPU's to count.)
    next.run_start_tsc.store((p.now_tsc)(), Ordering::Release);
    if !next.is_idle {
        (p.load_user_state)(&next);
    }
    (p.set_kernel_stack)(next.kernel_stack.top);
    if next.is_idle {
        ferrite_libos::mm::tlb::enter_lazy();
    } else if prev.is_idle {
        ferrite_libos::mm::tlb::leave_lazy();
    }
    cpu.idle_now.store(next.is_idle, Ordering::Release);
    let load = {
        // SAFETY: `next` is not running anywhere (on_cpu was clear), so its saved stack pointer
        // is stable.
        unsafe { *next.saved_rsp.get() }
    };
    cpu.switching_from
        .store((prev as *const Thread).cast_mut(), Ordering::Release);
    cpu.current
        .store(Arc::into_raw(next).cast_mut(), Ordering::Release);
    start_slice(cpu, false);
    // SAFETY: `load` was saved by switch_stacks or built for a new thread; `prev.saved_rsp`
    // stays valid while prev is alive (its reference moved into `switching_from`).
    unsafe { (p.switch_stacks)(prev.saved_rsp.get(), load) };
    finish_switch();
}

/// Complete a switch on the thread that now runs: release the previous thread to other CPUs and
/// drop the reference `current` held for it. Runs at the start of every resumed or new thread.
pub fn finish_switch() {
    let cpu = &CPUS[this_cpu()];
    let from = cpu
        .switching_from
        .swap(core::ptr::null_mut(), Ordering::AcqRel);
    if from.is_null() {
        return;
    }
    // SAFETY: `from` was the running thread until the switch and its reference (from `current`)
    // was handed to `switching_from`; this consumes it.
    let from = unsafe { Arc::from_raw(from) };
    from.on_cpu.store(false, Ordering::Release);
    // Queued elsewhere while it was still leaving this CPU: that CPU may have passed it over
    // (`can_take`) and gone idle.
    if from.state() == State::Runnable {
        let queued_on = from.queued_on.load(Ordering::Relaxed);
        if queued_on != this_cpu() && CPUS[queued_on].idle_now.load(Ordering::Acquire) {
            (platform().kick)(queued_on);
        }
    }
    drop(from);
}

/// End the current thread for good.
pub fn exit_current() -> ! {
    let me = current();
    me.set_state(State::Exited);
    schedule();
    unreachable!("an exited thread was resumed");
}

/// Called from the timer interrupt (on the interrupted thread's kernel stack when it came from
/// the service): expire timers and preempt when the slice is over and someone is waiting.
pub fn timer_interrupt(from_service: bool) {
    crate::timer::expire();
    let cpu = &CPUS[this_cpu()];
    let p = platform();
    let slice_end = cpu.slice_end_tsc.load(Ordering::Relaxed);
    if slice_end != 0 && (p.now_tsc)() >= slice_end {
        cpu.need_resched.store(true, Ordering::Release);
    }
    if from_service && cpu.need_resched.load(Ordering::Acquire) {
        schedule();
    } else {
        crate::timer::rearm();
    }
}

/// An IPI or other interrupt asked this CPU to look at its queue.
pub fn reschedule_interrupt(from_service: bool) {
    if from_service {
        schedule();
    }
}

/// Make a thread that is running on another CPU enter the kernel soon (so a signal sent to it
/// is delivered without waiting for its next system call).
pub fn kick_thread(thread: &Thread) {
    if thread.state() == State::Running {
        let cpu = thread.cpu.load(Ordering::Relaxed);
        if cpu != this_cpu() {
            CPUS[cpu].need_resched.store(true, Ordering::Release);
            (platform().kick)(cpu);
        }
    }
}

/// Whether this CPU should reschedule before returning to the service.
pub fn need_resched() -> bool {
    CPUS[this_cpu()].need_resched.load(Ordering::Acquire)
}

/// One line about `cpu` for a hang report: its current thread, whether it is idle, its queue.
pub fn describe_cpu(cpu: usize, out: &mut impl core::fmt::Write) {
    let c = &CPUS[cpu];
    let current = c.current.load(Ordering::Acquire);
    // SAFETY: `current` holds a reference while set; only the id and flags are read.
    let tid = if current.is_null() {
        0
    } else {
        unsafe { (*current).tid }
    };
    // No allocation: the NMI may have interrupted the heap.
    let _ = write!(
        out,
        "cpu {cpu}: running tid {tid}, idle {}, need_resched {}, slice_end {}, queue ",
        c.idle_now.load(Ordering::Relaxed),
        c.need_resched.load(Ordering::Relaxed),
        c.slice_end_tsc.load(Ordering::Relaxed),
    );
    match c.queue.try_lock() {
        Some(q) => {
            let _ = write!(out, "[");
            for (i, t) in q.iter().enumerate() {
                let _ = write!(out, "{}{}", if i == 0 { "" } else { ", " }, t.tid);
            }
            let _ = write!(out, "]");
        }
        None => {
            let _ = write!(out, "(locked)");
        }
    }
}

/// Time CPU `cpu` has spent idle since the scheduler started there (its idle thread's run
/// time), for /proc/stat and /proc/uptime.
pub fn idle_time_ns(cpu: usize) -> u64 {
    let Some(state) = CPUS.get(cpu) else {
        return 0;
    };
    let idle = state.idle.load(Ordering::Acquire);
    if idle.is_null() {
        return 0;
    }
    // SAFETY: the idle thread's reference is held forever by `idle`.
    thread_cpu_time_ns(unsafe { &*idle })
}

/// The idle loop of a CPU: run whatever is queued, otherwise halt until an interrupt.
pub extern "C" fn idle_loop(_cpu: u64) -> ! {
    let p = platform();
    loop {
        let cpu = &CPUS[this_cpu()];
        cpu.idle_now.store(true, Ordering::Release);
        crate::timer::expire();
        let queued = !cpu.queue.lock().is_empty() || pick_work_elsewhere(this_cpu());
        if queued || cpu.need_resched.load(Ordering::Acquire) {
            cpu.need_resched.store(true, Ordering::Relaxed);
            schedule();
            continue;
        }
        crate::timer::rearm();
        (p.wait_for_interrupt)();
    }
}

fn pick_work_elsewhere(cpu: usize) -> bool {
    (0..cpu_count()).any(|other| {
        other != cpu
            && CPUS[other]
                .queue
                .lock()
                .iter()
                .any(|t| can_take(t, cpu, core::ptr::null()))
    })
}

/// Host builds (unit tests of the system-call layer): one CPU running a main thread, no real
/// switching. Idempotent.
#[cfg(not(target_os = "none"))]
pub fn install_host_platform() {
    static DONE: spin::Once<()> = spin::Once::new();
    DONE.call_once(|| {
        unsafe extern "C" fn no_switch(_save: *mut u64, _load: u64) {
            panic!("host tests cannot switch threads");
        }
        set_platform(Platform {
            this_cpu: || 0,
            kick: |_| {},
            set_kernel_stack: |_| {},
            arm_timer: |_| {},
            now_tsc: || 0,
            tsc_to_ns: |t| t,
            ns_to_tsc: |n| n,
            save_user_state: |_| {},
            load_user_state: |_| {},
            switch_stacks: no_switch,
            wait_for_interrupt: || {},
        });
        let main = crate::thread::create(crate::thread::MAIN_TID, false).expect("host thread");
        let idle = crate::thread::create(0, true).expect("host idle thread");
        crate::thread::register(main.clone());
        init_cpu(main, idle);
    });
}
