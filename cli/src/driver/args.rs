//! Reading a gcc command line: Ferrite's own options out, then what kind of invocation it is.

use crate::error::{Error, Result};
use crate::size::MemSize;
use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Image,
    Native,
}

impl Target {
    fn parse(value: &str, source: &str) -> Result<Target> {
        match value {
            "image" => Ok(Target::Image),
            "native" => Ok(Target::Native),
            _ => Err(Error::usage(format!(
                "{source} is `{value}`: it must be `image` or `native`"
            ))),
        }
    }
}

/// The `--ferrite-*` link options: what goes into the image's `.ferrite.config`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageOptions {
    pub cmdline: Option<String>,
    pub cpus: Option<u32>,
    pub memory: Option<MemSize>,
    pub rootfs: Option<PathBuf>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub target: Target,
    pub image: ImageOptions,
    /// The command line with the Ferrite options removed: what gcc gets.
    pub args: Vec<OsString>,
}

pub const FERRITE_OPTIONS: &str = "--ferrite-target=image|native, --ferrite-cmdline=STR, \
--ferrite-cpus=N, --ferrite-memory=SIZE, --ferrite-rootfs=DIR, --ferrite-name=NAME";

/// Takes the `--ferrite-*` options out; `env_target` is `FERRITE_TARGET` if set.
pub fn split_ferrite_options(args: &[OsString], env_target: Option<&str>) -> Result<Invocation> {
    let mut target = match env_target {
        Some(v) => Target::parse(v, "FERRITE_TARGET")?,
        None => Target::Image,
    };
    let mut image = ImageOptions::default();
    let mut rest = Vec::new();
    for arg in args {
        let Some(opt) = arg.to_str().and_then(|a| a.strip_prefix("--ferrite-")) else {
            rest.push(arg.clone());
            continue;
        };
        let (key, value) = opt.split_once('=').ok_or_else(|| {
            Error::usage(format!(
                "--ferrite-{opt} needs a value written as --ferrite-{opt}=VALUE"
            ))
        })?;
        let no_newline = |v: &str| {
            if v.contains('\n') {
                Err(Error::usage(format!(
                    "--ferrite-{key} must not contain a newline"
                )))
            } else {
                Ok(v.to_string())
            }
        };
        match key {
            "target" => target = Target::parse(value, "--ferrite-target")?,
            "cmdline" => image.cmdline = Some(no_newline(value)?),
            "cpus" => image.cpus = Some(parse_cpus(value, "--ferrite-cpus")?),
            "memory" => {
                image.memory = Some(
                    MemSize::parse(value)
                        .map_err(|e| Error::usage(format!("--ferrite-memory: {e}")))?,
                )
            }
            "rootfs" => {
                if value.is_empty() {
                    return Err(Error::usage("--ferrite-rootfs needs a directory"));
                }
                image.rootfs = Some(PathBuf::from(value));
            }
            "name" => {
                if value.is_empty() {
                    return Err(Error::usage("--ferrite-name must not be empty"));
                }
                image.name = Some(no_newline(value)?);
            }
            _ => {
                return Err(Error::usage(format!(
                    "unknown option --ferrite-{key}: the Ferrite options are {FERRITE_OPTIONS}"
                )));
            }
        }
    }
    Ok(Invocation {
        target,
        image,
        args: rest,
    })
}

/// A CPU count: 1 to 1024 (QEMU's limit for x86 machines is lower still, and says so).
pub fn parse_cpus(value: &str, what: &str) -> Result<u32> {
    match value.parse::<u32>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(Error::usage(format!(
            "{what} is `{value}`: give a number of CPUs from 1 to 1024"
        ))),
    }
}

