//! Linking: one gcc/g++ command that spells out every start file and library (so musl's libc.a is
//! used, never glibc's), and for images a second pass that adds the appended object.

use super::args::{Invocation, Link, Target};
use super::{Lang, exec, show_command, verbose};
use crate::appended::{self, Blobs, config::Config, cpio, symtab};
use crate::error::{Error, Result};
use crate::home::{self, Gcc, MUSL_LIB};
use crate::kernel::{self, Artifacts, Parts};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every file a link names explicitly.
#[derive(Debug, Clone)]
pub struct LinkFiles {
    pub musl: PathBuf,
    pub gcc: Gcc,
    pub glue: PathBuf,
    /// libferrite.o and the linker script: images only.
    pub kernel: Option<(PathBuf, PathBuf)>,
    pub libstdcxx: Option<PathBuf>,
}

/// The compiler's arguments for a link, user arguments in their place.
pub fn link_args(
    lang: Lang,
    files: &LinkFiles,
    user: &[OsString],
    appended: Option<&Path>,
) -> Vec<OsString> {
    let m = |f: &str| files.musl.join(f).into_os_string();
    let g = |f: &str| files.gcc.file(f).into_os_string();
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |s: &str| a.push(s.into());
    push("-static");
    push("-nostdlib");
    push("-no-pie");
    if let Some((_, script)) = &files.kernel {
        a.push(format!("-Wl,-T,{}", script.display()).into());
        for f in [
            "-Wl,--gc-sections",
            "-Wl,-z,max-page-size=4096",
            "-Wl,-z,norelro",
            "-Wl,--build-id=none",
        ] {
            a.push(f.into());
        }
    }
    // libgcc's unwinder finds .eh_frame_hdr through _dl_find_object (glue), in both kinds.
    a.push("-Wl,--eh-frame-hdr".into());
    // musl's directory first, so the user's -lm, -lpthread, -lrt, -ldl are musl's.
    a.push(format!("-L{}", files.musl.display()).into());
    if lang == Lang::C {
        // Sources compiled by this same command need musl's headers too.
        a.extend(
            files
                .gcc
                .musl_include_flags()
                .into_iter()
                .map(OsString::from),
        );
    }
    a.extend([m("crt1.o"), m("crti.o"), g("crtbeginT.o")]);
    a.extend(user.iter().cloned());
    // A user's `-x LANG` would make gcc compile the libraries below as source.
    a.extend(["-x".into(), "none".into()]);
    if let Some(stdcxx) = &files.libstdcxx {
        a.push(stdcxx.clone().into_os_string());
    }
    a.push("-Wl,--start-group".into());
    a.extend([
        files.glue.clone().into_os_string(),
        m("libc.a"),
        m("libm.a"),
        g("libgcc.a"),
        g("libgcc_eh.a"),
    ]);
    a.push("-Wl,--end-group".into());
    if let Some((kernel, _)) = &files.kernel {
        // After libc: it only refers to musl's _start (crt1.o) and linker-script symbols.
        a.push(kernel.clone().into_os_string());
    }
    a.extend([g("crtend.o"), m("crtn.o")]);
    if let Some(obj) = appended {
        // Its sections all land in .ferrite.appended, so its position changes nothing else.
        a.push(obj.as_os_str().to_owned());
    }
    a
}

pub fn link(lang: Lang, inv: &Invocation, l: &Link) -> Result<i32> {
    let image = inv.target == Target::Image;
    if image && let Some(ld) = &l.other_linker {
        return Err(Error::usage(format!(
            "-fuse-ld={ld}: Ferrite images are linked with GNU ld (bfd) and its linker script; drop -fuse-ld"
        )));
    }
    if image
        && let Some(dir) = &inv.image.rootfs
        && !dir.is_dir()
    {
        return Err(Error::usage(format!(
            "--ferrite-rootfs={}: no such directory",
            dir.display()
        )));
    }
    home::check_musl()?;
    let root = home::root()?;
    let parts = if image { Parts::All } else { Parts::GlueOnly };
    let Artifacts {
        kernel,
        glue,
        script,
    } = kernel::ensure(&root, parts, !verbose())?;
    let files = LinkFiles {
        musl: PathBuf::from(MUSL_LIB),
        gcc: Gcc::find()?,
        glue,
        kernel: kernel.map(|k| (k, script)),
        libstdcxx: match lang {
            Lang::Cxx => Some(home::libstdcxx()?),
            Lang::C => None,
        },
    };
    // Source read from stdin (`-x c -`) is there for one pass only: keep it for both.
    let mut user_args = l.args.clone();
    let _stdin_copy = if image && !l.show_only && !l.stdin_inputs.is_empty() {
        let mut file = tempfile::Builder::new()
            .prefix("ferrite-stdin")
            .tempfile()
            .map_err(|e| Error::failed(format!("cannot create a temporary file: {e}")))?;
        std::io::copy(&mut std::io::stdin().lock(), &mut file)
            .map_err(|e| Error::failed(format!("cannot read the source from stdin: {e}")))?;
        for &i in &l.stdin_inputs {
            user_args[i] = file.path().as_os_str().to_owned();
        }
        Some(file)
    } else {
        None
    };
    let command = |appended: Option<&Path>| {
        let mut cmd = Command::new(lang.compiler());
        cmd.args(link_args(lang, &files, &user_args, appended));
        cmd
    };
    if l.show_only {
        return Err(exec(command(None), lang.compiler()));
    }
    let status = run(command(None), lang.compiler())?;
    if status != 0 || !image || !l.output.is_file() {
        // A failed link, a native executable, or output to a device (-o /dev/null) ends here.
        return Ok(status);
    }
    let result = second_pass(inv, l, |obj| run(command(Some(obj)), lang.compiler()));
    if !matches!(result, Ok(0)) {
        // Never leave a half-made image behind for make to think up to date.
        let _ = fs::remove_file(&l.output);
    }
    result
}

