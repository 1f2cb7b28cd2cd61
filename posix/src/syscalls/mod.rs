//! The system-call table: one entry per implemented Linux x86-64 system call, indexed by number.
//! Anything not in the table returns ENOSYS and is reported once on the console by name.
//! `docs/syscalls.md` is generated from `ENTRIES` (see the `syscalls_doc` test).

pub mod doc;
pub mod events;
pub mod files;
pub mod futex;
pub mod info;
pub mod io;
pub mod itimer;
pub mod memory;
pub mod mmap_file;
pub mod net;
pub mod poll;
pub mod process;
pub mod signal;
pub mod time;

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ferrite_libos::frame::SyscallFrame;

use crate::errno::{Errno, SysResult};

include!(concat!(env!("OUT_DIR"), "/syscall_names.rs"));

pub type Handler = fn(&mut SyscallFrame) -> SysResult;

pub struct Entry {
    pub number: u32,
    pub name: &'static str,
    pub handler: Handler,
    /// What is partial or different from Linux, for docs/syscalls.md.
    pub note: &'static str,
}

macro_rules! entries {
    ($($number:literal $name:ident => $handler:path, $note:literal;)*) => {
        pub static ENTRIES: &[Entry] = &[
            $(Entry { number: $number, name: stringify!($name), handler: $handler, note: $note },)*
        ];
    };
}

