//! poll, ppoll, select, pselect6 and the epoll system calls. poll and select ask every file for
//! its readiness (`OpenFile::poll`) and sleep on every file's wait queue until one is ready, the
//! timeout passes or a signal arrives; epoll is in `fs::epoll`. ppoll, pselect6 and
//! epoll_pwait(2) run with the given signal mask and put the old one back as they return (after
//! the handler, when a signal interrupted them), as Linux's `set_user_sigmask`.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use ferrite_libos::frame::SyscallFrame;
use ferrite_smp::sched;

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::epoll::{self, signal_pending};
use crate::fs::fdtable;
use crate::fs::file::OpenFile;
use crate::fs::wait::{self, Deadline, WaitError, WaitQueue};
use crate::syscalls::{info, signal, time};
use crate::uaccess;

const NS_PER_SEC: u64 = 1_000_000_000;
/// Deadlines from this monotonic time on (about 146 years) are waited for without a timer.
const FAR_FUTURE_NS: u64 = 1 << 62;

/// A timeout as an absolute monotonic time (`None`: forever), and where its remaining time is
/// written back.
#[derive(Clone, Copy)]
struct Timeout {
    end_ns: Option<u64>,
    /// Zero timeouts are not written back (Linux's `poll_select_finish`).
    zero: bool,
}

impl Timeout {
    fn forever() -> Timeout {
        Timeout {
            end_ns: None,
            zero: false,
        }
    }

    fn after_ns(ns: u64) -> Timeout {
        Timeout {
            end_ns: Some(time::monotonic_ns().saturating_add(ns)),
            zero: ns == 0,
        }
    }

    fn after_ms(ms: i64) -> Timeout {
        if ms < 0 {
            Timeout::forever()
        } else {
            Timeout::after_ns(ms as u64 * 1_000_000)
        }
    }

    fn deadline(&self) -> Deadline {
        match self.end_ns {
            None => Deadline::Never,
            Some(_) if self.zero => Deadline::Tsc(0),
            // Centuries away (`{LONG_MAX, 0}` as "forever"): past what the TSC conversion holds.
            Some(end) if end >= FAR_FUTURE_NS => Deadline::Never,
            Some(end) => Deadline::Tsc(time::monotonic_to_tsc(end)),
        }
    }

    fn remaining_ns(&self) -> u64 {
        self.end_ns
            .map_or(0, |end| end.saturating_sub(time::monotonic_ns()))
    }

    /// Write the time left back as a timespec (ppoll, pselect6); a fault is ignored, as Linux.
    fn write_timespec(&self, addr: u64) {
        if addr == 0 || self.end_ns.is_none() || self.zero {
            return;
        }
        let left = self.remaining_ns();
        let ts = abi::timespec {
            tv_sec: (left / NS_PER_SEC) as i64,
            tv_nsec: (left % NS_PER_SEC) as i64,
        };
        let _ = uaccess::write(addr, &ts);
    }

    /// As `write_timespec`, as a timeval (select; microseconds truncated, as Linux).
    fn write_timeval(&self, addr: u64) {
        if addr == 0 || self.end_ns.is_none() || self.zero {
            return;
        }
        let left = self.remaining_ns();
        let tv = abi::timeval {
            tv_sec: (left / NS_PER_SEC) as i64,
            tv_usec: ((left % NS_PER_SEC) / 1000) as i64,
        };
        let _ = uaccess::write(addr, &tv);
    }
}

/// A timespec timeout argument (NULL: forever); EINVAL for a negative or unnormalised one.
fn timespec_timeout(addr: u64) -> Result<Timeout, Errno> {
    if addr == 0 {
        return Ok(Timeout::forever());
    }
    let ts: abi::timespec = uaccess::read(addr)?;
    Ok(Timeout::after_ns(time::from_timespec(&ts)?))
}

/// The temporary signal mask of ppoll, pselect6 and epoll_pwait(2).
struct SigmaskSwap {
    installed: bool,
}

