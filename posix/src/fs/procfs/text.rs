//! The text of /proc and /sys files in Linux's formats, from plain snapshots of kernel state
//! (gathered in procfs.rs), so the formatting is unit-tested on the host.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// USER_HZ: the unit of the times in /proc/stat and /proc/self/stat.
pub const USER_HZ: u64 = 100;

pub fn ns_to_ticks(ns: u64) -> u64 {
    ns / (1_000_000_000 / USER_HZ)
}

/// A CPU set as Linux prints lists ("0-3", "0,2-5", "" for none).
pub fn cpu_list(mask: u64) -> String {
    let mut out = String::new();
    let mut cpu = 0;
    while cpu < 64 {
        if mask & (1 << cpu) == 0 {
            cpu += 1;
            continue;
        }
        let first = cpu;
        while cpu + 1 < 64 && mask & (1 << (cpu + 1)) != 0 {
            cpu += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if first == cpu {
            let _ = write!(out, "{first}");
        } else {
            let _ = write!(out, "{first}-{cpu}");
        }
        cpu += 1;
    }
    out
}

/// A CPU set as a hex mask (Cpus_allowed: in /proc/self/status).
pub fn cpu_mask_hex(mask: u64) -> String {
    alloc::format!("{mask:x}")
}

/// One area of the address space, for /proc/self/maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapLine {
    pub start: u64,
    pub end: u64,
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    pub shared: bool,
    pub offset: u64,
    pub dev: (u32, u32),
    pub inode: u64,
    /// A path, "[heap]", "[stack]", or empty for anonymous memory.
    pub name: String,
}

/// /proc/self/maps: Linux's `show_map_vma` layout, names padded to column 73.
pub fn maps(lines: &[MapLine]) -> String {
    let mut out = String::new();
    for l in lines {
        let begin = out.len();
        let _ = write!(
            out,
            "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
            l.start,
            l.end,
            if l.read { 'r' } else { '-' },
            if l.write { 'w' } else { '-' },
            if l.exec { 'x' } else { '-' },
            if l.shared { 's' } else { 'p' },
            l.offset,
            l.dev.0,
            l.dev.1,
            l.inode
        );
        if !l.name.is_empty() {
            // seq_setwidth(25 + 6 * sizeof(void *) - 1) then seq_pad(' ').
            while out.len() - begin < 72 {
                out.push(' ');
            }
            out.push(' ');
            out.push_str(&l.name);
        }
        out.push('\n');
    }
    out
}

/// What /proc/self/status and /proc/self/stat report about the process.
#[derive(Clone, Debug, Default)]
pub struct ProcessInfo {
    pub name: String,
    pub pid: u32,
    /// The thread shown (the process's files show the main thread, whose id is the pid).
    pub tid: u32,
    pub threads: usize,
    /// The main thread's CPU affinity (already limited to online CPUs).
    pub affinity: u64,
    pub sig_pending: u64,
    pub sig_blocked: u64,
    pub vm_size_kb: u64,
    pub vm_rss_kb: u64,
    pub vm_data_kb: u64,
    pub vm_stack_kb: u64,
    pub vm_exe_kb: u64,
    pub fd_slots: usize,
    pub utime_ns: u64,
    /// Nanoseconds from boot to the start of the process.
    pub start_ns: u64,
    pub processor: usize,
    pub code: (u64, u64),
    pub stack_start: u64,
    pub brk: (u64, u64),
}

