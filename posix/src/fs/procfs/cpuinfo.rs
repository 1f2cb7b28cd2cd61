//! /proc/cpuinfo from CPUID, in Linux's x86 format (arch/x86/kernel/cpu/proc.c): one block per
//! online CPU, flags named as Linux's `x86_cap_flags`.

use alloc::string::String;
use core::fmt::Write;

/// (leaf, subleaf, register index (eax=0..edx=3), bit, Linux's flag name).
type Flag = (u32, u32, usize, u8, &'static str);

const EAX: usize = 0;
const EBX: usize = 1;
const ECX: usize = 2;
const EDX: usize = 3;

/// The flags shown, in Linux's order (word by word of its capability array).
const FLAGS: &[Flag] = &[
    // CPUID 1, EDX
    (1, 0, EDX, 0, "fpu"),
    (1, 0, EDX, 1, "vme"),
    (1, 0, EDX, 2, "de"),
    (1, 0, EDX, 3, "pse"),
    (1, 0, EDX, 4, "tsc"),
    (1, 0, EDX, 5, "msr"),
    (1, 0, EDX, 6, "pae"),
    (1, 0, EDX, 7, "mce"),
    (1, 0, EDX, 8, "cx8"),
    (1, 0, EDX, 9, "apic"),
    (1, 0, EDX, 11, "sep"),
    (1, 0, EDX, 12, "mtrr"),
    (1, 0, EDX, 13, "pge"),
    (1, 0, EDX, 14, "mca"),
    (1, 0, EDX, 15, "cmov"),
    (1, 0, EDX, 16, "pat"),
    (1, 0, EDX, 17, "pse36"),
    (1, 0, EDX, 18, "pn"),
    (1, 0, EDX, 19, "clflush"),
    (1, 0, EDX, 21, "dts"),
    (1, 0, EDX, 22, "acpi"),
    (1, 0, EDX, 23, "mmx"),
    (1, 0, EDX, 24, "fxsr"),
    (1, 0, EDX, 25, "sse"),
    (1, 0, EDX, 26, "sse2"),
    (1, 0, EDX, 27, "ss"),
    (1, 0, EDX, 28, "ht"),
    (1, 0, EDX, 29, "tm"),
    (1, 0, EDX, 30, "ia64"),
    (1, 0, EDX, 31, "pbe"),
    // CPUID 0x80000001, EDX
    (0x8000_0001, 0, EDX, 11, "syscall"),
    (0x8000_0001, 0, EDX, 19, "mp"),
    (0x8000_0001, 0, EDX, 20, "nx"),
    (0x8000_0001, 0, EDX, 22, "mmxext"),
    (0x8000_0001, 0, EDX, 25, "fxsr_opt"),
    (0x8000_0001, 0, EDX, 26, "pdpe1gb"),
    (0x8000_0001, 0, EDX, 27, "rdtscp"),
    (0x8000_0001, 0, EDX, 29, "lm"),
    (0x8000_0001, 0, EDX, 30, "3dnowext"),
    (0x8000_0001, 0, EDX, 31, "3dnow"),
    // CPUID 1, ECX
    (1, 0, ECX, 0, "pni"),
    (1, 0, ECX, 1, "pclmulqdq"),
    (1, 0, ECX, 2, "dtes64"),
    (1, 0, ECX, 3, "monitor"),
    (1, 0, ECX, 4, "ds_cpl"),
    (1, 0, ECX, 5, "vmx"),
    (1, 0, ECX, 6, "smx"),
    (1, 0, ECX, 7, "est"),
    (1, 0, ECX, 8, "tm2"),
    (1, 0, ECX, 9, "ssse3"),
    (1, 0, ECX, 10, "cid"),
    (1, 0, ECX, 11, "sdbg"),
    (1, 0, ECX, 12, "fma"),
    (1, 0, ECX, 13, "cx16"),
    (1, 0, ECX, 14, "xtpr"),
    (1, 0, ECX, 15, "pdcm"),
    (1, 0, ECX, 17, "pcid"),
    (1, 0, ECX, 18, "dca"),
    (1, 0, ECX, 19, "sse4_1"),
    (1, 0, ECX, 20, "sse4_2"),
    (1, 0, ECX, 21, "x2apic"),
    (1, 0, ECX, 22, "movbe"),
    (1, 0, ECX, 23, "popcnt"),
    (1, 0, ECX, 24, "tsc_deadline_timer"),
    (1, 0, ECX, 25, "aes"),
    (1, 0, ECX, 26, "xsave"),
    (1, 0, ECX, 28, "avx"),
    (1, 0, ECX, 29, "f16c"),
    (1, 0, ECX, 30, "rdrand"),
    (1, 0, ECX, 31, "hypervisor"),
    // CPUID 0x80000001, ECX
    (0x8000_0001, 0, ECX, 0, "lahf_lm"),
    (0x8000_0001, 0, ECX, 1, "cmp_legacy"),
    (0x8000_0001, 0, ECX, 2, "svm"),
    (0x8000_0001, 0, ECX, 3, "extapic"),
    (0x8000_0001, 0, ECX, 4, "cr8_legacy"),
    (0x8000_0001, 0, ECX, 5, "abm"),
    (0x8000_0001, 0, ECX, 6, "sse4a"),
    (0x8000_0001, 0, ECX, 7, "misalignsse"),
    (0x8000_0001, 0, ECX, 8, "3dnowprefetch"),
    (0x8000_0001, 0, ECX, 9, "osvw"),
    (0x8000_0001, 0, ECX, 10, "ibs"),
    (0x8000_0001, 0, ECX, 11, "xop"),
    (0x8000_0001, 0, ECX, 12, "skinit"),
    (0x8000_0001, 0, ECX, 13, "wdt"),
    (0x8000_0001, 0, ECX, 15, "lwp"),
    (0x8000_0001, 0, ECX, 16, "fma4"),
    (0x8000_0001, 0, ECX, 17, "tce"),
    (0x8000_0001, 0, ECX, 19, "nodeid_msr"),
    (0x8000_0001, 0, ECX, 21, "tbm"),
    (0x8000_0001, 0, ECX, 22, "topoext"),
    (0x8000_0001, 0, ECX, 23, "perfctr_core"),
    (0x8000_0001, 0, ECX, 24, "perfctr_nb"),
    (0x8000_0001, 0, ECX, 26, "bpext"),
    (0x8000_0001, 0, ECX, 27, "ptsc"),
    (0x8000_0001, 0, ECX, 28, "perfctr_llc"),
    (0x8000_0001, 0, ECX, 29, "mwaitx"),
    // CPUID 7.0, EBX
    (7, 0, EBX, 0, "fsgsbase"),
    (7, 0, EBX, 1, "tsc_adjust"),
    (7, 0, EBX, 2, "sgx"),
    (7, 0, EBX, 3, "bmi1"),
    (7, 0, EBX, 4, "hle"),
    (7, 0, EBX, 5, "avx2"),
    (7, 0, EBX, 7, "smep"),
    (7, 0, EBX, 8, "bmi2"),
    (7, 0, EBX, 9, "erms"),
    (7, 0, EBX, 10, "invpcid"),
    (7, 0, EBX, 11, "rtm"),
    (7, 0, EBX, 12, "cqm"),
    (7, 0, EBX, 14, "mpx"),
    (7, 0, EBX, 15, "rdt_a"),
    (7, 0, EBX, 16, "avx512f"),
    (7, 0, EBX, 17, "avx512dq"),
    (7, 0, EBX, 18, "rdseed"),
    (7, 0, EBX, 19, "adx"),
    (7, 0, EBX, 20, "smap"),
    (7, 0, EBX, 21, "avx512ifma"),
    (7, 0, EBX, 23, "clflushopt"),
    (7, 0, EBX, 24, "clwb"),
    (7, 0, EBX, 25, "intel_pt"),
    (7, 0, EBX, 26, "avx512pf"),
    (7, 0, EBX, 27, "avx512er"),
    (7, 0, EBX, 28, "avx512cd"),
    (7, 0, EBX, 29, "sha_ni"),
    (7, 0, EBX, 30, "avx512bw"),
    (7, 0, EBX, 31, "avx512vl"),
    // CPUID 0xD.1, EAX
    (0xD, 1, EAX, 0, "xsaveopt"),
    (0xD, 1, EAX, 1, "xsavec"),
    (0xD, 1, EAX, 2, "xgetbv1"),
    (0xD, 1, EAX, 3, "xsaves"),
    // CPUID 7.0, ECX
    (7, 0, ECX, 1, "avx512vbmi"),
    (7, 0, ECX, 2, "umip"),
    (7, 0, ECX, 3, "pku"),
    (7, 0, ECX, 4, "ospke"),
    (7, 0, ECX, 5, "waitpkg"),
    (7, 0, ECX, 6, "avx512_vbmi2"),
    (7, 0, ECX, 8, "gfni"),
    (7, 0, ECX, 9, "vaes"),
    (7, 0, ECX, 10, "vpclmulqdq"),
    (7, 0, ECX, 11, "avx512_vnni"),
    (7, 0, ECX, 12, "avx512_bitalg"),
    (7, 0, ECX, 13, "tme"),
    (7, 0, ECX, 14, "avx512_vpopcntdq"),
    (7, 0, ECX, 16, "la57"),
    (7, 0, ECX, 22, "rdpid"),
    (7, 0, ECX, 24, "bus_lock_detect"),
    (7, 0, ECX, 25, "cldemote"),
    (7, 0, ECX, 27, "movdiri"),
    (7, 0, ECX, 28, "movdir64b"),
    (7, 0, ECX, 29, "enqcmd"),
    (7, 0, ECX, 30, "sgx_lc"),
    // CPUID 7.0, EDX
    (7, 0, EDX, 2, "avx512_4vnniw"),
    (7, 0, EDX, 3, "avx512_4fmaps"),
    (7, 0, EDX, 4, "fsrm"),
    (7, 0, EDX, 8, "avx512_vp2intersect"),
    (7, 0, EDX, 10, "md_clear"),
    (7, 0, EDX, 14, "serialize"),
    (7, 0, EDX, 16, "tsxldtrk"),
    (7, 0, EDX, 18, "pconfig"),
    (7, 0, EDX, 19, "arch_lbr"),
    (7, 0, EDX, 22, "amx_bf16"),
    (7, 0, EDX, 23, "avx512_fp16"),
    (7, 0, EDX, 24, "amx_tile"),
    (7, 0, EDX, 25, "amx_int8"),
    (7, 0, EDX, 28, "flush_l1d"),
    (7, 0, EDX, 29, "arch_capabilities"),
];

/// Flags that need register state the kernel saves with XSAVE: hidden unless XCR0 enables it,
/// as Linux clears them when it does not use the state (`fpu__init_system_xstate`).
fn needs_state(name: &str) -> Option<u64> {
    const YMM: u64 = 1 << 2;
    const AVX512: u64 = 0b1110_0000;
    if name.starts_with("avx512") {
        Some(AVX512 | YMM)
    } else if matches!(
        name,
        "avx" | "avx2" | "fma" | "f16c" | "vaes" | "vpclmulqdq" | "gfni"
    ) {
        Some(YMM)
    } else if name.starts_with("xsave") || name == "xgetbv1" {
        Some(0b11)
    } else if name.starts_with("amx") {
        Some(u64::MAX) // AMX tile state is never enabled
    } else {
        None
    }
}

/// What one CPU block needs besides CPUID.
pub struct CpuEntry {
    pub index: usize,
    pub apic_id: u32,
}

/// The machine-wide facts.
pub struct Machine {
    pub cpus: usize,
    pub tsc_hz: u64,
    /// XCR0 as the kernel set it (0 without XSAVE).
    pub xcr0: u64,
}

fn vendor(cpuid: &dyn Fn(u32, u32) -> [u32; 4]) -> String {
    let r = cpuid(0, 0);
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&r[1].to_le_bytes());
    bytes[4..8].copy_from_slice(&r[3].to_le_bytes());
    bytes[8..].copy_from_slice(&r[2].to_le_bytes());
    String::from_utf8_lossy(&bytes).into_owned()
}

