//! Identity, system information and resource limits.

use core::sync::atomic::{AtomicUsize, Ordering};
use ferrite_libos::frame::SyscallFrame;
use ferrite_libos::sync::IrqMutex;

use ferrite_smp::{sched, thread};

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::uaccess;

pub fn sys_getpid(_f: &mut SyscallFrame) -> SysResult {
    Ok(thread::MAIN_TID as i64)
}

pub fn sys_gettid(_f: &mut SyscallFrame) -> SysResult {
    Ok(sched::current().tid as i64)
}

pub fn sys_getppid(_f: &mut SyscallFrame) -> SysResult {
    Ok(0)
}

/// The service runs as root: every user and group id is 0.
pub fn sys_getid(_f: &mut SyscallFrame) -> SysResult {
    Ok(0)
}

/// Changing to another user is refused: there is only root.
pub fn sys_setid(f: &mut SyscallFrame) -> SysResult {
    if f.arg(0) as u32 == 0 {
        Ok(0)
    } else {
        Err(Errno::EPERM)
    }
}

/// Linux's limit on the supplementary group list (NGROUPS_MAX).
const NGROUPS_MAX: u32 = 65536;

/// How many supplementary groups the service has; each is group 0, the only group there is.
static SUPPLEMENTARY_GROUPS: AtomicUsize = AtomicUsize::new(0);

pub fn sys_getgroups(f: &mut SyscallFrame) -> SysResult {
    let (size, list) = (f.arg(0) as i32, f.arg(1));
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let count = SUPPLEMENTARY_GROUPS.load(Ordering::Relaxed);
    if size == 0 {
        return Ok(count as i64);
    }
    if (size as usize) < count {
        return Err(Errno::EINVAL);
    }
    uaccess::check_range(list, count as u64 * 4)?;
    uaccess::fill(list, count as u64 * 4, 0)?;
    Ok(count as i64)
}

/// Daemons started as root drop their supplementary groups (`setgroups(0, NULL)`) or set root's
/// (`initgroups("root", 0)`); any group other than 0 is refused, as setgid's.
pub fn sys_setgroups(f: &mut SyscallFrame) -> SysResult {
    let (size, list) = (f.arg(0) as u32, f.arg(1));
    if size > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    let mut chunk = [0u8; 1024];
    let mut done = 0usize;
    let total = size as usize * 4;
    while done < total {
        let n = chunk.len().min(total - done);
        uaccess::read_exact(list + done as u64, &mut chunk[..n])?;
        if chunk[..n].iter().any(|&byte| byte != 0) {
            return Err(Errno::EPERM);
        }
        done += n;
    }
    SUPPLEMENTARY_GROUPS.store(size as usize, Ordering::Relaxed);
    Ok(0)
}

pub fn sys_setpgid(f: &mut SyscallFrame) -> SysResult {
    let (pid, pgid) = (f.arg(0) as i32, f.arg(1) as i32);
    let me = thread::MAIN_TID as i32;
    if pid != 0 && pid != me {
        return Err(Errno::ESRCH);
    }
    if pgid != 0 && pgid != me {
        return Err(Errno::EPERM);
    }
    Ok(0)
}

pub fn sys_setsid(_f: &mut SyscallFrame) -> SysResult {
    Err(Errno::EPERM)
}

static HOSTNAME: spin::Once<alloc::string::String> = spin::Once::new();

pub fn set_hostname(name: &str) {
    HOSTNAME.call_once(|| name.into());
}

/// The host name uname reports (also /proc/sys/kernel/hostname, /etc/hosts).
pub fn hostname() -> &'static str {
    HOSTNAME.get().map(|s| s.as_str()).unwrap_or("ferrite")
}

/// The kernel release uname reports (also /proc/sys/kernel/osrelease).
pub const RELEASE: &str = "6.1.0-ferrite";
const VERSION: &str = concat!("#1 SMP Ferrite ", env!("CARGO_PKG_VERSION"));

/// /proc/version's line.
pub fn version_line() -> alloc::string::String {
    alloc::format!("Linux version {RELEASE} (ferrite@ferrite) (rustc) {VERSION}")
}

