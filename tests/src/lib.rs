//! Guest test harness: every program in `tests/programs/` is built twice from the same source —
//! as a Ferrite image and as a native static musl executable — and each test case runs both with
//! the same arguments, environment and stdin. Both runs must end with the case's expected status
//! and print the same thing: Linux is the oracle.
//!
//! What is compared: the native process writes stdout and stderr into one pipe; the guest has a
//! single console for both, which `ferrite run` copies to its stdout. The guest's output is
//! compared after dropping the kernel's own messages (lines starting with `ferrite: ` and the
//! register/backtrace lines of a fault report, see [`filter_kernel_lines`]).
//!
//! The manifest (programs and cases, one line each) lives in `tests/guest.rs`; the `guest_cases!`
//! macro turns every case into its own `#[test]`. Artifacts go to `target/guest-tests/`: the
//! builds under `build/<program>/`, each run's outputs under `runs/<mode>/<case>/`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

mod watched;
pub use watched::{Watched, example_image, free_port, kill_group};

/// Seconds a guest may run under TCG before `ferrite run --timeout` stops it.
pub const TCG_TIMEOUT: u32 = 90;
/// Under KVM (PVM here) the kernel's own code is emulated: allow more.
pub const KVM_TIMEOUT: u32 = 120;
/// Native runs are killed after this long.
pub const NATIVE_TIMEOUT: Duration = Duration::from_secs(90);

// ------------------------------------------------------------------------------------------------
// Manifest types

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    C,
    Cxx,
}

/// One test program: a source file in `tests/programs/` and the flags it is built with.
#[derive(Debug, Clone, Copy)]
pub struct Program {
    /// Directory name under target/guest-tests/build/ and the image's name.
    pub name: &'static str,
    pub source: &'static str,
    pub lang: Lang,
    /// Compiler flags after the defaults (`-O2 -g -Wall`, the language standard, `-lm` for C).
    pub flags: &'static [&'static str],
    /// A folder under `tests/rootfs/` packed into the image as its root file system; the native
    /// run gets its absolute path in `FT_ROOT` (unset in the guest) to put before its paths.
    pub rootfs: Option<&'static str>,
}

impl Program {
    /// A C program (`name` must be unique among programs).
    pub const fn c(name: &'static str, source: &'static str) -> Program {
        Program {
            name,
            source,
            lang: Lang::C,
            flags: &[],
            rootfs: None,
        }
    }

    /// A C++ program.
    pub const fn cxx(name: &'static str, source: &'static str) -> Program {
        Program {
            name,
            source,
            lang: Lang::Cxx,
            flags: &[],
            rootfs: None,
        }
    }

    pub const fn flags(mut self, flags: &'static [&'static str]) -> Program {
        self.flags = flags;
        self
    }

    /// Packs `tests/rootfs/<dir>` into the image as its root file system (see `rootfs`).
    pub const fn rootfs(mut self, dir: &'static str) -> Program {
        self.rootfs = Some(dir);
        self
    }

    /// The absolute path of the program's root file system folder, if it has one.
    pub fn rootfs_dir(&self) -> Option<PathBuf> {
        self.rootfs
            .map(|dir| repo_root().join("tests/rootfs").join(dir))
    }
}

/// Bytes as a `&'static str` in a `const` manifest, for long generated arguments:
/// `const LONG: &str = text(&[b'x'; 5000]);`
pub const fn text(bytes: &'static [u8]) -> &'static str {
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => panic!("not UTF-8"),
    }
}

/// One test case: a program with arguments, environment, stdin and the expected exit status.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub program: Program,
    pub args: &'static [&'static str],
    pub env: &'static [(&'static str, &'static str)],
    pub stdin: &'static str,
    /// Exit status of both runs: the code, or 128+N when killed by signal N.
    pub status: i32,
    /// Text the guest's raw console output must contain (e.g. the kernel's fault report).
    pub guest_contains: &'static [&'static str],
    /// CPUs for the guest (`ferrite run --cpus N`); 0 leaves the image's default (1).
    pub cpus: u32,
    /// Memory for the guest (`ferrite run --mem SIZE`, e.g. "2G"); "" leaves the default (128M).
    pub mem: &'static str,
    /// Bytes of memory the native run may use (a memory cgroup, so that running out ends it as
    /// Linux's OOM killer does: SIGKILL); 0 for no limit.
    pub native_memory_limit: u64,
}

