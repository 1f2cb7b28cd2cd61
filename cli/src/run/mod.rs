//! `ferrite run IMAGE [OPTIONS] [-- ARGS…]`: boot an image in QEMU and exit with its status.

pub mod cmdline;
mod grub;
mod image;
mod net;
mod options;
mod qemu;
mod status;

use crate::driver::shell_quote;
use crate::error::{Error, Result};
use crate::home;
use crate::size::MemSize;
use cmdline::Console;
use options::{Accel, RunOptions};
use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

const DEFAULT_MEM: MemSize = MemSize { mib: 128 };
/// Exit statuses of `ferrite run` that do not come from the service.
const TIMED_OUT: i32 = 124;
const NO_STATUS: i32 = 125;
const EOT: u8 = 0x04;

pub fn main(argv: &[OsString]) -> Result<i32> {
    let before_separator = argv.iter().take_while(|a| *a != "--");
    if before_separator
        .into_iter()
        .any(|a| a == "--help" || a == "-h")
    {
        print!("{}", crate::HELP);
        return Ok(0);
    }
    let opts = options::parse(argv)?;
    let config = image::inspect(&opts.image)?;
    let accel = choose_accel(opts.accel)?;
    let console = console();
    let words = cmdline::build(&cmdline::Parts {
        console,
        boot_log: opts.boot_log,
        append: &opts.append,
        env: &opts.env,
        image_cmdline: config.cmdline.as_deref(),
        args: &opts.args,
    });
    let line = cmdline::join(&words);
    let tmp = tempfile::Builder::new()
        .prefix("ferrite-run")
        .tempdir()
        .map_err(|e| Error::failed(format!("cannot create a temporary directory: {e}")))?;
    let iso = tmp.path().join("boot.iso");
    let boot = if opts.grub {
        let mkrescue = grub::mkrescue_command(&opts.image, &words, tmp.path(), &iso)?;
        if opts.dry_run {
            println!("{}", crate::driver::show_command(&mkrescue));
        } else {
            grub::run_mkrescue(mkrescue)?;
        }
        qemu::Boot::Cdrom { iso: &iso }
    } else {
        qemu::Boot::Kernel {
            image: &opts.image,
            cmdline: &line,
        }
    };
    let plan = qemu::Plan {
        boot,
        machine: opts.machine,
        accel,
        cpus: opts.cpus.or(config.cpus).unwrap_or(1),
        mem: opts.mem.or(config.memory).unwrap_or(DEFAULT_MEM),
        status_file: tmp.path().join("status"),
        gdb: opts.gdb,
        extra: &opts.qemu_args,
    };
    let mut args = qemu::args(&plan);
    args.extend(
        net::qemu_args(&opts.net, &opts.forwards, opts.machine)?
            .into_iter()
            .map(OsString::from),
    );
    if opts.dry_run {
        let words: Vec<String> = std::iter::once(OsString::from(qemu::QEMU))
            .chain(args)
            .map(|a| shell_quote(&a))
            .collect();
        println!("{}", words.join(" "));
        return Ok(0);
    }
    if let Some(port) = opts.gdb {
        let image = std::fs::canonicalize(&opts.image).unwrap_or(opts.image.clone());
        eprintln!(
            "ferrite: QEMU waits for gdb; in another terminal run: gdb {} -ex 'target remote 127.0.0.1:{port}'",
            shell_quote(image.as_os_str())
        );
    }
    boot_and_wait(&args, &plan.status_file, &opts)
}

/// KVM when /dev/kvm opens read-write, else TCG with one notice (unless chosen explicitly).
fn choose_accel(requested: Option<Accel>) -> Result<Accel> {
    let kvm = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm");
    match (requested, kvm) {
        (Some(Accel::Tcg), _) => Ok(Accel::Tcg),
        (_, Ok(_)) => Ok(Accel::Kvm),
        (Some(Accel::Kvm), Err(e)) => Err(Error::usage(format!(
            "--accel kvm: /dev/kvm cannot be opened read-write ({e}); use --accel tcg"
        ))),
        (None, Err(e)) => {
            eprintln!("ferrite: /dev/kvm is not usable ({e}); using TCG (slower)");
            Ok(Accel::Tcg)
        }
    }
}

