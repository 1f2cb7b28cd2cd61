//! /proc and /sys: synthetic file systems whose files are generated when opened, from the
//! kernel's own state (the scheduler, the memory areas, the frame allocator, CPUID, the fd
//! table). There is one process, pid 1: /proc/self links to /proc/1.
//!
//! Formats are Linux's (see `text` and `cpuinfo`); what is not tracked reads as 0. The CPU
//! counts in /proc/cpuinfo, /proc/stat and /sys/devices/system/cpu/{online,possible,present}
//! are the CPUs the scheduler runs on, as sched_getaffinity reports them.

#[path = "procfs/cpuinfo.rs"]
pub mod cpuinfo;
#[path = "procfs/text.rs"]
pub mod text;
#[path = "procfs/tree.rs"]
pub mod tree;

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use ferrite_smp::{sched, thread};

use crate::abi;
use crate::errno::Errno;
use crate::fs::vfs::FileType;
use tree::{Body, DynamicDir, Fs, Node};

pub use tree::magic_link_target;

/// What the boot sequence knows about the process, recorded for /proc/self.
#[derive(Clone, Debug, Default)]
pub struct ProcessFacts {
    /// The image's name (argv[0]): /proc/self/exe is "/<name>".
    pub name: String,
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// The main thread's stack area [start, end).
    pub stack: (u64, u64),
    /// Usable RAM reported by the boot loader.
    pub ram_bytes: u64,
}

static FACTS: spin::Once<ProcessFacts> = spin::Once::new();
/// Monotonic nanoseconds when the process started (the hand-off to `_start`).
static START_NS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Record the process's facts at boot, and give the main thread its name (Linux's comm: the
/// first 15 bytes of the executable's name).
pub fn record_process(facts: ProcessFacts) {
    START_NS.store(
        crate::syscalls::time::monotonic_ns(),
        core::sync::atomic::Ordering::Relaxed,
    );
    if let Some(main) = thread::find(thread::MAIN_TID) {
        let base = facts.name.rsplit('/').next().unwrap_or("").as_bytes();
        let mut name = [0u8; 16];
        let n = base.len().min(15);
        name[..n].copy_from_slice(&base[..n]);
        main.posix.lock().name = name;
    }
    FACTS.call_once(|| facts);
}

fn facts() -> ProcessFacts {
    FACTS.get().cloned().unwrap_or_default()
}

/// The wall-clock time at boot (the times of /proc, /sys and /dev entries).
pub fn boot_timespec() -> abi::timespec {
    let now = crate::fs::tmpfs::now();
    let up = crate::syscalls::time::monotonic_ns();
    let boot_ns = (now.sec as u64 * 1_000_000_000 + now.nsec as u64).saturating_sub(up);
    abi::timespec {
        tv_sec: (boot_ns / 1_000_000_000) as i64,
        tv_nsec: 0,
    }
}

// ------------------------------------------------------------------------------------------------
// Gathering kernel state

fn online_mask() -> u64 {
    sched::online_mask()
}

fn main_thread() -> Option<Arc<thread::Thread>> {
    thread::find(thread::MAIN_TID)
}

fn comm() -> String {
    let name = main_thread()
        .map(|t| t.posix.lock().name)
        .unwrap_or([0; 16]);
    let end = name.iter().position(|&b| b == 0).unwrap_or(16);
    String::from_utf8_lossy(&name[..end]).into_owned()
}

/// Every live thread's (id, running now), in id order. (`find_first` holds the thread table's
/// lock for the walk; `try_for_each` would give up when another CPU holds it.)
fn threads() -> Vec<(u32, bool)> {
    let seen = core::cell::RefCell::new(Vec::new());
    thread::find_first(|t| {
        seen.borrow_mut()
            .push((t.tid, t.state() == thread::State::Running));
        false
    });
    seen.into_inner()
}

/// (threads alive, running now, highest thread id)
fn thread_counts() -> (usize, usize, u32) {
    let list = threads();
    let running = list.iter().filter(|t| t.1).count();
    let last = list.iter().map(|t| t.0).max().unwrap_or(thread::MAIN_TID);
    (list.len().max(1), running.max(1), last)
}

