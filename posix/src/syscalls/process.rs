//! The process and its threads: `clone` for threads, exit, TLS, and the thread bookkeeping musl
//! relies on.

use alloc::sync::Arc;

use ferrite_libos::frame::SyscallFrame;
use ferrite_smp::thread::{self, State, Thread};
use ferrite_smp::{futex, sched};

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::uaccess;

pub fn sys_exit_group(f: &mut SyscallFrame) -> SysResult {
    crate::net::stack::drain_before_exit();
    crate::shutdown(ferrite_libos::exit::Outcome::Exited(f.arg(0) as u8))
}

/// End the calling thread: clear and wake its `clear_child_tid` (how `pthread_join` learns of
/// the exit). The last thread's exit ends the process with its status, as on Linux.
pub fn sys_exit(f: &mut SyscallFrame) -> SysResult {
    let me = sched::current();
    let clear = me.posix.lock().clear_child_tid;
    if clear != 0 && uaccess::write(clear, &0u32).is_ok() {
        futex::wake(clear, 1, !0);
    }
    if thread::unregister(me) == 0 {
        crate::net::stack::drain_before_exit();
        crate::shutdown(ferrite_libos::exit::Outcome::Exited(f.arg(0) as u8));
    }
    sched::exit_current()
}

pub fn sys_set_tid_address(f: &mut SyscallFrame) -> SysResult {
    let me = sched::current();
    me.posix.lock().clear_child_tid = f.arg(0);
    Ok(me.tid as i64)
}

/// Size of `struct robust_list_head`.
const ROBUST_LIST_HEAD_SIZE: u64 = 24;

pub fn sys_set_robust_list(f: &mut SyscallFrame) -> SysResult {
    if f.arg(1) != ROBUST_LIST_HEAD_SIZE {
        return Err(Errno::EINVAL);
    }
    sched::current().posix.lock().robust_list = (f.arg(0), f.arg(1));
    Ok(0)
}

pub fn sys_get_robust_list(f: &mut SyscallFrame) -> SysResult {
    let tid = f.arg(0) as i32;
    let target = if tid == 0 {
        sched::current_arc()
    } else {
        thread::find(tid as u32).ok_or(Errno::ESRCH)?
    };
    let list = target.posix.lock().robust_list;
    uaccess::write(f.arg(1), &list.0)?;
    uaccess::write(f.arg(2), &list.1)?;
    Ok(0)
}

