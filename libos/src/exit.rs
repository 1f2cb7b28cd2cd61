//! Ending the VM with a status the runner can read back exactly.
//!
//! The status line goes to QEMU's `isa-debugcon` (port 0x402; the runner points it at a file), then
//! a write to `isa-debug-exit` (port 0xf4) stops QEMU with exit code (value << 1) | 1. Without those
//! devices both writes are ignored and the CPU halts.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The service called exit_group(status).
    Exited(u8),
    /// The service was terminated by a signal (default action), as a shell reports 128 + signal.
    Signaled(u8),
    /// The kernel failed.
    Panic,
}

/// Status the runner reports for a kernel panic (documented in `ferrite --help` and docs).
pub const PANIC_STATUS: u8 = 250;

pub fn status_line(outcome: Outcome, buf: &mut [u8; 32]) -> usize {
    use core::fmt::Write;
    let mut w = crate::log::SliceWriter::new(buf);
    let _ = match outcome {
        Outcome::Exited(s) => writeln!(w, "exit {s}"),
        Outcome::Signaled(s) => writeln!(w, "signal {s}"),
        Outcome::Panic => writeln!(w, "panic"),
    };
    w.len()
}

#[cfg(target_os = "none")]
pub fn exit_vm(outcome: Outcome) -> ! {
    use crate::arch::port::{outb, outl};
    let mut buf = [0u8; 32];
    let n = status_line(outcome, &mut buf);
    for &b in &buf[..n] {
        outb(0x402, b);
    }
    let code = match outcome {
        Outcome::Exited(s) => s,
        Outcome::Signaled(s) => 128u8.wrapping_add(s),
        Outcome::Panic => PANIC_STATUS,
    };
    outl(0xf4, code as u32);
    crate::arch::cpu::halt_forever()
}