#[cfg(target_os = "none")]
fn memory_totals() -> text::MemInfo {
    let s = ferrite_libos::mm::stats();
    let free = s.free_frames * 4096;
    let total = match facts().ram_bytes {
        0 => s.total_frames * 4096,
        bytes => {
            bytes
                - (ferrite_libos::mm::image_layout().end - ferrite_libos::mm::image_layout().start)
        }
    };
    text::MemInfo {
        total: total.max(free),
        free,
        shmem: 0,
    }
}

#[cfg(not(target_os = "none"))]
fn memory_totals() -> text::MemInfo {
    text::MemInfo {
        total: 128 << 20,
        free: 100 << 20,
        shmem: 0,
    }
}

/// The image's parts as (start, end, read, write, exec).
#[cfg(target_os = "none")]
fn image_parts() -> Vec<(u64, u64, bool, bool, bool)> {
    let l = ferrite_libos::mm::image_layout();
    alloc::vec![
        (l.start, l.text_end, true, false, true),
        (l.rodata_start, l.data_start, true, false, false),
        (l.data_start, l.data_end, true, true, false),
        (l.data_end, l.end, true, false, false),
    ]
}

#[cfg(not(target_os = "none"))]
fn image_parts() -> Vec<(u64, u64, bool, bool, bool)> {
    alloc::vec![(0x10_0000, 0x20_0000, true, false, true)]
}

fn process_info() -> text::ProcessInfo {
    let f = facts();
    let (threads, _, _) = thread_counts();
    let main = main_thread();
    let (pending, blocked, affinity) = main
        .as_ref()
        .map(|t| {
            let p = t.posix.lock();
            let affinity = t.affinity.load(core::sync::atomic::Ordering::Relaxed);
            (p.pending_signals, p.signal_mask, affinity)
        })
        .unwrap_or((0, 0, u64::MAX));
    let (area_bytes, _, _) = crate::syscalls::memory::area_totals();
    let brk = crate::syscalls::memory::break_bytes();
    let image: u64 = image_parts().iter().map(|p| p.1 - p.0).sum();
    let exe = image_parts().first().map(|p| p.1 - p.0).unwrap_or(0);
    let mem = memory_totals();
    let used = mem.total.saturating_sub(mem.free);
    text::ProcessInfo {
        name: comm(),
        pid: thread::MAIN_TID,
        tid: thread::MAIN_TID,
        threads,
        affinity: affinity & online_mask(),
        sig_pending: pending,
        sig_blocked: blocked,
        vm_size_kb: (area_bytes + brk + image) / 1024,
        vm_rss_kb: used / 1024,
        vm_data_kb: (area_bytes + brk) / 1024,
        vm_stack_kb: (f.stack.1 - f.stack.0) / 1024,
        vm_exe_kb: exe / 1024,
        fd_slots: crate::fs::fdtable::open_count()
            .next_multiple_of(64)
            .max(64),
        utime_ns: thread::process_cpu_time_ns(),
        start_ns: START_NS.load(core::sync::atomic::Ordering::Relaxed),
        processor: sched::this_cpu(),
        code: image_parts().first().map(|p| (p.0, p.1)).unwrap_or((0, 0)),
        stack_start: f.stack.1,
        brk: (
            crate::syscalls::memory::BRK_BASE,
            crate::syscalls::memory::BRK_BASE + brk,
        ),
    }
}

fn maps_lines() -> Vec<text::MapLine> {
    let f = facts();
    let exe = alloc::format!("/{}", f.name);
    let image_start = image_parts().first().map(|p| p.0).unwrap_or(0);
    let mut lines: Vec<text::MapLine> = image_parts()
        .into_iter()
        .filter(|p| p.1 > p.0)
        .map(|(start, end, read, write, exec)| text::MapLine {
            start,
            end: end.next_multiple_of(4096),
            read,
            write,
            exec,
            shared: false,
            offset: start - image_start,
            dev: (0, 0),
            inode: 0,
            name: exe.clone(),
        })
        .collect();
    let (areas, brk) = crate::syscalls::memory::areas_snapshot();
    let heap_end = brk.next_multiple_of(4096);
    let heap = crate::syscalls::memory::BRK_BASE;
    let mut pending_heap = heap_end > heap;
    for a in areas {
        if pending_heap && a.start > heap {
            lines.push(anonymous(heap, heap_end, 3, "[heap]"));
            pending_heap = false;
        }
        let name = if a.start <= f.stack.0 && f.stack.1 <= a.end {
            "[stack]"
        } else {
            ""
        };
        lines.push(anonymous(a.start, a.end, a.prot, name));
    }
    if pending_heap {
        lines.push(anonymous(heap, heap_end, 3, "[heap]"));
    }
    lines.sort_by_key(|l| l.start);
    lines
}