entries! {
    0 read => io::sys_read, "";
    1 write => io::sys_write, "";
    2 open => files::sys_open, "";
    3 close => io::sys_close, "";
    4 stat => files::sys_stat, "";
    5 fstat => io::sys_fstat, "";
    6 lstat => files::sys_lstat, "";
    7 poll => poll::sys_poll, "";
    8 lseek => io::sys_lseek, "";
    9 mmap => memory::sys_mmap, "anonymous private/shared; MAP_NORESERVE areas get frames on first touch; files: copied at map time (private, and read-only shared); shared writable file mappings: ENODEV";
    10 mprotect => memory::sys_mprotect, "";
    11 munmap => memory::sys_munmap, "";
    12 brk => memory::sys_brk, "";
    13 rt_sigaction => signal::sys_rt_sigaction, "";
    14 rt_sigprocmask => signal::sys_rt_sigprocmask, "";
    15 rt_sigreturn => signal::sys_rt_sigreturn, "";
    16 ioctl => io::sys_ioctl, "FIONBIO, FIOASYNC, FIOCLEX, FIONCLEX on every fd; TIOCGWINSZ, TCGETS, FIONREAD on the console; FIONREAD on pipes";
    17 pread64 => io::sys_pread64, "";
    18 pwrite64 => io::sys_pwrite64, "";
    19 readv => io::sys_readv, "";
    20 writev => io::sys_writev, "";
    21 access => files::sys_access, "the service is root: only X_OK fails (EACCES when no x bit is set)";
    22 pipe => events::sys_pipe, "";
    23 select => poll::sys_select, "";
    24 sched_yield => process::sys_sched_yield, "";
    25 mremap => memory::sys_mremap, "grow in place or move (page-table entries move, no copy)";
    26 msync => memory::sys_msync, "anonymous memory: nothing to write back";
    27 mincore => memory::sys_mincore, "";
    28 madvise => memory::sys_madvise, "MADV_DONTNEED/MADV_FREE give zeroed pages; other advice accepted";
    32 dup => io::sys_dup, "";
    33 dup2 => io::sys_dup2, "";
    34 pause => itimer::sys_pause, "";
    35 nanosleep => time::sys_nanosleep, "";
    36 getitimer => itimer::sys_getitimer, "ITIMER_REAL only";
    37 alarm => itimer::sys_alarm, "";
    38 setitimer => itimer::sys_setitimer, "ITIMER_REAL only (EINVAL for the CPU-time timers)";
    39 getpid => info::sys_getpid, "";
    40 sendfile => files::sys_sendfile, "copies through a kernel buffer";
    41 socket => net::sys_socket, "the families registered in net::FAMILIES (AF_UNIX: stream, datagram, seqpacket; AF_INET/AF_INET6: TCP and UDP over smoltcp, no raw sockets); others EAFNOSUPPORT";
    42 connect => net::sys_connect, "";
    43 accept => net::sys_accept, "";
    44 sendto => net::sys_sendto, "";
    45 recvfrom => net::sys_recvfrom, "";
    46 sendmsg => net::sys_sendmsg, "SCM_RIGHTS; SCM_CREDENTIALS checked, not delivered";
    47 recvmsg => net::sys_recvmsg, "SCM_RIGHTS; SCM_CREDENTIALS with SO_PASSCRED (always this process: the one that sends)";
    48 shutdown => net::sys_shutdown, "";
    49 bind => net::sys_bind, "";
    50 listen => net::sys_listen, "AF_INET/AF_INET6: the backlog counts handshakes under way and connections not yet accepted; past it a SYN is answered with a reset (Linux drops it)";
    51 getsockname => net::sys_getsockname, "";
    52 getpeername => net::sys_getpeername, "";
    53 socketpair => net::sys_socketpair, "AF_UNIX only (as Linux)";
    54 setsockopt => net::sys_setsockopt, "AF_INET/AF_INET6: TCP_NODELAY; SO_KEEPALIVE probes every TCP_KEEPIDLE seconds (TCP_KEEPINTVL/TCP_KEEPCNT only stored); IPV6_V6ONLY stored, not enforced (a :: socket is dual-stack); SO_SNDBUF/SO_RCVBUF do not resize the stack's 64 KiB TCP buffers";
    55 getsockopt => net::sys_getsockopt, "";
    56 clone => process::sys_clone, "threads only (pthread_create's flags); new processes: ENOSYS";
    60 exit => process::sys_exit, "";
    62 kill => signal::sys_kill, "own process only";
    63 uname => info::sys_uname, "";
    72 fcntl => io::sys_fcntl, "";
    73 flock => files::sys_flock, "";
    74 fsync => files::sys_fsync, "files are in memory: nothing to write back";
    75 fdatasync => files::sys_fdatasync, "files are in memory: nothing to write back";
    76 truncate => files::sys_truncate, "RLIMIT_FSIZE: SIGXFSZ goes to the process (a thread not blocking it), not only the caller";
    77 ftruncate => files::sys_ftruncate, "RLIMIT_FSIZE: SIGXFSZ goes to the process (a thread not blocking it), not only the caller";
    78 getdents => files::sys_getdents, "";
    79 getcwd => files::sys_getcwd, "";
    80 chdir => files::sys_chdir, "";
    81 fchdir => files::sys_fchdir, "";
    82 rename => files::sys_rename, "";
    83 mkdir => files::sys_mkdir, "";
    84 rmdir => files::sys_rmdir, "";
    85 creat => files::sys_creat, "";
    86 link => files::sys_link, "";
    87 unlink => files::sys_unlink, "";
    88 symlink => files::sys_symlink, "";
    89 readlink => files::sys_readlink, "";
    90 chmod => files::sys_chmod, "";
    91 fchmod => files::sys_fchmod, "";
    92 chown => files::sys_chown, "ids are stored; no permission checks (the service is root)";
    93 fchown => files::sys_fchown, "ids are stored; no permission checks (the service is root)";
    94 lchown => files::sys_lchown, "ids are stored; no permission checks (the service is root)";
    95 umask => files::sys_umask, "";
    96 gettimeofday => time::sys_gettimeofday, "";
    97 getrlimit => info::sys_getrlimit, "";
    98 getrusage => time::sys_getrusage, "";
    99 sysinfo => info::sys_sysinfo, "";
    100 times => time::sys_times, "";
    102 getuid => info::sys_getid, "always 0 (root)";
    104 getgid => info::sys_getid, "always 0 (root)";
    105 setuid => info::sys_setid, "only to 0";
    106 setgid => info::sys_setid, "only to 0";
    107 geteuid => info::sys_getid, "always 0 (root)";
    108 getegid => info::sys_getid, "always 0 (root)";
    109 setpgid => info::sys_setpgid, "";
    110 getppid => info::sys_getppid, "0: nothing started the service";
    111 getpgrp => info::sys_getpid, "";
    112 setsid => info::sys_setsid, "EPERM: the service already leads its session";
    115 getgroups => info::sys_getgroups, "";
    116 setgroups => info::sys_setgroups, "only group 0 (the service is root)";
    121 getpgid => info::sys_getpid, "";
    124 getsid => info::sys_getpid, "";
    127 rt_sigpending => signal::sys_rt_sigpending, "";
    130 rt_sigsuspend => itimer::sys_rt_sigsuspend, "";
    131 sigaltstack => signal::sys_sigaltstack, "";
    132 utime => files::sys_utime, "";
    133 mknod => files::sys_mknod, "character devices open as /dev's; block devices: ENXIO";
    137 statfs => files::sys_statfs, "tmpfs holds at most half the RAM (Linux's default size)";
    138 fstatfs => files::sys_fstatfs, "";
    149 mlock => memory::sys_mlock, "accepted: nothing is paged out";
    150 munlock => memory::sys_mlock, "accepted: nothing is paged out";
    151 mlockall => memory::sys_mlockall, "accepted: nothing is paged out";
    152 munlockall => memory::sys_mlockall, "accepted: nothing is paged out";
    157 prctl => process::sys_prctl, "PR_SET_NAME, PR_GET_NAME";
    158 arch_prctl => process::sys_arch_prctl, "ARCH_SET_FS, ARCH_GET_FS";
    160 setrlimit => info::sys_setrlimit, "";
    162 sync => files::sys_sync, "files are in memory: nothing to write back";
    186 gettid => info::sys_gettid, "";
    187 readahead => files::sys_readahead, "accepted; nothing to do";
    200 tkill => signal::sys_tkill, "";
    201 time => time::sys_time, "";
    202 futex => futex::sys_futex, "all but the priority-inheritance operations";
    203 sched_setaffinity => info::sys_sched_setaffinity, "";
    204 sched_getaffinity => info::sys_sched_getaffinity, "";
    213 epoll_create => poll::sys_epoll_create, "";
    217 getdents64 => files::sys_getdents64, "";
    218 set_tid_address => process::sys_set_tid_address, "";
    221 fadvise64 => files::sys_fadvise64, "accepted; nothing to do";
    228 clock_gettime => time::sys_clock_gettime, "";
    229 clock_getres => time::sys_clock_getres, "";
    230 clock_nanosleep => time::sys_clock_nanosleep, "";
    231 exit_group => process::sys_exit_group, "";
    232 epoll_wait => poll::sys_epoll_wait, "";
    233 epoll_ctl => poll::sys_epoll_ctl, "EPOLLWAKEUP accepted and ignored; the nesting check counts depth below the added instance only";
    234 tgkill => signal::sys_tgkill, "";
    235 utimes => files::sys_utimes, "";
    257 openat => files::sys_openat, "";
    258 mkdirat => files::sys_mkdirat, "";
    259 mknodat => files::sys_mknodat, "character devices open as /dev's; block devices: ENXIO";
    260 fchownat => files::sys_fchownat, "ids are stored; no permission checks (the service is root)";
    261 futimesat => files::sys_futimesat, "";
    262 newfstatat => files::sys_newfstatat, "";
    263 unlinkat => files::sys_unlinkat, "";
    264 renameat => files::sys_renameat, "";
    265 linkat => files::sys_linkat, "";
    266 symlinkat => files::sys_symlinkat, "";
    267 readlinkat => files::sys_readlinkat, "";
    268 fchmodat => files::sys_fchmodat, "";
    269 faccessat => files::sys_faccessat, "as access";
    270 pselect6 => poll::sys_pselect6, "";
    271 ppoll => poll::sys_ppoll, "";
    273 set_robust_list => process::sys_set_robust_list, "";
    274 get_robust_list => process::sys_get_robust_list, "";
    275 splice => files::sys_splice, "copies through a kernel buffer; SPLICE_F_NONBLOCK is EAGAIN when the pipe is not ready, but a transfer once started may wait";
    276 tee => files::sys_tee, "";
    277 sync_file_range => files::sys_sync_file_range, "accepted; nothing to do";
    278 vmsplice => files::sys_vmsplice, "copies, as writev/readv on the pipe";
    280 utimensat => files::sys_utimensat, "";
    281 epoll_pwait => poll::sys_epoll_pwait, "";
    282 signalfd => events::sys_signalfd, "records carry signo, code, pid and uid (no sigqueue values)";
    283 timerfd_create => events::sys_timerfd_create, "CLOCK_REALTIME_ALARM and CLOCK_BOOTTIME_ALARM (root may use them) act as the plain clocks: nothing suspends";
    284 eventfd => events::sys_eventfd, "";
    285 fallocate => files::sys_fallocate, "as tmpfs: KEEP_SIZE and PUNCH_HOLE; other modes EOPNOTSUPP";
    286 timerfd_settime => events::sys_timerfd_settime, "TFD_TIMER_CANCEL_ON_SET accepted, never cancels: the wall clock cannot be set";
    287 timerfd_gettime => events::sys_timerfd_gettime, "";
    288 accept4 => net::sys_accept4, "";
    289 signalfd4 => events::sys_signalfd4, "records carry signo, code, pid and uid (no sigqueue values)";
    290 eventfd2 => events::sys_eventfd2, "";
    291 epoll_create1 => poll::sys_epoll_create1, "";
    292 dup3 => io::sys_dup3, "";
    293 pipe2 => events::sys_pipe2, "O_NOTIFICATION_PIPE (watch queues): EINVAL";
    295 preadv => io::sys_preadv, "";
    296 pwritev => io::sys_pwritev, "";
    299 recvmmsg => net::sys_recvmmsg, "";
    302 prlimit64 => info::sys_prlimit64, "own process only";
    306 syncfs => files::sys_syncfs, "files are in memory: nothing to write back";
    307 sendmmsg => net::sys_sendmmsg, "";
    309 getcpu => info::sys_getcpu, "";
    316 renameat2 => files::sys_renameat2, "RENAME_WHITEOUT: EINVAL";
    318 getrandom => info::sys_getrandom, "RDRAND/RDSEED";
    325 mlock2 => memory::sys_mlock, "accepted: nothing is paged out";
    326 copy_file_range => files::sys_copy_file_range, "copies through a kernel buffer";
    327 preadv2 => io::sys_preadv2, "RWF_NOWAIT/RWF_APPEND: EOPNOTSUPP";
    328 pwritev2 => io::sys_pwritev2, "RWF_NOWAIT/RWF_APPEND: EOPNOTSUPP";
    332 statx => files::sys_statx, "no STATX_BTIME; mount ids are 0";
    436 close_range => io::sys_close_range, "";
    437 openat2 => files::sys_openat2, "RESOLVE_CACHED never fails for a lookup (everything is in memory)";
    439 faccessat2 => files::sys_faccessat2, "as access";
    441 epoll_pwait2 => poll::sys_epoll_pwait2, "";
}

