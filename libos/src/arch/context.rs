//! Kernel-stack switching for the scheduler, and the first steps of a new thread.
//!
//! A thread that is not running is suspended inside `switch_stacks`: its kernel stack holds the
//! callee-saved registers and the return address, and its saved stack pointer points at them.
//! A new thread's stack is built to look the same, returning into `ferrite_thread_start`, which
//! finishes the switch and returns to the service through the system-call return path with the
//! `SyscallFrame` placed above it (rax = 0: what `clone` returns in the child).

use core::arch::{global_asm, naked_asm};

use crate::frame::SyscallFrame;

/// Save the callee-saved registers on the current stack, store the stack pointer in `*save`,
/// switch to the stack `load` and resume the thread suspended there.
///
/// # Safety
/// `load` must be a stack pointer saved by `switch_stacks` or built by `new_thread_stack`, of a
/// thread that is not running anywhere; `save` must stay valid until this thread is resumed.
#[unsafe(naked)]
pub unsafe extern "C" fn switch_stacks(save: *mut u64, load: u64) {
    naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "mov rsp, rsi",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

global_asm!(
    r#"
    .section .text.ferrite_thread_start, "ax"
    .global ferrite_thread_start
ferrite_thread_start:
    call ferrite_thread_started
    xor %eax, %eax
    jmp ferrite_syscall_return

    .global ferrite_kernel_thread_start
ferrite_kernel_thread_start:
    call ferrite_thread_started
    mov %r12, %rdi
    call *%rbx
    ud2
"#,
    options(att_syntax)
);

unsafe extern "C" {
    fn ferrite_thread_start();
    fn ferrite_kernel_thread_start();
}

/// Words the switch frame occupies: r15, r14, r13, r12, rbx, rbp, return address.
const SWITCH_WORDS: usize = 7;

/// Prepare the kernel stack `[base, top)` of a new thread that will enter the service with
/// `frame` (as if returning from a system call with rax = 0). Returns its saved stack pointer.
///
/// # Safety
/// The stack must be mapped, writable, unused and 16-byte aligned at `top`.
pub unsafe fn new_user_thread_stack(top: u64, frame: &SyscallFrame) -> u64 {
    let frame_at = top - core::mem::size_of::<SyscallFrame>() as u64;
    let switch_at = frame_at - (SWITCH_WORDS * 8) as u64;
    // SAFETY: both writes land inside the new thread's own stack (caller's contract).
    unsafe {
        core::ptr::write(frame_at as *mut SyscallFrame, *frame);
        let words = switch_at as *mut u64;
        for i in 0..6 {
            words.add(i).write(0);
        }
        words.add(6).write(ferrite_thread_start as *const () as u64);
    }
    switch_at
}

/// Prepare the kernel stack of a kernel-only thread (an idle loop) that starts in `entry(arg)`.
///
/// # Safety
/// As for `new_user_thread_stack`.
pub unsafe fn new_kernel_thread_stack(top: u64, entry: extern "C" fn(u64) -> !, arg: u64) -> u64 {
    // Keep the stack 16-byte aligned at `entry` as after a call: one padding word above the frame.
    let switch_at = top - 16 - (SWITCH_WORDS * 8) as u64;
    // SAFETY: inside the new thread's own stack (caller's contract).
    unsafe {
        let words = switch_at as *mut u64;
        words.add(0).write(0); // r15
        words.add(1).write(0); // r14
        words.add(2).write(0); // r13
        words.add(3).write(arg); // r12: the argument
        words.add(4).write(entry as *const () as u64); // rbx: the entry point
        words.add(5).write(0); // rbp
        words
            .add(6)
            .write(ferrite_kernel_thread_start as *const () as u64);
    }
    switch_at
}