/// Replaces each `@FILE` argument by the arguments written in FILE, as gcc does (an `@FILE`
/// that cannot be read stays as it is, and gcc reports it). Build tools (Ninja, Meson, CMake)
/// use them for long link lines, and the `-o` or `--ferrite-*` inside must be seen.
pub fn expand_response_files(args: &[OsString]) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        let text = a
            .to_str()
            .and_then(|s| s.strip_prefix('@'))
            .and_then(|path| std::fs::read_to_string(path).ok());
        match text {
            // Nested response files are rare; one level is what build tools write.
            Some(text) => out.extend(split_response_file(&text).into_iter().map(OsString::from)),
            None => out.push(a.clone()),
        }
    }
    out
}

/// libiberty's rules: whitespace separates; single or double quotes group; backslash escapes.
fn split_response_file(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\\', _) => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (q, None) if q == '\'' || q == '"' => {
                quote = Some(q);
                in_word = true;
            }
            (q, Some(open)) if q == open => quote = None,
            (w, None) if w.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (c, _) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// What gcc would do with the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Compile, preprocess, or answer a query: run gcc as it is (with the header flags).
    Compile,
    /// `-r`: a relocatable link; no start files and no libraries belong in it.
    Relocatable,
    /// Link an executable.
    Link(Link),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub output: PathBuf,
    /// gcc's arguments with the options that make no sense for a static image dropped.
    pub args: Vec<OsString>,
    /// `-###`: show the commands instead of running them.
    pub show_only: bool,
    /// `-fuse-ld=X` when X is not GNU ld.
    pub other_linker: Option<String>,
    /// Positions in `args` of `-` inputs: source code read from stdin.
    pub stdin_inputs: Vec<usize>,
}

/// Single-letter options that take the next argument when given alone (`-o out`, `-I dir`).
const LETTER_WITH_ARG: &[&str] = &[
    "-o", "-D", "-U", "-I", "-L", "-l", "-x", "-e", "-T", "-u", "-A", "-B", "-z",
];

/// Word options that always take the next argument.
const WORD_WITH_ARG: &[&str] = &[
    "-include",
    "-imacros",
    "-idirafter",
    "-iprefix",
    "-iwithprefix",
    "-iwithprefixbefore",
    "-iquote",
    "-isystem",
    "-isysroot",
    "-imultilib",
    "-imultiarch",
    "-aux-info",
    "-MF",
    "-MT",
    "-MQ",
    "-Xlinker",
    "-Xassembler",
    "-Xpreprocessor",
    "-dumpbase",
    "-dumpbase-ext",
    "-dumpdir",
    "-wrapper",
    "-specs",
    "-Tdata",
    "-Ttext",
    "-Tbss",
    "--param",
    "--sysroot",
    "--output",
    "--language",
    "--include",
    "--include-directory",
    "--define-macro",
    "--undefine-macro",
    "--library-directory",
    "--for-linker",
    "--entry",
];

/// Options whose presence means gcc answers a question and stops (no inputs needed).
fn is_query(a: &str) -> bool {
    matches!(
        a,
        "--version"
            | "-dumpversion"
            | "-dumpfullversion"
            | "-dumpmachine"
            | "-dumpspecs"
            | "--target-help"
    ) || a.starts_with("-print-")
        || a.starts_with("--print-")
        || a.starts_with("--help")
}

