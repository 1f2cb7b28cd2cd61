//! Ferrite's kernel core: boot, memory, interrupts, time, console.
//!
//! Hardware-facing modules exist only on the bare-metal target; the logic around them (boot
//! information, command line, frame bitmap, memory areas, symbol lookup, clocks arithmetic) also
//! builds on the host, where `cargo test` exercises it.
#![cfg_attr(target_os = "none", no_std)]

extern crate alloc;

pub mod acpi;
pub mod arch;
pub mod bootinfo;
pub mod cmdline;
pub mod console;
pub mod exit;
pub mod frame;
pub mod log;
pub mod mm;
pub mod net;
pub mod random;
#[cfg(target_os = "none")]
pub mod report;
#[cfg(target_os = "none")]
pub mod serial;
pub mod symbols;
pub mod sync;
pub mod time;
pub mod unwind;