/// /proc/self/status, in Linux's field order (fields not tracked here read as 0).
pub fn status(p: &ProcessInfo) -> String {
    let mut s = String::new();
    let kb = |s: &mut String, label: &str, v: u64| {
        let _ = writeln!(s, "{label}:\t{v:>8} kB");
    };
    let _ = writeln!(s, "Name:\t{}", p.name);
    s.push_str("Umask:\t0022\nState:\tR (running)\n");
    let _ = writeln!(
        s,
        "Tgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t0\nTracerPid:\t0",
        p.pid, p.tid
    );
    s.push_str("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
    let _ = writeln!(s, "FDSize:\t{}\nGroups:\t", p.fd_slots);
    s.push_str("NStgid:\t");
    let _ = writeln!(
        s,
        "{}\nNSpid:\t{}\nNSpgid:\t{}\nNSsid:\t{}",
        p.pid, p.tid, p.pid, p.pid
    );
    kb(&mut s, "VmPeak", p.vm_size_kb);
    kb(&mut s, "VmSize", p.vm_size_kb);
    kb(&mut s, "VmLck", 0);
    kb(&mut s, "VmPin", 0);
    kb(&mut s, "VmHWM", p.vm_rss_kb);
    kb(&mut s, "VmRSS", p.vm_rss_kb);
    kb(&mut s, "RssAnon", p.vm_rss_kb.saturating_sub(p.vm_exe_kb));
    kb(&mut s, "RssFile", p.vm_exe_kb);
    kb(&mut s, "RssShmem", 0);
    kb(&mut s, "VmData", p.vm_data_kb);
    kb(&mut s, "VmStk", p.vm_stack_kb);
    kb(&mut s, "VmExe", p.vm_exe_kb);
    kb(&mut s, "VmLib", 0);
    kb(&mut s, "VmPTE", 0);
    kb(&mut s, "VmSwap", 0);
    s.push_str("HugetlbPages:\t       0 kB\nCoreDumping:\t0\nTHP_enabled:\t1\n");
    let _ = writeln!(s, "Threads:\t{}", p.threads);
    s.push_str("SigQ:\t0/0\n");
    let _ = writeln!(
        s,
        "SigPnd:\t{:016x}\nShdPnd:\t{:016x}\nSigBlk:\t{:016x}\nSigIgn:\t{:016x}\nSigCgt:\t{:016x}",
        p.sig_pending, 0, p.sig_blocked, 0, 0
    );
    s.push_str(
        "CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n\
         CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\n\
         Seccomp_filters:\t0\nSpeculation_Store_Bypass:\tnot vulnerable\n",
    );
    let _ = writeln!(
        s,
        "Cpus_allowed:\t{}\nCpus_allowed_list:\t{}",
        cpu_mask_hex(p.affinity),
        cpu_list(p.affinity)
    );
    s.push_str("Mems_allowed:\t1\nMems_allowed_list:\t0\n");
    s.push_str("voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n");
    s
}

/// /proc/self/stat: the 52 fields of `do_task_stat`.
pub fn stat(p: &ProcessInfo) -> String {
    let rss_pages = p.vm_rss_kb / 4;
    let fields: [u64; 49] = [
        0,                       // ppid
        p.pid as u64,            // pgrp
        p.pid as u64,            // session
        0,                       // tty_nr
        u64::MAX,                // tpgid (-1, printed below)
        0x0040_0100,             // flags: PF_RANDOMIZE | PF_SUPERPRIV... as a plain process
        0,                       // minflt
        0,                       // cminflt
        0,                       // majflt
        0,                       // cmajflt
        ns_to_ticks(p.utime_ns), // utime
        0,                       // stime
        0,                       // cutime
        0,                       // cstime
        20,                      // priority
        0,                       // nice
        p.threads as u64,        // num_threads
        0,                       // itrealvalue
        ns_to_ticks(p.start_ns), // starttime
        p.vm_size_kb * 1024,     // vsize
        rss_pages,               // rss
        u64::MAX,                // rsslim (RLIM_INFINITY)
        p.code.0,                // startcode
        p.code.1,                // endcode
        p.stack_start,           // startstack
        0,                       // kstkesp
        0,                       // kstkeip
        p.sig_pending,           // signal
        p.sig_blocked,           // blocked
        0,                       // sigignore
        0,                       // sigcatch
        0,                       // wchan
        0,                       // nswap
        0,                       // cnswap
        17,                      // exit_signal (SIGCHLD)
        p.processor as u64,      // processor
        0,                       // rt_priority
        0,                       // policy
        0,                       // delayacct_blkio_ticks
        0,                       // guest_time
        0,                       // cguest_time
        0,                       // start_data
        0,                       // end_data
        p.brk.0,                 // start_brk
        0,                       // arg_start
        0,                       // arg_end
        0,                       // env_start
        0,                       // env_end
        0,                       // exit_code
    ];
    let mut s = String::new();
    let _ = write!(s, "{} ({}) R", p.tid, p.name);
    for (i, v) in fields.iter().enumerate() {
        if i == 4 {
            s.push_str(" -1");
        } else {
            let _ = write!(s, " {v}");
        }
    }
    s.push('\n');
    s
}

/// Memory totals for /proc/meminfo, in bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemInfo {
    pub total: u64,
    pub free: u64,
    pub shmem: u64,
}

