//! Starting one run (a native process or a QEMU guest), timing it and reading what it printed.

use crate::prepare::{Res, ferrite};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The line every benchmark program prints first (boot) or the floor prints at all.
pub const READY: &str = "BENCH-READY";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    pub fn name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
    fn cpu(self) -> &'static str {
        match self {
            Accel::Kvm => "host",
            Accel::Tcg => "max",
        }
    }
}

/// What one run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub output: String,
    /// From spawn to the first appearance of [`READY`] on the console.
    pub ready: Option<Duration>,
    /// From spawn to the process's exit; None if it was killed at the time limit.
    pub exit: Option<Duration>,
}

impl Outcome {
    /// `BENCH` lines: (workload, metric, unit, value).
    pub fn bench_lines(&self) -> Vec<(String, String, String, f64)> {
        let mut v = Vec::new();
        for line in self.output.lines() {
            let Some(rest) = line.trim_end_matches('\r').strip_prefix("BENCH ") else {
                continue;
            };
            let field = |k: &str| {
                rest.split_whitespace()
                    .find_map(|f| f.strip_prefix(k).and_then(|f| f.strip_prefix('=')))
                    .map(str::to_string)
            };
            if let (Some(w), Some(m), Some(u), Some(val)) = (
                field("workload"),
                field("metric"),
                field("unit"),
                field("value").and_then(|x| x.parse::<f64>().ok()),
            ) {
                v.push((w, m, u, val));
            }
        }
        v
    }

    /// `BENCH-SKIP` reason or `BENCH-ERROR` text, or a missing `BENCH-END status=0`.
    pub fn problem(&self) -> Option<String> {
        for line in self.output.lines() {
            if let Some(r) = line.strip_prefix("BENCH-SKIP ") {
                return Some(format!("skipped: {}", r.trim()));
            }
            if let Some(r) = line.strip_prefix("BENCH-ERROR ") {
                return Some(format!("error: {}", r.trim()));
            }
        }
        if self.exit.is_none() {
            return Some(format!("timed out; last output: {}", tail(&self.output)));
        }
        if !self.output.contains("BENCH-END status=0") {
            return Some(format!(
                "did not finish; last output: {}",
                tail(&self.output)
            ));
        }
        None
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().rev().take(3).collect();
    let t: Vec<&str> = lines.into_iter().rev().collect();
    let t = t.join(" | ");
    if t.len() > 300 {
        t[t.len() - 300..].to_string()
    } else {
        t
    }
}

/// Runs `cmd` with stdin empty and stdout captured; stderr is captured separately and appended
/// to the output only for diagnostics. Kills it after `limit`.
pub fn spawn_timed(mut cmd: Command, limit: Duration) -> Res<Outcome> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if std::env::var_os("FERRITE_BENCH_DEBUG").is_some() {
        eprintln!("bench: running {cmd:?}");
    }
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut ready = None;
        let mut chunk = [0u8; 4096];
        loop {
            match stdout.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if ready.is_none() && buf.windows(READY.len()).any(|w| w == READY.as_bytes()) {
                        ready = Some(start.elapsed());
                    }
                }
            }
        }
        (buf, ready)
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = child.wait();
        let _ = tx.send(start.elapsed());
    });
    let exit = match rx.recv_timeout(limit) {
        Ok(t) => Some(t),
        Err(_) => {
            // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet (the
            // waiter thread reaps it only after this signal ends it).
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
            None
        }
    };
    let _ = waiter.join();
    let (out, ready) = reader.join().unwrap();
    let err = err_reader.join().unwrap();
    let mut output = String::from_utf8_lossy(&out).into_owned();
    let err = String::from_utf8_lossy(&err);
    let err = err
        .lines()
        .filter(|l| !l.contains("host doesn't support requested feature"))
        .collect::<Vec<_>>()
        .join("\n");
    if !err.trim().is_empty() {
        output.push_str("\n[stderr] ");
        output.push_str(err.trim());
    }
    Ok(Outcome {
        output,
        ready,
        exit,
    })
}

/// Splits a command line as `ferrite run --dry-run` prints it (words, '…' quoting).
pub fn split_shell(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        _ => cur.push(q),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// How a guest is booted.
#[derive(Debug, Clone)]
pub struct Guest {
    pub accel: Accel,
    pub cpus: u32,
    pub mem_mib: u32,
}

/// QEMU with a clean environment (PATH, HOME, TMPDIR), so that runs from `cargo run`, `make`
/// or a shell are alike: cargo adds its own variables and LD_LIBRARY_PATH.
fn qemu(program: &str) -> Command {
    let mut c = Command::new(program);
    c.env_clear();
    for var in ["PATH", "HOME", "TMPDIR"] {
        if let Some(v) = std::env::var_os(var) {
            c.env(var, v);
        }
    }
    c
}

/// Common QEMU options for the floor and the Linux guest, mirroring `ferrite run`'s.
fn qemu_base(g: &Guest, machine: &str) -> Command {
    let mut c = qemu("qemu-system-x86_64");
    c.args(["-nodefaults", "-no-user-config", "-nographic", "-no-reboot"])
        .args(["-M", machine])
        .args(["-accel", g.accel.name(), "-cpu", g.accel.cpu()])
        .args(["-m", &format!("{}M", g.mem_mib)])
        .args(["-smp", &g.cpus.to_string()])
        .args([
            "-chardev",
            "stdio,id=con,signal=on",
            "-serial",
            "chardev:con",
        ])
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]);
    c
}

