//! Control registers, MSRs, CPU feature set-up and the interrupt flag.

use core::arch::asm;

pub const MSR_EFER: u32 = 0xC000_0080;
pub const MSR_STAR: u32 = 0xC000_0081;
pub const MSR_LSTAR: u32 = 0xC000_0082;
pub const MSR_FMASK: u32 = 0xC000_0084;
pub const MSR_FS_BASE: u32 = 0xC000_0100;
pub const MSR_GS_BASE: u32 = 0xC000_0101;
pub const MSR_KERNEL_GS_BASE: u32 = 0xC000_0102;

#[inline]
pub fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: reading an architectural MSR the caller knows exists.
    unsafe {
        asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    }
    ((hi as u64) << 32) | lo as u64
}

/// # Safety
/// Writing an MSR changes CPU behaviour; the caller must know the value is valid for `msr`.
#[inline]
pub unsafe fn wrmsr(msr: u32, value: u64) {
    // SAFETY: delegated to the caller.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nostack, preserves_flags))
    }
}

#[inline]
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: rdtsc has no side effects.
    unsafe { asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags)) }
    ((hi as u64) << 32) | lo as u64
}

#[inline]
pub fn read_cr2() -> u64 {
    let value: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { asm!("mov {}, cr2", out(reg) value, options(nomem, nostack, preserves_flags)) }
    value
}

#[inline]
pub fn read_cr3() -> u64 {
    let value: u64;
    // SAFETY: reading CR3 has no side effects.
    unsafe { asm!("mov {}, cr3", out(reg) value, options(nomem, nostack, preserves_flags)) }
    value
}

/// # Safety
/// `root` must be the physical address of a valid PML4 that maps the running code and stack.
#[inline]
pub unsafe fn write_cr3(root: u64) {
    // SAFETY: delegated to the caller.
    unsafe { asm!("mov cr3, {}", in(reg) root, options(nostack, preserves_flags)) }
}

/// Flush one page from this CPU's TLB.
#[inline]
pub fn invlpg(addr: u64) {
    // SAFETY: invalidating a TLB entry is always safe.
    unsafe { asm!("invlpg [{}]", in(reg) addr, options(nostack, preserves_flags)) }
}

#[inline]
pub fn interrupts_enabled() -> bool {
    let flags: u64;
    // SAFETY: reading RFLAGS.
    unsafe { asm!("pushfq; pop {}", out(reg) flags, options(nomem, preserves_flags)) }
    flags & (1 << 9) != 0
}

#[inline]
pub fn disable_interrupts() {
    // SAFETY: masking interrupts cannot break memory safety.
    unsafe { asm!("cli", options(nomem, nostack)) }
}

#[inline]
pub fn enable_interrupts() {
    // SAFETY: every vector has a handler on an IST stack once the IDT is loaded.
    unsafe { asm!("sti", options(nomem, nostack)) }
}

/// Run `f` with interrupts disabled, restoring the previous state afterwards. Locks that interrupt
/// handlers also take are held inside this.
#[inline]
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    let was_enabled = interrupts_enabled();
    if was_enabled {
        disable_interrupts();
    }
    let result = f();
    if was_enabled {
        enable_interrupts();
    }
    result
}

/// Stop this CPU for good.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: cli; hlt parks the CPU.
        unsafe { asm!("cli; hlt", options(nomem, nostack)) }
    }
}

pub fn cpuid(leaf: u32, subleaf: u32) -> [u32; 4] {
    let r = core::arch::x86_64::__cpuid_count(leaf, subleaf);
    [r.eax, r.ebx, r.ecx, r.edx]
}

/// CPU features the kernel and the service rely on, read once at boot.
#[derive(Clone, Copy, Debug, Default)]
pub struct Features {
    pub xsave: bool,
    pub avx: bool,
    pub avx512: bool,
    pub fsgsbase: bool,
    pub rdrand: bool,
    pub rdseed: bool,
    pub invariant_tsc: bool,
    pub tsc_deadline: bool,
    pub x2apic: bool,
    pub hypervisor: bool,
    pub pdpe1gb: bool,
    /// Bytes the XSAVE area needs for the features enabled in XCR0.
    pub xsave_size: u32,
    /// The state components enabled in XCR0 (0 without XSAVE).
    pub xcr0: u64,
}

pub fn detect_features() -> Features {
    let [_, _, ecx1, edx1] = cpuid(1, 0);
    let max_leaf = cpuid(0, 0)[0];
    let (ebx7, _ecx7) = if max_leaf >= 7 {
        let r = cpuid(7, 0);
        (r[1], r[2])
    } else {
        (0, 0)
    };
    let max_ext = cpuid(0x8000_0000, 0)[0];
    let edx_ext1 = if max_ext >= 0x8000_0001 {
        cpuid(0x8000_0001, 0)[3]
    } else {
        0
    };
    let edx_ext7 = if max_ext >= 0x8000_0007 {
        cpuid(0x8000_0007, 0)[3]
    } else {
        0
    };
    let _ = edx1;
    Features {
        xsave: ecx1 & (1 << 26) != 0,
        avx: ecx1 & (1 << 28) != 0,
        avx512: ebx7 & (1 << 16) != 0,
        fsgsbase: ebx7 & 1 != 0,
        rdrand: ecx1 & (1 << 30) != 0,
        rdseed: ebx7 & (1 << 18) != 0,
        invariant_tsc: edx_ext7 & (1 << 8) != 0,
        tsc_deadline: ecx1 & (1 << 24) != 0,
        x2apic: ecx1 & (1 << 21) != 0,
        hypervisor: ecx1 & (1 << 31) != 0,
        pdpe1gb: edx_ext1 & (1 << 26) != 0,
        xsave_size: 0,
        xcr0: 0,
    }
}