/// Highest system-call number the table can hold.
pub const TABLE_SIZE: usize = 512;

static TABLE: [Option<Handler>; TABLE_SIZE] = {
    let mut table: [Option<Handler>; TABLE_SIZE] = [None; TABLE_SIZE];
    let mut i = 0;
    while i < ENTRIES.len() {
        table[ENTRIES[i].number as usize] = Some(ENTRIES[i].handler);
        i += 1;
    }
    table
};

/// Linux's name for a system-call number ("" when unknown).
pub fn name_of(number: u64) -> &'static str {
    match SYSCALL_NAME_SPANS.get(number as usize) {
        Some(&(offset, len)) => &SYSCALL_NAME_TEXT[offset as usize..offset as usize + len as usize],
        None => "",
    }
}

/// Every known system-call number with its name.
pub fn known_syscalls() -> impl Iterator<Item = (usize, &'static str)> {
    (0..SYSCALL_NAME_SPANS.len())
        .map(|n| (n, name_of(n as u64)))
        .filter(|(_, name)| !name.is_empty())
}

/// Numbers already reported as unimplemented; numbers beyond the table share the last bit.
static REPORTED: [AtomicU64; TABLE_SIZE / 64 + 1] =
    [const { AtomicU64::new(0) }; TABLE_SIZE / 64 + 1];