/// The floor kernel (PVH, microvm exactly as Ferrite is booted).
pub fn floor_command(floor: &Path, g: &Guest) -> Command {
    let mut c = qemu_base(g, "microvm,x-option-roms=off,rtc=on");
    c.arg("-kernel").arg(floor);
    c
}

/// The Linux guest: bzImage through microvm's qboot firmware, the program as /init, its
/// arguments after `--`, and BENCH_POWEROFF=1 in its environment.
pub fn linux_command(vmlinuz: &Path, initrd: &Path, g: &Guest, args: &[String]) -> Command {
    let mut c = qemu_base(g, "microvm,rtc=on");
    let mut append = "console=ttyS0 quiet loglevel=3 panic=-1 pci=off".to_string();
    // Under TCG the guest reads the host's TSC. Without a reference timer on microvm (no HPET,
    // no PM timer) Linux sometimes fails to calibrate it against the PIT on a loaded host, marks
    // it unstable and then hangs (2 vCPUs) or falls back to the jiffies clock (1 vCPU). Telling
    // it the frequency, as a hypervisor's CPUID or kvmclock would, avoids both.
    if let Some(khz) = host_tsc_khz() {
        append.push_str(&format!(" tsc_early_khz={khz} tsc=reliable"));
    }
    append.push_str(" BENCH_POWEROFF=1");
    if !args.is_empty() {
        append.push_str(" --");
        for a in args {
            append.push(' ');
            append.push_str(a);
        }
    }
    c.arg("-kernel")
        .arg(vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(append);
    c
}

/// The host's TSC frequency from /proc/cpuinfo (`cpu MHz`, which is the TSC's on a host with
/// `tsc_known_freq`).
pub fn host_tsc_khz() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz = info
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse::<f64>()
        .ok()?;
    Some((mhz * 1000.0).round() as u64)
}

/// The exact QEMU command `ferrite run` would use (from `--dry-run`), with its status file
/// pointed at `status`. `extra` are more `ferrite run` options (e.g. `--boot-log`).
pub fn ferrite_command(
    tool: &Path,
    image: &Path,
    g: &Guest,
    extra: &[&str],
    args: &[String],
    status: &Path,
) -> Res<Command> {
    let mut cmd = ferrite(tool);
    cmd.arg("run")
        .arg(image)
        .args(["--accel", g.accel.name()])
        .args(["--cpus", &g.cpus.to_string()])
        .args(["--mem", &format!("{}M", g.mem_mib)])
        .args(extra)
        .arg("--dry-run");
    if !args.is_empty() {
        cmd.arg("--").args(args);
    }
    let line = crate::prepare::run_cmd(&mut cmd)?;
    let words = split_shell(line.lines().last().unwrap_or(""));
    if words.is_empty() {
        return Err(format!("no command line from {cmd:?}"));
    }
    let mut c = qemu(&words[0]);
    let mut words = words[1..].iter();
    while let Some(w) = words.next() {
        if w.starts_with("file,id=ferrite-status,path=") {
            c.arg(format!("file,id=ferrite-status,path={}", status.display()));
        } else if w == "-monitor" {
            // `ferrite run --timeout` talks to QEMU's monitor through a socket in a temporary
            // directory that is gone once `--dry-run` returns; the harness has its own limit.
            words.next();
        } else {
            c.arg(w);
        }
    }
    Ok(c)
}

/// Native run of a benchmark executable.
pub fn native_command(exe: &Path, args: &[String]) -> Command {
    let mut c = Command::new(exe);
    c.args(args).env_clear();
    c
}

/// A scratch status file for one guest.
pub fn status_file() -> PathBuf {
    crate::prepare::work_dir().join(format!("status.{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_dry_run_lines() {
        let w = split_shell("qemu -append 'ferrite.console=pipe -- a b' -m 128M");
        assert_eq!(
            w,
            [
                "qemu",
                "-append",
                "ferrite.console=pipe -- a b",
                "-m",
                "128M"
            ]
        );
    }

    #[test]
    fn parses_bench_lines() {
        let o = Outcome {
            output: "x\nBENCH workload=syscall metric=getppid unit=ns round=0 iters=9 value=12.5\r\nBENCH-END status=0\n".into(),
            ready: None,
            exit: Some(Duration::from_millis(1)),
        };
        let l = o.bench_lines();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].0, "syscall");
        assert_eq!(l[0].3, 12.5);
        assert!(o.problem().is_none());
    }
}