impl SigmaskSwap {
    /// Install the mask at `addr` (NULL: keep the current one); `size` must be 8.
    fn install(addr: u64, size: u64) -> Result<SigmaskSwap, Errno> {
        if addr == 0 {
            return Ok(SigmaskSwap { installed: false });
        }
        if size != 8 {
            return Err(Errno::EINVAL);
        }
        let mask: u64 = uaccess::read(addr)?;
        signal::suspend_with_mask(mask);
        Ok(SigmaskSwap { installed: true })
    }

    /// The call ends with `result`: unless a signal interrupted it (then the old mask comes back
    /// when the handler returns, so the signal the mask let through is delivered), restore the
    /// old mask now; a signal it let through stays pending.
    fn finish(self, result: SysResult) -> SysResult {
        if self.installed && result != Err(Errno::EINTR) {
            let mut t = sched::current().posix.lock();
            if let Some(mask) = t.suspend_saved_mask.take() {
                t.signal_mask = mask;
            }
        }
        result
    }
}

/// What a poll or select wait found.
enum Found {
    Ready(usize),
    Signal,
}

/// The files of a poll or select call and the queues to sleep on, then the wait: `check`
/// polls every file and returns how many entries are ready.
fn wait_for_files(
    files: &[Option<Arc<OpenFile>>],
    mask: u32,
    timeout: &Timeout,
    mut check: impl FnMut() -> usize,
) -> SysResult {
    // Files without a queue never change readiness: polled, not waited on.
    let queues: Vec<&WaitQueue> = files
        .iter()
        .flatten()
        .filter_map(|f| f.ops.wait_queue())
        .collect();
    let ready = || {
        let n = check();
        if n > 0 {
            Some(Found::Ready(n))
        } else if signal_pending() {
            Some(Found::Signal)
        } else {
            None
        }
    };
    match wait::wait_until(&queues, mask, timeout.deadline(), ready) {
        Ok(Found::Ready(n)) => Ok(n as i64),
        Ok(Found::Signal) | Err(WaitError::Interrupted) => Err(Errno::EINTR),
        Err(WaitError::TimedOut) => Ok(0),
    }
}

/// The events every waiter hears about, and the variants a file may notify with.
fn wake_mask(events: u32) -> u32 {
    let mut mask = events | abi::EPOLLERR | abi::EPOLLHUP;
    if events & (abi::EPOLLIN | abi::EPOLLRDNORM | abi::EPOLLRDBAND) != 0 {
        mask |= abi::EPOLLIN | abi::EPOLLRDNORM | abi::EPOLLRDHUP;
    }
    if events & (abi::EPOLLOUT | abi::EPOLLWRNORM | abi::EPOLLWRBAND) != 0 {
        mask |= abi::EPOLLOUT | abi::EPOLLWRNORM;
    }
    mask
}

fn do_poll(fds_addr: u64, nfds: u64, timeout: &Timeout) -> SysResult {
    if nfds > info::soft_limit(abi::RLIMIT_NOFILE) {
        return Err(Errno::EINVAL);
    }
    let nfds = nfds as usize;
    let entry = core::mem::size_of::<abi::pollfd>();
    let mut raw = vec![0u8; nfds * entry];
    uaccess::read_exact(fds_addr, &mut raw)?;
    let mut fds: Vec<abi::pollfd> = raw
        .chunks_exact(entry)
        .map(|c| abi::pollfd {
            fd: i32::from_ne_bytes([c[0], c[1], c[2], c[3]]),
            events: i16::from_ne_bytes([c[4], c[5]]),
            revents: 0,
        })
        .collect();
    let files: Vec<Option<Arc<OpenFile>>> = fds
        .iter()
        .map(|p| (p.fd >= 0).then(|| fdtable::get(p.fd).ok()).flatten())
        .collect();
    let mask = wake_mask(fds.iter().fold(0, |m, p| m | p.events as u16 as u32));
    let result = wait_for_files(&files, mask, timeout, || {
        let mut ready = 0;
        for (p, file) in fds.iter_mut().zip(&files) {
            let revents = match file {
                _ if p.fd < 0 => 0,
                None => abi::POLLNVAL,
                Some(f) => f.poll() & (p.events as u16 as u32 | abi::POLLERR | abi::POLLHUP),
            };
            p.revents = revents as u16 as i16;
            if revents != 0 {
                ready += 1;
            }
        }
        ready
    });
    if result.is_ok() {
        // Only the revents fields are written, as Linux.
        for (i, p) in fds.iter().enumerate() {
            uaccess::write(fds_addr + (i * entry) as u64 + 6, &p.revents)?;
        }
    }
    result
}

