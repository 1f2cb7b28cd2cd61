//! Host-driven network tests: a guest echo server (tests/programs/inet.c `serve`) booted with
//! `--net user --forward tcp:127.0.0.1:PORT:5000`, and a checksummed transfer each way from the
//! host. Only 127.0.0.1 is ever contacted (QEMU's forward); every wait is bounded.

use ferrite_guest_tests::{Program, Target, Watched, build, ferrite, free_port};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

const INET: Program = Program::c("inet", "inet.c");
const GUEST_PORT: u16 = 5000;

/// The byte at offset `i` of the stream (the same pattern as inet.c's).
fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(131).wrapping_add(i >> 9)) as u8
}

/// The guest: `ferrite run` and its QEMU, with the console read line by line.
struct Guest(Watched);

impl Guest {
    fn boot(machine: &str, bytes: usize, port: u16, append: &str) -> Guest {
        let forward = format!("tcp:127.0.0.1:{port}:{GUEST_PORT}");
        let args = [
            "serve".to_string(),
            GUEST_PORT.to_string(),
            bytes.to_string(),
        ];
        Guest::boot_with(machine, &forward, append, &args)
    }

    fn boot_with(machine: &str, forward: &str, append: &str, args: &[String]) -> Guest {
        let image = build(&INET, Target::Image).expect("building inet.c");
        Guest(Watched::spawn(
            ferrite()
                .arg("run")
                .arg(&image)
                .args(["--accel", "tcg", "--timeout", "300", "--machine", machine])
                .args(["--append", append])
                .args(["--net", "user", "--forward", forward])
                .arg("--")
                .args(args),
        ))
    }
}

/// Send `bytes` to the guest and read them back, both checked; returns (send, receive) times.
fn transfer(machine: &str, bytes: usize, append: &str) -> Guest {
    let port = free_port();
    let mut guest = Guest::boot(machine, bytes, port, append);
    guest.0.wait_for("listening on", Duration::from_secs(120));
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the forward");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let start = Instant::now();
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let mut sum: u32 = 0;
        let mut chunk = vec![0u8; 64 * 1024];
        let mut sent = 0;
        while sent < bytes {
            let n = chunk.len().min(bytes - sent);
            for (k, b) in chunk[..n].iter_mut().enumerate() {
                *b = pattern(sent + k);
                sum = sum.wrapping_mul(31).wrapping_add(*b as u32);
            }
            writer.write_all(&chunk[..n]).expect("sending to the guest");
            sent += n;
        }
        sum
    });
    let sum = sender.join().unwrap();
    let line = guest.0.wait_for("received", Duration::from_secs(240));
    let sent_time = start.elapsed();
    assert_eq!(
        line,
        format!("received {bytes} bytes, checksum {sum:08x}"),
        "the guest got other bytes than were sent"
    );
    let start = Instant::now();
    let mut reader = stream;
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < bytes {
        let n = reader.read(&mut buf).expect("receiving from the guest");
        assert!(n > 0, "the guest closed after {got} of {bytes} bytes");
        for (k, b) in buf[..n].iter().enumerate() {
            assert_eq!(
                *b,
                pattern(got + k),
                "byte {} from the guest differs",
                got + k
            );
        }
        got += n;
    }
    let received_time = start.elapsed();
    let _ = reader.shutdown(Shutdown::Both);
    guest
        .0
        .wait_for(&format!("sent {bytes} bytes"), Duration::from_secs(60));
    let status = guest.0.child.wait().expect("waiting for ferrite");
    assert_eq!(
        status.code(),
        Some(0),
        "guest output:\n{}",
        guest.0.seen.join("\n")
    );
    eprintln!(
        "{machine}: {bytes} bytes host->guest in {sent_time:?}, guest->host in {received_time:?}"
    );
    guest
}

/// microvm (virtio-mmio, I/O APIC interrupt): 64 MiB each way.
#[test]
fn forward_64mib_each_way_microvm() {
    let guest = transfer("microvm", 64 << 20, "");
    // DHCP's DNS server (QEMU's) in /etc/resolv.conf.
    assert!(
        guest
            .0
            .seen
            .iter()
            .any(|l| l == "resolv.conf: nameserver 10.0.2.3"),
        "{:?}",
        guest.0.seen
    );
}

/// Static configuration from the command line instead of DHCP (the DNS address only ends up
/// in /etc/resolv.conf: nothing is sent to it).
#[test]
fn forward_with_static_address_microvm() {
    let guest = transfer(
        "microvm",
        1 << 20,
        "ferrite.ip=10.0.2.15/24 ferrite.gw=10.0.2.2 ferrite.dns=10.0.2.4",
    );
    assert!(
        guest
            .0
            .seen
            .iter()
            .any(|l| l == "resolv.conf: nameserver 10.0.2.4")
    );
}

/// q35 (virtio-pci, MSI-X): 64 MiB each way.
#[test]
fn forward_64mib_each_way_q35() {
    transfer("q35", 64 << 20, "");
}
