//! x86-64 specifics: boot entry, descriptor tables, interrupts, system-call entry, CPU control,
//! local and I/O APICs, application-processor start-up. Hardware access exists only on the
//! bare-metal target; the pure parts of the APIC and start-up modules (timer arithmetic,
//! redirection entries, trampoline patching) also build on the host for unit tests.

pub mod ap_boot;
pub mod apic;
#[cfg(target_os = "none")]
pub mod apic_selftest;
#[cfg(target_os = "none")]
pub mod boot;
#[cfg(target_os = "none")]
pub mod context;
#[cfg(target_os = "none")]
pub mod cpu;
#[cfg(target_os = "none")]
pub mod fpu;
#[cfg(target_os = "none")]
pub mod gdt;
#[cfg(target_os = "none")]
pub mod idt;
pub mod ioapic;
#[cfg(target_os = "none")]
pub mod percpu;
#[cfg(target_os = "none")]
pub mod port;
#[cfg(target_os = "none")]
pub mod syscall_entry;
