//! `ferrite run` options.

use crate::driver::args::parse_cpus;
use crate::error::{Error, Result};
use crate::size::MemSize;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    Microvm,
    Q35,
    Pc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

pub const DEFAULT_GDB_PORT: u16 = 1234;

#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    pub image: PathBuf,
    pub cpus: Option<u32>,
    pub mem: Option<MemSize>,
    pub machine: Machine,
    pub accel: Option<Accel>,
    pub timeout: Option<Duration>,
    pub gdb: Option<u16>,
    pub env: Vec<String>,
    pub append: Vec<String>,
    pub boot_log: bool,
    pub grub: bool,
    pub qemu_args: Vec<OsString>,
    pub dry_run: bool,
    pub args: Vec<String>,
    pub net: super::net::Net,
    pub forwards: Vec<super::net::Forward>,
}

fn utf8(arg: &OsString, what: &str) -> Result<String> {
    arg.to_str().map(str::to_string).ok_or_else(|| {
        Error::usage(format!(
            "{what} `{}` is not valid UTF-8",
            arg.to_string_lossy()
        ))
    })
}

pub fn parse(argv: &[OsString]) -> Result<RunOptions> {
    let mut image = None;
    let mut o = RunOptions {
        image: PathBuf::new(),
        cpus: None,
        mem: None,
        machine: Machine::Microvm,
        accel: None,
        timeout: None,
        gdb: None,
        env: Vec::new(),
        append: Vec::new(),
        boot_log: false,
        grub: false,
        qemu_args: Vec::new(),
        dry_run: false,
        args: Vec::new(),
        net: super::net::Net::None,
        forwards: Vec::new(),
    };
    let mut it = argv.iter();
    while let Some(raw) = it.next() {
        let Some(arg) = raw.to_str() else {
            if image.is_none() {
                image = Some(PathBuf::from(raw));
                continue;
            }
            return Err(Error::usage(format!(
                "unexpected argument `{}`: service arguments go after `--`",
                raw.to_string_lossy()
            )));
        };
        if arg == "--" {
            for a in it.by_ref() {
                o.args.push(utf8(a, "service argument")?);
            }
            break;
        }
        if !arg.starts_with("--") || arg == "-" {
            if arg.starts_with('-') && arg != "-" {
                return Err(Error::usage(format!(
                    "unknown option `{arg}`: see `ferrite run --help`"
                )));
            }
            if image.is_some() {
                return Err(Error::usage(format!(
                    "unexpected argument `{arg}`: give one image; service arguments go after `--`"
                )));
            }
            image = Some(PathBuf::from(raw));
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (arg, None),
        };
        // Flags take no value; the rest take one, as `--opt V` or `--opt=V`.
        let flag = |o: &mut bool| {
            if inline.is_some() {
                return Err(Error::usage(format!("{name} takes no value")));
            }
            *o = true;
            Ok(())
        };
        match name {
            "--boot-log" => flag(&mut o.boot_log)?,
            "--grub" => flag(&mut o.grub)?,
            "--dry-run" => flag(&mut o.dry_run)?,
            "--gdb" => {
                o.gdb = Some(match inline {
                    None => DEFAULT_GDB_PORT,
                    Some(p) => p.parse().ok().filter(|&p| p != 0).ok_or_else(|| {
                        Error::usage(format!(
                            "--gdb={p}: give a TCP port number, e.g. --gdb=1234"
                        ))
                    })?,
                })
            }
            _ => {
                let value = match inline {
                    Some(v) => v,
                    None => {
                        let v = it.next().ok_or_else(|| {
                            Error::usage(format!("{name} needs a value after it"))
                        })?;
                        utf8(v, name)?
                    }
                };
                set_valued(&mut o, name, value)?;
            }
        }
    }
    o.image = image
        .ok_or_else(|| Error::usage("no image given: ferrite run IMAGE [OPTIONS] [-- ARGS...]"))?;
    if o.grub && o.machine != Machine::Pc {
        o.machine = Machine::Pc; // GRUB boots from the ISO through the PC BIOS
    }
    Ok(o)
}