/// /proc/meminfo: Linux's labels padded to 16 columns and kB values to 8.
pub fn meminfo(m: &MemInfo) -> String {
    let kb = |b: u64| b / 1024;
    let rows: [(&str, u64); 39] = [
        ("MemTotal", kb(m.total)),
        ("MemFree", kb(m.free)),
        ("MemAvailable", kb(m.free)),
        ("Buffers", 0),
        ("Cached", kb(m.shmem)),
        ("SwapCached", 0),
        ("Active", kb(m.total - m.free.min(m.total))),
        ("Inactive", 0),
        ("Active(anon)", kb(m.total - m.free.min(m.total))),
        ("Inactive(anon)", 0),
        ("Active(file)", 0),
        ("Inactive(file)", 0),
        ("Unevictable", 0),
        ("Mlocked", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Zswap", 0),
        ("Zswapped", 0),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", kb(m.total - m.free.min(m.total))),
        ("Mapped", 0),
        ("Shmem", kb(m.shmem)),
        ("KReclaimable", 0),
        ("Slab", 0),
        ("SReclaimable", 0),
        ("SUnreclaim", 0),
        ("KernelStack", 0),
        ("PageTables", 0),
        ("SecPageTables", 0),
        ("NFS_Unstable", 0),
        ("Bounce", 0),
        ("WritebackTmp", 0),
        ("CommitLimit", kb(m.total)),
        ("Committed_AS", kb(m.total - m.free.min(m.total))),
        ("VmallocTotal", 34359738367),
        ("VmallocUsed", 0),
        ("VmallocChunk", 0),
        ("Percpu", 0),
    ];
    let mut s = String::new();
    for (label, v) in rows {
        let _ = writeln!(s, "{:<16}{v:>8} kB", alloc::format!("{label}:"));
    }
    s.push_str(
        "HardwareCorrupted:     0 kB\nAnonHugePages:         0 kB\nShmemHugePages:        0 kB\nShmemPmdMapped:        0 kB\n\
         FileHugePages:         0 kB\nFilePmdMapped:         0 kB\nHugePages_Total:       0\n\
         HugePages_Free:        0\nHugePages_Rsvd:        0\nHugePages_Surp:        0\n\
         Hugepagesize:       2048 kB\nHugetlb:               0 kB\n",
    );
    s
}

/// Time accounting of one CPU for /proc/stat, in nanoseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTimes {
    pub busy_ns: u64,
    pub idle_ns: u64,
}

/// Counters for /proc/stat.
#[derive(Clone, Debug, Default)]
pub struct SystemStat {
    /// The machine's totals when the per-CPU times do not add up to them (not tracked).
    pub total: Option<CpuTimes>,
    pub cpus: Vec<CpuTimes>,
    pub boot_time_s: u64,
    pub threads_created: u64,
    pub running: usize,
}

