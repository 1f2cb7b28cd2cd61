//! Everything the runs need, built or fetched by the harness itself: the `ferrite` tool, every
//! benchmark program as a native executable and as an image, the examples, the floor kernel,
//! and the Linux guest (Debian's cloud kernel and one initramfs per program).

use crate::model::Meta;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub type Res<T> = Result<T, String>;

/// The repository (the workspace root).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ has a parent")
        .to_path_buf()
}

pub fn cargo_target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => repo_root().join(dir),
        None => repo_root().join("target"),
    }
}

/// target/bench: builds, the Linux guest's files, scratch.
pub fn work_dir() -> PathBuf {
    cargo_target_dir().join("bench")
}

pub fn programs_dir() -> PathBuf {
    repo_root().join("bench/programs")
}

/// Runs a command to completion; its stdout on success, else an error with its output.
pub fn run_cmd(cmd: &mut Command) -> Res<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed with {}:\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Builds the `ferrite` host tool (release) and returns its path.
pub fn ferrite_tool() -> Res<PathBuf> {
    let root = repo_root();
    run_cmd(
        Command::new("cargo")
            .current_dir(&root)
            .args(["build", "-q", "--release", "-p", "ferrite-cli"])
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS"),
    )?;
    Ok(cargo_target_dir().join("release/ferrite"))
}

/// A `ferrite` command with a clean environment for the tool.
pub fn ferrite(tool: &Path) -> Command {
    let mut c = Command::new(tool);
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

/// One benchmark program built both ways.
#[derive(Debug, Clone)]
pub struct Built {
    pub native: PathBuf,
    pub image: PathBuf,
}

/// Builds `bench/programs/NAME.c` as a native static musl executable and as a Ferrite image,
/// with the same compiler and flags.
pub fn build_program(tool: &Path, name: &str) -> Res<Built> {
    let dir = work_dir().join("build");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let src = programs_dir().join(format!("{name}.c"));
    let native = dir.join(format!("{name}.native"));
    let image = dir.join(format!("{name}.elf"));
    for (target, out) in [("native", &native), ("image", &image)] {
        let mut cmd = ferrite(tool);
        cmd.arg("cc")
            .arg(format!("--ferrite-target={target}"))
            .args(["-O2", "-Wall", "-std=gnu11", "-pthread"])
            .arg(format!("-I{}", programs_dir().display()));
        if target == "image" {
            cmd.arg(format!("--ferrite-name={name}"));
        }
        cmd.arg(&src).arg("-o").arg(out);
        run_cmd(&mut cmd)?;
    }
    Ok(Built { native, image })
}

/// The examples, through CMake exactly as `make examples` builds them.
pub fn build_examples() -> Res<PathBuf> {
    let root = repo_root();
    let build = root.join("build/examples");
    run_cmd(
        Command::new("cmake")
            .current_dir(&root)
            .args(["-S", "examples", "-B"])
            .arg(&build)
            .arg(format!(
                "-DCMAKE_TOOLCHAIN_FILE={}",
                root.join("cmake/ferrite.cmake").display()
            )),
    )?;
    run_cmd(
        Command::new("cmake")
            .current_dir(&root)
            .arg("--build")
            .arg(&build)
            .args(["-j", "2"]),
    )?;
    Ok(build)
}

/// The floor: `bench/floor/floor.S`, an ELF with only a PVH entry that prints one line and
/// writes to isa-debug-exit.
pub fn build_floor() -> Res<PathBuf> {
    let dir = work_dir().join("build");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let src = repo_root().join("bench/floor");
    let obj = dir.join("floor.o");
    let elf = dir.join("floor.elf");
    run_cmd(
        Command::new("gcc")
            .arg("-c")
            .arg(src.join("floor.S"))
            .arg("-o")
            .arg(&obj),
    )?;
    run_cmd(
        Command::new("ld")
            .arg("-T")
            .arg(src.join("floor.ld"))
            .arg("-o")
            .arg(&elf)
            .arg(&obj),
    )?;
    Ok(elf)
}

/// Size of a file after `strip` (into a scratch copy).
pub fn stripped_size(path: &Path) -> Res<(u64, u64)> {
    let full = std::fs::metadata(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .len();
    let out = work_dir().join("build").join(format!(
        "{}.stripped",
        path.file_name().unwrap().to_string_lossy()
    ));
    run_cmd(Command::new("strip").arg("-o").arg(&out).arg(path))?;
    let stripped = std::fs::metadata(&out)
        .map_err(|e| format!("{}: {e}", out.display()))?
        .len();
    Ok((full, stripped))
}

// ------------------------------------------------------------------------------------------------
// The Linux guest

/// Debian's cloud kernel, fetched with `apt-get download` into target/bench/linux/.
#[derive(Debug, Clone)]
pub struct LinuxKernel {
    pub vmlinuz: PathBuf,
    /// Package and version, e.g. `linux-image-6.1.0-56-cloud-amd64 6.1.192-2`.
    pub package: String,
}

fn apt_download(dir: &Path, package: &str) -> Res<()> {
    let attempt = || {
        run_cmd(
            Command::new("apt-get")
                .current_dir(dir)
                .args(["download", "-q", package]),
        )
    };
    if attempt().is_err() {
        // A fresh machine may have no package lists yet.
        let _ = run_cmd(Command::new("apt-get").args(["update", "-qq"]));
        attempt()?;
    }
    Ok(())
}

fn find_deb(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let mut debs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(prefix) && n.ends_with(".deb")
        })
        .collect();
    debs.sort();
    debs.pop()
}

