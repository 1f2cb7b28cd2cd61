//! `syscall` entry at CPL 0.
//!
//! The service runs in ring 0 and enters the kernel with the `syscall` instruction, exactly as musl
//! emits it. `syscall` saves RIP in rcx and RFLAGS in r11, masks RFLAGS by FMASK and jumps to LSTAR
//! without switching stacks. The entry steps below the caller's 128-byte red zone, saves every
//! register Linux preserves (all but rax, rcx, r11), and calls the dispatcher with the frame. It
//! returns with `jmp *rcx`, never `sysret` (which would drop to ring 3), restoring RFLAGS with
//! `popfq` while still below the red zone. The kernel is built without SSE, so XMM/YMM registers are
//! untouched unless a thread switch saves and restores them.

use core::arch::global_asm;

use super::cpu::{MSR_FMASK, MSR_LSTAR, MSR_STAR, wrmsr};
use super::gdt::KERNEL_CODE;

pub use crate::frame::{RED_ZONE, SyscallFrame};

global_asm!(
    r#"
    .section .text.ferrite_syscall, "ax"
    .balign 16
    .global ferrite_syscall_entry
ferrite_syscall_entry:
    sub $128, %rsp
    push %rcx
    push %r11
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    push %r9
    push %r8
    push %r10
    push %rdx
    push %rsi
    push %rdi
    push %rax
    mov %rsp, %rdi
    mov %rsp, %rbx
    and $-16, %rsp
    cld
    call ferrite_syscall_dispatch
    mov %rbx, %rsp
    add $8, %rsp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %r10
    pop %r8
    pop %r9
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    pop %r11
    pop %rcx
    push %r11
    popfq
    lea 128(%rsp), %rsp
    jmp *%rcx
"#,
    options(att_syntax)
);

unsafe extern "C" {
    fn ferrite_syscall_entry();
}

/// RFLAGS bits cleared on entry: TF, DF, IF, IOPL, NT, AC (as Linux).
const FMASK: u64 = 0x4_7700;

/// Point this CPU's `syscall` at the entry. EFER.SCE is set by the boot code.
pub fn init_cpu() {
    // SAFETY: STAR selects the kernel code segment of our GDT; LSTAR is the entry above.
    unsafe {
        wrmsr(MSR_STAR, (KERNEL_CODE as u64) << 32);
        wrmsr(MSR_LSTAR, ferrite_syscall_entry as *const () as u64);
        wrmsr(MSR_FMASK, FMASK);
    }
}