fn anonymous(start: u64, end: u64, prot: u32, name: &str) -> text::MapLine {
    text::MapLine {
        start,
        end,
        read: prot & 1 != 0,
        write: prot & 2 != 0,
        exec: prot & 4 != 0,
        shared: false,
        offset: 0,
        dev: (0, 0),
        inode: 0,
        name: name.to_string(),
    }
}

#[cfg(target_os = "none")]
fn cpuinfo_text() -> String {
    use ferrite_libos::arch::{cpu, fpu, percpu};
    let count = sched::cpu_count();
    let cpus: Vec<cpuinfo::CpuEntry> = (0..count)
        .filter(|i| online_mask() & (1 << i) != 0)
        .map(|index| cpuinfo::CpuEntry {
            index,
            apic_id: percpu::get(index)
                .map(|p| p.apic_id.load(core::sync::atomic::Ordering::Relaxed))
                .unwrap_or(index as u32),
        })
        .collect();
    cpuinfo::cpuinfo(
        &cpu::cpuid,
        &cpuinfo::Machine {
            cpus: cpus.len(),
            tsc_hz: ferrite_libos::time::tsc_hz(),
            xcr0: fpu::xsave_mask(),
        },
        &cpus,
    )
}

#[cfg(not(target_os = "none"))]
fn cpuinfo_text() -> String {
    let cpus: Vec<cpuinfo::CpuEntry> = (0..sched::cpu_count())
        .map(|index| cpuinfo::CpuEntry {
            index,
            apic_id: index as u32,
        })
        .collect();
    cpuinfo::cpuinfo(
        &|_, _| [0; 4],
        &cpuinfo::Machine {
            cpus: cpus.len(),
            tsc_hz: 1_000_000_000,
            xcr0: 3,
        },
        &cpus,
    )
}

/// Busy and idle time per CPU: idle is the CPU's idle thread's run time, busy the rest of the
/// time since boot (the service and the kernel share it; it is reported as user time).
fn system_stat() -> text::SystemStat {
    let up = crate::syscalls::time::monotonic_ns();
    let cpus = (0..sched::cpu_count().max(1))
        .map(|cpu| {
            let idle = sched::idle_time_ns(cpu).min(up);
            text::CpuTimes {
                busy_ns: up - idle,
                idle_ns: idle,
            }
        })
        .collect();
    let (_, running, last) = thread_counts();
    text::SystemStat {
        total: None,
        cpus,
        boot_time_s: boot_timespec().tv_sec as u64,
        threads_created: last as u64,
        running,
    }
}

fn idle_ns() -> u64 {
    system_stat().cpus.iter().map(|c| c.idle_ns).sum()
}

fn hostname() -> String {
    crate::syscalls::info::hostname().to_string()
}

fn cpu_range() -> Vec<u8> {
    let mut s = text::cpu_list(online_mask());
    s.push('\n');
    s.into_bytes()
}

/// The file systems mounted at boot, parents first.
const MOUNTS: [text::Mount<'static>; 5] = [
    text::Mount {
        source: "rootfs",
        target: "/",
        fstype: "tmpfs",
        options: "rw",
    },
    text::Mount {
        source: "devtmpfs",
        target: "/dev",
        fstype: "devtmpfs",
        options: "rw,nosuid",
    },
    text::Mount {
        source: "tmpfs",
        target: "/dev/shm",
        fstype: "tmpfs",
        options: "rw,nosuid,nodev",
    },
    text::Mount {
        source: "proc",
        target: "/proc",
        fstype: "proc",
        options: "rw,nosuid,nodev,noexec",
    },
    text::Mount {
        source: "sysfs",
        target: "/sys",
        fstype: "sysfs",
        options: "ro,nosuid,nodev,noexec",
    },
];

fn mounts_text() -> Vec<u8> {
    text::mounts(&MOUNTS).into_bytes()
}