pub fn linux_kernel() -> Res<LinuxKernel> {
    let dir = work_dir().join("linux");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let done = dir.join("kernel.txt");
    if let Ok(text) = std::fs::read_to_string(&done) {
        let mut lines = text.lines();
        if let (Some(path), Some(package)) = (lines.next(), lines.next())
            && Path::new(path).exists()
        {
            return Ok(LinuxKernel {
                vmlinuz: PathBuf::from(path),
                package: package.to_string(),
            });
        }
    }
    // The metapackage names the kernel package it stands for.
    apt_download(&dir, "linux-image-cloud-amd64")?;
    let meta = find_deb(&dir, "linux-image-cloud-amd64_").ok_or("metapackage not downloaded")?;
    let depends = run_cmd(Command::new("dpkg-deb").arg("-f").arg(&meta).arg("Depends"))?;
    let package = depends
        .split(',')
        .map(str::trim)
        .find(|d| d.starts_with("linux-image-"))
        .and_then(|d| d.split_whitespace().next())
        .ok_or_else(|| format!("no kernel package in Depends: {depends}"))?
        .to_string();
    apt_download(&dir, &package)?;
    let deb = find_deb(&dir, &format!("{package}_")).ok_or("kernel package not downloaded")?;
    let version = run_cmd(Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Version"))?;
    let extract = dir.join("root");
    std::fs::create_dir_all(&extract).map_err(|e| format!("{}: {e}", extract.display()))?;
    run_cmd(Command::new("sh").arg("-c").arg(format!(
        "dpkg-deb --fsys-tarfile '{}' | tar -x -C '{}' --wildcards './boot/vmlinuz-*'",
        deb.display(),
        extract.display()
    )))?;
    let boot = extract.join("boot");
    let vmlinuz = std::fs::read_dir(&boot)
        .map_err(|e| format!("{}: {e}", boot.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("vmlinuz-")
        })
        .ok_or("no vmlinuz in the kernel package")?;
    let package = format!("{package} {}", version.trim());
    std::fs::write(&done, format!("{}\n{package}\n", vmlinuz.display()))
        .map_err(|e| format!("{}: {e}", done.display()))?;
    Ok(LinuxKernel { vmlinuz, package })
}

/// Appends one cpio "newc" entry.
fn cpio_entry(out: &mut Vec<u8>, ino: u32, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
    let fields = [
        ino,
        mode,
        0,
        0,
        1,
        0,
        data.len() as u32,
        0,
        0,
        rdev.0,
        rdev.1,
        name.len() as u32 + 1,
        0,
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out.extend_from_slice(data);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// A minimal initramfs: `/dev/console` (so /init has stdout) and the program as `/init`.
pub fn cpio_with_init(init: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    cpio_entry(&mut out, 1, "dev", 0o040755, (0, 0), &[]);
    cpio_entry(&mut out, 2, "dev/console", 0o020600, (5, 1), &[]);
    cpio_entry(&mut out, 3, "init", 0o100755, (0, 0), init);
    cpio_entry(&mut out, 4, "TRAILER!!!", 0, (0, 0), &[]);
    out
}

/// target/bench/linux/NAME.cpio with the program's native executable as /init.
pub fn initramfs(name: &str, native: &Path) -> Res<PathBuf> {
    let init = std::fs::read(native).map_err(|e| format!("{}: {e}", native.display()))?;
    let path = work_dir().join("linux").join(format!("{name}.cpio"));
    std::fs::create_dir_all(path.parent().unwrap()).map_err(|e| e.to_string())?;
    std::fs::write(&path, cpio_with_init(&init)).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

// ------------------------------------------------------------------------------------------------
// The machine

fn first_line(cmd: &mut Command) -> String {
    run_cmd(cmd)
        .ok()
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_default()
}

/// Facts about the host for the results file.
pub fn machine_meta() -> Meta {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_mib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb / 1024)
        .unwrap_or(0);
    let root = repo_root();
    let commit = first_line(Command::new("git").current_dir(&root).args([
        "rev-parse",
        "--short=12",
        "HEAD",
    ]));
    let dirty = run_cmd(Command::new("git").current_dir(&root).args([
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        "libos",
        "smp",
        "posix",
        "cli",
        "cxx-runtime",
        "musl-shim",
        "cmake",
        "examples",
        "bench/programs",
        "bench/floor",
        "bench/src",
    ]))
    .map(|s| !s.trim().is_empty())
    .unwrap_or(false);
    let kvm = if Path::new("/sys/module/kvm_pvm").exists() {
        "kvm_pvm (the PVM hypervisor: the guest's ring 0 is emulated)".to_string()
    } else if Path::new("/sys/module/kvm_intel").exists() {
        "kvm_intel".to_string()
    } else if Path::new("/sys/module/kvm_amd").exists() {
        "kvm_amd".to_string()
    } else if Path::new("/dev/kvm").exists() {
        "kvm".to_string()
    } else {
        "none".to_string()
    };
    Meta {
        date: first_line(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])),
        commit,
        dirty,
        host: first_line(&mut Command::new("hostname")),
        cpu_model,
        cpus: std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1),
        memory_mib,
        host_kernel: first_line(Command::new("uname").args(["-sr"])),
        qemu_version: first_line(Command::new("qemu-system-x86_64").arg("--version")),
        kvm,
        load_start: load_average(),
        ..Default::default()
    }
}

/// The 1-minute load average.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

/// Whether /dev/kvm can be opened read-write.
pub fn kvm_usable() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpio_layout() {
        let c = cpio_with_init(b"abc");
        assert!(c.starts_with(b"070701"));
        assert_eq!(c.len() % 4, 0);
        let text = String::from_utf8_lossy(&c);
        assert!(text.contains("dev/console"));
        assert!(text.contains("init\0"));
        assert!(text.contains("TRAILER!!!"));
    }
}