/// /proc/stat. Busy time is "user" (the kernel and the service share one address space and
/// their time is not told apart), idle time "idle"; the other columns are not tracked (0).
pub fn system_stat(st: &SystemStat) -> String {
    let line = |s: &mut String, label: &str, t: CpuTimes| {
        let _ = writeln!(
            s,
            "{label} {} 0 0 {} 0 0 0 0 0 0",
            ns_to_ticks(t.busy_ns),
            ns_to_ticks(t.idle_ns)
        );
    };
    let mut s = String::new();
    let total = st.total.unwrap_or_else(|| {
        st.cpus.iter().fold(CpuTimes::default(), |a, c| CpuTimes {
            busy_ns: a.busy_ns + c.busy_ns,
            idle_ns: a.idle_ns + c.idle_ns,
        })
    });
    line(&mut s, "cpu ", total);
    for (i, c) in st.cpus.iter().enumerate() {
        line(&mut s, &alloc::format!("cpu{i}"), *c);
    }
    let _ = writeln!(
        s,
        "intr 0\nctxt 0\nbtime {}\nprocesses {}\nprocs_running {}\nprocs_blocked 0\n\
         softirq 0 0 0 0 0 0 0 0 0 0 0",
        st.boot_time_s, st.threads_created, st.running
    );
    s
}

/// /proc/uptime: seconds up and idle seconds summed over CPUs.
pub fn uptime(up_ns: u64, idle_ns: u64) -> String {
    let cs = |ns: u64| ns / 10_000_000;
    alloc::format!(
        "{}.{:02} {}.{:02}\n",
        cs(up_ns) / 100,
        cs(up_ns) % 100,
        cs(idle_ns) / 100,
        cs(idle_ns) % 100
    )
}

/// /proc/loadavg (load averages are not tracked: 0.00).
pub fn loadavg(running: usize, threads: usize, last_pid: u32) -> String {
    alloc::format!("0.00 0.00 0.00 {running}/{threads} {last_pid}\n")
}

/// NUL-terminated words (/proc/self/cmdline, /proc/self/environ).
pub fn nul_separated<S: AsRef<str>>(words: &[S]) -> Vec<u8> {
    let mut out = Vec::new();
    for w in words {
        out.extend_from_slice(w.as_ref().as_bytes());
        out.push(0);
    }
    out
}

/// One mounted file system for /proc/mounts.
pub struct Mount<'a> {
    pub source: &'a str,
    pub target: &'a str,
    pub fstype: &'a str,
    pub options: &'a str,
}

pub fn mounts(list: &[Mount]) -> String {
    let mut s = String::new();
    for m in list {
        let _ = writeln!(
            s,
            "{} {} {} {} 0 0",
            m.source, m.target, m.fstype, m.options
        );
    }
    s
}

