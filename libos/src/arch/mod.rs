//! x86-64 specifics: boot entry, descriptor tables, interrupts, system-call entry, CPU control.
//! Everything here runs only on the bare-metal target.

pub mod boot;
pub mod context;
pub mod cpu;
pub mod fpu;
pub mod gdt;
pub mod idt;
pub mod percpu;
pub mod port;
pub mod syscall_entry;