fn brand(cpuid: &dyn Fn(u32, u32) -> [u32; 4]) -> Option<String> {
    if cpuid(0x8000_0000, 0)[0] < 0x8000_0004 {
        return None;
    }
    let mut bytes = alloc::vec::Vec::with_capacity(48);
    for leaf in 0x8000_0002..=0x8000_0004 {
        for reg in cpuid(leaf, 0) {
            bytes.extend_from_slice(&reg.to_le_bytes());
        }
    }
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let text = String::from_utf8_lossy(&bytes[..end]);
    let text = text.trim();
    (!text.is_empty()).then(|| String::from(text))
}

/// The text of /proc/cpuinfo.
pub fn cpuinfo(
    cpuid: &dyn Fn(u32, u32) -> [u32; 4],
    machine: &Machine,
    cpus: &[CpuEntry],
) -> String {
    let max_leaf = cpuid(0, 0)[0];
    let max_ext = cpuid(0x8000_0000, 0)[0];
    let available = |leaf: u32| {
        if leaf >= 0x8000_0000 {
            leaf <= max_ext
        } else {
            leaf <= max_leaf
        }
    };
    let sig = cpuid(1, 0)[0];
    let base_family = (sig >> 8) & 0xF;
    let family = if base_family == 0xF {
        base_family + ((sig >> 20) & 0xFF)
    } else {
        base_family
    };
    let model = if base_family == 0x6 || base_family == 0xF {
        ((sig >> 4) & 0xF) | (((sig >> 16) & 0xF) << 4)
    } else {
        (sig >> 4) & 0xF
    };
    let stepping = sig & 0xF;
    let clflush = ((cpuid(1, 0)[1] >> 8) & 0xFF) * 8;
    let mut flags = String::new();
    for &(leaf, sub, reg, bit, name) in FLAGS {
        if !available(leaf) || cpuid(leaf, sub)[reg] & (1 << bit) == 0 {
            continue;
        }
        if let Some(state) = needs_state(name)
            && machine.xcr0 & state != state
        {
            continue;
        }
        if !flags.is_empty() {
            flags.push(' ');
        }
        flags.push_str(name);
    }
    // Linux's software flags that follow from CPUID.
    if available(0x8000_0007) && cpuid(0x8000_0007, 0)[3] & (1 << 8) != 0 {
        flags.push_str(" constant_tsc nonstop_tsc");
    }
    flags.push_str(" cpuid");
    let cache_kb = if available(0x8000_0006) {
        cpuid(0x8000_0006, 0)[2] >> 16
    } else {
        0
    };
    let address_sizes = if available(0x8000_0008) {
        let a = cpuid(0x8000_0008, 0)[0];
        (a & 0xFF, (a >> 8) & 0xFF)
    } else {
        (36, 48)
    };
    let vendor = vendor(cpuid);
    let model_name = brand(cpuid).unwrap_or_else(|| String::from("unknown"));
    let mhz = machine.tsc_hz / 1000; // kHz
    let bogomips = machine.tsc_hz / 5000; // 2 * MHz, in hundredths
    let mut s = String::new();
    for c in cpus {
        let _ = writeln!(s, "processor\t: {}", c.index);
        let _ = writeln!(s, "vendor_id\t: {vendor}");
        let _ = writeln!(s, "cpu family\t: {family}");
        let _ = writeln!(s, "model\t\t: {model}");
        let _ = writeln!(s, "model name\t: {model_name}");
        let _ = writeln!(s, "stepping\t: {stepping}");
        let _ = writeln!(s, "cpu MHz\t\t: {}.{:03}", mhz / 1000, mhz % 1000);
        if cache_kb != 0 {
            let _ = writeln!(s, "cache size\t: {cache_kb} KB");
        }
        let _ = writeln!(s, "physical id\t: 0");
        let _ = writeln!(s, "siblings\t: {}", machine.cpus);
        let _ = writeln!(s, "core id\t\t: {}", c.index);
        let _ = writeln!(s, "cpu cores\t: {}", machine.cpus);
        let _ = writeln!(s, "apicid\t\t: {}", c.apic_id);
        let _ = writeln!(s, "initial apicid\t: {}", c.apic_id);
        s.push_str("fpu\t\t: yes\nfpu_exception\t: yes\n");
        let _ = writeln!(s, "cpuid level\t: {max_leaf}");
        s.push_str("wp\t\t: yes\n");
        let _ = writeln!(s, "flags\t\t: {flags}");
        s.push_str("bugs\t\t:\n");
        let _ = writeln!(s, "bogomips\t: {}.{:02}", bogomips / 100, bogomips % 100);
        let _ = writeln!(s, "clflush size\t: {clflush}");
        let _ = writeln!(s, "cache_alignment\t: {}", clflush.max(64));
        let _ = writeln!(
            s,
            "address sizes\t: {} bits physical, {} bits virtual",
            address_sizes.0, address_sizes.1
        );
        s.push_str("power management:\n\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A QEMU-like CPU: GenuineIntel, family 6 model 0x55, SSE2/AVX/AVX2, 40/48 bit addresses.
    fn fake(leaf: u32, sub: u32) -> [u32; 4] {
        match (leaf, sub) {
            (0, _) => [
                0xD,
                u32::from_le_bytes(*b"Genu"),
                u32::from_le_bytes(*b"ntel"),
                u32::from_le_bytes(*b"ineI"),
            ],
            (1, _) => [
                0x0005_0654,
                0x0800,
                (1 << 28) | (1 << 26) | 1,
                (1 << 25) | (1 << 26) | 1,
            ],
            (7, 0) => [0, 1 << 5, 0, 0],
            (0xD, 1) => [1, 0, 0, 0],
            (0x8000_0000, _) => [0x8000_0008, 0, 0, 0],
            (0x8000_0001, _) => [0, 0, 1, (1 << 29) | (1 << 20)],
            (0x8000_0002, _) => [
                u32::from_le_bytes(*b"QEMU"),
                u32::from_le_bytes(*b" Vir"),
                u32::from_le_bytes(*b"tual"),
                u32::from_le_bytes(*b" CPU"),
            ],
            (0x8000_0006, _) => [0, 0, 16384 << 16, 0],
            (0x8000_0008, _) => [0x3028, 0, 0, 0],
            _ => [0; 4],
        }
    }

    #[test]
    fn one_block_per_cpu_with_linux_fields() {
        let m = Machine {
            cpus: 2,
            tsc_hz: 2_100_000_000,
            xcr0: 0b111,
        };
        let text = cpuinfo(
            &fake,
            &m,
            &[
                CpuEntry {
                    index: 0,
                    apic_id: 0,
                },
                CpuEntry {
                    index: 1,
                    apic_id: 1,
                },
            ],
        );
        assert_eq!(text.matches("processor\t: ").count(), 2);
        assert!(text.starts_with("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nmodel name\t: QEMU Virtual CPU\nstepping\t: 4\ncpu MHz\t\t: 2100.000\ncache size\t: 16384 KB\n"));
        let flags = text.lines().find(|l| l.starts_with("flags")).unwrap();
        assert_eq!(
            flags,
            "flags\t\t: fpu sse sse2 nx lm pni xsave avx lahf_lm avx2 xsaveopt cpuid"
        );
        assert!(text.contains("\naddress sizes\t: 40 bits physical, 48 bits virtual\n"));
        assert!(text.ends_with("power management:\n\n"));
        assert!(text.contains("processor\t: 1\n"));
        assert!(text.contains("apicid\t\t: 1\n"));
    }

    #[test]
    fn avx_hidden_without_its_state() {
        let m = Machine {
            cpus: 1,
            tsc_hz: 1_000_000_000,
            xcr0: 0b11,
        };
        let text = cpuinfo(
            &fake,
            &m,
            &[CpuEntry {
                index: 0,
                apic_id: 0,
            }],
        );
        let flags = text.lines().find(|l| l.starts_with("flags")).unwrap();
        assert!(!flags.contains("avx"));
        assert!(flags.contains(" xsave "));
    }
}