static TRACE: AtomicBool = AtomicBool::new(false);

pub fn set_trace(on: bool) {
    TRACE.store(on, Ordering::Relaxed);
}

fn report_unimplemented(number: u64) {
    let (word, bit) = if (number as usize) < TABLE_SIZE {
        (&REPORTED[number as usize / 64], 1u64 << (number % 64))
    } else {
        (&REPORTED[TABLE_SIZE / 64], 1)
    };
    let first_time = word.fetch_or(bit, Ordering::Relaxed) & bit == 0;
    if first_time {
        let name = name_of(number);
        if name.is_empty() {
            ferrite_libos::kprintln!("unimplemented system call {number}: ENOSYS");
        } else {
            ferrite_libos::kprintln!("unimplemented system call {name} ({number}): ENOSYS");
        }
    }
}

/// Run the system call described by `frame`; the result is what `rax` gets. Pending signals are
/// delivered on the way back, as on Linux.
pub fn dispatch(frame: &mut SyscallFrame) -> i64 {
    let number = frame.rax;
    let handler = TABLE.get(number as usize).copied().flatten();
    let result = match handler {
        Some(h) => h(frame),
        None => {
            report_unimplemented(number);
            Err(Errno::ENOSYS)
        }
    };
    if TRACE.load(Ordering::Relaxed) {
        ferrite_libos::kprintln!(
            "syscall {}({:#x}, {:#x}, {:#x}, {:#x}) = {:?}",
            name_of(number),
            frame.rdi,
            frame.rsi,
            frame.rdx,
            frame.r10,
            result
        );
    }
    signal::deliver_pending(frame, crate::errno::to_return_value(result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_match_linux_numbers() {
        for e in ENTRIES {
            assert_eq!(
                name_of(e.number as u64),
                e.name,
                "entry {} is misnumbered",
                e.name
            );
        }
        let mut numbers: alloc::vec::Vec<u32> = ENTRIES.iter().map(|e| e.number).collect();
        numbers.sort();
        numbers.dedup();
        assert_eq!(numbers.len(), ENTRIES.len(), "a number appears twice");
    }

    #[test]
    fn unknown_numbers_are_enosys() {
        ferrite_smp::sched::install_host_platform();
        let mut frame = SyscallFrame {
            rax: 449,
            ..Default::default()
        };
        assert_eq!(dispatch(&mut frame), -38);
        let mut frame = SyscallFrame {
            rax: 100_000,
            ..Default::default()
        };
        assert_eq!(dispatch(&mut frame), -38);
    }
}
