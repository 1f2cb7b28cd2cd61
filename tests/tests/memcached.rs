//! memcached, unchanged (issue 6): `ports/memcached/build.sh` fetches Debian's sources of libevent
//! and memcached and builds them with Ferrite's compiler drivers (cached under
//! target/ports/); the image boots with 2 worker threads on 2 vCPUs behind
//! `--forward tcp:127.0.0.1:PORT:11211`, and the host drives it over the text protocol:
//! set/get/delete of values from 1 byte to 1 MiB verified byte for byte, multi-get, incr/decr,
//! a few concurrent connections, then `shutdown` (status 0, no unimplemented system call named).
//! Skipped, with a message, when the sources cannot be fetched. Only 127.0.0.1 is contacted and
//! every wait is bounded.

use ferrite_guest_tests::{ferrite, free_port, kill_group, repo_root};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const GUEST_PORT: u16 = 11211;
/// `build.sh`'s status when the sources cannot be fetched.
const FETCH_FAILED: i32 = 3;

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => repo_root().join(dir),
        None => repo_root().join("target"),
    }
}

/// Builds (or relinks, when cached) the image; None when the sources cannot be fetched.
fn build_image() -> Option<PathBuf> {
    let ports = target_dir().join("ports");
    let out = Command::new("sh")
        .arg(repo_root().join("ports/memcached/build.sh"))
        .env("FERRITE_PORTS_DIR", &ports)
        .env_remove("FERRITE_TARGET")
        .env_remove("FERRITE_VERBOSE")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stdin(Stdio::null())
        .output()
        .expect("cannot run ports/memcached/build.sh");
    let log = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(FETCH_FAILED) {
        eprintln!("SKIPPED: memcached's or libevent's Debian sources cannot be fetched:\n{log}");
        return None;
    }
    assert!(
        out.status.success(),
        "ports/memcached/build.sh failed:\n{log}"
    );
    Some(ports.join("memcached.elf"))
}

/// The runner in its own process group, killed with its QEMU if the test fails.
struct Guest(Child);

impl Drop for Guest {
    fn drop(&mut self) {
        kill_group(&mut self.0);
    }
}

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        stream.set_write_timeout(Some(Duration::from_secs(60)))?;
        Ok(Client {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
        })
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("sending to memcached");
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .expect("reading from memcached");
        line
    }

    fn command(&mut self, cmd: &str) -> String {
        self.send(format!("{cmd}\r\n").as_bytes());
        self.line()
    }

    fn set(&mut self, key: &str, flags: u32, value: &[u8]) {
        let mut msg = format!("set {key} {flags} 0 {}\r\n", value.len()).into_bytes();
        msg.extend_from_slice(value);
        msg.extend_from_slice(b"\r\n");
        self.send(&msg);
        assert_eq!(
            self.line(),
            "STORED\r\n",
            "set {key} ({} bytes)",
            value.len()
        );
    }

    /// `get KEYS…`: the (key, flags, value) of each hit, in order.
    fn get(&mut self, keys: &[&str]) -> Vec<(String, u32, Vec<u8>)> {
        self.send(format!("get {}\r\n", keys.join(" ")).as_bytes());
        let mut hits = Vec::new();
        loop {
            let line = self.line();
            if line == "END\r\n" {
                return hits;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            assert!(
                words.len() == 4 && words[0] == "VALUE",
                "unexpected reply {line:?}"
            );
            let len: usize = words[3].parse().unwrap();
            let mut value = vec![0u8; len + 2];
            self.reader.read_exact(&mut value).expect("reading a value");
            assert_eq!(&value[len..], b"\r\n");
            value.truncate(len);
            hits.push((words[1].to_string(), words[2].parse().unwrap(), value));
        }
    }
}

