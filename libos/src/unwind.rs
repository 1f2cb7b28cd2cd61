//! Stack unwinding for fault reports: DWARF call-frame information from the image's
//! `.eh_frame_hdr`/`.eh_frame` (gimli), which service code built with -O2 and no frame pointers
//! still has, falling back to the frame-pointer chain (the kernel keeps frame pointers). Every
//! stack read is checked against the page tables first, so a corrupt stack ends the backtrace
//! rather than faulting again, and nothing allocates: reports run where the heap may be unusable.

use gimli::{
    BaseAddresses, CfaRule, EhFrame, EhFrameHdr, LittleEndian, Register, RegisterRule,
    UnwindContext, UnwindContextStorage, UnwindSection, UnwindTableRow,
};

/// The registers unwinding needs (DWARF numbers: rbx 3, rbp 6, rsp 7, r12-r15 12-15, return address 16).
#[derive(Clone, Copy, Debug, Default)]
pub struct Registers {
    pub rip: u64,
    pub rsp: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
}

impl Registers {
    fn get(&self, r: Register) -> Option<u64> {
        Some(match r.0 {
            3 => self.rbx,
            6 => self.rbp,
            7 => self.rsp,
            12 => self.r12,
            13 => self.r13,
            14 => self.r14,
            15 => self.r15,
            16 => self.rip,
            _ => return None,
        })
    }

    fn set(&mut self, r: u16, value: u64) {
        match r {
            3 => self.rbx = value,
            6 => self.rbp = value,
            7 => self.rsp = value,
            12 => self.r12 = value,
            13 => self.r13 = value,
            14 => self.r14 = value,
            15 => self.r15 = value,
            16 => self.rip = value,
            _ => {}
        }
    }
}

#[cfg(target_os = "none")]
fn read_stack(addr: u64) -> Option<u64> {
    if !addr.is_multiple_of(8) || !crate::mm::is_readable(addr, 8) {
        return None;
    }
    // SAFETY: the address is aligned and mapped readable (checked just above).
    Some(unsafe { core::ptr::read_volatile(addr as *const u64) })
}

#[cfg(not(target_os = "none"))]
fn read_stack(_addr: u64) -> Option<u64> {
    None
}

/// Fixed-size storage so unwinding never allocates (and fits on an interrupt stack).
struct SmallStorage;

impl UnwindContextStorage<usize> for SmallStorage {
    type Rules = [(Register, RegisterRule<usize>); 24];
    type Stack = [UnwindTableRow<usize, Self>; 2];
}

struct CallFrameInfo {
    hdr: EhFrameHdr<gimli::EndianSlice<'static, LittleEndian>>,
    frame: EhFrame<gimli::EndianSlice<'static, LittleEndian>>,
    bases: BaseAddresses,
}

#[cfg(target_os = "none")]
fn call_frame_info() -> Option<CallFrameInfo> {
    unsafe extern "C" {
        static __ferrite_eh_frame_hdr_start: u8;
        static __ferrite_eh_frame_hdr_end: u8;
        static __ferrite_eh_frame_start: u8;
        static __ferrite_eh_frame_end: u8;
    }
    let hdr_start = &raw const __ferrite_eh_frame_hdr_start;
    let hdr_end = &raw const __ferrite_eh_frame_hdr_end;
    let frame_start = &raw const __ferrite_eh_frame_start;
    let frame_end = &raw const __ferrite_eh_frame_end;
    // SAFETY: the linker script delimits the two read-only sections with these symbols.
    let (hdr, frame) = unsafe {
        (
            core::slice::from_raw_parts(hdr_start, hdr_end as usize - hdr_start as usize),
            core::slice::from_raw_parts(frame_start, frame_end as usize - frame_start as usize),
        )
    };
    if hdr.is_empty() || frame.is_empty() {
        return None;
    }
    let bases = BaseAddresses::default()
        .set_eh_frame_hdr(hdr_start as u64)
        .set_eh_frame(frame_start as u64);
    Some(CallFrameInfo {
        hdr: EhFrameHdr::new(hdr, LittleEndian),
        frame: EhFrame::new(frame, LittleEndian),
        bases,
    })
}

#[cfg(not(target_os = "none"))]
fn call_frame_info() -> Option<CallFrameInfo> {
    None
}

/// One step with call-frame information; None when there is none for `regs.rip` or it cannot be
/// followed. `lookup_pc` is the address to find the rule for (a return address minus one).
fn step_cfi(cfi: &CallFrameInfo, regs: &Registers, lookup_pc: u64) -> Option<Registers> {
    let parsed = cfi.hdr.parse(&cfi.bases, 8).ok()?;
    let table = parsed.table()?;
    let mut ctx = UnwindContext::<usize, SmallStorage>::new_in();
    let row = table
        .unwind_info_for_address(
            &cfi.frame,
            &cfi.bases,
            &mut ctx,
            lookup_pc,
            EhFrame::cie_from_offset,
        )
        .ok()?;
    let cfa = match row.cfa() {
        CfaRule::RegisterAndOffset { register, offset } => {
            regs.get(*register)?.wrapping_add(*offset as u64)
        }
        CfaRule::Expression(_) => return None,
    };
    let mut next = *regs;
    for r in [3u16, 6, 12, 13, 14, 15, 16] {
        match row.register(Register(r)) {
            None | Some(RegisterRule::SameValue) => {}
            Some(RegisterRule::Undefined) if r == 16 => return None,
            Some(RegisterRule::Undefined) => {}
            Some(RegisterRule::Offset(n)) => next.set(r, read_stack(cfa.wrapping_add(n as u64))?),
            Some(RegisterRule::ValOffset(n)) => next.set(r, cfa.wrapping_add(n as u64)),
            Some(RegisterRule::Register(other)) => next.set(r, regs.get(other)?),
            Some(_) => return None,
        }
    }
    next.rsp = cfa;
    Some(next)
}

/// One step along the frame-pointer chain.
fn step_frame_pointer(regs: &Registers) -> Option<Registers> {
    let caller_rbp = read_stack(regs.rbp)?;
    let ret = read_stack(regs.rbp.wrapping_add(8))?;
    if caller_rbp <= regs.rbp && caller_rbp != 0 {
        return None; // stacks grow down: the caller's frame is above
    }
    Some(Registers {
        rip: ret,
        rsp: regs.rbp + 16,
        rbp: caller_rbp,
        ..*regs
    })
}

/// Fill `pcs` with the program counters of the frames, the first being `regs.rip`; returns how many.
pub fn unwind(regs: Registers, pcs: &mut [u64]) -> usize {
    if pcs.is_empty() {
        return 0;
    }
    let cfi = call_frame_info();
    let mut regs = regs;
    pcs[0] = regs.rip;
    let mut count = 1;
    while count < pcs.len() {
        // After the first frame, rip is a return address: the call is the instruction before it.
        let lookup_pc = if count == 1 { regs.rip } else { regs.rip - 1 };
        let next = cfi
            .as_ref()
            .and_then(|c| step_cfi(c, &regs, lookup_pc))
            .or_else(|| step_frame_pointer(&regs));
        match next {
            Some(n) if n.rip >= 0x1000 && n.rsp > regs.rsp => {
                pcs[count] = n.rip;
                count += 1;
                regs = n;
            }
            _ => break,
        }
    }
    count
}
