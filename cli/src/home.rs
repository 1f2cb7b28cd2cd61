//! Where things are: the Ferrite repository, musl, and the host gcc's own files.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's musl-dev puts the static libc, the crt files and the linker paths here.
pub const MUSL_LIB: &str = "/usr/lib/x86_64-linux-musl";
pub const MUSL_INCLUDE: &str = "/usr/include/x86_64-linux-musl";

/// The Ferrite repository: `FERRITE_HOME`, else two levels above `target/<profile>/ferrite`.
pub fn root() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("FERRITE_HOME") {
        let home = PathBuf::from(home);
        return check_root(home, "FERRITE_HOME");
    }
    let exe = std::env::current_exe()
        .map_err(|e| Error::failed(format!("cannot find the ferrite executable's path: {e}")))?;
    // current_exe() already resolves /proc/self/exe, so symlinks to the binary are followed.
    let guess = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    check_root(guess, "the executable's location")
}

fn check_root(root: PathBuf, source: &str) -> Result<PathBuf> {
    if root.join("libos/ferrite.ld").is_file() {
        Ok(root)
    } else {
        Err(Error::usage(format!(
            "{} (from {source}) is not a Ferrite repository (no libos/ferrite.ld): set FERRITE_HOME to the repository",
            root.display()
        )))
    }
}

/// Output directory for the kernel object, the glue archive and the lock.
pub fn ferrite_out(root: &Path) -> PathBuf {
    root.join("target/ferrite")
}

pub fn linker_script(root: &Path) -> PathBuf {
    root.join("libos/ferrite.ld")
}

/// Runs `prog args…` and returns its trimmed stdout, or an error naming the command.
pub fn query(prog: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(prog)
        .args(args)
        .output()
        .map_err(|e| spawn_error(prog, e))?;
    if !out.status.success() {
        return Err(Error::failed(format!(
            "`{prog} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A clear message for a program that could not be started.
pub fn spawn_error(prog: &str, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        let package = match prog {
            "gcc" => " (Debian package gcc)",
            "g++" => " (Debian package g++)",
            "ld" | "objcopy" | "nm" | "ar" => " (Debian package binutils)",
            "cargo" => " (install Rust with rustup)",
            "qemu-system-x86_64" => " (Debian package qemu-system-x86)",
            "grub-mkrescue" => " (Debian packages grub-common, grub-pc-bin and xorriso)",
            _ => "",
        };
        Error::usage(format!("{prog} not found in PATH{package}"))
    } else {
        Error::failed(format!("cannot run {prog}: {e}"))
    }
}

/// The host gcc's files: its library directory (crtbeginT.o, libgcc.a) and its own headers.
#[derive(Debug, Clone)]
pub struct Gcc {
    pub lib_dir: PathBuf,
    pub include: PathBuf,
}

impl Gcc {
    pub fn find() -> Result<Gcc> {
        let libgcc = PathBuf::from(query("gcc", &["-print-libgcc-file-name"])?);
        let lib_dir = libgcc
            .parent()
            .filter(|_| libgcc.is_absolute())
            .ok_or_else(|| {
                Error::failed(format!(
                    "gcc -print-libgcc-file-name gave {}, not a path",
                    libgcc.display()
                ))
            })?
            .to_path_buf();
        // gcc -print-file-name=include is this same directory's include/ (one query, not two).
        let include = lib_dir.join("include");
        Ok(Gcc { lib_dir, include })
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.lib_dir.join(name)
    }

    /// The flags musl-gcc's specs add: musl's headers, then gcc's own (stddef.h, intrinsics).
    pub fn musl_include_flags(&self) -> Vec<String> {
        vec![
            "-nostdinc".into(),
            "-isystem".into(),
            MUSL_INCLUDE.into(),
            "-isystem".into(),
            self.include.display().to_string(),
        ]
    }
}

/// Path of libstdc++.a as g++ itself finds it.
pub fn libstdcxx() -> Result<PathBuf> {
    let path = PathBuf::from(query("g++", &["-print-file-name=libstdc++.a"])?);
    if path.is_absolute() && path.is_file() {
        Ok(path)
    } else {
        Err(Error::failed(
            "g++ cannot find libstdc++.a: install the Debian package libstdc++-12-dev (or your gcc's)",
        ))
    }
}

/// Checks musl-dev is installed, with the fix in the message.
pub fn check_musl() -> Result<()> {
    if Path::new(MUSL_LIB).join("libc.a").is_file() {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "musl's static libc ({MUSL_LIB}/libc.a) is missing: install the Debian package musl-dev"
        )))
    }
}
