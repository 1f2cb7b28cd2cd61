//! Linux x86-64 signal frames: what a handler finds on its stack (`rt_sigframe`: return address,
//! `ucontext`, `siginfo`, FPU state) and how `rt_sigreturn` reads it back.

use crate::abi::{self, siginfo_t, stack_t};
use crate::errno::Errno;
use crate::uaccess;

/// Every register of the service at the point a signal interrupts it.
#[derive(Clone, Copy, Debug, Default)]
pub struct UserContext {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
}

/// Linux's `struct sigcontext` (x86-64): what `mcontext_t` of a handler's `ucontext_t` reads.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct SigContext {
    r8: u64,
    r9: u64,
    r10: u64,
    r11: u64,
    r12: u64,
    r13: u64,
    r14: u64,
    r15: u64,
    rdi: u64,
    rsi: u64,
    rbp: u64,
    rbx: u64,
    rdx: u64,
    rax: u64,
    rcx: u64,
    rsp: u64,
    rip: u64,
    eflags: u64,
    cs: u16,
    gs: u16,
    fs: u16,
    ss: u16,
    err: u64,
    trapno: u64,
    oldmask: u64,
    cr2: u64,
    fpstate: u64,
    reserved: [u64; 8],
}

/// Linux's `struct ucontext` as the kernel writes it.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct UContext {
    flags: u64,
    link: u64,
    stack: stack_t,
    mcontext: SigContext,
    sigmask: u64,
}

/// Linux's `struct rt_sigframe`: the handler's return address first, then the context and info.
#[repr(C)]
#[derive(Clone, Copy)]
struct RtSigFrame {
    restorer: u64,
    uc: UContext,
    info: siginfo_t,
}

const _: () = assert!(core::mem::size_of::<SigContext>() == 256);
const _: () = assert!(core::mem::size_of::<siginfo_t>() == 128);

/// RFLAGS bits the service may set through `rt_sigreturn` (CF PF AF ZF SF TF DF OF AC).
const USER_RFLAGS: u64 = 0x0004_0DD5;
const RFLAGS_IF: u64 = 1 << 9;
const RFLAGS_DF: u64 = 1 << 10;
/// `uc_flags`: the frame's FPU state is in XSAVE format with the software bytes below.
const UC_FP_XSTATE: u64 = 1;
/// Markers Linux puts in and after an XSAVE-format signal FPU area (`struct _fpx_sw_bytes`).
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;
/// Offset of the software bytes in the legacy FXSAVE area, and of the XSAVE header.
const SW_BYTES: usize = 464;
const XSAVE_HEADER: usize = 512;

/// Bytes of FPU state in a frame (XSAVE area or 512-byte FXSAVE area), plus Linux's trailing magic.
fn fpu_frame_bytes() -> u64 {
    fpu_area_size() as u64 + if xsave_mask() != 0 { 4 } else { 0 }
}

#[cfg(target_os = "none")]
fn fpu_area_size() -> usize {
    ferrite_libos::arch::fpu::area_size()
}

#[cfg(not(target_os = "none"))]
fn fpu_area_size() -> usize {
    512
}

#[cfg(target_os = "none")]
fn xsave_mask() -> u64 {
    ferrite_libos::arch::fpu::xsave_mask()
}

#[cfg(not(target_os = "none"))]
fn xsave_mask() -> u64 {
    0
}

/// A zeroed 64-byte aligned kernel buffer of `len` bytes for FXSAVE/XSAVE images (inside a
/// slightly larger vector).
struct FpuBuffer {
    bytes: alloc::vec::Vec<u8>,
    offset: usize,
    len: usize,
}

impl FpuBuffer {
    fn new(len: usize) -> Self {
        let bytes = alloc::vec![0u8; len + 63];
        let offset = bytes.as_ptr().align_offset(64);
        FpuBuffer { bytes, offset, len }
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[self.offset..self.offset + self.len]
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.bytes[self.offset..self.offset + self.len]
    }
}