pub fn sys_arch_prctl(f: &mut SyscallFrame) -> SysResult {
    match f.arg(0) {
        abi::ARCH_SET_FS => {
            if f.arg(1) >= 0x0000_8000_0000_0000 {
                return Err(Errno::EPERM); // not a canonical user address
            }
            sched::current().set_fs_base(f.arg(1));
            #[cfg(target_os = "none")]
            ferrite_libos::arch::cpu::set_fs_base(f.arg(1));
            Ok(0)
        }
        abi::ARCH_GET_FS => {
            uaccess::write(f.arg(1), &sched::current().fs_base())?;
            Ok(0)
        }
        // GS base belongs to the kernel (per-CPU data).
        abi::ARCH_SET_GS | abi::ARCH_GET_GS => Err(Errno::EPERM),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_sched_yield(_f: &mut SyscallFrame) -> SysResult {
    sched::yield_now();
    Ok(0)
}

const CLONE_VM: u64 = 0x100;
const CLONE_FS: u64 = 0x200;
const CLONE_FILES: u64 = 0x400;
const CLONE_SIGHAND: u64 = 0x800;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_SYSVSEM: u64 = 0x40000;
const CLONE_SETTLS: u64 = 0x80000;
const CLONE_PARENT_SETTID: u64 = 0x100000;
const CLONE_CHILD_CLEARTID: u64 = 0x200000;
const CLONE_DETACHED: u64 = 0x400000;
const CLONE_CHILD_SETTID: u64 = 0x1000000;
const CSIGNAL: u64 = 0xFF;

/// What a new thread needs shared with its creator: one address space, one set of files and
/// signal handlers, one thread group.
const THREAD_FLAGS: u64 = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD;
const ALLOWED_FLAGS: u64 = THREAD_FLAGS
    | CLONE_SYSVSEM
    | CLONE_SETTLS
    | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID
    | CLONE_DETACHED
    | CLONE_CHILD_SETTID;

/// `clone(flags, stack, parent_tid, child_tid, tls)`: threads only. A unikernel has one process,
/// so anything that asks for a new process (fork, vfork, posix_spawn) gets ENOSYS; flag sets Linux
/// itself rejects get EINVAL.
pub fn sys_clone(f: &mut SyscallFrame) -> SysResult {
    let (flags, stack, parent_tid, child_tid, tls) =
        (f.arg(0), f.arg(1), f.arg(2), f.arg(3), f.arg(4));
    if flags & CLONE_THREAD != 0 && flags & CLONE_SIGHAND == 0
        || flags & CLONE_SIGHAND != 0 && flags & CLONE_VM == 0
    {
        return Err(Errno::EINVAL);
    }
    if flags & THREAD_FLAGS != THREAD_FLAGS || flags & CLONE_VFORK != 0 {
        return Err(Errno::ENOSYS); // a new process
    }
    if flags & !(ALLOWED_FLAGS | CSIGNAL) != 0 || flags & CLONE_PIDFD != 0 || flags & CSIGNAL != 0 {
        return Err(Errno::EINVAL);
    }
    if stack == 0 {
        return Err(Errno::EINVAL);
    }
    let tid = thread::allocate_tid();
    let child = thread::create(tid, false).ok_or(Errno::ENOMEM)?;
    start_thread(&child, f, flags, stack, tls, child_tid)?;
    if flags & CLONE_PARENT_SETTID != 0 {
        uaccess::write(parent_tid, &tid)?;
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        uaccess::write(child_tid, &tid)?;
    }
    thread::register(child.clone());
    sched::spawn(child);
    Ok(tid as i64)
}

fn start_thread(
    child: &Arc<Thread>,
    parent_frame: &SyscallFrame,
    flags: u64,
    stack: u64,
    tls: u64,
    child_tid: u64,
) -> Result<(), Errno> {
    let me = sched::current();
    {
        let parent = *me.posix.lock();
        let mut state = child.posix.lock();
        state.signal_mask = parent.signal_mask;
        state.name = parent.name;
        if flags & CLONE_CHILD_CLEARTID != 0 {
            state.clear_child_tid = child_tid;
        }
    }
    child.set_fs_base(if flags & CLONE_SETTLS != 0 {
        tls
    } else {
        me.fs_base()
    });
    child.affinity.store(
        me.affinity.load(core::sync::atomic::Ordering::Relaxed),
        core::sync::atomic::Ordering::Relaxed,
    );
    // The child starts with the FPU state its creator has now.
    #[cfg(target_os = "none")]
    ferrite_libos::arch::fpu::save(child.fpu_area().as_ptr());
    let frame = SyscallFrame {
        rax: 0,
        rsp: stack,
        ..*parent_frame
    };
    #[cfg(target_os = "none")]
    {
        // SAFETY: the child's kernel stack is new, mapped and unused.
        let rsp = unsafe {
            ferrite_libos::arch::context::new_user_thread_stack(child.kernel_stack.top, &frame)
        };
        child.set_saved_rsp(rsp);
    }
    let _ = frame;
    debug_assert_eq!(child.state(), State::Runnable);
    Ok(())
}

pub fn sys_prctl(f: &mut SyscallFrame) -> SysResult {
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    match f.arg(0) {
        PR_SET_NAME => {
            // As Linux: at most 15 bytes are read; a longer name is cut.
            let name = uaccess::c_bytes(f.arg(1), 15)?;
            let mut stored = [0u8; 16];
            stored[..name.len()].copy_from_slice(&name);
            sched::current().posix.lock().name = stored;
            Ok(0)
        }
        PR_GET_NAME => {
            let name = sched::current().posix.lock().name;
            uaccess::write_exact(f.arg(1), &name)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
