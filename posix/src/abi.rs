//! Linux ABI types and constants. Most come from musl's headers through bindgen (see build.rs);
//! the kernel-side structures musl's headers don't describe are defined here.
#![allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    clippy::all
)]

include!(concat!(env!("OUT_DIR"), "/linux_abi.rs"));

/// The kernel's `struct sigaction` (musl converts its own `struct sigaction` to this).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct k_sigaction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// `stack_t` for sigaltstack.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct stack_t {
    pub ss_sp: u64,
    pub ss_flags: i32,
    pub ss_size: u64,
}

/// The kernel's `siginfo_t` is 128 bytes; the fields a synchronous kill fills are at the front.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct siginfo_t {
    pub si_signo: i32,
    pub si_errno: i32,
    pub si_code: i32,
    pub _pad0: i32,
    pub si_pid: i32,
    pub si_uid: u32,
    pub _rest: [u64; 13],
}

pub const ARCH_SET_GS: u64 = 0x1001;
pub const ARCH_SET_FS: u64 = 0x1002;
pub const ARCH_GET_FS: u64 = 0x1003;
pub const ARCH_GET_GS: u64 = 0x1004;
pub const ARCH_GET_CPUID: u64 = 0x1011;
pub const ARCH_SET_CPUID: u64 = 0x1012;
