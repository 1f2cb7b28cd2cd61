//! Ferrite's CPUs and threads: thread objects, the per-CPU scheduler, sleeping, and futex wait
//! queues. The hardware side (APICs, bringing CPUs up, switching stacks) is in `ferrite_libos::arch`.
#![cfg_attr(target_os = "none", no_std)]

extern crate alloc;

pub mod futex;
pub mod sched;
pub mod thread;
pub mod timer;