fn fill(field: &mut [core::ffi::c_char], text: &str) {
    let room = field.len() - 1;
    for (slot, b) in field.iter_mut().zip(text.bytes().take(room)) {
        *slot = b as core::ffi::c_char;
    }
}

pub fn sys_uname(f: &mut SyscallFrame) -> SysResult {
    let mut u = abi::utsname::default();
    fill(&mut u.sysname, "Linux");
    fill(&mut u.nodename, hostname());
    fill(&mut u.release, RELEASE);
    fill(&mut u.version, VERSION);
    fill(&mut u.machine, "x86_64");
    fill(&mut u.domainname, "(none)");
    uaccess::write(f.arg(0), &u)?;
    Ok(0)
}

pub fn sys_sysinfo(f: &mut SyscallFrame) -> SysResult {
    #[cfg(target_os = "none")]
    let (total, free) = {
        let s = ferrite_libos::mm::stats();
        (s.total_frames * 4096, s.free_frames * 4096)
    };
    #[cfg(not(target_os = "none"))]
    let (total, free) = (0u64, 0u64);
    let info = abi::sysinfo {
        uptime: (super::time::monotonic_ns() / 1_000_000_000) as _,
        totalram: total,
        freeram: free,
        procs: 1,
        mem_unit: 1,
        ..Default::default()
    };
    uaccess::write(f.arg(0), &info)?;
    Ok(0)
}

const RLIMIT_COUNT: usize = 16;
const INFINITY: u64 = u64::MAX;

static LIMITS: IrqMutex<[abi::rlimit; RLIMIT_COUNT]> = IrqMutex::new({
    let mut l = [abi::rlimit {
        rlim_cur: INFINITY,
        rlim_max: INFINITY,
    }; RLIMIT_COUNT];
    l[abi::RLIMIT_CORE as usize] = abi::rlimit {
        rlim_cur: 0,
        rlim_max: INFINITY,
    };
    l[abi::RLIMIT_STACK as usize] = abi::rlimit {
        rlim_cur: 8 << 20,
        rlim_max: INFINITY,
    };
    l[abi::RLIMIT_NOFILE as usize] = abi::rlimit {
        rlim_cur: 1024,
        rlim_max: 4096,
    };
    l[abi::RLIMIT_MEMLOCK as usize] = abi::rlimit {
        rlim_cur: 8 << 20,
        rlim_max: 8 << 20,
    };
    l[abi::RLIMIT_SIGPENDING as usize] = abi::rlimit {
        rlim_cur: 64,
        rlim_max: 64,
    };
    l[abi::RLIMIT_MSGQUEUE as usize] = abi::rlimit {
        rlim_cur: 819_200,
        rlim_max: 819_200,
    };
    l[abi::RLIMIT_NICE as usize] = abi::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    l[abi::RLIMIT_RTPRIO as usize] = abi::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    l
});

/// The current soft limit of `resource`.
pub fn soft_limit(resource: u32) -> u64 {
    LIMITS
        .lock()
        .get(resource as usize)
        .map(|l| l.rlim_cur)
        .unwrap_or(INFINITY)
}

fn prlimit(resource: u64, new: u64, old: u64) -> SysResult {
    let resource = resource as usize;
    if resource >= RLIMIT_COUNT {
        return Err(Errno::EINVAL);
    }
    let new_limit = if new != 0 {
        let l: abi::rlimit = uaccess::read(new)?;
        if l.rlim_cur > l.rlim_max {
            return Err(Errno::EINVAL);
        }
        Some(l)
    } else {
        None
    };
    let previous = LIMITS.lock()[resource];
    if old != 0 {
        uaccess::write(old, &previous)?;
    }
    if let Some(l) = new_limit {
        LIMITS.lock()[resource] = l;
    }
    Ok(0)
}

pub fn sys_getrlimit(f: &mut SyscallFrame) -> SysResult {
    prlimit(f.arg(0), 0, f.arg(1))
}

pub fn sys_setrlimit(f: &mut SyscallFrame) -> SysResult {
    prlimit(f.arg(0), f.arg(1), 0)
}