/// tty when both stdin and stdout are terminals; then the terminal's size too.
fn console() -> Console {
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return Console::Pipe;
    }
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which is valid for it.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 && ws.ws_row > 0 {
        Console::Tty {
            cols: ws.ws_col,
            rows: ws.ws_row,
        }
    } else {
        Console::TtyUnknownSize
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-C reaches QEMU (same process group) and QEMU stops; this process only notes it, so it
/// can still report. A handled signal is reset to default in QEMU by exec.
fn catch_sigint() {
    // SAFETY: installs an async-signal-safe handler (one atomic store) for SIGINT.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigint as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
}

fn boot_and_wait(args: &[OsString], status_file: &Path, opts: &RunOptions) -> Result<i32> {
    let stdin_is_tty = std::io::stdin().is_terminal();
    let mut cmd = Command::new(qemu::QEMU);
    cmd.args(args);
    if !stdin_is_tty {
        cmd.stdin(Stdio::piped());
    }
    if crate::driver::verbose() {
        eprintln!("ferrite: {}", crate::driver::show_command(&cmd));
    }
    catch_sigint();
    let mut child = cmd.spawn().map_err(|e| home::spawn_error(qemu::QEMU, e))?;
    if let Some(mut pipe) = child.stdin.take() {
        std::thread::spawn(move || {
            copy_input(&mut std::io::stdin().lock(), &mut pipe);
            // Keep the pipe open until QEMU exits: EOF on it would mean nothing to the guest.
            loop {
                std::thread::park();
            }
        });
    }
    let pid = child.id() as libc::pid_t;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let mut timed_out = false;
    let waited = match opts.timeout {
        None => rx.recv().ok(),
        Some(t) => match rx.recv_timeout(t) {
            Ok(r) => Some(r),
            Err(_) => {
                timed_out = true;
                report_hang(&qemu::monitor_socket(status_file));
                // SIGTERM first: QEMU then restores the terminal it put in raw mode.
                // SAFETY: kill(2) on our own child's pid, which is not reaped yet.
                unsafe { libc::kill(pid, libc::SIGTERM) };
                match rx.recv_timeout(Duration::from_secs(3)) {
                    Ok(r) => Some(r),
                    Err(_) => {
                        // SAFETY: as above.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                        rx.recv().ok()
                    }
                }
            }
        },
    };
    let qemu_status = waited
        .transpose()
        .map_err(|e| Error::failed(format!("waiting for QEMU failed: {e}")))?;
    if timed_out {
        let secs = opts.timeout.unwrap_or_default().as_secs_f64();
        eprintln!("ferrite: timed out after {secs} s; QEMU stopped");
        return Ok(TIMED_OUT);
    }
    let report = std::fs::read(status_file).unwrap_or_default();
    if let Some(code) = status::exit_code(&String::from_utf8_lossy(&report)) {
        return Ok(code);
    }
    if INTERRUPTED.load(Ordering::SeqCst) {
        eprintln!("ferrite: interrupted");
        return Ok(128 + libc::SIGINT);
    }
    use std::os::unix::process::ExitStatusExt;
    match qemu_status {
        Some(s) if s.code() == Some(0) => eprintln!(
            "ferrite: the guest stopped without reporting an exit status (triple fault or reset?)"
        ),
        Some(s) => eprintln!(
            "ferrite: {} ended ({}) without a guest exit status",
            qemu::QEMU,
            s.code().map_or_else(
                || format!("signal {}", s.signal().unwrap_or(0)),
                |c| format!("status {c}")
            )
        ),
        None => eprintln!("ferrite: lost track of {}", qemu::QEMU),
    }
    Ok(NO_STATUS)
}

/// Ask the guest what it is doing: an NMI makes the kernel print every CPU's and thread's state.
fn report_hang(monitor: &Path) {
    use std::os::unix::net::UnixStream;
    if let Ok(mut s) = UnixStream::connect(monitor) {
        let _ = s.write_all(b"nmi\n");
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Host stdin into QEMU's stdin, then EOT: in pipe mode the kernel reads EOT as end of file.
fn copy_input(from: &mut impl Read, to: &mut impl Write) {
    let _ = std::io::copy(from, to);
    let _ = to.write_all(&[EOT]);
    let _ = to.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_ends_with_eot() {
        let mut out = Vec::new();
        copy_input(&mut &b"line\n"[..], &mut out);
        assert_eq!(out, b"line\n\x04");
    }
}