pub const fn case(program: Program) -> Case {
    Case {
        program,
        args: &[],
        env: &[],
        stdin: "",
        status: 0,
        guest_contains: &[],
        cpus: 0,
        mem: "",
        native_memory_limit: 0,
    }
}

impl Case {
    pub const fn args(mut self, args: &'static [&'static str]) -> Case {
        self.args = args;
        self
    }
    pub const fn env(mut self, env: &'static [(&'static str, &'static str)]) -> Case {
        self.env = env;
        self
    }
    pub const fn stdin(mut self, stdin: &'static str) -> Case {
        self.stdin = stdin;
        self
    }
    pub const fn status(mut self, status: i32) -> Case {
        self.status = status;
        self
    }
    pub const fn guest_contains(mut self, texts: &'static [&'static str]) -> Case {
        self.guest_contains = texts;
        self
    }
    /// Boots the guest with `n` CPUs (`boot_cases!(…, cpus = N: …)` overrides it per mode).
    pub const fn cpus(mut self, n: u32) -> Case {
        self.cpus = n;
        self
    }

    /// Boots the guest with `size` of memory (`ferrite run --mem SIZE`, e.g. "2G", "64M").
    pub const fn mem(mut self, size: &'static str) -> Case {
        self.mem = size;
        self
    }

    /// Runs the native program in a memory cgroup limited to `bytes`: the oracle for what
    /// running out of memory does to a process (needs root, as the test suite has).
    pub const fn native_memory_limit(mut self, bytes: u64) -> Case {
        self.native_memory_limit = bytes;
        self
    }

    /// The `ferrite run` options for this case's CPU count and memory size.
    fn cpu_args(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.cpus != 0 {
            v.extend(["--cpus".to_string(), self.cpus.to_string()]);
        }
        if !self.mem.is_empty() {
            v.extend(["--mem".to_string(), self.mem.to_string()]);
        }
        v
    }
}

/// How the guest is booted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boot {
    /// `-M microvm` under TCG: the default for every case.
    Tcg,
    /// `-M microvm` under KVM.
    Kvm,
    /// `-M q35` under TCG. SeaBIOS writes to the console first: output is checked as a suffix.
    Q35,
    /// Through GRUB from an ISO (`-M pc`) under TCG; output checked as a suffix.
    Grub,
}

impl Boot {
    fn dir(self) -> &'static str {
        match self {
            Boot::Tcg => "tcg",
            Boot::Kvm => "kvm",
            Boot::Q35 => "q35",
            Boot::Grub => "grub",
        }
    }

    fn run_args(self) -> Vec<String> {
        let (accel, timeout) = match self {
            Boot::Kvm => ("kvm", KVM_TIMEOUT),
            _ => ("tcg", TCG_TIMEOUT),
        };
        let mut v = vec![
            "--accel".to_string(),
            accel.to_string(),
            "--timeout".to_string(),
            timeout.to_string(),
        ];
        match self {
            Boot::Q35 => v.extend(["--machine".to_string(), "q35".to_string()]),
            Boot::Grub => v.push("--grub".to_string()),
            _ => {}
        }
        v
    }

    /// Firmware (SeaBIOS, GRUB) writes to the same console before the kernel starts.
    fn has_firmware_preamble(self) -> bool {
        matches!(self, Boot::Q35 | Boot::Grub)
    }
}

// ------------------------------------------------------------------------------------------------
// Paths and tools

/// The repository (the workspace root).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn cargo_target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => repo_root().join(dir),
        None => repo_root().join("target"),
    }
}

/// target/guest-tests: builds and run outputs.
pub fn out_dir() -> PathBuf {
    cargo_target_dir().join("guest-tests")
}

pub fn programs_dir() -> PathBuf {
    repo_root().join("tests/programs")
}

/// The `ferrite` host tool, built once per test process (what `bin/ferrite` does on every call).
fn ferrite_tool() -> &'static Path {
    static TOOL: OnceLock<PathBuf> = OnceLock::new();
    TOOL.get_or_init(|| {
        let root = repo_root();
        let out = Command::new("cargo")
            .current_dir(&root)
            .args([
                "build",
                "-q",
                "--release",
                "-p",
                "ferrite-cli",
                "--manifest-path",
            ])
            .arg(root.join("Cargo.toml"))
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .stdin(Stdio::null())
            .output()
            .expect("cannot run cargo");
        assert!(
            out.status.success(),
            "building the ferrite tool failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        cargo_target_dir().join("release/ferrite")
    })
}

