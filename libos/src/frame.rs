//! The register frame the `syscall` entry saves on the thread's kernel stack (see
//! `arch::syscall_entry`). Handlers may change it: the return to the service restores every field,
//! which is how signal handlers are entered and left. Visible on the host for unit tests.

/// The registers of a thread at its `syscall` instruction, lowest address first.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SyscallFrame {
    /// System call number on entry.
    pub rax: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub r10: u64,
    pub r8: u64,
    pub r9: u64,
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbx: u64,
    pub rbp: u64,
    /// The caller's RFLAGS (saved by `syscall` in r11).
    pub rflags: u64,
    /// Where the caller continues (saved by `syscall` in rcx).
    pub rip: u64,
    /// The caller's stack pointer.
    pub rsp: u64,
}

/// Bytes below a SysV stack pointer that leaf code may use without moving it.
pub const RED_ZONE: u64 = 128;

impl SyscallFrame {
    /// System-call argument `n` (0-5) in Linux's register order.
    pub fn arg(&self, n: usize) -> u64 {
        match n {
            0 => self.rdi,
            1 => self.rsi,
            2 => self.rdx,
            3 => self.r10,
            4 => self.r8,
            _ => self.r9,
        }
    }
}
