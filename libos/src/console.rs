//! The console the service sees as fds 0, 1 and 2.
//!
//! Two modes, chosen by the runner with `ferrite.console=tty|pipe`, so the service behaves as it
//! would natively with the same host stdin/stdout:
//! - `tty`: a terminal. Reads are line-edited and echoed (QEMU has put the host terminal in raw
//!   mode), `^D` at the start of a line is end of file, `TIOCGWINSZ` answers (so musl line-buffers
//!   stdout).
//! - `pipe` (default): bytes pass through unchanged; the runner sends EOT (0x04) when its stdin
//!   ends, which reads as end of file from then on; `TIOCGWINSZ` fails with ENOTTY (so musl fully
//!   buffers stdout, as with a pipe on Linux).

use alloc::collections::VecDeque;

use crate::sync::IrqMutex;

#[cfg_attr(not(target_os = "none"), allow(dead_code))]
const EOT: u8 = 0x04;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Tty,
    Pipe,
}

#[cfg_attr(not(target_os = "none"), allow(dead_code))]
struct Input {
    /// Bytes ready for `read` (complete lines in tty mode).
    ready: VecDeque<u8>,
    /// The line being edited (tty mode).
    line: alloc::vec::Vec<u8>,
    /// Pipe mode: EOT seen, every later read is end of file. Tty mode: one pending end of file.
    eof: bool,
}

struct Console {
    mode: Mode,
    winsize: (u16, u16),
    input: Input,
}

static CONSOLE: IrqMutex<Console> = IrqMutex::new(Console {
    mode: Mode::Pipe,
    winsize: (80, 24),
    input: Input {
        ready: VecDeque::new(),
        line: alloc::vec::Vec::new(),
        eof: false,
    },
});
static OUTPUT: IrqMutex<()> = IrqMutex::new(());

pub fn configure(mode: Mode, winsize: Option<(u16, u16)>) {
    let mut c = CONSOLE.lock();
    c.mode = mode;
    if let Some(w) = winsize {
        c.winsize = w;
    }
}

pub fn mode() -> Mode {
    CONSOLE.lock().mode
}

/// (columns, rows) when the console is a terminal.
pub fn winsize() -> Option<(u16, u16)> {
    let c = CONSOLE.lock();
    (c.mode == Mode::Tty).then_some(c.winsize)
}

/// Write to the console; whole calls are not interleaved with other CPUs' writes.
pub fn write(bytes: &[u8]) {
    let _guard = OUTPUT.lock();
    #[cfg(target_os = "none")]
    crate::serial::write(bytes);
    #[cfg(not(target_os = "none"))]
    let _ = bytes;
}

/// Feed one received byte through the line discipline.
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
fn receive(c: &mut Console, byte: u8, echo: &mut alloc::vec::Vec<u8>) {
    match c.mode {
        Mode::Pipe => {
            if byte == EOT {
                c.input.eof = true;
            } else if !c.input.eof {
                c.input.ready.push_back(byte);
            }
        }
        Mode::Tty => match byte {
            EOT => {
                if c.input.line.is_empty() {
                    c.input.eof = true;
                } else {
                    let line = core::mem::take(&mut c.input.line);
                    c.input.ready.extend(line);
                }
            }
            b'\r' | b'\n' => {
                let line = core::mem::take(&mut c.input.line);
                c.input.ready.extend(line);
                c.input.ready.push_back(b'\n');
                echo.extend_from_slice(b"\r\n");
            }
            0x7F | 0x08 => {
                if c.input.line.pop().is_some() {
                    echo.extend_from_slice(b"\x08 \x08");
                }
            }
            b => {
                c.input.line.push(b);
                echo.push(b);
            }
        },
    }
}