/// A `ferrite` command with a clean, explicit environment for the tool.
pub fn ferrite() -> Command {
    let mut c = Command::new(ferrite_tool());
    c.env("FERRITE_HOME", repo_root());
    for var in [
        "FERRITE_TARGET",
        "FERRITE_VERBOSE",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
    ] {
        c.env_remove(var);
    }
    c
}

// ------------------------------------------------------------------------------------------------
// Building

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Image,
    Native,
}

type BuildCell = Arc<OnceLock<Result<PathBuf, String>>>;

/// Builds `program` for `target` once per test process (test threads share the result).
/// Every process rebuilds: the kernel and the glue may have changed since the last run.
pub fn build(program: &Program, target: Target) -> Result<PathBuf, String> {
    static BUILDS: OnceLock<Mutex<HashMap<(&'static str, Target), BuildCell>>> = OnceLock::new();
    let cell = {
        let mut map = BUILDS.get_or_init(Default::default).lock().unwrap();
        map.entry((program.name, target)).or_default().clone()
    };
    cell.get_or_init(|| build_uncached(program, target)).clone()
}

fn build_uncached(program: &Program, target: Target) -> Result<PathBuf, String> {
    let dir = out_dir().join("build").join(program.name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let final_path = match target {
        Target::Image => dir.join(program.name),
        Target::Native => dir.join(format!("{}.native", program.name)),
    };
    // Link to a unique name and rename: another test process may be building the same program.
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        final_path.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    let mut cmd = ferrite();
    cmd.arg(match program.lang {
        Lang::C => "cc",
        Lang::Cxx => "c++",
    });
    cmd.arg(match target {
        Target::Image => "--ferrite-target=image",
        Target::Native => "--ferrite-target=native",
    });
    if target == Target::Image {
        // The image's name is its argv[0]; keep it the program's, not the temporary file's.
        cmd.arg(format!("--ferrite-name={}", program.name));
        if let Some(dir) = program.rootfs_dir() {
            cmd.arg(format!("--ferrite-rootfs={}", dir.display()));
        }
    }
    cmd.args(["-O2", "-g", "-Wall"]);
    cmd.arg(match program.lang {
        Lang::C => "-std=gnu11",
        Lang::Cxx => "-std=gnu++17",
    });
    cmd.arg(format!("-I{}", programs_dir().display()));
    cmd.args(program.flags);
    cmd.arg(programs_dir().join(program.source));
    cmd.arg("-o").arg(&tmp);
    if program.lang == Lang::C {
        cmd.arg("-lm");
    }
    let start = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ferrite: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "building {} ({target:?}) failed with {}:\n{:?}\n{}{}",
            program.name,
            out.status,
            cmd,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::rename(&tmp, &final_path)
        .map_err(|e| format!("cannot rename {}: {e}", tmp.display()))?;
    eprintln!(
        "built {} ({target:?}) in {:.1} s",
        program.name,
        start.elapsed().as_secs_f64()
    );
    Ok(final_path)
}

// ------------------------------------------------------------------------------------------------
// Running

/// What one run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Exit status: the code, 128+N for signal N, -1 if unknown.
    pub status: i32,
    /// The program's output (native: stdout and stderr merged; guest: the console).
    pub output: String,
    /// The runner's own stderr (guest runs only): QEMU and `ferrite run` messages.
    pub runner_stderr: String,
    pub elapsed: Duration,
}

fn status_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        _ => -1,
    }
}

/// Feeds `input` on a thread so a child that does not read cannot block us.
fn feed_stdin(child: &mut Child, input: &'static str) -> std::thread::JoinHandle<()> {
    let mut stdin = child.stdin.take().expect("stdin is piped");
    std::thread::spawn(move || {
        // A child that exits without reading makes this fail with EPIPE: that is fine.
        let _ = stdin.write_all(input.as_bytes());
    })
}