/// Deterministic bytes, different for every (seed, offset).
fn value(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Connect and get `VERSION` (the forward accepts before the guest listens: retry, bounded).
fn wait_ready(port: u16, guest: &mut Guest) -> Client {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = guest.0.try_wait() {
            panic!("memcached ended before serving: {status}");
        }
        if let Ok(mut client) = Client::connect(port) {
            client
                .writer
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            client.send(b"version\r\n");
            let mut line = String::new();
            if client.reader.read_line(&mut line).is_ok() && line.starts_with("VERSION ") {
                client
                    .writer
                    .set_read_timeout(Some(Duration::from_secs(60)))
                    .unwrap();
                return client;
            }
        }
        assert!(Instant::now() < deadline, "memcached never answered");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn memcached_set_get_delete_incr_from_the_host() {
    let start = Instant::now();
    let Some(image) = build_image() else {
        return;
    };
    let built = start.elapsed();
    let port = free_port();
    let mut child = ferrite();
    child
        .arg("run")
        .arg(&image)
        .args(["--accel", "tcg", "--cpus", "2", "--timeout", "150"])
        .args(["--net", "user", "--forward"])
        .arg(format!("tcp:127.0.0.1:{port}:{GUEST_PORT}"))
        // 2 worker threads, no UDP, root must name its user, values up to 1 MiB need items of
        // 2 MiB, `shutdown` allowed.
        .args(["--", "-t", "2", "-U", "0", "-u", "root", "-I", "2m", "-A"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0);
    let mut guest = Guest(child.spawn().expect("cannot run ferrite"));
    let mut console = guest.0.stdout.take().unwrap();
    let console_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = console.read_to_string(&mut text);
        text
    });

    let mut client = wait_ready(port, &mut guest);

    // Sizes from 1 byte to 1 MiB, each stored, read back byte for byte, deleted, missed.
    let sizes = [
        1usize,
        2,
        100,
        1023,
        4096,
        65_536,
        100_000,
        500_000,
        1 << 20,
    ];
    for (i, &len) in sizes.iter().enumerate() {
        let key = format!("key-{len}");
        let data = value(i as u64, len);
        client.set(&key, i as u32, &data);
        let hits = client.get(&[&key]);
        assert_eq!(hits.len(), 1, "get {key}");
        assert_eq!((hits[0].0.as_str(), hits[0].1), (key.as_str(), i as u32));
        assert!(hits[0].2 == data, "the value of {key} came back different");
        assert_eq!(client.command(&format!("delete {key}")), "DELETED\r\n");
        assert!(client.get(&[&key]).is_empty(), "{key} still there");
        assert_eq!(client.command(&format!("delete {key}")), "NOT_FOUND\r\n");
    }

    // Multi-get: hits in the order asked, misses left out.
    for k in 0..10u64 {
        client.set(&format!("m{k}"), 0, &value(100 + k, 10 + k as usize * 300));
    }
    let keys: Vec<String> = (0..12).map(|k| format!("m{k}")).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let hits = client.get(&key_refs);
    assert_eq!(hits.len(), 10);
    for (k, hit) in hits.iter().enumerate() {
        assert_eq!(hit.0, format!("m{k}"));
        assert!(hit.2 == value(100 + k as u64, 10 + k * 300), "m{k}");
    }

    // incr/decr: decimal arithmetic, decr stops at 0, incr wraps at 2^64.
    client.set("counter", 0, b"41");
    assert_eq!(client.command("incr counter 1"), "42\r\n");
    assert_eq!(client.command("decr counter 50"), "0\r\n");
    client.set("counter", 0, b"18446744073709551615");
    assert_eq!(client.command("incr counter 2"), "1\r\n");
    assert_eq!(client.command("incr missing 1"), "NOT_FOUND\r\n");

    // Concurrent connections on both worker threads.
    let workers: Vec<_> = (0..8u64)
        .map(|c| {
            std::thread::spawn(move || {
                let mut client = Client::connect(port).expect("connecting");
                for round in 0..20u64 {
                    let key = format!("c{c}-{round}");
                    let data = value(1000 + c * 100 + round, 1 + (round as usize * 997) % 20_000);
                    client.set(&key, 7, &data);
                    let hits = client.get(&[&key]);
                    assert!(hits.len() == 1 && hits[0].2 == data, "{key}");
                    assert_eq!(client.command(&format!("delete {key}")), "DELETED\r\n");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a client thread failed");
    }

    let mut threads = None;
    client.send(b"stats\r\n");
    loop {
        let line = client.line();
        if let Some(n) = line.strip_prefix("STAT threads ") {
            threads = Some(n.trim().to_string());
        }
        if line == "END\r\n" || line.is_empty() {
            break;
        }
    }
    assert_eq!(threads.as_deref(), Some("2"), "worker threads");

    client.send(b"shutdown\r\n");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = guest.0.try_wait().expect("waiting for ferrite") {
            break status;
        }
        assert!(Instant::now() < deadline, "memcached did not shut down");
        std::thread::sleep(Duration::from_millis(100));
    };
    let console = console_reader.join().unwrap();
    assert_eq!(status.code(), Some(0), "console:\n{console}");
    assert!(
        !console.contains("unimplemented system call"),
        "memcached met an unimplemented system call:\n{console}"
    );
    eprintln!(
        "memcached: built in {built:?}, served and shut down in {:?}",
        start.elapsed() - built
    );
}