/// /proc/self/mountinfo for `list` (parents before children) with each root's `st_dev`: ids
/// from 1 in order, a mount's parent the last earlier mount whose target contains it.
pub fn mountinfo(list: &[Mount], devs: &[u64]) -> String {
    let mut s = String::new();
    for (i, m) in list.iter().enumerate() {
        let parent = list[..i]
            .iter()
            .rposition(|p| {
                p.target == "/"
                    || m.target
                        .strip_prefix(p.target)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .map_or(0, |p| p + 1);
        let dev = devs.get(i).copied().unwrap_or(0);
        let (major, minor) = (
            ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff),
            ((dev >> 12) & 0xffff_ff00) | (dev & 0xff),
        );
        let _ = writeln!(
            s,
            "{} {parent} {major}:{minor} / {} {} - {} {} {}",
            i + 1,
            m.target,
            m.options,
            m.fstype,
            m.source,
            if m.options.starts_with("ro") {
                "ro"
            } else {
                "rw"
            }
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_list(0b1), "0");
        assert_eq!(cpu_list(0b11), "0-1");
        assert_eq!(cpu_list(0b1111), "0-3");
        assert_eq!(cpu_list(0b1101), "0,2-3");
        assert_eq!(cpu_list(0), "");
        assert_eq!(cpu_list(u64::MAX), "0-63");
        assert_eq!(cpu_mask_hex(0b11), "3");
    }

    #[test]
    fn maps_lines_match_linux() {
        let lines = [
            MapLine {
                start: 0x100000,
                end: 0x120000,
                read: true,
                write: false,
                exec: true,
                shared: false,
                offset: 0,
                dev: (0, 0),
                inode: 0,
                name: "/prog".into(),
            },
            MapLine {
                start: 0x7f0000000000,
                end: 0x7f0000001000,
                read: true,
                write: true,
                exec: false,
                shared: false,
                offset: 0,
                dev: (0, 0),
                inode: 0,
                name: String::new(),
            },
        ];
        let text = maps(&lines);
        let mut it = text.lines();
        let first = it.next().unwrap();
        assert!(first.starts_with("00100000-00120000 r-xp 00000000 00:00 0 "));
        assert_eq!(first.len(), 73 + "/prog".len());
        assert!(first.ends_with(" /prog"));
        assert_eq!(
            it.next().unwrap(),
            "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 "
        );
    }

    #[test]
    fn status_and_stat() {
        let p = ProcessInfo {
            name: "prog".into(),
            pid: 1,
            tid: 1,
            threads: 3,
            affinity: 0b11,
            vm_rss_kb: 400,
            ..Default::default()
        };
        let s = status(&p);
        assert!(s.starts_with("Name:\tprog\nUmask:\t0022\nState:\tR (running)\nTgid:\t1\n"));
        assert!(s.contains("\nThreads:\t3\n"));
        assert!(s.contains("\nVmRSS:\t     400 kB\n"));
        assert!(s.contains("\nCpus_allowed_list:\t0-1\n"));
        let st = stat(&p);
        let fields: Vec<&str> = st.trim_end().split(' ').collect();
        assert_eq!(fields.len(), 52);
        assert_eq!(&fields[..4], ["1", "(prog)", "R", "0"]);
        assert_eq!(fields[7], "-1");
        assert_eq!(fields[19], "3"); // num_threads
        assert_eq!(fields[23], "100"); // rss in pages
    }

    #[test]
    fn meminfo_layout() {
        let m = meminfo(&MemInfo {
            total: 128 << 20,
            free: 100 << 20,
            shmem: 0,
        });
        let mut lines = m.lines();
        assert_eq!(lines.next(), Some("MemTotal:         131072 kB"));
        assert_eq!(lines.next(), Some("MemFree:          102400 kB"));
        assert_eq!(lines.next(), Some("MemAvailable:     102400 kB"));
        assert!(m.contains("\nHugepagesize:       2048 kB\n"));
        assert!(m.lines().all(|l| l.len() >= 24));
    }

    #[test]
    fn proc_stat_uptime_loadavg() {
        let st = SystemStat {
            total: None,
            cpus: alloc::vec![
                CpuTimes {
                    busy_ns: 1_000_000_000,
                    idle_ns: 2_000_000_000
                };
                2
            ],
            boot_time_s: 1_700_000_000,
            threads_created: 5,
            running: 1,
        };
        let s = system_stat(&st);
        let mut lines = s.lines();
        assert_eq!(lines.next(), Some("cpu  200 0 0 400 0 0 0 0 0 0"));
        assert_eq!(lines.next(), Some("cpu0 100 0 0 200 0 0 0 0 0 0"));
        assert_eq!(lines.next(), Some("cpu1 100 0 0 200 0 0 0 0 0 0"));
        assert!(s.contains("\nbtime 1700000000\nprocesses 5\nprocs_running 1\n"));
        assert_eq!(uptime(12_345_000_000, 20_000_000_000), "12.34 20.00\n");
        assert_eq!(loadavg(1, 3, 7), "0.00 0.00 0.00 1/3 7\n");
        assert_eq!(nul_separated(&["a", "bc"]), b"a\0bc\0");
        let list = [
            Mount {
                source: "rootfs",
                target: "/",
                fstype: "tmpfs",
                options: "rw",
            },
            Mount {
                source: "proc",
                target: "/proc",
                fstype: "proc",
                options: "rw,nosuid",
            },
        ];
        assert_eq!(
            mountinfo(&list, &[0x10, 0x11]),
            "1 0 0:16 / / rw - tmpfs rootfs rw\n2 1 0:17 / /proc rw,nosuid - proc proc rw\n"
        );
        assert_eq!(mounts(&list[1..]), "proc /proc proc rw,nosuid 0 0\n");
    }
}