pub fn sys_prlimit64(f: &mut SyscallFrame) -> SysResult {
    let pid = f.arg(0) as i32;
    if pid != 0 && pid != thread::MAIN_TID as i32 {
        return Err(Errno::ESRCH);
    }
    prlimit(f.arg(1), f.arg(2), f.arg(3))
}

/// CPUs that are up.
pub fn online_cpus() -> u32 {
    sched::cpu_count() as u32
}

fn target_thread(pid: i32) -> Result<alloc::sync::Arc<ferrite_smp::thread::Thread>, Errno> {
    if pid == 0 {
        Ok(sched::current_arc())
    } else {
        thread::find(pid as u32).ok_or(Errno::ESRCH)
    }
}

/// Bytes of a CPU mask as the kernel reports it: whole longs covering the possible CPUs.
fn mask_bytes() -> u64 {
    (sched::MAX_CPUS as u64).div_ceil(64) * 8
}

pub fn sys_sched_getaffinity(f: &mut SyscallFrame) -> SysResult {
    let (pid, len, mask) = (f.arg(0) as i32, f.arg(1), f.arg(2));
    let target = target_thread(pid)?;
    let needed = mask_bytes();
    if len < needed || len % 8 != 0 {
        return Err(Errno::EINVAL);
    }
    let affinity = target.affinity.load(Ordering::Relaxed) & sched::online_mask();
    let mut out = alloc::vec![0u8; needed as usize];
    out[..8].copy_from_slice(&affinity.to_le_bytes());
    uaccess::write_exact(mask, &out)?;
    Ok(needed as i64)
}

pub fn sys_sched_setaffinity(f: &mut SyscallFrame) -> SysResult {
    let (pid, len, mask) = (f.arg(0) as i32, f.arg(1), f.arg(2));
    let target = target_thread(pid)?;
    let mut bytes = alloc::vec![0u8; len.min(mask_bytes()) as usize];
    uaccess::read_exact(mask, &mut bytes)?;
    let mut word = [0u8; 8];
    let n = bytes.len().min(8);
    word[..n].copy_from_slice(&bytes[..n]);
    let requested = u64::from_le_bytes(word) & sched::online_mask();
    if requested == 0 {
        return Err(Errno::EINVAL);
    }
    target.affinity.store(requested, Ordering::Relaxed);
    // The caller may have to move: reschedule so it continues on an allowed CPU.
    if core::ptr::eq(alloc::sync::Arc::as_ptr(&target), sched::current())
        && requested & (1 << sched::this_cpu()) == 0
    {
        sched::yield_now();
    }
    Ok(0)
}

pub fn sys_getcpu(f: &mut SyscallFrame) -> SysResult {
    let cpu = sched::this_cpu() as u32;
    if f.arg(0) != 0 {
        uaccess::write(f.arg(0), &cpu)?;
    }
    if f.arg(1) != 0 {
        uaccess::write(f.arg(1), &0u32)?;
    }
    Ok(0)
}

pub fn sys_getrandom(f: &mut SyscallFrame) -> SysResult {
    let (buf, len, flags) = (f.arg(0), f.arg(1), f.arg(2) as u32);
    if flags & !(abi::GRND_NONBLOCK | abi::GRND_RANDOM | abi::GRND_INSECURE) != 0 {
        return Err(Errno::EINVAL);
    }
    uaccess::check_range(buf, len)?;
    // Linux returns at most 32 MiB - 1 per call; callers loop.
    let len = len.min((1 << 25) - 1);
    // A block at a time, as Linux: a buffer that runs into an inaccessible page gets the bytes
    // before it (a short count), EFAULT when there are none.
    let mut block = [0u8; 256];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(block.len() as u64) as usize;
        ferrite_libos::random::fill(&mut block[..n]);
        let copied = uaccess::copy_to(buf + done, &block[..n]);
        done += copied as u64;
        if copied < n {
            break;
        }
    }
    block.fill(0);
    if done == 0 && len > 0 {
        return Err(Errno::EFAULT);
    }
    Ok(done as i64)
}