pub fn sys_poll(f: &mut SyscallFrame) -> SysResult {
    let timeout = Timeout::after_ms(f.arg(2) as i32 as i64);
    do_poll(f.arg(0), f.arg(1) as u32 as u64, &timeout)
}

pub fn sys_ppoll(f: &mut SyscallFrame) -> SysResult {
    let timeout = timespec_timeout(f.arg(2))?;
    let mask = SigmaskSwap::install(f.arg(3), f.arg(4))?;
    let result = do_poll(f.arg(0), f.arg(1) as u32 as u64, &timeout);
    timeout.write_timespec(f.arg(2));
    mask.finish(result)
}

/// select's mapping of poll events to its three sets (Linux's POLLIN_SET and friends).
const IN_SET: u32 =
    abi::EPOLLRDNORM | abi::EPOLLRDBAND | abi::EPOLLIN | abi::EPOLLHUP | abi::EPOLLERR;
const OUT_SET: u32 = abi::EPOLLWRBAND | abi::EPOLLWRNORM | abi::EPOLLOUT | abi::EPOLLERR;
const EX_SET: u32 = abi::EPOLLPRI;

/// One fd_set argument: `words` 64-bit words at `addr` (NULL: no set).
fn read_set(addr: u64, words: usize) -> Result<Option<Vec<u64>>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let mut raw = vec![0u8; words * 8];
    uaccess::read_exact(addr, &mut raw)?;
    Ok(Some(
        raw.chunks_exact(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
            .collect(),
    ))
}

fn write_set(addr: u64, set: &Option<Vec<u64>>) -> Result<(), Errno> {
    if let Some(words) = set {
        let raw: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
        uaccess::write_exact(addr, &raw)?;
    }
    Ok(())
}

fn bit(set: &Option<Vec<u64>>, fd: usize) -> bool {
    set.as_ref()
        .is_some_and(|w| w[fd / 64] & (1 << (fd % 64)) != 0)
}

fn set_bit(set: &mut Option<Vec<u64>>, fd: usize) {
    if let Some(w) = set.as_mut() {
        w[fd / 64] |= 1 << (fd % 64);
    }
}

fn do_select(n: u64, sets: [u64; 3], timeout: &Timeout) -> SysResult {
    let n = n as i32;
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    // No fd can be open at or past RLIMIT_NOFILE: the sets are read no further (Linux stops at
    // its table's size, which is at least what is open).
    let limit = info::soft_limit(abi::RLIMIT_NOFILE).clamp(64, fdtable::NR_OPEN) as usize;
    let n = (n as usize).min(limit.div_ceil(64) * 64);
    let words = n.div_ceil(64);
    let wanted = [
        read_set(sets[0], words)?,
        read_set(sets[1], words)?,
        read_set(sets[2], words)?,
    ];
    // The fds asked about, each with its file; a closed one is EBADF.
    let mut asked: Vec<(usize, u32)> = Vec::new();
    let mut files: Vec<Option<Arc<OpenFile>>> = Vec::new();
    let mut mask = 0;
    for fd in 0..n {
        let mut events = 0;
        if bit(&wanted[0], fd) {
            events |= IN_SET;
        }
        if bit(&wanted[1], fd) {
            events |= OUT_SET;
        }
        if bit(&wanted[2], fd) {
            events |= EX_SET;
        }
        if events == 0 {
            continue;
        }
        files.push(Some(fdtable::get(fd as i32)?));
        asked.push((fd, events));
        mask |= events;
    }
    let empty = || wanted.clone().map(|s| s.map(|w| vec![0u64; w.len()]));
    let mut found = empty();
    let result = wait_for_files(&files, wake_mask(mask), timeout, || {
        found = empty();
        let mut count = 0;
        for ((fd, events), file) in asked.iter().zip(&files) {
            let Some(file) = file else { continue };
            let ready = file.poll();
            for (set, bits) in [IN_SET, OUT_SET, EX_SET].into_iter().enumerate() {
                if events & bits != 0 && bit(&wanted[set], *fd) && ready & bits != 0 {
                    set_bit(&mut found[set], *fd);
                    count += 1;
                }
            }
        }
        count
    });
    if result.is_ok() {
        for (addr, set) in sets.iter().zip(&found) {
            write_set(*addr, set)?;
        }
    }
    result
}