fn set_valued(o: &mut RunOptions, name: &str, value: String) -> Result<()> {
    match name {
        "--cpus" => o.cpus = Some(parse_cpus(&value, "--cpus")?),
        "--mem" => {
            o.mem = Some(MemSize::parse(&value).map_err(|e| Error::usage(format!("--mem: {e}")))?)
        }
        "--machine" => {
            o.machine = match value.as_str() {
                "microvm" => Machine::Microvm,
                "q35" => Machine::Q35,
                "pc" => Machine::Pc,
                _ => {
                    return Err(Error::usage(format!(
                        "--machine {value}: the machines are microvm, q35 and pc"
                    )));
                }
            }
        }
        "--accel" => {
            o.accel = Some(match value.as_str() {
                "kvm" => Accel::Kvm,
                "tcg" => Accel::Tcg,
                _ => {
                    return Err(Error::usage(format!(
                        "--accel {value}: the accelerators are kvm and tcg"
                    )));
                }
            })
        }
        "--timeout" => {
            let secs: f64 = value.parse().unwrap_or(f64::NAN);
            if !(secs > 0.0 && secs < 1e9) {
                return Err(Error::usage(format!(
                    "--timeout {value}: give a positive number of seconds"
                )));
            }
            o.timeout = Some(Duration::from_secs_f64(secs));
        }
        "--env" => {
            let key = value.split_once('=').map(|(k, _)| k).unwrap_or("");
            if key.is_empty() || key.contains([' ', '"', '\\']) {
                return Err(Error::usage(format!(
                    "--env {value}: write KEY=VALUE with a key of letters, digits or _"
                )));
            }
            o.env.push(value);
        }
        "--append" => o.append.push(value),
        "--net" => o.net = super::net::parse_net(&value)?,
        "--forward" => o.forwards.push(super::net::parse_forward(&value)?),
        "--qemu-arg" => o.qemu_args.push(OsString::from(value)),
        _ => {
            return Err(Error::usage(format!(
                "unknown option `{name}`: see `ferrite run --help`"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<RunOptions> {
        parse(&args.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn defaults() {
        let o = p(&["app.elf"]).unwrap();
        assert_eq!(o.image, PathBuf::from("app.elf"));
        assert_eq!(o.machine, Machine::Microvm);
        assert_eq!((o.cpus, o.mem, o.accel, o.gdb), (None, None, None, None));
        assert!(o.args.is_empty() && !o.dry_run && !o.grub);
    }

    #[test]
    fn all_options() {
        let o = p(&[
            "--cpus",
            "4",
            "--mem=1G",
            "app.elf",
            "--machine",
            "q35",
            "--accel=tcg",
            "--timeout",
            "2.5",
            "--gdb=4321",
            "--env",
            "A=1",
            "--env=B=x y",
            "--append",
            "ferrite.debug",
            "--boot-log",
            "--qemu-arg",
            "-s",
            "--dry-run",
            "--",
            "--port",
            "80",
            "--cpus",
        ])
        .unwrap();
        assert_eq!(o.cpus, Some(4));
        assert_eq!(o.mem, Some(MemSize { mib: 1024 }));
        assert_eq!(o.machine, Machine::Q35);
        assert_eq!(o.accel, Some(Accel::Tcg));
        assert_eq!(o.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(o.gdb, Some(4321));
        assert_eq!(o.env, ["A=1", "B=x y"]);
        assert_eq!(o.append, ["ferrite.debug"]);
        assert!(o.boot_log && o.dry_run);
        assert_eq!(o.qemu_args, [OsString::from("-s")]);
        assert_eq!(o.args, ["--port", "80", "--cpus"]);
    }

    #[test]
    fn gdb_default_port_and_grub_machine() {
        let o = p(&["--gdb", "x.elf", "--grub"]).unwrap();
        assert_eq!(o.gdb, Some(DEFAULT_GDB_PORT));
        assert_eq!(o.machine, Machine::Pc);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &[][..],
            &["a.elf", "b.elf"],
            &["a.elf", "--cpus", "0"],
            &["a.elf", "--cpus"],
            &["a.elf", "--mem", "lots"],
            &["a.elf", "--machine", "virt"],
            &["a.elf", "--accel", "hvf"],
            &["a.elf", "--timeout", "-1"],
            &["a.elf", "--timeout", "soon"],
            &["a.elf", "--gdb=port"],
            &["a.elf", "--env", "NOVALUE"],
            &["a.elf", "--env", "=x"],
            &["a.elf", "--grub=yes"],
            &["a.elf", "--frobnicate"],
            &["a.elf", "-x"],
        ] {
            let e = p(args).unwrap_err();
            assert_eq!(e.status, crate::error::USAGE, "{args:?}: {e}");
        }
    }
}
