//! The interrupt descriptor table: 256 uniform entry stubs, each on an IST stack, all funnelled into
//! one Rust dispatcher with a saved-register frame.
//!
//! Why not the `x86_64` crate's typed IDT: its handlers need the unstable `x86-interrupt` ABI, and
//! the scheduler needs one register frame layout for every vector (to switch threads from a timer
//! interrupt), which uniform assembly stubs give directly.

use core::arch::global_asm;

use super::gdt::{
    IST_DOUBLE_FAULT, IST_EXCEPTION, IST_IRQ, IST_MACHINE_CHECK, IST_NMI, IST_PAGE_FAULT,
    KERNEL_CODE,
};

/// Registers saved on entry, in memory order (lowest address first).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct InterruptFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

global_asm!(
    r#"
    .section .text.ferrite_isr, "ax"
    .balign 16
    .global ferrite_isr_stubs
ferrite_isr_stubs:
    vector = 0
    .rept 256
    .balign 16
    .if vector == 8 || vector == 10 || vector == 11 || vector == 12 || vector == 13 || vector == 14 || vector == 17 || vector == 21 || vector == 29 || vector == 30
    .else
    pushq $0
    .endif
    pushq $vector
    jmp ferrite_isr_common
    vector = vector + 1
    .endr

ferrite_isr_common:
    /* From the service (ring 3): switch to the kernel's GS base. CS is at 24(%rsp) here. */
    testb $3, 24(%rsp)
    jz 1f
    swapgs
1:  push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    cld
    /* From the service: continue on the thread's kernel stack (per-CPU slot at %gs:0), so the
       handler may switch threads and this IST stack is free for the next interrupt. */
    testb $3, 144(%rsp)
    jz 3f
    mov %gs:0, %rdi
    sub $176, %rdi
    mov %rsp, %rsi
    mov $22, %ecx
    rep movsq
    mov %gs:0, %rsp
    sub $176, %rsp
3:  mov %rsp, %rdi
    call ferrite_interrupt_dispatch
    .global ferrite_interrupt_exit
ferrite_interrupt_exit:
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    testb $3, 24(%rsp)
    jz 2f
    swapgs
2:  add $16, %rsp
    iretq

    /* Return to the service with every register from a frame built on the kernel stack. */
    .global ferrite_return_to_service
ferrite_return_to_service:
    mov %rdi, %rsp
    jmp ferrite_interrupt_exit
"#,
    options(att_syntax)
);

unsafe extern "C" {
    static ferrite_isr_stubs: u8;
    fn ferrite_return_to_service(frame: *mut InterruptFrame) -> !;
}

/// Resume the service with exactly the registers in `frame` (its `cs` must be the user code
/// selector), from the top of the current thread's kernel stack `stack_top`.
///
/// # Safety
/// `stack_top` must be the current thread's kernel stack top, with nothing live above the frame.
pub unsafe fn return_to_service(frame: &InterruptFrame, stack_top: u64) -> ! {
    let at = (stack_top - core::mem::size_of::<InterruptFrame>() as u64) as *mut InterruptFrame;
    // SAFETY: the frame goes at the top of this thread's kernel stack (caller's contract), below
    // which the current Rust frames live; the exit path pops it and `iretq`s.
    unsafe {
        at.write(*frame);
        ferrite_return_to_service(at)
    }
}

#[repr(C, packed)]
struct IdtPointer {
    limit: u16,
    base: u64,
}

#[repr(C, align(16))]
struct Idt([u64; 512]);

static mut IDT: Idt = Idt([0; 512]);

/// Which IST stack a vector uses.
fn ist_for_vector(vector: usize) -> u16 {
    match vector {
        8 => IST_DOUBLE_FAULT,
        2 => IST_NMI,
        18 => IST_MACHINE_CHECK,
        14 => IST_PAGE_FAULT,
        0..=31 => IST_EXCEPTION,
        _ => IST_IRQ,
    }
}

/// Fill the shared IDT (once, on the boot CPU).
pub fn build() {
    let stubs = &raw const ferrite_isr_stubs as u64;
    for vector in 0..256 {
        let handler = stubs + 16 * vector as u64;
        let ist = ist_for_vector(vector) as u64;
        // Interrupt gate (type 0xE), present; DPL 3 only for `int3` so the service's breakpoints
        // (and the boot log's) reach the kernel, DPL 0 (a #GP for `int n` from ring 3) otherwise.
        let attributes: u64 = if vector == 3 { 0xEE } else { 0x8E };
        let low = (handler & 0xFFFF)
            | ((KERNEL_CODE as u64) << 16)
            | (ist << 32)
            | (attributes << 40)
            | ((handler >> 16) & 0xFFFF) << 48;
        let high = handler >> 32;
        // SAFETY: single-threaded boot; no CPU has loaded the IDT yet.
        unsafe {
            IDT.0[2 * vector] = low;
            IDT.0[2 * vector + 1] = high;
        }
    }
}

/// Load the shared IDT on the calling CPU.
pub fn load() {
    let pointer = IdtPointer {
        limit: (core::mem::size_of::<Idt>() - 1) as u16,
        base: &raw const IDT as u64,
    };
    // SAFETY: the IDT is static and fully built before any CPU loads it.
    unsafe {
        core::arch::asm!("lidt [{}]", in(reg) &pointer, options(readonly, nostack, preserves_flags))
    }
}