/// select's timeval: microseconds past a second carry into seconds, as Linux.
fn timeval_timeout(addr: u64) -> Result<Timeout, Errno> {
    if addr == 0 {
        return Ok(Timeout::forever());
    }
    let tv: abi::timeval = uaccess::read(addr)?;
    Ok(Timeout::after_ns(timeval_ns(&tv)?))
}

/// A select timeval in nanoseconds: microseconds past a second carry into seconds; a negative
/// second or microsecond count is EINVAL (Linux's `poll_select_set_timeout`).
fn timeval_ns(tv: &abi::timeval) -> Result<u64, Errno> {
    let sec = tv.tv_sec.checked_add(tv.tv_usec / 1_000_000);
    let ns = (tv.tv_usec % 1_000_000) * 1000;
    match sec {
        Some(sec) if sec >= 0 && ns >= 0 => Ok((sec as u64)
            .saturating_mul(NS_PER_SEC)
            .saturating_add(ns as u64)),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_select(f: &mut SyscallFrame) -> SysResult {
    let timeout = timeval_timeout(f.arg(4))?;
    let result = do_select(f.arg(0), [f.arg(1), f.arg(2), f.arg(3)], &timeout);
    timeout.write_timeval(f.arg(4));
    result
}

pub fn sys_pselect6(f: &mut SyscallFrame) -> SysResult {
    let timeout = timespec_timeout(f.arg(4))?;
    // The sixth argument is { const sigset_t *mask; size_t size; }.
    let (mask_addr, mask_size) = if f.arg(5) != 0 {
        let pair: [u64; 2] = uaccess::read(f.arg(5))?;
        (pair[0], pair[1])
    } else {
        (0, 0)
    };
    let mask = SigmaskSwap::install(mask_addr, mask_size)?;
    let result = do_select(f.arg(0), [f.arg(1), f.arg(2), f.arg(3)], &timeout);
    timeout.write_timespec(f.arg(4));
    mask.finish(result)
}

pub fn sys_epoll_create(f: &mut SyscallFrame) -> SysResult {
    if f.arg(0) as i32 <= 0 {
        return Err(Errno::EINVAL);
    }
    create_epoll(false)
}

pub fn sys_epoll_create1(f: &mut SyscallFrame) -> SysResult {
    let flags = f.arg(0) as u32;
    if flags & !abi::EPOLL_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    create_epoll(flags & abi::EPOLL_CLOEXEC != 0)
}

fn create_epoll(cloexec: bool) -> SysResult {
    let file = OpenFile::new(epoll::create(), abi::O_RDWR);
    Ok(fdtable::install(file, cloexec)? as i64)
}

pub fn sys_epoll_ctl(f: &mut SyscallFrame) -> SysResult {
    let op = f.arg(1) as u32;
    let event = if op != abi::EPOLL_CTL_DEL {
        // struct epoll_event is packed on x86-64: events (u32), then data (u64).
        let mut raw = [0u8; 12];
        uaccess::read_exact(f.arg(3), &mut raw)?;
        let events = u32::from_le_bytes(raw[..4].try_into().expect("4 bytes"));
        let data = u64::from_le_bytes(raw[4..].try_into().expect("8 bytes"));
        Some((events, data))
    } else {
        None
    };
    let epoll = fdtable::get_arg(f.arg(0))?;
    let fd = f.arg(2) as u32 as i32;
    let target = fdtable::get(fd)?;
    epoll::ctl(&epoll, op, fd, &target, event)
}

fn do_epoll_wait(epfd: u64, events: u64, max: u64, timeout: &Timeout) -> SysResult {
    let max = max as i32 as i64;
    if max <= 0 || max > epoll::MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    uaccess::check_range(events, max as u64 * epoll::EVENT_SIZE)?;
    let file = fdtable::get_arg(epfd)?;
    epoll::wait(&file, events, max as usize, timeout.deadline())
}

pub fn sys_epoll_wait(f: &mut SyscallFrame) -> SysResult {
    let timeout = Timeout::after_ms(f.arg(3) as i32 as i64);
    do_epoll_wait(f.arg(0), f.arg(1), f.arg(2), &timeout)
}

pub fn sys_epoll_pwait(f: &mut SyscallFrame) -> SysResult {
    let mask = SigmaskSwap::install(f.arg(4), f.arg(5))?;
    let timeout = Timeout::after_ms(f.arg(3) as i32 as i64);
    mask.finish(do_epoll_wait(f.arg(0), f.arg(1), f.arg(2), &timeout))
}

pub fn sys_epoll_pwait2(f: &mut SyscallFrame) -> SysResult {
    let timeout = timespec_timeout(f.arg(3))?;
    let mask = SigmaskSwap::install(f.arg(4), f.arg(5))?;
    mask.finish(do_epoll_wait(f.arg(0), f.arg(1), f.arg(2), &timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tv(sec: i64, usec: i64) -> abi::timeval {
        abi::timeval {
            tv_sec: sec,
            tv_usec: usec,
        }
    }

    #[test]
    fn select_timevals_carry_and_reject_negatives() {
        assert_eq!(timeval_ns(&tv(0, 0)), Ok(0));
        assert_eq!(timeval_ns(&tv(1, 500_000)), Ok(1_500_000_000));
        assert_eq!(timeval_ns(&tv(0, 2_500_000)), Ok(2_500_000_000));
        assert_eq!(timeval_ns(&tv(-1, 0)), Err(Errno::EINVAL));
        assert_eq!(timeval_ns(&tv(0, -1)), Err(Errno::EINVAL));
        assert_eq!(timeval_ns(&tv(i64::MAX, 1_000_000)), Err(Errno::EINVAL));
        assert_eq!(timeval_ns(&tv(i64::MAX, 0)), Ok(u64::MAX));
    }

    #[test]
    fn select_sets_map_poll_events_as_linux() {
        // A hang-up or an error makes an fd readable; an error makes it writable too.
        assert_ne!(abi::EPOLLHUP & IN_SET, 0);
        assert_ne!(abi::EPOLLERR & IN_SET, 0);
        assert_ne!(abi::EPOLLERR & OUT_SET, 0);
        assert_eq!(abi::EPOLLHUP & OUT_SET, 0);
        assert_eq!(EX_SET, abi::EPOLLPRI);
    }

    #[test]
    fn fd_set_bits() {
        let mut set = Some(vec![0u64; 2]);
        set_bit(&mut set, 0);
        set_bit(&mut set, 127);
        assert!(bit(&set, 0) && bit(&set, 127) && !bit(&set, 64));
        assert_eq!(set, Some(vec![1, 1 << 63]));
        let mut none: Option<Vec<u64>> = None;
        set_bit(&mut none, 3);
        assert!(!bit(&none, 3));
    }

    #[test]
    fn wake_masks_cover_the_variants_files_notify() {
        let m = wake_mask(abi::EPOLLRDNORM);
        assert_ne!(m & abi::EPOLLIN, 0);
        assert_ne!(m & abi::EPOLLHUP, 0);
        let m = wake_mask(abi::EPOLLWRNORM);
        assert_ne!(m & abi::EPOLLOUT, 0);
    }
}
