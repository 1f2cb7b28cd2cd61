//! `ferrite build-kernel`: the kernel object and the C/asm runtime glue, rebuilt only when stale.
//!
//! libferrite.o is the Rust kernel staticlib squeezed into one relocatable object whose only
//! global definitions are the kernel ABI symbols (posix/exports.txt). Everything else the kernel
//! carries (compiler_builtins' memcpy, core's functions) becomes local, so nothing in it can clash
//! with musl's libc.a, libstdc++ or the service.

use crate::error::{Error, Result};
use crate::home::{self, Gcc};
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

pub const KERNEL_TARGET: &str = "x86_64-unknown-none";
const KERNEL_PACKAGE: &str = "ferrite-posix";
const GLUE_DIRS: [&str; 2] = ["cxx-runtime", "musl-shim"];

/// What a link needs: the kernel only for images, the glue for both kinds of executable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    All,
    GlueOnly,
}

#[derive(Debug, Clone)]
pub struct Artifacts {
    pub kernel: Option<PathBuf>,
    pub glue: PathBuf,
    pub script: PathBuf,
}

/// Brings the requested parts up to date under target/ferrite/ and returns their paths.
/// `quiet` hides cargo's progress (links run this every time; the explicit command shows it).
pub fn ensure(root: &Path, parts: Parts, quiet: bool) -> Result<Artifacts> {
    let out = home::ferrite_out(root);
    fs::create_dir_all(&out).map_err(|e| Error::io(e, "cannot create", &out))?;
    // One build at a time: parallel `make -j` links would otherwise race on the same files.
    let lock_path = out.join(".lock");
    let lock = File::create(&lock_path).map_err(|e| Error::io(e, "cannot create", &lock_path))?;
    lock.lock()
        .map_err(|e| Error::io(e, "cannot lock", &lock_path))?;

    let kernel = match parts {
        Parts::All => Some(ensure_kernel(root, &out, quiet)?),
        Parts::GlueOnly => None,
    };
    let glue = ensure_glue(root, &out)?;
    Ok(Artifacts {
        kernel,
        glue,
        script: home::linker_script(root),
    })
}

fn cargo_target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir), // join keeps an absolute path as it is
        None => root.join("target"),
    }
}

fn ensure_kernel(root: &Path, out: &Path, quiet: bool) -> Result<PathBuf> {
    let mut cargo = Command::new("cargo");
    // rustup chooses the toolchain from the working directory's rust-toolchain.toml.
    cargo.current_dir(root).args([
        "build",
        "--release",
        "-p",
        KERNEL_PACKAGE,
        "--target",
        KERNEL_TARGET,
        "--manifest-path",
    ]);
    cargo.arg(root.join("Cargo.toml"));
    if quiet {
        cargo.arg("-q");
    }
    // The kernel's flags belong to the repository's cargo configuration; a service build's
    // (or a build script's) RUSTFLAGS would silently rebuild the kernel with other flags.
    cargo
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    let status = cargo.status().map_err(|e| home::spawn_error("cargo", e))?;
    if !status.success() {
        return Err(Error::failed(format!(
            "building the kernel failed (cargo build --release -p {KERNEL_PACKAGE} --target {KERNEL_TARGET})"
        )));
    }
    let archive = cargo_target_dir(root).join(format!("{KERNEL_TARGET}/release/libferrite.a"));
    let exports = root.join("posix/exports.txt");
    let object = out.join("libferrite.o");
    // This tool too: a newer ferrite may combine the object differently.
    let tool = std::env::current_exe().unwrap_or_default();
    if is_stale(&object, &[&archive, &exports, &tool])? {
        combine_kernel(&archive, &exports, &object)?;
    }
    Ok(object)
}

