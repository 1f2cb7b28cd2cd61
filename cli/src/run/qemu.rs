//! The QEMU command line for booting an image.

use super::options::{Accel, Machine};
use crate::size::MemSize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub const QEMU: &str = "qemu-system-x86_64";

/// The microvm machine and its options, kept in one place for tuning.
pub fn microvm_machine() -> &'static str {
    "microvm,x-option-roms=off,rtc=on"
}

fn machine_arg(m: Machine) -> &'static str {
    match m {
        Machine::Microvm => microvm_machine(),
        Machine::Q35 => "q35",
        Machine::Pc => "pc",
    }
}

/// How the guest starts: the image as a PVH kernel, or GRUB from an ISO.
pub enum Boot<'a> {
    Kernel { image: &'a Path, cmdline: &'a str },
    Cdrom { iso: &'a Path },
}

pub struct Plan<'a> {
    pub boot: Boot<'a>,
    pub machine: Machine,
    pub accel: Accel,
    pub cpus: u32,
    pub mem: MemSize,
    pub status_file: PathBuf,
    pub gdb: Option<u16>,
    pub extra: &'a [OsString],
}

/// QEMU option values are comma-separated lists: a literal comma is written twice.
/// The monitor socket, next to the status file (in the run's temporary directory).
pub fn monitor_socket(status_file: &Path) -> PathBuf {
    status_file.with_file_name("monitor")
}

fn opt_escape(p: &Path) -> String {
    p.display().to_string().replace(',', ",,")
}

pub fn args(p: &Plan<'_>) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |s: &str| a.push(OsString::from(s));
    for s in ["-nodefaults", "-no-user-config", "-nographic", "-no-reboot"] {
        push(s);
    }
    push("-M");
    push(machine_arg(p.machine));
    match p.accel {
        Accel::Kvm => ["-accel", "kvm", "-cpu", "host"]
            .iter()
            .for_each(|s| push(s)),
        Accel::Tcg => ["-accel", "tcg", "-cpu", "max"]
            .iter()
            .for_each(|s| push(s)),
    }
    push("-m");
    push(&p.mem.to_string());
    push("-smp");
    push(&p.cpus.to_string());
    match &p.boot {
        Boot::Kernel { image, cmdline } => {
            push("-kernel");
            a.push(image.as_os_str().to_owned());
            a.push("-append".into());
            a.push((*cmdline).into());
        }
        Boot::Cdrom { iso } => {
            push("-cdrom");
            a.push(iso.as_os_str().to_owned());
            // Straight to the CD: SeaBIOS would first try (and report failing) a hard disk.
            a.push("-boot".into());
            a.push("d".into());
        }
    }
    let mut push = |s: String| a.push(OsString::from(s));
    // signal=on: Ctrl-C in the terminal stops QEMU.
    push("-chardev".into());
    push("stdio,id=con,signal=on".into());
    push("-serial".into());
    push("chardev:con".into());
    push("-device".into());
    push("isa-debug-exit,iobase=0xf4,iosize=4".into());
    // The kernel reports `exit N` / `signal N` / `panic` on port 0x402.
    push("-chardev".into());
    push(format!(
        "file,id=ferrite-status,path={}",
        opt_escape(&p.status_file)
    ));
    push("-device".into());
    push("isa-debugcon,iobase=0x402,chardev=ferrite-status".into());
    // The monitor, for `nmi` when --timeout expires: the kernel then prints what every CPU and
    // thread was doing before QEMU is stopped.
    push("-monitor".into());
    push(format!(
        "unix:{},server=on,wait=off",
        opt_escape(&monitor_socket(&p.status_file))
    ));
    if let Some(port) = p.gdb {
        push("-gdb".into());
        push(format!("tcp:127.0.0.1:{port}"));
        push("-S".into());
    }
    a.extend(p.extra.iter().cloned());
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microvm_kvm_command() {
        let a = args(&Plan {
            boot: Boot::Kernel {
                image: Path::new("/img/app"),
                cmdline: "ferrite.console=pipe -- \"a b\"",
            },
            machine: Machine::Microvm,
            accel: Accel::Kvm,
            cpus: 2,
            mem: MemSize { mib: 128 },
            status_file: PathBuf::from("/tmp/x,y/status"),
            gdb: Some(1234),
            extra: &[OsString::from("-s")],
        });
        let a: Vec<String> = a.into_iter().map(|s| s.into_string().unwrap()).collect();
        assert_eq!(
            a,
            [
                "-nodefaults",
                "-no-user-config",
                "-nographic",
                "-no-reboot",
                "-M",
                "microvm,x-option-roms=off,rtc=on",
                "-accel",
                "kvm",
                "-cpu",
                "host",
                "-m",
                "128M",
                "-smp",
                "2",
                "-kernel",
                "/img/app",
                "-append",
                "ferrite.console=pipe -- \"a b\"",
                "-chardev",
                "stdio,id=con,signal=on",
                "-serial",
                "chardev:con",
                "-device",
                "isa-debug-exit,iobase=0xf4,iosize=4",
                "-chardev",
                "file,id=ferrite-status,path=/tmp/x,,y/status",
                "-device",
                "isa-debugcon,iobase=0x402,chardev=ferrite-status",
                "-monitor",
                "unix:/tmp/x,,y/monitor,server=on,wait=off",
                "-gdb",
                "tcp:127.0.0.1:1234",
                "-S",
                "-s",
            ]
        );
    }

    #[test]
    fn grub_cdrom_tcg() {
        let a = args(&Plan {
            boot: Boot::Cdrom {
                iso: Path::new("/t/boot.iso"),
            },
            machine: Machine::Pc,
            accel: Accel::Tcg,
            cpus: 1,
            mem: MemSize { mib: 2048 },
            status_file: PathBuf::from("/t/status"),
            gdb: None,
            extra: &[],
        });
        let line = a.join(std::ffi::OsStr::new(" ")).into_string().unwrap();
        assert!(line.contains(
            "-M pc -accel tcg -cpu max -m 2G -smp 1 -cdrom /t/boot.iso -boot d -chardev"
        ));
        assert!(!line.contains("-kernel") && !line.contains("-gdb"));
    }
}
