//! Per-CPU GDT and TSS.
//!
//! The service runs in ring 3 and the kernel in ring 0. (A ring-0 service, as in IncludeOS, is not
//! workable on the development hosts: their KVM is the PVM hypervisor, which runs ring-0 code of a
//! guest that is not PVM-aware through its instruction emulator — thousands of times slower, and
//! without SSE.) Every interrupt vector still uses an IST stack so no handler ever runs on a stack
//! it could share with the code it interrupted.

use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

/// IST slots (1-based in the IDT, 0-based in the TSS array). #DF, NMI, #MC and #PF get their own
/// stacks so that a fault inside another handler never reuses the stack it arrived on.
pub const IST_DOUBLE_FAULT: u16 = 1;
pub const IST_NMI: u16 = 2;
pub const IST_MACHINE_CHECK: u16 = 3;
pub const IST_PAGE_FAULT: u16 = 4;
pub const IST_EXCEPTION: u16 = 5;
pub const IST_IRQ: u16 = 6;
pub const IST_SLOTS: usize = 6;

/// Bytes of each IST stack (a guard page sits below each).
pub const IST_STACK_SIZE: usize = 32 * 1024;

/// Selectors. `syscall` takes CS from STAR[47:32] and SS = CS + 8; `sysret` (64-bit) takes
/// SS = STAR[63:48] + 8 and CS = STAR[63:48] + 16, which fixes this order.
pub const KERNEL_CODE: u16 = 0x08;
pub const KERNEL_DATA: u16 = 0x10;
pub const SYSRET_BASE: u16 = 0x18;
pub const USER_DATA: u16 = 0x20 | 3;
pub const USER_CODE: u16 = 0x28 | 3;

pub struct CpuTables {
    gdt: GlobalDescriptorTable<10>,
    tss: TaskStateSegment,
}

/// Room for one CPU's GDT and TSS, for as long as the CPU runs. Allocated ahead by the boot CPU
/// for the others: a starting CPU has no per-CPU data yet, which the kernel heap relies on.
pub fn alloc_tables() -> &'static mut CpuTables {
    alloc::boxed::Box::leak(alloc::boxed::Box::new(CpuTables {
        gdt: GlobalDescriptorTable::empty(),
        tss: TaskStateSegment::new(),
    }))
}

/// Build and load the GDT and TSS of the calling CPU in `tables`. `ist_tops[i]` is the top of
/// IST stack i+1.
pub fn init_cpu(tables: &'static mut CpuTables, ist_tops: [u64; IST_SLOTS]) {
    for (slot, top) in ist_tops.iter().enumerate() {
        tables.tss.interrupt_stack_table[slot] = VirtAddr::new(*top);
    }
    let code = tables.gdt.append(Descriptor::kernel_code_segment());
    let data = tables.gdt.append(Descriptor::kernel_data_segment());
    // The 32-bit user code slot `sysret` would use for compatibility mode: never used, left null.
    let sysret_base = tables.gdt.append(Descriptor::UserSegment(0));
    let user_data = tables.gdt.append(Descriptor::user_data_segment());
    let user_code = tables.gdt.append(Descriptor::user_code_segment());
    debug_assert_eq!(
        (code.0, data.0, sysret_base.0, user_data.0, user_code.0),
        (KERNEL_CODE, KERNEL_DATA, SYSRET_BASE, USER_DATA, USER_CODE)
    );
    // The TSS lives as long as the CPU (leaked above) and is never moved.
    let tss_ref: &'static TaskStateSegment = &tables.tss;
    let tss = tables.gdt.append(Descriptor::tss_segment(tss_ref));
    let tables: &'static CpuTables = tables;
    tables.gdt.load();
    // SAFETY: the selectors index descriptors of the GDT just loaded.
    unsafe {
        CS::set_reg(SegmentSelector(KERNEL_CODE));
        DS::set_reg(SegmentSelector(KERNEL_DATA));
        ES::set_reg(SegmentSelector(KERNEL_DATA));
        SS::set_reg(SegmentSelector(KERNEL_DATA));
        load_tss(tss);
    }
}