/// /proc/self/mountinfo: each mount's id, its parent's, and the device of its root.
fn mountinfo_text() -> Vec<u8> {
    let devs: Vec<u64> = MOUNTS
        .iter()
        .map(|m| {
            crate::fs::vfs::lookup_path(m.target)
                .and_then(|i| i.stat())
                .map(|st| st.st_dev)
                .unwrap_or(0)
        })
        .collect();
    text::mountinfo(&MOUNTS, &devs).into_bytes()
}

fn line(s: impl Into<String>) -> Vec<u8> {
    let mut s = s.into();
    s.push('\n');
    s.into_bytes()
}

// ------------------------------------------------------------------------------------------------
// /proc/self/fd

/// /proc/self/fd: one link per open descriptor, listed and looked up from the fd table.
struct FdDir;

impl DynamicDir for FdDir {
    fn list(&self) -> Vec<(u64, FileType)> {
        let mut fds: Vec<(u64, FileType)> = crate::fs::fdtable::snapshot()
            .into_iter()
            .map(|(fd, _)| (fd as u64, FileType::Symlink))
            .collect();
        fds.sort_unstable_by_key(|e| e.0);
        fds
    }

    fn lookup(&self, number: u64, _fs: &Arc<Fs>) -> Option<Body> {
        let fd = i32::try_from(number).ok()?;
        crate::fs::fdtable::get(fd).ok()?;
        Some(Body::Fd(fd))
    }
}

/// /proc/self/task: one directory per thread, with its comm (writable: musl's
/// pthread_setname_np for another thread writes it), stat and status.
struct TaskDir;

impl DynamicDir for TaskDir {
    fn list(&self) -> Vec<(u64, FileType)> {
        threads()
            .into_iter()
            .map(|(tid, _)| (tid as u64, FileType::Directory))
            .collect()
    }

    fn lookup(&self, number: u64, fs: &Arc<Fs>) -> Option<Body> {
        let tid = u32::try_from(number).ok()?;
        thread::find(tid)?;
        let per_thread = |format: fn(&text::ProcessInfo) -> String| -> tree::GenerateWith {
            Arc::new(move || {
                let mut p = process_info();
                p.tid = tid;
                p.name = tree::thread_name(tid).unwrap_or_default();
                format(&p).into_bytes()
            })
        };
        let children = alloc::vec![
            ("comm".to_string(), Node::new(fs, 0o644, Body::Comm(tid))),
            (
                "stat".to_string(),
                Node::new(fs, 0o444, Body::FileWith(per_thread(text::stat)))
            ),
            (
                "status".to_string(),
                Node::new(fs, 0o444, Body::FileWith(per_thread(text::status)))
            ),
        ];
        Some(Body::Dir(children))
    }
}

// ------------------------------------------------------------------------------------------------
// The trees

fn named(list: Vec<(&str, Arc<Node>)>) -> Vec<(String, Arc<Node>)> {
    list.into_iter()
        .map(|(n, node)| (String::from(n), node))
        .collect()
}

/// /proc/1.
fn process_entries(fs: &Arc<Fs>) -> Vec<(String, Arc<Node>)> {
    let cwd = || crate::fs::vfs::path_of(&crate::fs::vfs::cwd()).unwrap_or_else(|_| "/".into());
    named(alloc::vec![
        ("cgroup", Node::file(fs, || line("0::/"))),
        (
            "cmdline",
            Node::file(fs, || text::nul_separated(&facts().args))
        ),
        ("comm", Node::file(fs, || line(comm()))),
        ("cwd", Node::link(fs, cwd)),
        (
            "environ",
            Node::file(fs, || text::nul_separated(&facts().env))
        ),
        (
            "exe",
            Node::link(fs, || alloc::format!("/{}", facts().name))
        ),
        ("fd", Node::new(fs, 0o500, Body::Dynamic(Box::new(FdDir)))),
        (
            "maps",
            Node::file(fs, || text::maps(&maps_lines()).into_bytes())
        ),
        ("mountinfo", Node::file(fs, mountinfo_text)),
        ("mounts", Node::file(fs, mounts_text)),
        ("root", Node::link(fs, || "/".into())),
        (
            "stat",
            Node::file(fs, || text::stat(&process_info()).into_bytes())
        ),
        (
            "status",
            Node::file(fs, || text::status(&process_info()).into_bytes())
        ),
        (
            "task",
            Node::new(fs, 0o555, Body::Dynamic(Box::new(TaskDir)))
        ),
    ])
}

