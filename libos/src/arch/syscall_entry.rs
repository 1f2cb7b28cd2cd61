//! `syscall` entry from the service (ring 3).
//!
//! `syscall` saves RIP in rcx and RFLAGS in r11, masks RFLAGS by FMASK and jumps to LSTAR at CPL 0
//! without changing the stack. The entry swaps to the kernel GS base, switches to the thread's
//! kernel stack (from per-CPU data), saves every register Linux preserves (all but rax, rcx, r11)
//! into a `SyscallFrame`, and calls the dispatcher. The return restores the frame (which a handler
//! may have changed: signal delivery and `rt_sigreturn` do) and leaves with `sysretq`, or with
//! `iretq` when the return address is not canonical (where `sysret` would fault in ring 0). The
//! kernel is built without SSE, so XMM/YMM registers are untouched.

use core::arch::global_asm;

use super::cpu::{MSR_FMASK, MSR_LSTAR, MSR_STAR, wrmsr};
use super::gdt::{KERNEL_CODE, SYSRET_BASE};

pub use crate::frame::{RED_ZONE, SyscallFrame};

global_asm!(
    r#"
    .section .text.ferrite_syscall, "ax"
    .balign 16
    .global ferrite_syscall_entry
ferrite_syscall_entry:
    swapgs
    mov %rsp, %gs:8
    mov %gs:0, %rsp
    pushq %gs:8
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
    cld
    call ferrite_syscall_dispatch
    .global ferrite_syscall_return
ferrite_syscall_return:
    /* Where `sysret` cannot be used (PVM: see faults.rs), every return goes through iretq. */
    testb $1, ferrite_return_with_iret(%rip)
    jnz 2f
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
    /* sysret with a non-canonical rcx would fault in ring 0 on the user stack: use iretq. */
    push %rcx
    shl $16, %rcx
    sar $16, %rcx
    cmp (%rsp), %rcx
    pop %rcx
    jne 1f
    mov (%rsp), %rsp
    swapgs
    sysretq
2:  add $8, %rsp
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
1:  /* Build an iretq frame (ss, rsp, rflags, cs, rip) in place of the saved user rsp. */
    mov %rax, %gs:8
    mov (%rsp), %rax
    movq ${user_data}, (%rsp)
    push %rax
    push %r11
    pushq ${user_code}
    push %rcx
    mov %gs:8, %rax
    swapgs
    iretq

    /* Serve a system call whose frame the caller built on the thread's kernel stack. */
    .global ferrite_syscall_resume
ferrite_syscall_resume:
    mov %rdi, %rsp
    cld
    call ferrite_syscall_dispatch
    jmp ferrite_syscall_return

    .section .data.ferrite_return_with_iret, "aw"
    .global ferrite_return_with_iret
ferrite_return_with_iret:
    .byte 0
"#,
    user_data = const super::gdt::USER_DATA,
    user_code = const super::gdt::USER_CODE,
    options(att_syntax)
);

unsafe extern "C" {
    fn ferrite_syscall_entry();
    fn ferrite_syscall_resume(frame: *mut SyscallFrame) -> !;
    static mut ferrite_return_with_iret: u8;
}

/// Return to the service with `iretq` from now on (the hypervisor cannot run `sysret`).
pub fn use_iret_for_returns() {
    // SAFETY: a byte flag read by the return path; setting it is idempotent.
    unsafe { core::ptr::write_volatile(&raw mut ferrite_return_with_iret, 1) };
}

/// Serve the system call described by `frame`, which the caller has placed on the current thread's
/// kernel stack, as if it had arrived through `syscall`; never returns here.
///
/// # Safety
/// `frame` must be at the top of the current thread's kernel stack (nothing above it is live).
pub unsafe fn resume_syscall(frame: *mut SyscallFrame) -> ! {
    // SAFETY: delegated to the caller.
    unsafe { ferrite_syscall_resume(frame) }
}

/// The address of the entry, for recognising a `syscall` that arrived as a fault.
pub fn entry_address() -> u64 {
    ferrite_syscall_entry as *const () as u64
}

/// RFLAGS bits cleared on entry: TF, DF, IF, IOPL, NT, AC (as Linux).
const FMASK: u64 = 0x4_7700;

/// Point this CPU's `syscall` at the entry. EFER.SCE is set by the boot code.
pub fn init_cpu() {
    // SAFETY: STAR selects our GDT's kernel segments for syscall and user segments for sysret;
    // LSTAR is the entry above.
    unsafe {
        wrmsr(
            MSR_STAR,
            ((SYSRET_BASE as u64) << 48) | ((KERNEL_CODE as u64) << 32),
        );
        wrmsr(MSR_LSTAR, ferrite_syscall_entry as *const () as u64);
        wrmsr(MSR_FMASK, FMASK);
    }
}

/// Enter the service for the first time: ring 3 at `entry` with stack `sp`, interrupts on, all
/// general registers zero (Linux's process entry state).
pub fn enter_service(entry: u64, sp: u64) -> ! {
    // SAFETY: `entry` and `sp` are the service's entry point and a prepared user stack; the frame
    // built here is a valid ring-3 iretq frame; GS is swapped to the service's (zero) base.
    unsafe {
        core::arch::asm!(
            "push {ss}",
            "push rdx",
            "push 0x202",
            "push {cs}",
            "push rcx",
            "xor eax, eax",
            "xor ebx, ebx",
            "xor ecx, ecx",
            "xor edx, edx",
            "xor esi, esi",
            "xor edi, edi",
            "xor ebp, ebp",
            "xor r8d, r8d",
            "xor r9d, r9d",
            "xor r10d, r10d",
            "xor r11d, r11d",
            "xor r12d, r12d",
            "xor r13d, r13d",
            "xor r14d, r14d",
            "xor r15d, r15d",
            "swapgs",
            "iretq",
            ss = const super::gdt::USER_DATA as u64,
            cs = const super::gdt::USER_CODE as u64,
            in("rcx") entry,
            in("rdx") sp,
            options(noreturn)
        )
    }
}
