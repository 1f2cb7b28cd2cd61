//! `ferrite run`'s network flags: `--net none|user|tap:NAME` and
//! `--forward tcp:[127.0.0.1:]HOSTPORT:GUESTPORT`.
//!
//! User networking runs with `restrict=on` (the guest reaches nothing outside) and every forward
//! listens on 127.0.0.1 only. The device is virtio-net-device (virtio-mmio) on microvm and
//! virtio-net-pci elsewhere.

use super::options::Machine;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Net {
    #[default]
    None,
    User,
    Tap(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub host_port: u16,
    pub guest_port: u16,
}

pub fn parse_net(value: &str) -> Result<Net> {
    match value {
        "none" => Ok(Net::None),
        "user" => Ok(Net::User),
        v => match v.strip_prefix("tap:") {
            Some(name)
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') =>
            {
                Ok(Net::Tap(name.to_string()))
            }
            _ => Err(Error::usage(format!(
                "--net {value}: give none, user or tap:NAME"
            ))),
        },
    }
}

/// `tcp:HOSTPORT:GUESTPORT` or `tcp:127.0.0.1:HOSTPORT:GUESTPORT`.
pub fn parse_forward(value: &str) -> Result<Forward> {
    let bad = || {
        Error::usage(format!(
            "--forward {value}: write tcp:HOSTPORT:GUESTPORT (forwards listen on 127.0.0.1 only)"
        ))
    };
    let parts: Vec<&str> = value.split(':').collect();
    let (proto, rest) = parts.split_first().ok_or_else(bad)?;
    match *proto {
        "tcp" => {}
        // QEMU's user network with restrict=on drops every UDP datagram from the guest that is
        // not DHCP, DNS or TFTP, so the replies of a UDP forward would never leave.
        "udp" => {
            return Err(Error::usage(format!(
                "--forward {value}: only tcp: forwards (QEMU's restricted user network drops the guest's UDP replies)"
            )));
        }
        _ => return Err(bad()),
    }
    let ports = match rest {
        [h, g] => [h, g],
        ["127.0.0.1", h, g] => [h, g],
        _ => return Err(bad()),
    };
    let port = |s: &str| s.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(bad);
    Ok(Forward {
        host_port: port(ports[0])?,
        guest_port: port(ports[1])?,
    })
}

/// The QEMU arguments for the network.
pub fn qemu_args(net: &Net, forwards: &[Forward], machine: Machine) -> Result<Vec<String>> {
    let netdev = match net {
        Net::None => {
            if !forwards.is_empty() {
                return Err(Error::usage("--forward needs --net user"));
            }
            return Ok(Vec::new());
        }
        Net::User => {
            let mut s = String::from("user,id=net0,restrict=on");
            for f in forwards {
                s.push_str(&format!(
                    ",hostfwd=tcp:127.0.0.1:{}-:{}",
                    f.host_port, f.guest_port
                ));
            }
            s
        }
        Net::Tap(name) => {
            if !forwards.is_empty() {
                return Err(Error::usage("--forward needs --net user"));
            }
            format!("tap,id=net0,ifname={name},script=no,downscript=no")
        }
    };
    let device = match machine {
        Machine::Microvm => "virtio-net-device,netdev=net0",
        Machine::Q35 | Machine::Pc => "virtio-net-pci,netdev=net0,disable-legacy=on,romfile=",
    };
    Ok(vec![
        "-netdev".into(),
        netdev,
        "-device".into(),
        device.into(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_network_with_forwards_on_loopback_only() {
        let f = [
            parse_forward("tcp:8080:80").unwrap(),
            parse_forward("tcp:127.0.0.1:9000:9").unwrap(),
        ];
        let a = qemu_args(&Net::User, &f, Machine::Microvm).unwrap();
        assert_eq!(
            a,
            [
                "-netdev",
                "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=tcp:127.0.0.1:9000-:9",
                "-device",
                "virtio-net-device,netdev=net0"
            ]
        );
        let a = qemu_args(&Net::User, &[], Machine::Q35).unwrap();
        assert_eq!(
            a[3],
            "virtio-net-pci,netdev=net0,disable-legacy=on,romfile="
        );
    }

    #[test]
    fn rejects_other_hosts_and_bad_values() {
        assert!(parse_forward("tcp:0.0.0.0:80:80").is_err());
        assert!(parse_forward("tcp:80").is_err());
        assert!(parse_forward("sctp:1:2").is_err());
        assert!(parse_forward("udp:53:53").is_err());
        assert!(parse_net("bridge").is_err());
        assert_eq!(parse_net("tap:tap0").unwrap(), Net::Tap("tap0".into()));
        assert!(
            qemu_args(
                &Net::None,
                &[parse_forward("tcp:1:2").unwrap()],
                Machine::Microvm
            )
            .is_err()
        );
    }
}