/// Parses an objcopy symbol file: one name a line, `#` starts a comment.
pub fn parse_exports(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// `ld -r -u SYM… archive` then `objcopy --keep-global-symbols=exports`, checked afterwards.
pub fn combine_kernel(archive: &Path, exports: &Path, object: &Path) -> Result<()> {
    let text = fs::read_to_string(exports).map_err(|e| Error::io(e, "cannot read", exports))?;
    let symbols = parse_exports(&text);
    if symbols.is_empty() {
        return Err(Error::failed(format!(
            "{} lists no symbols: the kernel must export at least its entry points",
            exports.display()
        )));
    }
    if !archive.is_file() {
        return Err(Error::failed(format!(
            "{} is missing after the kernel build",
            archive.display()
        )));
    }
    let tmp = object.with_extension("o.tmp");
    let mut ld = Command::new("ld");
    ld.arg("-r").arg("-o").arg(&tmp);
    for s in &symbols {
        ld.arg("-u").arg(s);
    }
    ld.arg(archive);
    run(&mut ld, "ld")?;
    let mut objcopy = Command::new("objcopy");
    objcopy
        .arg(format!("--keep-global-symbols={}", exports.display()))
        // rustc embeds LLVM bitcode; ld excludes it anyway, and binutils' LLVM plugin (when
        // installed) chokes on it, so that `nm` shows nothing.
        .args(["--remove-section=.llvmbc", "--remove-section=.llvmcmd"])
        .arg(&tmp);
    run(&mut objcopy, "objcopy")?;
    let globals = global_definitions(&tmp)?;
    let wanted: BTreeSet<&str> = symbols.iter().map(String::as_str).collect();
    if let Some(missing) = wanted.iter().find(|s| !globals.contains(**s)) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::failed(format!(
            "{} lists `{missing}` but {} does not define it",
            exports.display(),
            archive.display()
        )));
    }
    if let Some(extra) = globals.iter().find(|s| !wanted.contains(s.as_str())) {
        let _ = fs::remove_file(&tmp);
        return Err(Error::failed(format!(
            "`{extra}` is still global in the kernel object after objcopy: it would clash with the service"
        )));
    }
    fs::rename(&tmp, object).map_err(|e| Error::io(e, "cannot write", object))
}

/// Names of the global or weak symbols that an object defines.
pub fn global_definitions(path: &Path) -> Result<BTreeSet<String>> {
    use object::{Object, ObjectSymbol};
    let data = fs::read(path).map_err(|e| Error::io(e, "cannot read", path))?;
    let file = object::File::parse(&*data)
        .map_err(|e| Error::failed(format!("cannot parse {}: {e}", path.display())))?;
    Ok(file
        .symbols()
        .filter(|s| s.is_global() && s.is_definition())
        .filter_map(|s| s.name().ok().map(str::to_string))
        .collect())
}

fn run(cmd: &mut Command, name: &str) -> Result<()> {
    let status = cmd.status().map_err(|e| home::spawn_error(name, e))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::failed(format!("{name} failed: {cmd:?}")))
    }
}