/// Runs a command, echoing it with FERRITE_VERBOSE; its exit status as a shell would report it.
fn run(mut cmd: Command, name: &str) -> Result<i32> {
    if verbose() {
        eprintln!("ferrite: {}", show_command(&cmd));
    }
    let status = cmd.status().map_err(|e| home::spawn_error(name, e))?;
    use std::os::unix::process::ExitStatusExt;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

fn second_pass(
    inv: &Invocation,
    l: &Link,
    relink: impl FnOnce(&Path) -> Result<i32>,
) -> Result<i32> {
    let out = &l.output;
    let first = fs::read(out).map_err(|e| Error::io(e, "cannot read", out))?;
    let file = parse(&first, out)?;
    let layout = Layout::of(&file, out)?;
    let name = match &inv.image.name {
        Some(n) => n.clone(),
        None => out
            .file_name()
            .map(|n| n.to_string_lossy().replace('\n', " "))
            .unwrap_or_else(|| "a.out".into()),
    };
    let config = Config {
        name: Some(name),
        cmdline: inv.image.cmdline.clone(),
        cpus: inv.image.cpus,
        memory: inv.image.memory,
    };
    let blobs = Blobs {
        symtab: symtab::encode(&symtab::collect(&file)),
        config: config.encode().into_bytes(),
        rootfs: match &inv.image.rootfs {
            Some(dir) => Some(cpio::pack_dir(dir)?),
            None => None,
        },
    };
    let dir = tempfile::Builder::new()
        .prefix("ferrite-link")
        .tempdir()
        .map_err(|e| Error::failed(format!("cannot create a temporary directory: {e}")))?;
    let obj = dir.path().join("appended.o");
    appended::write_object(&obj, &blobs)?;
    let status = relink(&obj)?;
    if status != 0 {
        return Ok(status);
    }
    let second = fs::read(out).map_err(|e| Error::io(e, "cannot read", out))?;
    let file2 = parse(&second, out)?;
    let layout2 = Layout::of(&file2, out)?;
    layout.check_unchanged(&layout2, out)?;
    check_blob(&file2, "symtab", blobs.symtab.len())?;
    check_blob(&file2, "config", blobs.config.len())?;
    check_blob(&file2, "rootfs", blobs.rootfs.as_ref().map_or(0, Vec::len))?;
    Ok(0)
}

fn parse<'a>(data: &'a [u8], path: &Path) -> Result<object::File<'a>> {
    object::File::parse(data)
        .map_err(|e| Error::failed(format!("cannot read the linked {}: {e}", path.display())))
}

fn symbol_address(file: &object::File<'_>, name: &str) -> Option<u64> {
    file.symbols()
        .find(|s| s.name() == Ok(name))
        .map(|s| s.address())
}

/// Where everything linked in pass 1 sits: what pass 2 must not move.
struct Layout {
    appended_start: u64,
    /// (name, address) of every named symbol below the appended area, sorted.
    symbols: Vec<(String, u64)>,
    /// (name, address, size) of every allocated section but the appended one.
    sections: Vec<(String, u64, u64)>,
}

impl Layout {
    fn of(file: &object::File<'_>, path: &Path) -> Result<Layout> {
        let appended_start = symbol_address(file, "__ferrite_symtab_start").ok_or_else(|| {
            Error::failed(format!(
                "{} has no __ferrite_symtab_start: it was not linked with libos/ferrite.ld",
                path.display()
            ))
        })?;
        let mut symbols: Vec<(String, u64)> = file
            .symbols()
            .filter(|s| !matches!(s.kind(), SymbolKind::Section | SymbolKind::File))
            .filter(|s| s.address() < appended_start && s.is_definition())
            .filter_map(|s| Some((s.name().ok()?.to_string(), s.address())))
            .filter(|(n, _)| !n.is_empty())
            .collect();
        symbols.sort();
        let sections = file
            .sections()
            .filter(|s| s.address() != 0 && s.name() != Ok(".ferrite.appended"))
            .map(|s| (s.name().unwrap_or("?").to_string(), s.address(), s.size()))
            .collect();
        Ok(Layout {
            appended_start,
            symbols,
            sections,
        })
    }