fn read_all<R: Read + Send + 'static>(mut r: R) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs the native executable with exactly the case's environment; stdout and stderr share one
/// pipe, as they share the console in the guest.
pub fn run_native(exe: &Path, case: &Case) -> Result<RunResult, String> {
    let (reader, writer) = std::io::pipe().map_err(|e| format!("pipe: {e}"))?;
    let writer2 = writer.try_clone().map_err(|e| format!("pipe: {e}"))?;
    let cgroup = match case.native_memory_limit {
        0 => None,
        limit => Some(MemoryCgroup::create(limit)?),
    };
    let mut cmd = match &cgroup {
        None => Command::new(exe),
        // The shell joins the cgroup, then becomes the program: nothing runs outside the limit.
        Some(cg) => {
            let mut c = Command::new("/bin/sh");
            c.arg("-c")
                .arg("echo $$ > \"$0\" && exec \"$@\"")
                .arg(cg.procs_file())
                .arg(exe);
            c
        }
    };
    cmd.args(case.args)
        .env_clear()
        .envs(case.env.iter().copied());
    if let Some(dir) = case.program.rootfs_dir() {
        // The guest's root is the folder; natively the program puts this before its paths.
        cmd.env("FT_ROOT", dir);
    }
    cmd.stdin(Stdio::piped()).stdout(writer).stderr(writer2);
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    drop(cmd); // closes our copies of the pipe's write end
    let feeder = feed_stdin(&mut child, case.stdin);
    let output = read_all(reader);
    let status = wait_with_timeout(&mut child, NATIVE_TIMEOUT);
    let elapsed = start.elapsed();
    let _ = feeder.join();
    let output = String::from_utf8_lossy(&output.join().unwrap()).into_owned();
    match status {
        Some(status) => Ok(RunResult {
            status: status_code(status),
            output,
            runner_stderr: String::new(),
            elapsed,
        }),
        None => Err(format!(
            "the native run did not finish within {NATIVE_TIMEOUT:?}; output so far:\n{output}"
        )),
    }
}

/// A memory cgroup (v2 where its memory controller is available, else v1) removed on drop.
struct MemoryCgroup {
    dir: PathBuf,
    v2: bool,
}

