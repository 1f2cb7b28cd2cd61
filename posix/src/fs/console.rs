//! The console (serial port) as a file: fds 0, 1 and 2 at boot, /dev/console, /dev/tty.
//! It behaves as the terminal or the pipe that the service's stdio was on the host (see
//! `ferrite_libos::console::Mode`), so partial writes and reads fault the way Linux's do.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, Ordering};

use ferrite_libos::console::{self, Mode};

use crate::abi;
use crate::errno::{Errno, SysResult};
use crate::fs::file::{FileOps, OpenFile, ReadBuf, WriteBuf};
use crate::fs::wait::{self, Deadline, WaitQueue};
use crate::uaccess;

/// Readers and pollers of the console; the UART's interrupt notifies it.
static QUEUE: WaitQueue = WaitQueue::new();
/// Whether the UART interrupt is routed (otherwise readers poll every millisecond).
static INPUT_INTERRUPT: AtomicBool = AtomicBool::new(false);

/// The UART interrupt is routed to the kernel: readers may sleep until it fires.
pub fn interrupt_ready() {
    INPUT_INTERRUPT.store(true, Ordering::Release);
}

/// The UART interrupt: take the input and wake the readers.
pub fn interrupt() {
    if console::receive_pending() {
        QUEUE.notify(abi::EPOLLIN | abi::EPOLLRDNORM);
    }
}

pub struct Console;

/// The console file (one description shared by fds 0-2 at boot, as a shell's terminal).
pub fn open() -> Arc<dyn FileOps> {
    Arc::new(Console)
}

/// Bytes of a write that Linux copies from the service at a time, dropping a piece that faults
/// part-way: a page for a pipe (`pipe_write`), 2 KiB for a terminal (`tty_write`).
fn write_piece() -> usize {
    match console::mode() {
        Mode::Tty => 2048,
        Mode::Pipe => 4096,
    }
}

/// One console write at most this long (a multiple of both pieces): writes up to this size are
/// not interleaved with other CPUs' output.
const WRITE_BATCH: usize = 64 * 1024;

impl FileOps for Console {
    fn read(&self, file: &OpenFile, buf: &mut ReadBuf, _offset: Option<u64>) -> SysResult {
        let max = buf.remaining().min(uaccess::MAX_RW_COUNT as usize);
        if max == 0 {
            return Ok(0);
        }
        // As Linux's pipe (`pipe_read`), input whose copy faults is not consumed and the read
        // is EFAULT; a terminal (`tty_read`) keeps what was copied.
        let whole_or_nothing = console::mode() == Mode::Pipe;
        let mut attempt = || {
            console::try_read_with(max, |bytes| {
                let copied = buf.put(bytes);
                if whole_or_nothing && copied < bytes.len() {
                    0
                } else {
                    copied
                }
            })
        };
        let deadline = || {
            if INPUT_INTERRUPT.load(Ordering::Acquire) {
                Deadline::Never
            } else {
                Deadline::after_ns(1_000_000) // no interrupt routed: poll the UART
            }
        };
        loop {
            let outcome = if file.nonblocking() {
                attempt().ok_or(Errno::EAGAIN)?
            } else {
                match wait::wait_until(&[&QUEUE], abi::EPOLLIN, deadline(), &mut attempt) {
                    Ok(r) => r,
                    Err(wait::WaitError::TimedOut) => continue,
                    Err(e) => return Err(e.into()),
                }
            };
            return match outcome {
                (0, _) => Ok(0),
                (_, 0) => Err(Errno::EFAULT),
                (_, taken) => Ok(taken as i64),
            };
        }
    }

    fn write(
        &self,
        _file: &OpenFile,
        buf: &mut WriteBuf,
        _offset: Option<u64>,
        _end: &mut Option<u64>,
    ) -> SysResult {
        let total = buf.remaining().min(uaccess::MAX_RW_COUNT as usize);
        let mut batch: Vec<u8> = alloc::vec![0; total.min(WRITE_BATCH)];
        let mut written = 0usize;
        while written < total {
            let want = (total - written).min(WRITE_BATCH);
            let got = buf.take(&mut batch[..want]);
            if got < want && buf.faulted() {
                // Whole pieces before the fault are written, the faulting one is dropped.
                let keep = got / write_piece() * write_piece();
                console::write(&batch[..keep]);
                written += keep;
                return if written == 0 {
                    Err(Errno::EFAULT)
                } else {
                    Ok(written as i64)
                };
            }
            console::write(&batch[..got]);
            written += got;
            if got < want {
                break;
            }
        }
        Ok(written as i64)
    }

    fn poll(&self, _file: &OpenFile) -> u32 {
        let input = if console::receive_pending() {
            abi::EPOLLIN | abi::EPOLLRDNORM
        } else {
            0
        };
        input | abi::EPOLLOUT | abi::EPOLLWRNORM
    }

    fn wait_queue(&self) -> Option<&WaitQueue> {
        Some(&QUEUE)
    }

    fn ioctl(&self, file: &OpenFile, request: u32, arg: u64) -> SysResult {
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
                // Accepted: the line discipline is fixed (canonical, echo).
                uaccess::read::<abi::termios>(arg)?;
                Ok(0)
            }
            abi::FIONREAD => {
                uaccess::write(arg, &(console::pending() as i32))?;
                Ok(0)
            }
            _ => {
                let _ = file;
                Err(Errno::ENOTTY)
            }
        }
    }

    fn stat(&self) -> Result<abi::stat, Errno> {
        // As the service's stdio natively: /dev/pts/0, or a pipe.
        Ok(match console::mode() {
            Mode::Tty => abi::stat {
                st_mode: abi::S_IFCHR | 0o620,
                st_nlink: 1,
                st_rdev: 136 << 8,
                st_blksize: 1024,
                ..Default::default()
            },
            Mode::Pipe => abi::stat {
                st_mode: abi::S_IFIFO | 0o600,
                st_nlink: 1,
                st_blksize: 4096,
                ..Default::default()
            },
        })
    }

    fn describe(&self) -> String {
        String::from(match console::mode() {
            Mode::Tty => "/dev/pts/0",
            Mode::Pipe => "pipe:[1]",
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
