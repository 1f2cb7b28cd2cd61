//! Per-CPU GDT and TSS. The TSS carries the interrupt stacks: every vector runs on an IST stack
//! because the service's code uses the 128-byte red zone below its stack pointer, which a CPL 0
//! interrupt on the interrupted stack would overwrite.

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
const IST_COUNT: usize = 6;

/// Bytes of each IST stack (a guard page sits below each).
pub const IST_STACK_SIZE: usize = 32 * 1024;

/// Selectors; `syscall` derives CS and SS from STAR, which needs code at 0x08 and data at 0x10.
pub const KERNEL_CODE: u16 = 0x08;
pub const KERNEL_DATA: u16 = 0x10;

pub struct CpuTables {
    gdt: GlobalDescriptorTable<8>,
    tss: TaskStateSegment,
}

/// Build and load the GDT and TSS of the calling CPU. `ist_tops[i]` is the top of IST stack i+1.
pub fn init_cpu(ist_tops: [u64; IST_COUNT]) {
    let tables: &'static mut CpuTables = alloc::boxed::Box::leak(alloc::boxed::Box::new(CpuTables {
        gdt: GlobalDescriptorTable::empty(),
        tss: TaskStateSegment::new(),
    }));
    for (slot, top) in ist_tops.iter().enumerate() {
        tables.tss.interrupt_stack_table[slot] = VirtAddr::new(*top);
    }
    let code = tables.gdt.append(Descriptor::kernel_code_segment());
    let data = tables.gdt.append(Descriptor::kernel_data_segment());
    debug_assert_eq!(code.0, KERNEL_CODE);
    debug_assert_eq!(data.0, KERNEL_DATA);
    // SAFETY: the TSS lives as long as the CPU (leaked above) and is not moved.
    let tss_ref: &'static TaskStateSegment = unsafe { &*(&raw const tables.tss) };
    let tss = tables.gdt.append(Descriptor::tss_segment(tss_ref));
    let gdt: &'static GlobalDescriptorTable<8> = unsafe { &*(&raw const tables.gdt) };
    gdt.load();
    // SAFETY: the selectors index descriptors of the GDT just loaded.
    unsafe {
        CS::set_reg(SegmentSelector(KERNEL_CODE));
        DS::set_reg(SegmentSelector(KERNEL_DATA));
        ES::set_reg(SegmentSelector(KERNEL_DATA));
        SS::set_reg(SegmentSelector(KERNEL_DATA));
        load_tss(tss);
    }
}

pub const IST_SLOTS: usize = IST_COUNT;