impl MemoryCgroup {
    fn create(limit: u64) -> Result<MemoryCgroup, String> {
        let name = format!(
            "ferrite-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        )
        .replace(['(', ')'], "");
        let v2_root = Path::new("/sys/fs/cgroup");
        let v2 = std::fs::read_to_string(v2_root.join("cgroup.subtree_control"))
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory"));
        let (dir, files): (PathBuf, &[(&str, String)]) = if v2 {
            (
                v2_root.join(&name),
                &[
                    ("memory.max", limit.to_string()),
                    ("memory.swap.max", "0".into()),
                ],
            )
        } else {
            (
                v2_root.join("memory").join(&name),
                &[("memory.limit_in_bytes", limit.to_string())],
            )
        };
        std::fs::create_dir(&dir).map_err(|e| {
            format!(
                "cannot create the memory cgroup {} for the native run ({e}); this case needs \
                 root and a cgroup memory controller",
                dir.display()
            )
        })?;
        let cgroup = MemoryCgroup { dir, v2 };
        for (file, value) in files {
            std::fs::write(cgroup.dir.join(file), value)
                .map_err(|e| format!("cannot set {file} of {}: {e}", cgroup.dir.display()))?;
        }
        Ok(cgroup)
    }

    fn procs_file(&self) -> PathBuf {
        self.dir
            .join(if self.v2 { "cgroup.procs" } else { "tasks" })
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Boots the image with `ferrite run`, the case's arguments, environment and stdin.
pub fn run_image(image: &Path, case: &Case, boot: Boot) -> Result<RunResult, String> {
    let mut cmd = ferrite();
    cmd.arg("run")
        .arg(image)
        .args(boot.run_args())
        .args(case.cpu_args());
    for (key, value) in case.env {
        cmd.arg("--env").arg(format!("{key}={value}"));
    }
    cmd.arg("--");
    cmd.args(case.args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run ferrite: {e}"))?;
    let feeder = feed_stdin(&mut child, case.stdin);
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    // `ferrite run --timeout` bounds the guest; this bounds the runner itself.
    let limit = Duration::from_secs(u64::from(KVM_TIMEOUT.max(TCG_TIMEOUT)) + 60);
    let status = wait_with_timeout(&mut child, limit);
    let elapsed = start.elapsed();
    let _ = feeder.join();
    let output = String::from_utf8_lossy(&stdout.join().unwrap()).into_owned();
    let runner_stderr = String::from_utf8_lossy(&stderr.join().unwrap()).into_owned();
    match status {
        Some(status) => Ok(RunResult {
            status: status_code(status),
            output,
            runner_stderr,
            elapsed,
        }),
        None => Err(format!(
            "`ferrite run` did not exit within {limit:?}; output so far:\n{output}\n{runner_stderr}"
        )),
    }
}

// ------------------------------------------------------------------------------------------------
// Comparing

fn is_report_continuation(line: &str) -> bool {
    // The register dump and backtrace of a fault report (libos/src/report.rs).
    const PREFIXES: [&str; 6] = ["  rip ", "  rax ", "  rsi ", "  r9  ", "  r13 ", "  #"];
    line.starts_with("backtrace:") || PREFIXES.iter().any(|p| line.starts_with(p))
}

/// The guest's console output without the kernel's messages: every line that starts with
/// `ferrite: `, and the register and backtrace lines that follow such a line in a fault report.
pub fn filter_kernel_lines(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut after_kernel_line = false;
    for line in raw.split_inclusive('\n') {
        if line.starts_with("ferrite: ") {
            after_kernel_line = true;
            continue;
        }
        if after_kernel_line && is_report_continuation(line) {
            continue;
        }
        after_kernel_line = false;
        out.push_str(line);
    }
    out
}

/// Where two outputs first differ, with a few lines of context from each.
pub fn describe_difference(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.split_inclusive('\n').collect();
    let a: Vec<&str> = actual.split_inclusive('\n').collect();
    let first = e
        .iter()
        .zip(a.iter())
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "first difference at line {} (native has {} lines, guest {}):",
        first + 1,
        e.len(),
        a.len()
    );
    let from = first.saturating_sub(2);
    for (label, lines) in [("native", &e), ("guest ", &a)] {
        for (i, line) in lines.iter().enumerate().skip(from).take(first - from + 4) {
            let _ = writeln!(s, "  {label} {:>4}: {:?}", i + 1, line);
        }
    }
    s
}

fn save(dir: &Path, name: &str, text: &str) {
    let _ = std::fs::write(dir.join(name), text);
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A command line that reproduces the guest run by hand.
fn reproduce(image: &Path, case: &Case, boot: Boot) -> String {
    let mut words: Vec<String> = vec!["bin/ferrite".into(), "run".into()];
    words.push(image.display().to_string());
    words.extend(boot.run_args());
    words.extend(case.cpu_args());
    for (k, v) in case.env {
        words.push("--env".into());
        words.push(format!("{k}={v}"));
    }
    words.push("--".into());
    words.extend(case.args.iter().map(|a| a.to_string()));
    let mut line = words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ");
    if case.stdin.is_empty() {
        line.push_str(" </dev/null");
    } else {
        line = format!("printf %s {} | {line}", shell_quote(case.stdin));
    }
    line
}

fn check_tools(tools: &[&str]) -> Result<(), String> {
    for tool in tools {
        let found = std::env::var_os("PATH")
            .unwrap_or_default()
            .to_string_lossy()
            .split(':')
            .any(|dir| Path::new(dir).join(tool).is_file());
        if !found {
            return Err(format!("{tool} is not installed"));
        }
    }
    Ok(())
}

/// Whether this boot mode can run here; the reason when it cannot.
pub fn boot_available(boot: Boot) -> Result<(), String> {
    match boot {
        Boot::Kvm => std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .map(|_| ())
            .map_err(|e| format!("/dev/kvm is not usable: {e}")),
        Boot::Grub => check_tools(&["grub-mkrescue", "xorriso", "mformat"]),
        Boot::Tcg | Boot::Q35 => Ok(()),
    }
}

/// The vCPUs of the guests running at once are kept within twice the host's CPUs: a guest whose
/// vCPUs outnumber what is free waits for the others to end (it runs alone if it needs more).
/// Guests that share two host cores among many spinning vCPUs (a TLB shootdown waits for every
/// vCPU of its guest to be scheduled) slow down past any timeout.
struct VcpuBudget(u32);

static VCPUS_IN_USE: Mutex<u32> = Mutex::new(0);
static VCPUS_FREED: Condvar = Condvar::new();

impl VcpuBudget {
    fn take(n: u32) -> VcpuBudget {
        let budget = 2 * std::thread::available_parallelism().map_or(2, |c| c.get() as u32);
        let mut in_use = VCPUS_IN_USE.lock().unwrap_or_else(|e| e.into_inner());
        while *in_use > 0 && *in_use + n > budget {
            in_use = VCPUS_FREED.wait(in_use).unwrap_or_else(|e| e.into_inner());
        }
        *in_use += n;
        VcpuBudget(n)
    }
}

impl Drop for VcpuBudget {
    fn drop(&mut self) {
        *VCPUS_IN_USE.lock().unwrap_or_else(|e| e.into_inner()) -= self.0;
        VCPUS_FREED.notify_all();
    }
}

/// Builds both executables, runs both, and panics with a full report when they disagree with
/// each other or with the case. `name` is the test's name (for the artifact directory).
pub fn run_case(name: &str, case: &Case, boot: Boot) {
    run_case_with(name, case, boot, None)
}

/// [`run_case`] with the guest's CPU count overridden (`Some(n)`: `ferrite run --cpus n`).
/// The artifacts go to `runs/<mode>-cpusN/<case>/`.
pub fn run_case_with(name: &str, case: &Case, boot: Boot, cpus: Option<u32>) {
    let mut case = *case;
    if let Some(n) = cpus {
        case.cpus = n;
    }
    let case = &case;
    let mode = match cpus {
        Some(n) => format!("{}-cpus{n}", boot.dir()),
        None => boot.dir().to_string(),
    };
    if let Err(why) = boot_available(boot) {
        // Straight to stderr, past the test harness's output capture, so the skip is seen.
        let _ = writeln!(std::io::stderr(), "SKIPPED {name} under {boot:?}: {why}");
        return;
    }
    let native_exe = build(&case.program, Target::Native).unwrap_or_else(|e| panic!("{e}"));
    let image = build(&case.program, Target::Image).unwrap_or_else(|e| panic!("{e}"));

    let native = run_native(&native_exe, case).unwrap_or_else(|e| panic!("{name}: {e}"));
    let guest = {
        let _vcpus = VcpuBudget::take(case.cpus.max(1));
        run_image(&image, case, boot).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let filtered = filter_kernel_lines(&guest.output);

    let dir = out_dir().join("runs").join(&mode).join(name);
    let _ = std::fs::create_dir_all(&dir);
    save(&dir, "native.out", &native.output);
    save(&dir, "guest.raw", &guest.output);
    save(&dir, "guest.out", &filtered);
    save(&dir, "runner.err", &guest.runner_stderr);

    let mut problems = Vec::new();
    if native.status != case.status {
        problems.push(format!(
            "the native run exited with {} but the case expects {} (is the test itself wrong?)",
            native.status, case.status
        ));
    }
    if guest.status != case.status {
        problems.push(format!(
            "the guest exited with {} but the case expects {}",
            guest.status, case.status
        ));
    }
    let same_output = if boot.has_firmware_preamble() {
        filtered.ends_with(&native.output)
    } else {
        filtered == native.output
    };
    if !same_output {
        problems.push(format!(
            "the outputs differ{}\n{}",
            if boot.has_firmware_preamble() {
                " (the guest's must end with the native one)"
            } else {
                ""
            },
            describe_difference(&native.output, &filtered)
        ));
    }
    for text in case.guest_contains {
        if !guest.output.contains(text) {
            problems.push(format!("the guest's console does not contain {text:?}"));
        }
    }
    eprintln!(
        "{name} [{mode}]: native {:.2} s, guest {:.2} s",
        native.elapsed.as_secs_f64(),
        guest.elapsed.as_secs_f64()
    );
    if !problems.is_empty() {
        panic!(
            "{name} under {boot:?}{} failed:\n- {}\n\n--- native output (status {}) ---\n{}\n\
             --- guest console (status {}) ---\n{}\n--- ferrite run stderr ---\n{}\n\
             artifacts: {}\nreproduce: {}",
            if case.cpus == 0 {
                String::new()
            } else {
                format!(" with {} CPUs", case.cpus)
            },
            problems.join("\n- "),
            native.status,
            native.output,
            guest.status,
            guest.output,
            guest.runner_stderr,
            dir.display(),
            reproduce(&image, case, boot),
        );
    }
}

/// Declares the test cases: `name: case(PROGRAM).args(&[…]).status(N);`, one per line, each
/// optionally preceded by attributes such as `#[ignore = "reason"]`. Generates the constant
/// `cases::name` and the test `tcg::name` (microvm under TCG).
#[macro_export]
macro_rules! guest_cases {
    ($( $(#[$attr:meta])* $name:ident : $case:expr ;)*) => {
        #[allow(non_upper_case_globals, dead_code)]
        pub mod cases {
            use super::*;
            $( pub const $name: $crate::Case = $case; )*
        }
        /// Every case, on microvm under TCG.
        mod tcg {
            $(
                #[test]
                $(#[$attr])*
                fn $name() {
                    $crate::run_case(stringify!($name), &super::cases::$name, $crate::Boot::Tcg);
                }
            )*
        }
    };
}

/// Declares tests that run already declared cases (by name) in another boot mode:
/// `boot_cases!(kvm, Kvm: args_basic, float_regs, …);` makes `kvm::args_basic` and so on.
/// With `cpus = N` the guests get N CPUs whatever the case says:
/// `boot_cases!(tcg4, Tcg, cpus = 4: threads_basic, …);` makes `tcg4::threads_basic`.
#[macro_export]
macro_rules! boot_cases {
    ($module:ident, $boot:ident : $( $(#[$attr:meta])* $name:ident ),* $(,)?) => {
        mod $module {
            $(
                #[test]
                $(#[$attr])*
                fn $name() {
                    $crate::run_case(stringify!($name), &super::cases::$name, $crate::Boot::$boot);
                }
            )*
        }
    };
    ($module:ident, $boot:ident, cpus = $cpus:literal : $( $(#[$attr:meta])* $name:ident ),* $(,)?) => {
        mod $module {
            $(
                #[test]
                $(#[$attr])*
                fn $name() {
                    $crate::run_case_with(
                        stringify!($name),
                        &super::cases::$name,
                        $crate::Boot::$boot,
                        Some($cpus),
                    );
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_drops_kernel_lines_and_fault_reports() {
        let raw = "before\n\
            ferrite: unimplemented system call 1000: ENOSYS\n\
            after\n\
            ferrite: page fault (#PF) in the service at rip 0x100f9d (main+0xcd), thread 1\n\
            ferrite: write to unmapped address 0x0 (NULL pointer dereference)\n\
            \x20 rip 0000000000100f9d  rsp 00002000009ffe20  rflags 0000000000000246\n\
            \x20 rax 0000000000000000  rbx 0000000000000002  rcx 0000000000104ad0  rdx 0\n\
            \x20 rsi 0000000000000000  rdi 0000000000000024  rbp ffffffffffffffff  r8  0\n\
            \x20 r9  00000000001264c0  r10 0000000000000018  r11 0000000000000206  r12 0\n\
            \x20 r13 00000000001263c0  r14 0000000000000000  r15 0000000000000000  err 0x6\n\
            backtrace:\n\
            \x20 #0  0000000000100f9d main+0xcd\n\
            \x20 #1  0000000000100fff __libc_start_main+0x30\n\
            ferrite: service terminated by SIGSEGV (11)\n";
        assert_eq!(filter_kernel_lines(raw), "before\nafter\n");
    }

    #[test]
    fn filter_keeps_program_lines_that_look_like_reports() {
        // Only right after a kernel line is an indented line part of a report.
        let raw = "  rip is a word\nbacktrace: mine\nferrite: x\nprogram\n  #0 mine\n";
        assert_eq!(
            filter_kernel_lines(raw),
            "  rip is a word\nbacktrace: mine\nprogram\n  #0 mine\n"
        );
        // No trailing newline at the end of the output.
        assert_eq!(filter_kernel_lines("a\nferrite: b"), "a\n");
        assert_eq!(filter_kernel_lines("tail"), "tail");
    }

    #[test]
    fn difference_points_at_the_first_differing_line() {
        let d = describe_difference("a\nb\nc\n", "a\nX\nc\n");
        assert!(d.contains("first difference at line 2"), "{d}");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("plain-word"), "plain-word");
        assert_eq!(shell_quote("two words"), "'two words'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
