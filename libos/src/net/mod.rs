//! Network devices. The TCP/IP stack over them lives in the posix crate (`posix/src/net/`).

#[cfg(target_os = "none")]
pub mod virtio;