/// Whether this CPU's ring-0 code is being run by an instruction emulator rather than natively:
/// true under the PVM hypervisor of the development hosts for a guest that is not PVM-aware
/// (see docs/architecture.md). 2,000 iterations of a trivial loop take well under 200,000 cycles
/// natively and under TCG, and tens of millions there (the emulator runs ~1 µs an instruction).
pub fn ring0_is_emulated() -> bool {
    let emulated = probe_ring0_emulation();
    RING0_EMULATED.store(emulated, core::sync::atomic::Ordering::Relaxed);
    emulated
}

static RING0_EMULATED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// The boot CPU's finding (application processors use it rather than measuring again).
pub fn ring0_emulated() -> bool {
    RING0_EMULATED.load(core::sync::atomic::Ordering::Relaxed)
}

fn probe_ring0_emulation() -> bool {
    let start = rdtsc();
    let mut x = 0u64;
    for i in 0..2000u64 {
        x = core::hint::black_box(x.wrapping_add(i));
    }
    core::hint::black_box(x);
    rdtsc().wrapping_sub(start) > 2_000_000
}

/// Enable what the service's SysV code expects: x87/SSE, XSAVE with AVX (and AVX-512) state,
/// FSGSBASE when present. With `emulated` (see `ring0_is_emulated`) the kernel could not save
/// AVX state on a thread switch (the emulator knows FXSAVE, not XSAVE), so XCR0 keeps only x87
/// and SSE and the service sees no AVX. Returns the features with `xsave_size` filled in.
pub fn enable_user_features(mut f: Features, emulated: bool) -> Features {
    // SAFETY: the bits set are architectural and their features were detected above.
    unsafe {
        let mut cr0: u64;
        asm!("mov {}, cr0", out(reg) cr0, options(nomem, nostack, preserves_flags));
        cr0 &= !(1 << 2); // EM: no x87 emulation
        cr0 |= 1 << 1; // MP
        cr0 |= 1 << 5; // NE: native x87 error reporting
        asm!("mov cr0, {}", in(reg) cr0, options(nostack, preserves_flags));

        let mut cr4: u64;
        asm!("mov {}, cr4", out(reg) cr4, options(nomem, nostack, preserves_flags));
        cr4 |= (1 << 9) | (1 << 10); // OSFXSR, OSXMMEXCPT
        if f.xsave {
            cr4 |= 1 << 18; // OSXSAVE
        }
        if f.fsgsbase {
            cr4 |= 1 << 16; // FSGSBASE
        }
        asm!("mov cr4, {}", in(reg) cr4, options(nostack, preserves_flags));

        if f.xsave {
            let supported = cpuid(0xD, 0);
            let supported_mask = ((supported[3] as u64) << 32) | supported[0] as u64;
            let mut xcr0: u64 = 0b11; // x87, SSE
            if f.avx && !emulated {
                xcr0 |= 0b100;
            }
            if f.avx512 && !emulated {
                xcr0 |= 0b1110_0000; // opmask, ZMM_Hi256, Hi16_ZMM
            }
            xcr0 &= supported_mask;
            asm!("xsetbv", in("ecx") 0u32, in("eax") xcr0 as u32, in("edx") (xcr0 >> 32) as u32, options(nomem, nostack, preserves_flags));
            // EBX of leaf 0xD reports the size for the features now enabled in XCR0.
            f.xsave_size = cpuid(0xD, 0)[1];
            f.xcr0 = xcr0;
        } else {
            f.xsave_size = 512;
        }
        // MXCSR keeps its reset value (0x1F80: all exceptions masked, round to nearest).
        asm!("fninit", options(nomem, nostack));
    }
    f
}

static FSGSBASE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Record whether `wrfsbase` may be used (CR4.FSGSBASE set by `enable_user_features`).
pub fn set_fsgsbase_enabled(enabled: bool) {
    FSGSBASE.store(enabled, core::sync::atomic::Ordering::Relaxed);
}

/// Set the FS base (the service's thread pointer): `wrfsbase` when available, the MSR otherwise.
pub fn set_fs_base(value: u64) {
    if FSGSBASE.load(core::sync::atomic::Ordering::Relaxed) {
        // SAFETY: CR4.FSGSBASE is set; FS base only affects FS-relative accesses of the service.
        unsafe { asm!("wrfsbase {}", in(reg) value, options(nostack, preserves_flags)) }
    } else {
        // SAFETY: as above, through the architectural MSR.
        unsafe { wrmsr(MSR_FS_BASE, value) }
    }
}

pub fn fs_base() -> u64 {
    if FSGSBASE.load(core::sync::atomic::Ordering::Relaxed) {
        let value: u64;
        // SAFETY: CR4.FSGSBASE is set.
        unsafe { asm!("rdfsbase {}", out(reg) value, options(nomem, nostack, preserves_flags)) }
        value
    } else {
        rdmsr(MSR_FS_BASE)
    }
}
