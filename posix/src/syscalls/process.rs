//! The process and its threads: exit, TLS, thread bookkeeping musl needs at start-up.

use ferrite_libos::frame::SyscallFrame;
use ferrite_libos::sync::IrqMutex;
use ferrite_smp::thread;

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::uaccess;

pub fn sys_exit_group(f: &mut SyscallFrame) -> SysResult {
    crate::shutdown(ferrite_libos::exit::Outcome::Exited(f.arg(0) as u8))
}

/// With one thread, the thread's exit ends the process (as Linux does for the last thread).
pub fn sys_exit(f: &mut SyscallFrame) -> SysResult {
    sys_exit_group(f)
}

pub fn sys_set_tid_address(f: &mut SyscallFrame) -> SysResult {
    let mut t = thread::current().lock();
    t.clear_child_tid = f.arg(0);
    Ok(t.tid as i64)
}

/// Size of `struct robust_list_head`.
const ROBUST_LIST_HEAD_SIZE: u64 = 24;

pub fn sys_set_robust_list(f: &mut SyscallFrame) -> SysResult {
    if f.arg(1) != ROBUST_LIST_HEAD_SIZE {
        return Err(Errno::EINVAL);
    }
    thread::current().lock().robust_list = (f.arg(0), f.arg(1));
    Ok(0)
}

pub fn sys_get_robust_list(f: &mut SyscallFrame) -> SysResult {
    let tid = f.arg(0) as i32;
    let t = *thread::current().lock();
    if tid != 0 && tid != t.tid as i32 {
        return Err(Errno::ESRCH);
    }
    uaccess::write(f.arg(1), &t.robust_list.0)?;
    uaccess::write(f.arg(2), &t.robust_list.1)?;
    Ok(0)
}

pub fn sys_arch_prctl(f: &mut SyscallFrame) -> SysResult {
    match f.arg(0) {
        abi::ARCH_SET_FS => {
            #[cfg(target_os = "none")]
            ferrite_libos::arch::cpu::set_fs_base(f.arg(1));
            Ok(0)
        }
        abi::ARCH_GET_FS => {
            #[cfg(target_os = "none")]
            let value = ferrite_libos::arch::cpu::fs_base();
            #[cfg(not(target_os = "none"))]
            let value = 0u64;
            uaccess::write(f.arg(1), &value)?;
            Ok(0)
        }
        // GS base belongs to the kernel (per-CPU data).
        abi::ARCH_SET_GS | abi::ARCH_GET_GS => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_sched_yield(_f: &mut SyscallFrame) -> SysResult {
    Ok(0)
}

static THREAD_NAME: IrqMutex<[u8; 16]> = IrqMutex::new(*b"main\0\0\0\0\0\0\0\0\0\0\0\0");
const PR_SET_NAME: u64 = 15;
const PR_GET_NAME: u64 = 16;

pub fn sys_prctl(f: &mut SyscallFrame) -> SysResult {
    match f.arg(0) {
        PR_SET_NAME => {
            let name = uaccess::c_string(f.arg(1), 4096)?;
            let mut stored = [0u8; 16];
            for (slot, b) in stored.iter_mut().zip(name.bytes().take(15)) {
                *slot = b;
            }
            *THREAD_NAME.lock() = stored;
            Ok(0)
        }
        PR_GET_NAME => {
            let name = *THREAD_NAME.lock();
            uaccess::slice_mut(f.arg(1), 16)?.copy_from_slice(&name);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
