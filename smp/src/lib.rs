//! Ferrite's CPUs and threads: per-thread state today; CPU bring-up, the scheduler and futex come
//! with the multicore work.
#![cfg_attr(target_os = "none", no_std)]

extern crate alloc;

pub mod thread;
