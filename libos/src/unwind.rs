//! Stack unwinding for reports: frame-pointer walking, with every step checked against the page
//! tables so a corrupt stack ends the backtrace instead of faulting again.

#[cfg(target_os = "none")]
fn readable(addr: u64) -> Option<u64> {
    if !addr.is_multiple_of(8) || !crate::mm::is_accessible(addr, 8, false) {
        return None;
    }
    // SAFETY: the address is aligned and mapped readable (checked just above).
    Some(unsafe { core::ptr::read_volatile(addr as *const u64) })
}

#[cfg(not(target_os = "none"))]
fn readable(_addr: u64) -> Option<u64> {
    None
}

/// Fill `pcs` with the program counters of the frames, the first being `rip`; returns how many.
/// Does not allocate: reports run where the heap may be unusable.
pub fn unwind(rip: u64, _rsp: u64, rbp: u64, pcs: &mut [u64]) -> usize {
    if pcs.is_empty() {
        return 0;
    }
    pcs[0] = rip;
    let mut count = 1;
    let mut frame = rbp;
    while count < pcs.len() && frame != 0 {
        let (Some(next), Some(ret)) = (readable(frame), readable(frame.wrapping_add(8))) else {
            break;
        };
        if ret < 0x1000 {
            break;
        }
        pcs[count] = ret;
        count += 1;
        if next <= frame {
            break; // stacks grow down: the caller's frame is above
        }
        frame = next;
    }
    count
}
