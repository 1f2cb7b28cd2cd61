//! The main thread's start: a Linux-style initial stack (argc, argv, envp, auxv) and a jump to
//! musl's `_start` from crt1.o.

use alloc::string::String;
use alloc::vec::Vec;

use crate::abi;

/// Size of the main thread's stack (Linux's default RLIMIT_STACK).
pub const MAIN_STACK_SIZE: u64 = 8 << 20;

/// Auxiliary vector entries the kernel provides.
pub struct AuxInfo {
    pub phdr: u64,
    pub phent: u64,
    pub phnum: u64,
    pub entry: u64,
    pub hwcap: u64,
    pub hwcap2: u64,
    pub clock_ticks: u64,
}

/// Lay out the initial stack below `top` inside `stack` (whose last byte is at `top - 1`) and
/// return the stack pointer (pointing at argc, 16-byte aligned). `random` is the 16 bytes
/// AT_RANDOM points to. Pure layout, so it is unit-tested.
pub fn build_stack(
    stack: &mut [u8],
    top: u64,
    args: &[String],
    env: &[String],
    aux: &AuxInfo,
    random: [u8; 16],
) -> Option<u64> {
    let base = top - stack.len() as u64;
    let mut sp = top;
    let mut push_bytes = |sp: &mut u64, bytes: &[u8]| -> Option<u64> {
        *sp = sp.checked_sub(bytes.len() as u64)?;
        if *sp < base {
            return None;
        }
        let at = (*sp - base) as usize;
        stack[at..at + bytes.len()].copy_from_slice(bytes);
        Some(*sp)
    };
    let random_at = push_bytes(&mut sp, &random)?;
    let platform_at = push_bytes(&mut sp, b"x86_64\0")?;
    let mut string_at = |sp: &mut u64, s: &str| -> Option<u64> {
        let mut bytes = Vec::with_capacity(s.len() + 1);
        bytes.extend_from_slice(s.as_bytes());
        bytes.push(0);
        push_bytes(sp, &bytes)
    };
    let arg_ptrs: Vec<u64> = args
        .iter()
        .map(|a| string_at(&mut sp, a))
        .collect::<Option<_>>()?;
    let env_ptrs: Vec<u64> = env
        .iter()
        .map(|e| string_at(&mut sp, e))
        .collect::<Option<_>>()?;
    let execfn = arg_ptrs.first().copied().unwrap_or(0);

    let auxv: [(u32, u64); 17] = [
        (abi::AT_PHDR, aux.phdr),
        (abi::AT_PHENT, aux.phent),
        (abi::AT_PHNUM, aux.phnum),
        (abi::AT_PAGESZ, 4096),
        (abi::AT_BASE, 0),
        (abi::AT_FLAGS, 0),
        (abi::AT_ENTRY, aux.entry),
        (abi::AT_UID, 0),
        (abi::AT_EUID, 0),
        (abi::AT_GID, 0),
        (abi::AT_EGID, 0),
        (abi::AT_PLATFORM, platform_at),
        (abi::AT_HWCAP, aux.hwcap),
        (abi::AT_CLKTCK, aux.clock_ticks),
        (abi::AT_SECURE, 0),
        (abi::AT_RANDOM, random_at),
        (abi::AT_HWCAP2, aux.hwcap2),
    ];
    // Words below the strings: argc, argv..., NULL, envp..., NULL, auxv pairs..., AT_EXECFN, AT_NULL.
    let mut words: Vec<u64> = Vec::new();
    words.push(arg_ptrs.len() as u64);
    words.extend(&arg_ptrs);
    words.push(0);
    words.extend(&env_ptrs);
    words.push(0);
    for (key, value) in auxv {
        words.push(key as u64);
        words.push(value);
    }
    words.push(abi::AT_EXECFN as u64);
    words.push(execfn);
    words.push(abi::AT_NULL as u64);
    words.push(0);

    let bytes = words.len() as u64 * 8;
    sp = sp.checked_sub(bytes)? & !15;
    if sp < base {
        return None;
    }
    let at = (sp - base) as usize;
    for (i, w) in words.iter().enumerate() {
        stack[at + i * 8..at + i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    Some(sp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(stack: &[u8], base: u64, addr: u64) -> u64 {
        let at = (addr - base) as usize;
        u64::from_le_bytes(stack[at..at + 8].try_into().unwrap())
    }

    fn c_str(stack: &[u8], base: u64, addr: u64) -> String {
        let at = (addr - base) as usize;
        let end = stack[at..].iter().position(|&b| b == 0).unwrap();
        String::from_utf8(stack[at..at + end].to_vec()).unwrap()
    }

    #[test]
    fn linux_layout() {
        let mut stack = vec![0u8; 8192];
        let top = 0x10_0000u64;
        let base = top - stack.len() as u64;
        let aux = AuxInfo {
            phdr: 0x100040,
            phent: 56,
            phnum: 8,
            entry: 0x101000,
            hwcap: 0xbfebfbff,
            hwcap2: 2,
            clock_ticks: 100,
        };
        let args = ["prog".to_string(), "21".to_string()];
        let env = ["HOME=/".to_string()];
        let sp = build_stack(&mut stack, top, &args, &env, &aux, [7; 16]).unwrap();
        assert_eq!(sp % 16, 0);
        assert_eq!(word(&stack, base, sp), 2);
        assert_eq!(c_str(&stack, base, word(&stack, base, sp + 8)), "prog");
        assert_eq!(c_str(&stack, base, word(&stack, base, sp + 16)), "21");
        assert_eq!(word(&stack, base, sp + 24), 0);
        assert_eq!(c_str(&stack, base, word(&stack, base, sp + 32)), "HOME=/");
        assert_eq!(word(&stack, base, sp + 40), 0);
        // auxv follows; find AT_RANDOM and AT_PHDR.
        let mut at = sp + 48;
        let mut found = std::collections::HashMap::new();
        loop {
            let key = word(&stack, base, at);
            let value = word(&stack, base, at + 8);
            if key == 0 {
                break;
            }
            found.insert(key as u32, value);
            at += 16;
        }
        assert_eq!(found[&abi::AT_PHDR], 0x100040);
        assert_eq!(found[&abi::AT_PAGESZ], 4096);
        let random = found[&abi::AT_RANDOM];
        assert_eq!(
            &stack[(random - base) as usize..(random - base) as usize + 16],
            &[7; 16]
        );
        assert_eq!(c_str(&stack, base, found[&abi::AT_EXECFN]), "prog");
        assert_eq!(c_str(&stack, base, found[&abi::AT_PLATFORM]), "x86_64");
    }

    #[test]
    fn too_small_a_stack_is_none() {
        let mut stack = vec![0u8; 64];
        let aux = AuxInfo {
            phdr: 0,
            phent: 0,
            phnum: 0,
            entry: 0,
            hwcap: 0,
            hwcap2: 0,
            clock_ticks: 100,
        };
        assert!(build_stack(&mut stack, 0x1000, &["x".repeat(100)], &[], &aux, [0; 16]).is_none());
    }
}
