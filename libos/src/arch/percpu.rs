//! Per-CPU data, reached through the GS base while in the kernel. The `syscall` and interrupt
//! entries `swapgs` when they come from the service (ring 3), so the service's own GS base is
//! kept apart.
//!
//! Each CPU has one `PerCpu` block: the boot CPU's is a static, the application processors' are
//! allocated by the boot CPU before they start (`allocate`). A block holds its own address, so
//! `current()` is one GS-relative load; `get(index)` finds any CPU's block.

use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::cpu::{MSR_GS_BASE, MSR_KERNEL_GS_BASE, wrmsr};

/// Field offsets used by the assembly entries.
pub const KERNEL_RSP_OFFSET: usize = 0;
pub const USER_RSP_OFFSET: usize = 8;
const SELF_OFFSET: usize = 16;
const INDEX_OFFSET: usize = 24;

/// Most CPUs the kernel handles (the size of the CPU table).
pub const MAX_CPUS: usize = 256;

#[repr(C, align(64))]
pub struct PerCpu {
    /// Top of the running thread's kernel stack: where `syscall` entry switches to.
    pub kernel_rsp: AtomicU64,
    /// Scratch slot for the service's stack pointer during `syscall` entry.
    pub user_rsp: AtomicU64,
    /// This block's own address, for `current()`.
    this: AtomicU64,
    /// 0 for the boot CPU, 1.. for the others in the order the firmware lists them.
    pub cpu_index: usize,
    /// Local APIC id.
    pub apic_id: AtomicU32,
    /// The local APIC timer's LVT value last written (avoids rewriting it at every arm).
    pub timer_lvt: AtomicU32,
}

impl PerCpu {
    const fn new(cpu_index: usize, apic_id: u32) -> Self {
        PerCpu {
            kernel_rsp: AtomicU64::new(0),
            user_rsp: AtomicU64::new(0),
            this: AtomicU64::new(0),
            cpu_index,
            apic_id: AtomicU32::new(apic_id),
            timer_lvt: AtomicU32::new(0),
        }
    }
}

const _: () = {
    assert!(core::mem::offset_of!(PerCpu, kernel_rsp) == KERNEL_RSP_OFFSET);
    assert!(core::mem::offset_of!(PerCpu, user_rsp) == USER_RSP_OFFSET);
    assert!(core::mem::offset_of!(PerCpu, this) == SELF_OFFSET);
    assert!(core::mem::offset_of!(PerCpu, cpu_index) == INDEX_OFFSET);
};

static BOOT_CPU: PerCpu = PerCpu::new(0, 0);

/// Every CPU's block by index; null where no CPU is (yet).
static CPUS: [AtomicPtr<PerCpu>; MAX_CPUS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_CPUS];
/// CPUs that have installed their block (the boot CPU included).
static ONLINE: AtomicUsize = AtomicUsize::new(0);

fn register(block: &'static PerCpu) {
    block
        .this
        .store(block as *const PerCpu as u64, Ordering::Relaxed);
    CPUS[block.cpu_index].store(block as *const PerCpu as *mut PerCpu, Ordering::Release);
}

/// Point GS at `block` on the calling CPU.
fn install(block: &'static PerCpu) {
    // SAFETY: GS base is owned by the kernel; the user GS base starts as 0 in KERNEL_GS_BASE and is
    // swapped in on every return to the service.
    unsafe {
        wrmsr(MSR_GS_BASE, block as *const PerCpu as u64);
        wrmsr(MSR_KERNEL_GS_BASE, 0);
    }
    ONLINE.fetch_add(1, Ordering::AcqRel);
}

/// Point GS at the boot CPU's data.
pub fn init_boot_cpu() {
    register(&BOOT_CPU);
    install(&BOOT_CPU);
}

/// Record the boot CPU's local APIC id (known once the APIC is up).
pub fn set_boot_apic_id(apic_id: u32) {
    BOOT_CPU.apic_id.store(apic_id, Ordering::Relaxed);
}

/// Create the blocks of CPUs `first..first + apic_ids.len()` (CPU `first + i` has local APIC id
/// `apic_ids[i]`) before those CPUs start, in one allocation. False if an index is 0, out of
/// range or taken.
pub fn allocate(first: usize, apic_ids: &[u32]) -> bool {
    let indices = first..first + apic_ids.len();
    if first == 0
        || indices.end > MAX_CPUS
        || indices
            .clone()
            .any(|i| !CPUS[i].load(Ordering::Acquire).is_null())
    {
        return false;
    }
    let blocks: &'static [PerCpu] = alloc::boxed::Box::leak(
        indices
            .zip(apic_ids)
            .map(|(index, &id)| PerCpu::new(index, id))
            .collect(),
    );
    blocks.iter().for_each(register);
    true
}

/// Point the calling CPU's GS at the block `allocate` made for CPU `index`.
pub fn init_cpu(index: usize) -> Option<&'static PerCpu> {
    let block = get(index)?;
    install(block);
    Some(block)
}

/// The calling CPU's block. Only valid after `init_boot_cpu`/`init_cpu` on this CPU.
#[inline]
pub fn current() -> &'static PerCpu {
    let address: u64;
    // SAFETY: GS points at this CPU's block, whose `this` field holds its own address.
    unsafe {
        core::arch::asm!("mov {}, gs:[{off}]", out(reg) address, off = const SELF_OFFSET,
            options(nostack, preserves_flags, readonly))
    };
    // SAFETY: blocks are static or leaked: they live for ever and are never moved.
    unsafe { &*(address as *const PerCpu) }
}

/// The calling CPU's index (0 = boot CPU): one GS-relative load.
#[inline]
pub fn this_cpu_index() -> usize {
    let index: usize;
    // SAFETY: GS points at this CPU's block (see `current`).
    unsafe {
        core::arch::asm!("mov {}, gs:[{off}]", out(reg) index, off = const INDEX_OFFSET,
            options(nostack, preserves_flags, readonly))
    };
    index
}

/// CPU `index`'s block, if that CPU has one.
pub fn get(index: usize) -> Option<&'static PerCpu> {
    let p = CPUS.get(index)?.load(Ordering::Acquire);
    // SAFETY: non-null entries point at static or leaked blocks, never freed or moved.
    (!p.is_null()).then(|| unsafe { &*p })
}

/// How many CPUs are running kernel code (have installed their per-CPU block).
pub fn online_count() -> usize {
    ONLINE.load(Ordering::Acquire)
}

/// Set the kernel stack the next `syscall` from the service will run on.
pub fn set_kernel_stack(top: u64) {
    current().kernel_rsp.store(top, Ordering::Relaxed);
}
