//! `ferrite`: the Ferrite host tool. Builds the kernel, links C/C++ programs into images or native
//! musl executables, and boots images in QEMU.

mod appended;
mod driver;
mod error;
mod home;
mod kernel;
mod run;
mod size;

use error::{Error, Result};
use std::ffi::OsString;

const HELP: &str = "\
ferrite: build and run Ferrite unikernel images

Usage:
  ferrite cc  [--ferrite-…] GCC-ARGS…    C compiler driver (like musl-gcc), also bin/ferrite-cc
  ferrite c++ [--ferrite-…] G++-ARGS…    C++ compiler driver, also bin/ferrite-c++
  ferrite build-kernel                   bring target/ferrite/{libferrite.o,libferrite_rt.a} up to date
  ferrite run IMAGE [OPTIONS] [-- ARGS…]  boot IMAGE in QEMU; exit with the service's status
  ferrite help | --help | -h

Compiler drivers:
  Compile-only calls (-c, -S, -E, -M, -MM, --version, -v alone, -dumpmachine, -print-*) run
  gcc/g++ directly; C uses musl's headers, C++ the host's (libstdc++ needs them). Anything else
  links, against musl's libc.a, the runtime glue and, for images, the kernel.
  --ferrite-target=image|native  image (default; or env FERRITE_TARGET) or a static host executable
  --ferrite-cmdline=STR           arguments and options built into the image
  --ferrite-cpus=N                default CPU count for `ferrite run`
  --ferrite-memory=SIZE           default memory for `ferrite run` (e.g. 256M, 1G)
  --ferrite-rootfs=DIR            pack DIR into the image as its root file system
  --ferrite-name=NAME             image name (default: the output file's name)
  -shared is refused; -pie, -static-pie and -rdynamic are dropped (static, fixed-address links).
  @FILE arguments are read like gcc does. FERRITE_VERBOSE=1 prints every command run.
  The exit status is gcc's.

Run options:
  --cpus N            CPUs (default: the image's, else 1)
  --mem SIZE          memory (default: the image's, else 128M)
  --machine M         microvm (default), q35 or pc
  --accel A           kvm (default when /dev/kvm opens read-write) or tcg
  --timeout SECS      stop QEMU after SECS seconds, exit 124
  --gdb[=PORT]        wait for gdb on 127.0.0.1:PORT (default 1234)
  --env KEY=VALUE     set a variable in the service's environment (repeatable)
  --append STR        extra kernel options
  --net N             none (default), user (QEMU user networking, restrict=on) or tap:NAME
  --forward tcp:HOSTPORT:GUESTPORT  with --net user: 127.0.0.1:HOSTPORT on the host reaches
                      GUESTPORT in the guest (repeatable; never other host addresses)
  --boot-log          print the kernel's boot log (ferrite.bootlog)
  --grub              boot through GRUB from a temporary ISO (-M pc)
  --qemu-arg ARG      pass ARG to QEMU unchanged (repeatable)
  --dry-run           print the QEMU command line and stop
  The service's stdin is the terminal, or the piped input followed by an EOT byte (0x04).

Kernel command line (what `run` passes with -append):
  ferrite.console=tty|pipe [ferrite.winsize=COLSxROWS] [ferrite.bootlog] APPEND… KEY=VALUE…
  IMAGE-CMDLINE [-- ARGS…]. Words are separated by spaces; a word that is empty or contains a
  space, `\"` or `\\` is written in double quotes, inside which `\"` is written `\\\"` and `\\`
  is written `\\\\`. Example: the argument  say \"hi\"  becomes  \"say \\\"hi\\\"\"

Exit status of `run`:
  N      the service called exit(N)       128+N  the service died of signal N
  250    kernel panic                     124    --timeout expired
  125    no status (triple fault, reset) or QEMU failed   130    interrupted (Ctrl-C)
  2      bad usage: options, image missing, not an ELF file, not a Ferrite image, no QEMU

Environment: FERRITE_HOME (the repository; default: found from this executable's path).
";

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let status = match dispatch(&args) {
        Ok(status) => status,
        Err(e) => {
            eprintln!("ferrite: {e}");
            e.status
        }
    };
    std::process::exit(status);
}

fn dispatch(args: &[OsString]) -> Result<i32> {
    let Some(command) = args.first() else {
        eprint!("{HELP}");
        return Ok(error::USAGE);
    };
    let rest = &args[1..];
    match command.to_str() {
        Some("cc") => driver::main(driver::Lang::C, rest),
        Some("c++") => driver::main(driver::Lang::Cxx, rest),
        Some("build-kernel") => build_kernel(rest),
        Some("run") => run::main(rest),
        Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            Ok(0)
        }
        Some("--version" | "-V") => {
            println!("ferrite {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        _ => Err(Error::usage(format!(
            "unknown command `{}`: the commands are cc, c++, build-kernel, run, help",
            command.to_string_lossy()
        ))),
    }
}

fn build_kernel(args: &[OsString]) -> Result<i32> {
    if let Some(a) = args.first() {
        return Err(Error::usage(format!(
            "build-kernel takes no arguments (got `{}`)",
            a.to_string_lossy()
        )));
    }
    let root = home::root()?;
    let a = kernel::ensure(&root, kernel::Parts::All, false)?;
    if let Some(k) = &a.kernel {
        println!("{}", k.display());
    }
    println!("{}", a.glue.display());
    Ok(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_states_the_quoting_rule_as_implemented() {
        let example = crate::run::cmdline::quote("say \"hi\"");
        assert!(super::HELP.contains(&format!("becomes  {example}")));
    }
}