/// /proc/sys.
fn sysctl_entries(fs: &Arc<Fs>) -> Vec<(String, Arc<Node>)> {
    let kernel = Node::dir(
        fs,
        alloc::vec![
            ("hostname", Node::file(fs, || line(hostname()))),
            (
                "osrelease",
                Node::file(fs, || line(crate::syscalls::info::RELEASE))
            ),
            ("ostype", Node::file(fs, || line("Linux"))),
            ("pid_max", Node::file(fs, || line("4194304"))),
        ],
    );
    let somaxconn = Node::file(fs, || line("4096"));
    let net = Node::dir(
        fs,
        alloc::vec![("core", Node::dir(fs, alloc::vec![("somaxconn", somaxconn)]))],
    );
    let vm = Node::dir(
        fs,
        alloc::vec![("overcommit_memory", Node::file(fs, || line("0")))],
    );
    named(alloc::vec![("kernel", kernel), ("net", net), ("vm", vm)])
}

/// /proc.
fn proc_entries(fs: &Arc<Fs>) -> Vec<(String, Arc<Node>)> {
    let loadavg = || {
        let (threads, running, last) = thread_counts();
        text::loadavg(running, threads, last).into_bytes()
    };
    let uptime = || text::uptime(crate::syscalls::time::monotonic_ns(), idle_ns()).into_bytes();
    let thread_self = || alloc::format!("{}/task/{}", thread::MAIN_TID, sched::current().tid);
    let mut entries = named(alloc::vec![
        ("cpuinfo", Node::file(fs, || cpuinfo_text().into_bytes())),
        ("loadavg", Node::file(fs, loadavg)),
        (
            "meminfo",
            Node::file(fs, || text::meminfo(&memory_totals()).into_bytes())
        ),
        ("mounts", Node::link(fs, || "self/mounts".into())),
        ("self", Node::link(fs, || thread::MAIN_TID.to_string())),
        (
            "stat",
            Node::file(fs, || text::system_stat(&system_stat()).into_bytes())
        ),
        ("sys", Node::lazy_dir(fs, 0o555, sysctl_entries)),
        ("thread-self", Node::link(fs, thread_self)),
        ("uptime", Node::file(fs, uptime)),
        (
            "version",
            Node::file(fs, || line(crate::syscalls::info::version_line()))
        ),
    ]);
    entries.insert(
        0,
        (
            thread::MAIN_TID.to_string(),
            Node::lazy_dir(fs, 0o555, process_entries),
        ),
    );
    entries
}

/// /sys.
fn sys_entries(fs: &Arc<Fs>) -> Vec<(String, Arc<Node>)> {
    let mut cpu: Vec<(String, Arc<Node>)> = (0..sched::cpu_count())
        .map(|i| (alloc::format!("cpu{i}"), Node::dir(fs, alloc::vec![])))
        .collect();
    cpu.push(("online".into(), Node::file(fs, cpu_range)));
    cpu.push(("possible".into(), Node::file(fs, cpu_range)));
    cpu.push(("present".into(), Node::file(fs, cpu_range)));
    let cpu = Node::new(fs, 0o755, Body::Dir(cpu));
    let system = Node::dir(fs, alloc::vec![("cpu", cpu)]);
    named(alloc::vec![(
        "devices",
        Node::dir(fs, alloc::vec![("system", system)])
    )])
}

/// Mount /proc and /sys (their entries are made on first use).
pub fn mount() -> Result<(), Errno> {
    let proc = Node::lazy_dir(&Fs::new(tree::PROC_SUPER_MAGIC), 0o555, proc_entries);
    crate::fs::vfs::mount("/proc", proc)?;
    let sys = Node::lazy_dir(&Fs::new(tree::SYSFS_MAGIC), 0o555, sys_entries);
    crate::fs::vfs::mount("/sys", sys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sys_cpu_range_matches_the_scheduler() {
        assert_eq!(
            String::from_utf8(cpu_range()).unwrap(),
            alloc::format!("{}\n", text::cpu_list(online_mask()))
        );
    }
}
