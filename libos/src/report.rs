//! Fault and panic reports: what happened, the registers, and a symbolized backtrace from the
//! image's own symbol table.

use crate::arch::idt::InterruptFrame;
use crate::kprint;
use crate::symbols::{SymbolTable, image_symbols};
use crate::unwind::Registers;

/// Most frames a backtrace prints.
const MAX_FRAMES: usize = 32;

pub fn exception_name(vector: u64) -> &'static str {
    match vector {
        0 => "divide error (#DE)",
        1 => "debug (#DB)",
        2 => "non-maskable interrupt",
        3 => "breakpoint (#BP)",
        4 => "overflow (#OF)",
        5 => "bound range exceeded (#BR)",
        6 => "invalid opcode (#UD)",
        7 => "device not available (#NM)",
        8 => "double fault (#DF)",
        10 => "invalid TSS (#TS)",
        11 => "segment not present (#NP)",
        12 => "stack-segment fault (#SS)",
        13 => "general protection fault (#GP)",
        14 => "page fault (#PF)",
        16 => "x87 floating-point error (#MF)",
        17 => "alignment check (#AC)",
        18 => "machine check (#MC)",
        19 => "SIMD floating-point exception (#XM)",
        20 => "virtualization exception (#VE)",
        21 => "control protection (#CP)",
        _ => "reserved exception",
    }
}

fn print_symbol(symbols: &Option<SymbolTable<'static>>, addr: u64) {
    match symbols.as_ref().and_then(|s| s.lookup(addr)) {
        Some((name, offset)) => kprint!("{name}+{offset:#x}"),
        None => kprint!("?"),
    }
}

pub fn print_registers(f: &InterruptFrame) {
    kprint!(
        "  rip {:016x}  rsp {:016x}  rflags {:016x}\n",
        f.rip,
        f.rsp,
        f.rflags
    );
    kprint!(
        "  rax {:016x}  rbx {:016x}  rcx {:016x}  rdx {:016x}\n",
        f.rax,
        f.rbx,
        f.rcx,
        f.rdx
    );
    kprint!(
        "  rsi {:016x}  rdi {:016x}  rbp {:016x}  r8  {:016x}\n",
        f.rsi,
        f.rdi,
        f.rbp,
        f.r8
    );
    kprint!(
        "  r9  {:016x}  r10 {:016x}  r11 {:016x}  r12 {:016x}\n",
        f.r9,
        f.r10,
        f.r11,
        f.r12
    );
    kprint!(
        "  r13 {:016x}  r14 {:016x}  r15 {:016x}  err {:#x}\n",
        f.r13,
        f.r14,
        f.r15,
        f.error_code
    );
}

/// Print a backtrace from the interrupted registers.
pub fn print_backtrace_from(f: &InterruptFrame) {
    print_backtrace(Registers {
        rip: f.rip,
        rsp: f.rsp,
        rbp: f.rbp,
        rbx: f.rbx,
        r12: f.r12,
        r13: f.r13,
        r14: f.r14,
        r15: f.r15,
    })
}

/// Print a backtrace starting at `regs` (see `unwind` for how frames are found).
pub fn print_backtrace(regs: Registers) {
    let symbols = image_symbols();
    let rip = regs.rip;
    kprint!("backtrace:\n");
    kprint!("  #0  {rip:016x} ");
    print_symbol(&symbols, rip);
    kprint!("\n");
    let mut frames = [0u64; MAX_FRAMES];
    let count = crate::unwind::unwind(regs, &mut frames);
    for (i, pc) in frames[..count].iter().enumerate().skip(1) {
        kprint!("  #{:<2} {pc:016x} ", i);
        // A return address points after the call: look up the call instruction itself.
        print_symbol(&symbols, pc - 1);
        kprint!("\n");
    }
}