    fn check_unchanged(&self, after: &Layout, path: &Path) -> Result<()> {
        let moved = |what: String| {
            Error::failed(format!(
                "linking the appended data moved {what} in {}: the linker script must keep .ferrite.appended last",
                path.display()
            ))
        };
        if after.appended_start != self.appended_start {
            return Err(moved(format!(
                "the appended area from {:#x} to {:#x}",
                self.appended_start, after.appended_start
            )));
        }
        for key in ["_start", "main"] {
            let a = self.symbols.iter().find(|s| s.0 == key);
            let b = after.symbols.iter().find(|s| s.0 == key);
            if let (Some(a), Some(b)) = (a, b)
                && a.1 != b.1
            {
                return Err(moved(format!("`{key}` from {:#x} to {:#x}", a.1, b.1)));
            }
        }
        if let Some((a, b)) = self
            .sections
            .iter()
            .zip(&after.sections)
            .find(|(a, b)| a != b)
        {
            return Err(moved(format!(
                "section {} ({:#x}+{:#x} became {} at {:#x}+{:#x})",
                a.0, a.1, a.2, b.0, b.1, b.2
            )));
        }
        if self.sections.len() != after.sections.len() || self.symbols != after.symbols {
            let first = self
                .symbols
                .iter()
                .zip(&after.symbols)
                .find(|(a, b)| a != b)
                .map_or("symbols".to_string(), |(a, _)| format!("`{}`", a.0));
            return Err(moved(first));
        }
        Ok(())
    }
}

/// Checks a blob arrived whole between its `__ferrite_<what>_start/_end` symbols.
fn check_blob(file: &object::File<'_>, what: &str, len: usize) -> Result<()> {
    let start = symbol_address(file, &format!("__ferrite_{what}_start"));
    let end = symbol_address(file, &format!("__ferrite_{what}_end"));
    match (start, end) {
        (Some(s), Some(e)) if e.wrapping_sub(s) == len as u64 => Ok(()),
        _ => Err(Error::failed(format!(
            "the image's .ferrite.{what} does not hold the {len} bytes linked into it: check KEEP(*(.ferrite.{what})) in libos/ferrite.ld"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(kernel: bool, cxx: bool) -> LinkFiles {
        LinkFiles {
            musl: PathBuf::from("/M"),
            gcc: Gcc {
                lib_dir: PathBuf::from("/G"),
                include: PathBuf::from("/G/include"),
            },
            glue: PathBuf::from("/F/libferrite_rt.a"),
            kernel: kernel.then(|| {
                (
                    PathBuf::from("/F/libferrite.o"),
                    PathBuf::from("/R/ferrite.ld"),
                )
            }),
            libstdcxx: cxx.then(|| PathBuf::from("/G/libstdc++.a")),
        }
    }

    fn strs(v: Vec<OsString>) -> Vec<String> {
        v.into_iter().map(|s| s.into_string().unwrap()).collect()
    }

    #[test]
    fn image_link_order() {
        let user = vec![OsString::from("main.o"), OsString::from("-lm")];
        let a = strs(link_args(
            Lang::Cxx,
            &files(true, true),
            &user,
            Some(Path::new("/t/app.o")),
        ));
        let expected = "-static -nostdlib -no-pie -Wl,-T,/R/ferrite.ld -Wl,--gc-sections \
            -Wl,-z,max-page-size=4096 -Wl,-z,norelro -Wl,--build-id=none -Wl,--eh-frame-hdr -L/M \
            /M/crt1.o /M/crti.o /G/crtbeginT.o main.o -lm -x none /G/libstdc++.a -Wl,--start-group \
            /F/libferrite_rt.a /M/libc.a /M/libm.a /G/libgcc.a /G/libgcc_eh.a -Wl,--end-group \
            /F/libferrite.o /G/crtend.o /M/crtn.o /t/app.o";
        assert_eq!(
            a.join(" "),
            expected.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }

    #[test]
    fn native_c_link() {
        let user = vec![OsString::from("hello.c")];
        let a = strs(link_args(Lang::C, &files(false, false), &user, None));
        let expected = "-static -nostdlib -no-pie -Wl,--eh-frame-hdr -L/M \
            -nostdinc -isystem /usr/include/x86_64-linux-musl -isystem /G/include \
            /M/crt1.o /M/crti.o /G/crtbeginT.o hello.c -x none -Wl,--start-group /F/libferrite_rt.a \
            /M/libc.a /M/libm.a /G/libgcc.a /G/libgcc_eh.a -Wl,--end-group /G/crtend.o /M/crtn.o";
        assert_eq!(
            a.join(" "),
            expected.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
}