pub fn classify(args: &[OsString]) -> Result<Action> {
    let mut compile_only = false;
    let mut relocatable = false;
    let mut query = false;
    let mut inputs = 0usize;
    let mut output = None;
    let mut show_only = false;
    let mut other_linker = None;
    let mut stdin_inputs = Vec::new();
    let mut kept = Vec::with_capacity(args.len());
    let mut i = 0;
    while i < args.len() {
        let raw = &args[i];
        let a = raw.to_string_lossy();
        i += 1;
        if a == "-" || !a.starts_with('-') {
            inputs += 1;
            if a == "-" {
                stdin_inputs.push(kept.len());
            }
            kept.push(raw.clone());
            continue;
        }
        if LETTER_WITH_ARG.contains(&a.as_ref()) || WORD_WITH_ARG.contains(&a.as_ref()) {
            let value = args
                .get(i)
                .ok_or_else(|| Error::usage(format!("{a} needs an argument after it")))?;
            i += 1;
            match a.as_ref() {
                "-o" | "--output" => output = Some(PathBuf::from(value)),
                "-l" => inputs += 1,
                _ => {}
            }
            kept.push(raw.clone());
            kept.push(value.clone());
            continue;
        }
        match a.as_ref() {
            "-c" | "-S" | "-E" | "-M" | "-MM" => compile_only = true,
            "-r" => relocatable = true,
            "-###" => show_only = true,
            "-shared" => {
                return Err(Error::usage(
                    "-shared: Ferrite links static executables only; build the library as a static archive (ar) instead",
                ));
            }
            // Images and Ferrite's native executables are static and position-dependent.
            "-pie" | "-static-pie" | "-rdynamic" => continue,
            s if is_query(s) => query = true,
            s if s.starts_with("-o") => output = Some(PathBuf::from(&s[2..])),
            s if s.starts_with("--output=") => output = Some(PathBuf::from(&s[9..])),
            s if s.starts_with("-l") => inputs += 1,
            s if s.starts_with("-fuse-ld=") => {
                let ld = &s[9..];
                if ld != "bfd" {
                    other_linker = Some(ld.to_string());
                }
            }
            _ => {}
        }
        kept.push(raw.clone());
    }
    if compile_only || query || inputs == 0 {
        // gcc itself reports "no input files" and answers -v, --version and the like.
        return Ok(Action::Compile);
    }
    if relocatable {
        return Ok(Action::Relocatable);
    }
    Ok(Action::Link(Link {
        output: output.unwrap_or_else(|| PathBuf::from("a.out")),
        args: kept,
        show_only,
        other_linker,
        stdin_inputs,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn link(args: &[&str]) -> Link {
        match classify(&os(args)).unwrap() {
            Action::Link(l) => l,
            other => panic!("{args:?} classified as {other:?}"),
        }
    }

    #[test]
    fn compile_only_invocations() {
        for args in [
            &["-c", "a.c"][..],
            &["-S", "a.c"],
            &["-E", "a.c"],
            &["-M", "a.c"],
            &["-MM", "a.c"],
            &["--version"],
            &["-v"],
            &["-dumpmachine"],
            &["-dumpversion"],
            &["-print-file-name=libc.a"],
            &["-print-search-dirs"],
            &[],
            &["-O2", "-Wall"],
            &["-o", "x.o", "-c", "a.c"],
        ] {
            assert_eq!(classify(&os(args)).unwrap(), Action::Compile, "{args:?}");
        }
    }

    #[test]
    fn link_invocations() {
        let l = link(&["a.c", "-o", "prog", "-lm"]);
        assert_eq!(l.output, PathBuf::from("prog"));
        assert_eq!(l.args, os(&["a.c", "-o", "prog", "-lm"]));
        assert_eq!(link(&["a.o"]).output, PathBuf::from("a.out"));
        assert_eq!(link(&["-v", "a.o", "-oprog"]).output, PathBuf::from("prog"));
        assert_eq!(
            link(&["-MD", "-MF", "a.d", "a.c"]).output,
            PathBuf::from("a.out")
        );
        assert!(link(&["-###", "a.o"]).show_only);
    }

    #[test]
    fn option_arguments_are_not_inputs() {
        // `-I dir`, `-o out`, `-MF file` alone are no inputs: gcc will say so itself.
        assert_eq!(
            classify(&os(&["-I", "inc", "-o", "out", "-MF", "dep", "-x", "c"])).unwrap(),
            Action::Compile
        );
        assert!(classify(&os(&["-o"])).is_err());
    }

    #[test]
    fn static_image_adjustments() {
        let l = link(&["-pie", "-rdynamic", "a.o", "-static-pie"]);
        assert_eq!(l.args, os(&["a.o"]));
        assert_eq!(
            link(&["-fuse-ld=gold", "a.o"]).other_linker.as_deref(),
            Some("gold")
        );
        assert_eq!(link(&["-fuse-ld=bfd", "a.o"]).other_linker, None);
        assert!(classify(&os(&["-shared", "a.o"])).is_err());
        assert_eq!(
            classify(&os(&["-r", "a.o", "b.o", "-o", "c.o"])).unwrap(),
            Action::Relocatable
        );
    }

    #[test]
    fn stdin_inputs_are_found() {
        let l = link(&["-x", "c", "-", "-o", "-x.out"]);
        assert_eq!(l.stdin_inputs, [2]);
        assert_eq!(l.output, PathBuf::from("-x.out"));
    }

    #[test]
    fn response_files() {
        assert_eq!(
            split_response_file("a.o  'b c.o'\n\"-o\" out\\ file -DX=\\\"y\\\" ''"),
            ["a.o", "b c.o", "-o", "out file", "-DX=\"y\"", ""]
        );
        let dir = tempfile::tempdir().unwrap();
        let rsp = dir.path().join("objs.rsp");
        std::fs::write(&rsp, "main.o util.o -o prog --ferrite-cpus=2\n").unwrap();
        let args = expand_response_files(&os(&["-O2", &format!("@{}", rsp.display()), "@missing"]));
        assert_eq!(
            args,
            os(&[
                "-O2",
                "main.o",
                "util.o",
                "-o",
                "prog",
                "--ferrite-cpus=2",
                "@missing"
            ])
        );
    }

    #[test]
    fn library_alone_is_a_link() {
        assert!(matches!(
            classify(&os(&["-lfoo"])).unwrap(),
            Action::Link(_)
        ));
        assert!(matches!(
            classify(&os(&["-l", "foo"])).unwrap(),
            Action::Link(_)
        ));
    }

    #[test]
    fn ferrite_options_are_removed() {
        let inv = split_ferrite_options(
            &os(&[
                "a.c",
                "--ferrite-cpus=4",
                "--ferrite-memory=1G",
                "--ferrite-cmdline=-v --port 80",
                "--ferrite-rootfs=root",
                "--ferrite-name=svc",
                "-o",
                "x",
            ]),
            None,
        )
        .unwrap();
        assert_eq!(inv.target, Target::Image);
        assert_eq!(inv.args, os(&["a.c", "-o", "x"]));
        assert_eq!(inv.image.cpus, Some(4));
        assert_eq!(inv.image.memory, Some(MemSize { mib: 1024 }));
        assert_eq!(inv.image.cmdline.as_deref(), Some("-v --port 80"));
        assert_eq!(inv.image.rootfs, Some(PathBuf::from("root")));
        assert_eq!(inv.image.name.as_deref(), Some("svc"));
    }

    #[test]
    fn target_selection() {
        let t = |args: &[&str], env| split_ferrite_options(&os(args), env).map(|i| i.target);
        assert_eq!(t(&[], None).unwrap(), Target::Image);
        assert_eq!(t(&[], Some("native")).unwrap(), Target::Native);
        assert_eq!(
            t(&["--ferrite-target=image"], Some("native")).unwrap(),
            Target::Image
        );
        assert!(t(&[], Some("linux")).is_err());
        assert!(t(&["--ferrite-target=elf"], None).is_err());
    }

    #[test]
    fn bad_ferrite_options() {
        for bad in [
            "--ferrite-cpus",
            "--ferrite-cpus=0",
            "--ferrite-cpus=many",
            "--ferrite-memory=lots",
            "--ferrite-rootfs=",
            "--ferrite-name=",
            "--ferrite-cmdline=a\nb",
            "--ferrite-colour=red",
        ] {
            let err = split_ferrite_options(&os(&[bad]), None).unwrap_err();
            assert_eq!(err.status, crate::error::USAGE, "{bad}");
        }
    }
}
