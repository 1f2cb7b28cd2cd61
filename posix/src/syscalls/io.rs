//! Reading and writing: the console on fds 0, 1 and 2 (files, pipes and sockets come with the
//! files and network work).

use ferrite_libos::console::{self, Mode};
use ferrite_libos::frame::SyscallFrame;
use ferrite_libos::sync::IrqMutex;

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::uaccess;

#[derive(Clone, Copy)]
struct ConsoleFd {
    open: bool,
    nonblocking: bool,
    close_on_exec: bool,
}

static FDS: IrqMutex<[ConsoleFd; 3]> = IrqMutex::new(
    [ConsoleFd {
        open: true,
        nonblocking: false,
        close_on_exec: false,
    }; 3],
);

fn console_fd(fd: u64) -> Result<ConsoleFd, Errno> {
    match FDS.lock().get(fd as usize) {
        Some(f) if f.open => Ok(*f),
        _ => Err(Errno::EBADF),
    }
}

/// Threads waiting for console input; the UART's interrupt wakes them.
static READERS: IrqMutex<alloc::vec::Vec<alloc::sync::Arc<ferrite_smp::thread::Thread>>> =
    IrqMutex::new(alloc::vec::Vec::new());
/// Whether the UART interrupt is routed (otherwise readers poll).
static INPUT_INTERRUPT: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// The UART interrupt is routed to the kernel: readers may sleep until it fires.
pub fn console_interrupt_ready() {
    INPUT_INTERRUPT.store(true, core::sync::atomic::Ordering::Release);
}

/// The UART interrupt: take the input and wake the readers.
pub fn console_interrupt() {
    if console::receive_pending() {
        for reader in READERS.lock().drain(..) {
            if reader.claim_wake(ferrite_smp::thread::WakeReason::Woken) {
                ferrite_smp::sched::wake(&reader);
            }
        }
    }
}

/// Wait for console input and read it.
fn read_console(buf: &mut [u8], nonblocking: bool) -> SysResult {
    use ferrite_smp::{sched, thread::WakeReason};
    if buf.is_empty() {
        return Ok(0);
    }
    loop {
        if let Some(n) = console::try_read(buf) {
            return Ok(n as i64);
        }
        if nonblocking {
            return Err(Errno::EAGAIN);
        }
        if !INPUT_INTERRUPT.load(core::sync::atomic::Ordering::Acquire) {
            // No interrupt routed: poll the UART every millisecond, sleeping in between.
            super::time::sleep_until(super::time::monotonic_ns() + 1_000_000)?;
            continue;
        }
        sched::prepare_to_block();
        READERS.lock().push(sched::current_arc());
        // Input that arrived before we were on the list would otherwise wake nobody.
        if console::receive_pending() {
            READERS
                .lock()
                .retain(|t| !core::ptr::eq(alloc::sync::Arc::as_ptr(t), sched::current()));
            continue;
        }
        if sched::block() == WakeReason::Interrupted {
            READERS
                .lock()
                .retain(|t| !core::ptr::eq(alloc::sync::Arc::as_ptr(t), sched::current()));
            return Err(Errno::EINTR);
        }
    }
}

pub fn sys_read(f: &mut SyscallFrame) -> SysResult {
    let fd = console_fd(f.arg(0))?;
    let buf = uaccess::slice_mut(f.arg(1), f.arg(2))?;
    read_console(buf, fd.nonblocking)
}

pub fn sys_write(f: &mut SyscallFrame) -> SysResult {
    console_fd(f.arg(0))?;
    let buf = uaccess::slice(f.arg(1), f.arg(2))?;
    console::write(buf);
    Ok(buf.len() as i64)
}

pub fn sys_readv(f: &mut SyscallFrame) -> SysResult {
    let fd = console_fd(f.arg(0))?;
    let iovecs = uaccess::iovecs(f.arg(1), f.arg(2))?;
    let mut total = 0i64;
    for (base, len) in iovecs {
        if len == 0 {
            continue;
        }
        let buf = uaccess::slice_mut(base, len)?;
        // Later buffers only take what is already there: one read returns what one wait brought.
        let n = match read_console(buf, fd.nonblocking || total > 0) {
            Ok(n) => n,
            Err(Errno::EAGAIN) if total > 0 => 0,
            Err(e) => return Err(e),
        };
        total += n;
        if (n as u64) < len {
            break;
        }
    }
    Ok(total)
}