/// Read what is available into `buf`: Some(n) with n > 0 bytes, Some(0) at end of file, None when
/// nothing is available yet (the caller waits and retries).
pub fn try_read(buf: &mut [u8]) -> Option<usize> {
    try_read_with(buf.len(), |bytes| {
        buf[..bytes.len()].copy_from_slice(bytes);
        bytes.len()
    })
    .map(|(_, taken)| taken)
}

/// Offer up to `max` (> 0) available bytes to `take`, which returns how many of them (a prefix)
/// it took; only those are consumed. Some((offered, taken)): offered is 0 at end of file (and
/// `take` is not called). None when nothing is available yet (the caller waits and retries).
/// `take` runs under the console lock (it copies to the service's memory, which may fault and
/// resolve a lazy page, but never blocks).
pub fn try_read_with(max: usize, take: impl FnOnce(&[u8]) -> usize) -> Option<(usize, usize)> {
    #[cfg_attr(not(target_os = "none"), allow(unused_mut))]
    let mut echo = alloc::vec::Vec::new();
    let result = {
        #[cfg_attr(not(target_os = "none"), allow(unused_mut))]
        let mut c = CONSOLE.lock();
        #[cfg(target_os = "none")]
        while let Some(b) = crate::serial::try_read() {
            receive(&mut c, b, &mut echo);
        }
        if !c.input.ready.is_empty() {
            let n = max.min(c.input.ready.len());
            let taken = take(&c.input.ready.make_contiguous()[..n]).min(n);
            c.input.ready.drain(..taken);
            Some((n, taken))
        } else if c.input.eof {
            if c.mode == Mode::Tty {
                c.input.eof = false; // a terminal's ^D ends one read, not the stream
            }
            Some((0, 0))
        } else {
            None
        }
    };
    if !echo.is_empty() {
        write(&echo);
    }
    result
}

/// Move whatever the UART holds into the input buffer (from its interrupt); returns whether a
/// reader may now have something (data or end of file).
pub fn receive_pending() -> bool {
    #[cfg_attr(not(target_os = "none"), allow(unused_mut))]
    let mut echo = alloc::vec::Vec::new();
    let ready = {
        #[cfg_attr(not(target_os = "none"), allow(unused_mut))]
        let mut c = CONSOLE.lock();
        #[cfg(target_os = "none")]
        while let Some(b) = crate::serial::try_read() {
            receive(&mut c, b, &mut echo);
        }
        !c.input.ready.is_empty() || c.input.eof
    };
    if !echo.is_empty() {
        write(&echo);
    }
    ready
}

/// Bytes a read would return now without waiting (for FIONREAD and readiness).
pub fn pending() -> usize {
    CONSOLE.lock().input.ready.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console(mode: Mode) -> Console {
        Console {
            mode,
            winsize: (80, 24),
            input: Input {
                ready: VecDeque::new(),
                line: alloc::vec::Vec::new(),
                eof: false,
            },
        }
    }

    #[test]
    fn pipe_mode_passes_bytes_and_ends_at_eot() {
        let mut c = console(Mode::Pipe);
        let mut echo = alloc::vec::Vec::new();
        for &b in b"21\n\x04more" {
            receive(&mut c, b, &mut echo);
        }
        assert_eq!(
            c.input
                .ready
                .iter()
                .copied()
                .collect::<alloc::vec::Vec<_>>(),
            b"21\n"
        );
        assert!(c.input.eof);
        assert!(echo.is_empty());
    }

    #[test]
    fn tty_mode_edits_lines_and_echoes() {
        let mut c = console(Mode::Tty);
        let mut echo = alloc::vec::Vec::new();
        for &b in b"4x\x7f2\r" {
            receive(&mut c, b, &mut echo);
        }
        assert_eq!(
            c.input
                .ready
                .iter()
                .copied()
                .collect::<alloc::vec::Vec<_>>(),
            b"42\n"
        );
        assert_eq!(echo, b"4x\x08 \x082\r\n");
        receive(&mut c, EOT, &mut echo);
        assert!(c.input.eof);
    }
}