/// Save the current FPU state into the service's memory at `area` (64-byte aligned), in the
/// format Linux uses. The state is saved in a kernel buffer first and copied out, so a frame
/// that cannot be written is EFAULT and the state is unchanged. The handler's initial state is
/// loaded by the caller once the whole frame is written.
fn save_fpu(area: u64) -> Result<(), Errno> {
    let mut buffer = FpuBuffer::new(fpu_frame_bytes() as usize);
    // The XSAVE header's bytes other than XSTATE_BV must be zero for the XRSTOR at
    // `rt_sigreturn`: the buffer starts zeroed and XSAVE writes only XSTATE_BV there.
    #[cfg(target_os = "none")]
    ferrite_libos::arch::fpu::save(buffer.as_mut_slice().as_mut_ptr());
    let dest = buffer.as_mut_slice();
    let mask = xsave_mask();
    if mask != 0 {
        let area_size = fpu_area_size() as u32;
        let sw = [
            FP_XSTATE_MAGIC1,
            area_size + 4,
            mask as u32,
            (mask >> 32) as u32,
            area_size,
        ];
        for (i, word) in sw.iter().enumerate() {
            dest[SW_BYTES + 4 * i..SW_BYTES + 4 * i + 4].copy_from_slice(&word.to_le_bytes());
        }
        let end = area_size as usize;
        dest[end..end + 4].copy_from_slice(&FP_XSTATE_MAGIC2.to_le_bytes());
    }
    uaccess::write_exact(area, buffer.as_slice())
}

/// Restore FPU state from a frame, refusing contents that would fault in the kernel. The state
/// is copied into a kernel buffer and checked there: another thread changing the frame meanwhile
/// cannot make the restore fault.
fn restore_fpu(area: u64) -> Result<(), Errno> {
    if !area.is_multiple_of(64) {
        return Err(Errno::EFAULT);
    }
    let mut buffer = FpuBuffer::new(fpu_area_size());
    uaccess::read_exact(area, buffer.as_mut_slice())?;
    let source = buffer.as_slice();
    let mxcsr = u32::from_le_bytes(source[24..28].try_into().expect("4 bytes"));
    if mxcsr & !0xFFFF != 0 {
        return Err(Errno::EFAULT);
    }
    let mask = xsave_mask();
    if mask != 0 {
        let word = |at: usize| u64::from_le_bytes(source[at..at + 8].try_into().expect("8 bytes"));
        let xstate_bv = word(XSAVE_HEADER);
        let xcomp_bv = word(XSAVE_HEADER + 8);
        let reserved_clear = source[XSAVE_HEADER + 16..XSAVE_HEADER + 64]
            .iter()
            .all(|&b| b == 0);
        if xstate_bv & !mask != 0 || xcomp_bv != 0 || !reserved_clear {
            return Err(Errno::EFAULT);
        }
    }
    #[cfg(target_os = "none")]
    ferrite_libos::arch::fpu::restore(source.as_ptr());
    Ok(())
}

/// What the handler is told about the signal.
pub struct SignalInfo {
    pub signo: i32,
    pub code: i32,
    pub pid: i32,
    /// Faulting address (SIGSEGV, SIGBUS, SIGILL, SIGFPE).
    pub addr: Option<u64>,
    pub trapno: u64,
    pub error: u64,
}

/// Where the frame goes and how the handler is called.
pub struct Handler {
    pub entry: u64,
    pub restorer: u64,
    /// Stack to use: `None` for the interrupted stack (below its red zone).
    pub alt_stack_top: Option<u64>,
    pub alt_stack: (u64, i32, u64),
    /// The signal mask to restore when the handler returns.
    pub old_mask: u64,
}