pub fn sys_writev(f: &mut SyscallFrame) -> SysResult {
    console_fd(f.arg(0))?;
    let iovecs = uaccess::iovecs(f.arg(1), f.arg(2))?;
    // Gather first so one writev is one console write (not interleaved with other CPUs).
    let mut data = alloc::vec::Vec::new();
    for (base, len) in iovecs {
        data.extend_from_slice(uaccess::slice(base, len)?);
    }
    console::write(&data);
    Ok(data.len() as i64)
}

pub fn sys_pread64(f: &mut SyscallFrame) -> SysResult {
    console_fd(f.arg(0))?;
    Err(Errno::ESPIPE)
}

pub fn sys_pwrite64(f: &mut SyscallFrame) -> SysResult {
    console_fd(f.arg(0))?;
    Err(Errno::ESPIPE)
}

pub fn sys_lseek(f: &mut SyscallFrame) -> SysResult {
    console_fd(f.arg(0))?;
    Err(Errno::ESPIPE)
}

pub fn sys_close(f: &mut SyscallFrame) -> SysResult {
    let mut fds = FDS.lock();
    match fds.get_mut(f.arg(0) as usize) {
        Some(fd) if fd.open => {
            fd.open = false;
            Ok(0)
        }
        _ => Err(Errno::EBADF),
    }
}

pub fn sys_ioctl(f: &mut SyscallFrame) -> SysResult {
    let fd_number = f.arg(0);
    console_fd(fd_number)?;
    let request = f.arg(1) as u32;
    let arg = f.arg(2);
    let tty = console::mode() == Mode::Tty;
    match request {
        abi::TIOCGWINSZ => {
            let (cols, rows) = console::winsize().ok_or(Errno::ENOTTY)?;
            let ws = abi::winsize {
                ws_row: rows,
                ws_col: cols,
                ws_xpixel: 0,
                ws_ypixel: 0,
            };
            uaccess::write(arg, &ws)?;
            Ok(0)
        }
        abi::TCGETS if tty => {
            let mut t = abi::termios {
                c_iflag: abi::ICRNL,
                c_oflag: abi::OPOST | abi::ONLCR,
                c_cflag: abi::B38400 | abi::CS8 | abi::CREAD,
                c_lflag: abi::ICANON | abi::ECHO | abi::ISIG,
                ..Default::default()
            };
            t.c_cc[4] = 4; // VEOF = ^D
            uaccess::write(arg, &t)?;
            Ok(0)
        }
        abi::TCSETS | abi::TCSETSW | abi::TCSETSF if tty => {
            // Terminal settings are accepted: the line discipline is fixed (canonical, echo).
            uaccess::read::<abi::termios>(arg)?;
            Ok(0)
        }
        abi::FIONREAD => {
            uaccess::write(arg, &(console::pending() as i32))?;
            Ok(0)
        }
        abi::FIONBIO => {
            let on: i32 = uaccess::read(arg)?;
            FDS.lock()[fd_number as usize].nonblocking = on != 0;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

pub fn sys_fcntl(f: &mut SyscallFrame) -> SysResult {
    let fd_number = f.arg(0) as usize;
    let fd = console_fd(fd_number as u64)?;
    let arg = f.arg(2);
    match f.arg(1) as u32 {
        abi::F_GETFD => Ok(if fd.close_on_exec {
            abi::FD_CLOEXEC as i64
        } else {
            0
        }),
        abi::F_SETFD => {
            FDS.lock()[fd_number].close_on_exec = arg & abi::FD_CLOEXEC as u64 != 0;
            Ok(0)
        }
        abi::F_GETFL => Ok((abi::O_RDWR | if fd.nonblocking { abi::O_NONBLOCK } else { 0 }) as i64),
        abi::F_SETFL => {
            FDS.lock()[fd_number].nonblocking = arg & abi::O_NONBLOCK as u64 != 0;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn sys_fstat(f: &mut SyscallFrame) -> SysResult {
    console_fd(f.arg(0))?;
    let st = abi::stat {
        st_mode: abi::S_IFCHR | 0o620,
        st_nlink: 1,
        st_rdev: if console::mode() == Mode::Tty {
            (136 << 8) as u64
        } else {
            0
        }, // /dev/pts/0
        st_blksize: 1024,
        ..Default::default()
    };
    uaccess::write(f.arg(1), &st)?;
    Ok(0)
}