fn mtime(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// True when `target` is missing or older than any input (a missing input counts as newer).
fn is_stale(target: &Path, inputs: &[&Path]) -> Result<bool> {
    let Some(built) = mtime(target) else {
        return Ok(true);
    };
    Ok(inputs.iter().any(|i| mtime(i).is_none_or(|t| t > built)))
}

/// Every `*.c` and `*.S` directly in the glue directories, sorted for a stable archive.
pub fn glue_sources(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in GLUE_DIRS {
        let Ok(entries) = fs::read_dir(root.join(dir)) else {
            continue; // a missing directory simply contributes nothing
        };
        for e in entries.flatten() {
            let p = e.path();
            let is_source = matches!(p.extension().and_then(|x| x.to_str()), Some("c" | "S"));
            if is_source && p.is_file() {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Newest modification time of anything under the glue directories (sources and headers).
fn newest_glue_input(root: &Path) -> Option<SystemTime> {
    fn walk(dir: &Path, newest: &mut Option<SystemTime>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if let Some(t) = mtime(&p) {
                *newest = (*newest).max(Some(t));
            }
            if p.is_dir() {
                walk(&p, newest);
            }
        }
    }
    let mut newest = None;
    for dir in GLUE_DIRS {
        let d = root.join(dir);
        // The directory's own time changes when a file is added or removed.
        newest = newest.max(mtime(&d));
        walk(&d, &mut newest);
    }
    newest
}

/// The compiler flags beyond the cc crate's defaults; part of the staleness stamp.
fn glue_flags(gcc: &Gcc) -> Vec<String> {
    let mut f = gcc.musl_include_flags();
    f.extend(["-ffunction-sections".into(), "-fdata-sections".into()]);
    f
}

fn ensure_glue(root: &Path, out: &Path) -> Result<PathBuf> {
    let archive = out.join("libferrite_rt.a");
    let stamp_path = out.join("libferrite_rt.stamp");
    let sources = glue_sources(root);
    let gcc = Gcc::find()?;
    let flags = glue_flags(&gcc);
    let mut stamp = format!("ferrite {}\n", env!("CARGO_PKG_VERSION"));
    for f in flags.iter().map(String::as_str).chain(["--"]) {
        stamp.push_str(f);
        stamp.push('\n');
    }
    for s in &sources {
        stamp.push_str(&s.display().to_string());
        stamp.push('\n');
    }
    let built = mtime(&archive);
    let same_stamp = fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp);
    let fresh = built.is_some() && same_stamp && newest_glue_input(root) <= built;
    if fresh {
        return Ok(archive);
    }
    build_glue(&sources, &flags, out, &archive)?;
    fs::write(&stamp_path, stamp).map_err(|e| Error::io(e, "cannot write", &stamp_path))?;
    Ok(archive)
}

fn build_glue(sources: &[PathBuf], flags: &[String], out: &Path, archive: &Path) -> Result<()> {
    let tmp = out.join("libferrite_rt.a.tmp");
    if sources.is_empty() {
        // An empty archive is valid input for ld; the cc crate wants at least one file.
        fs::write(&tmp, b"!<arch>\n").map_err(|e| Error::io(e, "cannot write", &tmp))?;
    } else {
        let objects = out.join("rt-build");
        let _ = fs::remove_dir_all(&objects);
        fs::create_dir_all(&objects).map_err(|e| Error::io(e, "cannot create", &objects))?;
        scrub_cc_environment();
        let mut build = cc::Build::new();
        build
            .target("x86_64-unknown-linux-musl")
            .host("x86_64-unknown-linux-gnu")
            .opt_level(2)
            .debug(true)
            .pic(false) // images and native executables are both static, non-PIE
            .out_dir(&objects)
            .cargo_metadata(false)
            .cargo_warnings(false)
            .compiler("gcc")
            .archiver("ar")
            .files(sources);
        for f in flags {
            build.flag(f);
        }
        build
            .try_compile("ferrite_rt")
            .map_err(|e| Error::failed(format!("building the runtime glue failed: {e}")))?;
        fs::rename(objects.join("libferrite_rt.a"), &tmp)
            .map_err(|e| Error::io(e, "cannot move the glue archive to", &tmp))?;
    }
    fs::rename(&tmp, archive).map_err(|e| Error::io(e, "cannot write", archive))
}

/// The cc crate reads CFLAGS, CC, AR and friends from the environment; a service's build
/// (`make CFLAGS=-O0`) must not leak into the glue, so they are removed first.
fn scrub_cc_environment() {
    let target = "x86_64-unknown-linux-musl";
    let target_us = target.replace('-', "_");
    let mut names = Vec::new();
    for var in ["CFLAGS", "CC", "AR", "ARFLAGS", "CXXFLAGS", "CXX"] {
        names.push(var.to_string());
        names.push(format!("TARGET_{var}"));
        names.push(format!("HOST_{var}"));
        names.push(format!("{var}_{target}"));
        names.push(format!("{var}_{target_us}"));
    }
    names.push("CRATE_CC_NO_DEFAULTS".into());
    for n in names.into_iter().filter(|n| std::env::var_os(n).is_some()) {
        // SAFETY: the tool is single-threaded while it builds the glue (the only threads it
        // ever starts belong to `ferrite run`); only variables that are set are touched.
        unsafe { std::env::remove_var(n) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_file_format() {
        let text = "# kernel ABI\nferrite_pvh_entry\n\n  ferrite_multiboot2_entry  # GRUB\n";
        assert_eq!(
            parse_exports(text),
            ["ferrite_pvh_entry", "ferrite_multiboot2_entry"]
        );
    }

    /// Compiles C snippets into an archive, as a stand-in for the Rust staticlib.
    fn archive(dir: &Path, members: &[(&str, &str)]) -> PathBuf {
        let mut objects = Vec::new();
        for (name, code) in members {
            let src = dir.join(format!("{name}.c"));
            let obj = dir.join(format!("{name}.o"));
            fs::write(&src, code).unwrap();
            let ok = Command::new("gcc")
                .args(["-c", "-O2", "-fno-builtin", "-o"])
                .arg(&obj)
                .arg(&src)
                .status()
                .unwrap();
            assert!(ok.success());
            objects.push(obj);
        }
        let lib = dir.join("libk.a");
        let ok = Command::new("ar")
            .arg("rcs")
            .arg(&lib)
            .args(&objects)
            .status()
            .unwrap();
        assert!(ok.success());
        lib
    }

    #[test]
    fn kernel_object_exports_only_the_abi() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let lib = archive(
            d,
            &[
                (
                    "entry",
                    "extern void _start(void); extern int helper(int);\n\
                     void *memcpy(void *d, const void *s, unsigned long n) { return d; }\n\
                     void ferrite_entry(void) { helper(1); memcpy(0, 0, 0); _start(); }\n\
                     int ferrite_other(void) { return 2; }\n",
                ),
                (
                    "helper",
                    "int strlen_clash = 1; int helper(int x) { return x + strlen_clash; }\n",
                ),
                ("unused", "int unused_global(void) { return 3; }\n"),
            ],
        );
        let exports = d.join("exports.txt");
        fs::write(&exports, "# ABI\nferrite_entry\nferrite_other\n").unwrap();
        let out = d.join("libferrite.o");
        combine_kernel(&lib, &exports, &out).unwrap();
        let nm = Command::new("nm").arg(&out).output().unwrap();
        assert!(nm.status.success());
        let text = String::from_utf8(nm.stdout).unwrap();
        // nm lines end in "TYPE NAME"; an upper-case type is a global symbol.
        let mut global: Vec<String> = text
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace().rev();
                let (name, ty) = (f.next()?, f.next()?);
                ty.chars()
                    .all(|c| c.is_ascii_uppercase())
                    .then(|| format!("{name} {ty}"))
            })
            .collect();
        global.sort();
        // Defined globals are exactly the exports; `_start` stays an undefined reference;
        // memcpy and helper became local, and the unreferenced member was not pulled in.
        assert_eq!(
            global,
            ["_start U", "ferrite_entry T", "ferrite_other T"],
            "{text}"
        );
        assert!(
            text.contains(" t memcpy") && text.contains(" t helper"),
            "{text}"
        );
        assert!(!text.contains("unused_global"), "{text}");
    }

    #[test]
    fn kernel_object_missing_export_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let lib = archive(dir.path(), &[("entry", "void ferrite_entry(void) {}\n")]);
        let exports = dir.path().join("exports.txt");
        fs::write(&exports, "ferrite_entry\nferrite_missing\n").unwrap();
        let err = combine_kernel(&lib, &exports, &dir.path().join("k.o")).unwrap_err();
        assert!(err.message.contains("`ferrite_missing`"), "{err}");
        assert!(!dir.path().join("k.o").exists());
    }

    #[test]
    fn glue_archive_from_nothing_and_from_sources() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("target/ferrite");
        fs::create_dir_all(&out).unwrap();
        // No glue directories at all: an empty, valid archive.
        let lib = ensure_glue(root.path(), &out).unwrap();
        assert_eq!(fs::read(&lib).unwrap(), b"!<arch>\n");
        // A source appears: rebuilt, with musl's headers.
        let shim = root.path().join("musl-shim");
        fs::create_dir_all(&shim).unwrap();
        fs::write(
            shim.join("x.c"),
            "#include <features.h>\n#ifdef __GLIBC__\n#error glibc\n#endif\nint ferrite_x(void) { return 1; }\n",
        )
        .unwrap();
        fs::write(shim.join("notes.txt"), "not a source").unwrap();
        assert_eq!(glue_sources(root.path()), [shim.join("x.c")]);
        let lib = ensure_glue(root.path(), &out).unwrap();
        assert!(global_definitions_in_archive(&lib).contains("ferrite_x"));
        // Up to date: not rebuilt (the archive keeps its time).
        let built = mtime(&lib).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        ensure_glue(root.path(), &out).unwrap();
        assert_eq!(mtime(&lib).unwrap(), built);
    }

    fn global_definitions_in_archive(lib: &Path) -> String {
        let nm = Command::new("nm").arg("-g").arg(lib).output().unwrap();
        String::from_utf8(nm.stdout).unwrap()
    }

    #[test]
    fn stale_when_missing_or_older() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        assert!(is_stale(&a, &[]).unwrap());
        fs::write(&a, "x").unwrap();
        assert!(!is_stale(&a, &[]).unwrap());
        assert!(
            is_stale(&a, &[&b]).unwrap(),
            "a missing input counts as newer"
        );
        fs::write(&b, "y").unwrap();
        let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        File::options()
            .write(true)
            .open(&a)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(is_stale(&a, &[&b]).unwrap());
    }
}