/// Build a signal frame on the service's stack and point `ctx` at the handler.
pub fn setup(ctx: &mut UserContext, info: &SignalInfo, handler: &Handler) -> Result<(), Errno> {
    let mut sp = match handler.alt_stack_top {
        Some(top) => top,
        None => ctx.rsp - ferrite_libos::frame::RED_ZONE,
    };
    sp = (sp - fpu_frame_bytes()) & !63;
    let fpu_at = sp;
    sp -= core::mem::size_of::<RtSigFrame>() as u64;
    sp = (sp & !15) - 8; // as after a call: (sp + 8) % 16 == 0 at the handler's first instruction

    // The union after si_code holds (si_pid, si_uid) for sent signals and si_addr for faults.
    let (si_pid, si_uid) = match info.addr {
        Some(addr) => (addr as i32, (addr >> 32) as u32),
        None => (info.pid, 0),
    };
    let signal_info = siginfo_t {
        si_signo: info.signo,
        si_errno: 0,
        si_code: info.code,
        _pad0: 0,
        si_pid,
        si_uid,
        _rest: [0; 13],
    };
    let frame = RtSigFrame {
        restorer: handler.restorer,
        uc: UContext {
            flags: if xsave_mask() != 0 { UC_FP_XSTATE } else { 0 },
            link: 0,
            stack: stack_t {
                ss_sp: handler.alt_stack.0,
                ss_flags: handler.alt_stack.1,
                ss_size: handler.alt_stack.2,
            },
            mcontext: SigContext {
                r8: ctx.r8,
                r9: ctx.r9,
                r10: ctx.r10,
                r11: ctx.r11,
                r12: ctx.r12,
                r13: ctx.r13,
                r14: ctx.r14,
                r15: ctx.r15,
                rdi: ctx.rdi,
                rsi: ctx.rsi,
                rbp: ctx.rbp,
                rbx: ctx.rbx,
                rdx: ctx.rdx,
                rax: ctx.rax,
                rcx: ctx.rcx,
                rsp: ctx.rsp,
                rip: ctx.rip,
                eflags: ctx.rflags,
                cs: 0x2b,
                ss: 0x23,
                err: info.error,
                trapno: info.trapno,
                oldmask: handler.old_mask,
                cr2: info.addr.unwrap_or(0),
                fpstate: fpu_at,
                ..Default::default()
            },
            sigmask: handler.old_mask,
        },
        info: signal_info,
    };
    // The FPU state is saved (unchanged in the CPU) and the frame written; only when both are
    // on the stack does the handler get the initial FPU state.
    save_fpu(fpu_at)?;
    uaccess::write(sp, &frame)?;
    #[cfg(target_os = "none")]
    ferrite_libos::arch::fpu::load_initial();
    ctx.rip = handler.entry;
    ctx.rsp = sp;
    ctx.rdi = info.signo as u64;
    ctx.rsi = sp + core::mem::offset_of!(RtSigFrame, info) as u64;
    ctx.rdx = sp + core::mem::offset_of!(RtSigFrame, uc) as u64;
    ctx.rax = 0;
    ctx.rflags &= !RFLAGS_DF; // the handler starts with DF clear
    Ok(())
}

/// `rt_sigreturn`: read back the context saved in the frame whose `ucontext` is at `uc_at`.
/// Returns the context and the signal mask to restore.
pub fn restore(uc_at: u64) -> Result<(UserContext, u64), Errno> {
    let uc: UContext = uaccess::read(uc_at)?;
    let m = uc.mcontext;
    if m.fpstate != 0 {
        restore_fpu(m.fpstate)?;
    }
    let ctx = UserContext {
        rax: m.rax,
        rbx: m.rbx,
        rcx: m.rcx,
        rdx: m.rdx,
        rsi: m.rsi,
        rdi: m.rdi,
        rbp: m.rbp,
        rsp: m.rsp,
        r8: m.r8,
        r9: m.r9,
        r10: m.r10,
        r11: m.r11,
        r12: m.r12,
        r13: m.r13,
        r14: m.r14,
        r15: m.r15,
        rip: m.rip,
        rflags: (m.eflags & USER_RFLAGS) | RFLAGS_IF | 2,
    };
    Ok((ctx, uc.sigmask))
}

pub const SI_USER: i32 = 0;
pub const SI_TKILL: i32 = abi::SI_TKILL;
