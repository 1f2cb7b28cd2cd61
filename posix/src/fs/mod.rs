//! Files and I/O: open files and the descriptor table, wait queues, and the file kinds.
//! See docs/architecture.md ("Files and I/O").

pub mod console;
pub mod fdtable;
pub mod file;
pub mod wait;

// File kinds and services, each in its own module:
pub mod devfs; // /dev
pub mod epoll;
pub mod eventfd;
pub mod locks; // fcntl record locks and flock
pub mod pipe;
pub mod procfs; // /proc and /sys
pub mod rootfs; // the image's cpio archive and the /etc defaults, unpacked at boot
pub mod signalfd;
pub mod timerfd;
pub mod tmpfs;
pub mod vfs; // path lookup, the mount table, the current directory

use crate::abi;
use file::OpenFile;

/// fds 0, 1 and 2 on the console, as the service's stdio was on the host: one terminal
/// description shared by all three, or (pipes, as under a test harness) stdin's read end and
/// one write end shared by stdout and stderr.
pub fn install_stdio() {
    use ferrite_libos::console::{self, Mode};
    let ops = console::mode();
    let (stdin, stdout) = match ops {
        Mode::Tty => {
            let f = OpenFile::new(self::console::open(), abi::O_RDWR);
            (f.clone(), f)
        }
        Mode::Pipe => (
            OpenFile::new(self::console::open(), abi::O_RDONLY),
            OpenFile::new(self::console::open(), abi::O_WRONLY),
        ),
    };
    let results = [
        fdtable::install_at(0, stdin, false),
        fdtable::install_at(1, stdout.clone(), false),
        fdtable::install_at(2, stdout, false),
    ];
    debug_assert!(results.iter().all(|r| r.is_ok()));
}

/// fcntl's record locks (F_GETLK, F_SETLK, F_SETLKW and the F_OFD_ variants).
pub fn record_locks(file: &OpenFile, cmd: u32, arg: u64) -> crate::errno::SysResult {
    locks::fcntl(file, cmd, arg)
}

/// F_GETPIPE_SZ/F_SETPIPE_SZ: EBADF for anything but a pipe, as Linux.
pub fn pipe_size(file: &OpenFile, cmd: u32, arg: u64) -> crate::errno::SysResult {
    pipe::pipe_size(file, cmd, arg)
}
