//! examples/http-server driven from the host: the image (built through the CMake toolchain file,
//! as a porter would) boots on 2 vCPUs under TCG with `--net user --forward
//! tcp:127.0.0.1:PORT:8080`, and the same source built natively runs on 127.0.0.1; both must
//! answer the same requests the same way (Linux is the oracle). Only 127.0.0.1 is ever
//! contacted; every loop is bounded in count and time.

use ferrite_guest_tests::{Watched, example_image, ferrite, free_port, out_dir, repo_root};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const GUEST_PORT: u16 = 8080;
/// Concurrent connections, and requests on each.
const CLIENTS: usize = 200;
const REQUESTS_PER_CLIENT: usize = 3;

fn example_dir() -> PathBuf {
    repo_root().join("examples/http-server")
}

fn www() -> PathBuf {
    example_dir().join("rootfs/www")
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The image, from the examples' CMake project.
fn image() -> PathBuf {
    example_image("http-server")
}

/// The same source as a native (musl, static) executable.
fn native() -> PathBuf {
    let exe = out_dir().join("http-server.native");
    run(ferrite()
        .args(["cc", "--ferrite-target=native", "-O2", "-Wall", "-pthread"])
        .arg(example_dir().join("server.c"))
        .arg("-o")
        .arg(&exe));
    exe
}

/// A running server (QEMU through `ferrite run`, or the native executable) and its console.
type Server = Watched;

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 connection to 127.0.0.1:port.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(port: u16) -> Client {
        let deadline = Instant::now() + Duration::from_secs(30);
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e) if Instant::now() > deadline => panic!("connect to {port}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Client {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, request: &str) {
        self.writer
            .write_all(request.as_bytes())
            .expect("sending a request");
    }

    fn request(&mut self, method: &str, path: &str) -> Response {
        self.send(&format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        ));
        self.response(method == "HEAD")
    }

    /// Read one response (a HEAD response has no body whatever its Content-Length).
    fn response(&mut self, head: bool) -> Response {
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .expect("reading a status line");
        let mut parts = line.trim_end().splitn(3, ' ');
        assert_eq!(parts.next(), Some("HTTP/1.1"), "status line {line:?}");
        let status = parts
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("status line {line:?}"));
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h).expect("reading a header");
            assert!(h.ends_with("\r\n"), "header line {h:?}");
            if h == "\r\n" {
                break;
            }
            let (name, value) = h
                .trim_end()
                .split_once(':')
                .unwrap_or_else(|| panic!("header line {h:?}"));
            headers.push((name.to_string(), value.trim().to_string()));
            assert!(headers.len() < 100, "too many headers");
        }
        let mut r = Response {
            status,
            headers,
            body: Vec::new(),
        };
        let length: usize = r
            .header("Content-Length")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no Content-Length in {r:?}"));
        if !head {
            r.body = vec![0; length];
            self.reader.read_exact(&mut r.body).expect("reading a body");
        }
        r
    }

    /// The server closed the connection (nothing more to read).
    fn assert_closed(&mut self) {
        let mut rest = Vec::new();
        let n = self.reader.read_to_end(&mut rest).unwrap_or(0);
        assert_eq!(n, 0, "more after the last response: {rest:?}");
    }
}

fn file(name: &str) -> Vec<u8> {
    std::fs::read(www().join(name)).unwrap()
}

/// The numbers in /stats: (requests per worker, requests per CPU, total).
fn stats(port: u16, workers: usize) -> (Vec<u64>, Vec<(u64, u64)>, u64) {
    let r = Client::connect(port).request("GET", "/stats");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let json = String::from_utf8(r.body).unwrap();
    // {"cpus_online":N,"listener":"..","workers":[{"worker":0,"requests":R,"connections":C},..],
    //  "cpus":[{"cpu":0,"requests":R},..],"requests":TOTAL}
    let numbers_after = |text: &str, key: &str| -> Vec<u64> {
        text.match_indices(key)
            .map(|(i, _)| {
                let rest = &text[i + key.len()..];
                let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap();
                rest[..end].parse().unwrap()
            })
            .collect()
    };
    let section = |name: &str| {
        let start = json
            .find(&format!("\"{name}\":["))
            .unwrap_or_else(|| panic!("{json}"));
        let end = start + json[start..].find(']').unwrap();
        json[start..end].to_string()
    };
    let per_worker = numbers_after(&section("workers"), "\"requests\":");
    assert_eq!(per_worker.len(), workers, "{json}");
    let cpus = section("cpus");
    let per_cpu: Vec<(u64, u64)> = numbers_after(&cpus, "\"cpu\":")
        .into_iter()
        .zip(numbers_after(&cpus, "\"requests\":"))
        .collect();
    let total = *numbers_after(&json, "],\"requests\":")
        .last()
        .unwrap_or_else(|| panic!("{json}"));
    assert_eq!(per_worker.iter().sum::<u64>(), total, "{json}");
    assert_eq!(per_cpu.iter().map(|c| c.1).sum::<u64>(), total, "{json}");
    eprintln!("/stats: {}", json.trim_end());
    (per_worker, per_cpu, total)
}

/// Everything the server must do, against 127.0.0.1:port; `workers` as the server was told.
fn exercise(port: u16, workers: usize, server: &mut Server) {
    let index = file("index.html");
    // GET / is index.html.
    let mut c = Client::connect(port);
    let r = c.request("GET", "/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.body, index);
    // Keep-alive: more requests on the same connection, each kind of answer.
    for round in 0..3 {
        let r = c.request("GET", "/css/style.css");
        assert_eq!(
            (r.status, r.header("Content-Type")),
            (200, Some("text/css; charset=utf-8"))
        );
        assert_eq!(r.body, file("css/style.css"));
        let r = c.request("GET", "/index.html?round=1");
        assert_eq!((r.status, &r.body), (200, &index), "round {round}");
        let r = c.request("HEAD", "/robots.txt");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
        assert_eq!(
            r.header("Content-Length"),
            Some(file("robots.txt").len().to_string().as_str())
        );
        let r = c.request("GET", "/missing.html");
        assert_eq!(r.status, 404, "{r:?}");
        assert_eq!(r.body, b"404 Not Found\n");
        let r = c.request("HEAD", "/missing.html");
        assert_eq!((r.status, r.header("Content-Length")), (404, Some("14")));
        let r = c.request("DELETE", "/index.html");
        assert_eq!(r.status, 405, "{r:?}");
        assert_eq!(r.header("Allow"), Some("GET, HEAD"));
        let r = c.request("GET", "/../etc/passwd");
        assert_eq!(r.status, 400, "{r:?}");
        // (A 400 closes the connection.)
        c.assert_closed();
        c = Client::connect(port);
    }
    // Pipelining: three requests in one write, three answers in order.
    c.send(
        "GET /robots.txt HTTP/1.1\r\nHost: x\r\n\r\n\
         HEAD / HTTP/1.1\r\nHost: x\r\n\r\n\
         GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(c.response(false).body, file("robots.txt"));
    assert_eq!(c.response(true).status, 200);
    assert_eq!(c.response(false).status, 404);
    // Connection: close is honoured.
    c.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = c.response(false);
    assert_eq!((r.status, r.header("Connection")), (200, Some("close")));
    c.assert_closed();
    // Malformed requests.
    let mut c = Client::connect(port);
    c.send("NONSENSE\r\n\r\n");
    assert_eq!(c.response(false).status, 400);
    c.assert_closed();
    let mut c = Client::connect(port);
    c.send("GET / HTTP/1.1\r\n\r\n"); // HTTP/1.1 without Host
    assert_eq!(c.response(false).status, 400);
    c.assert_closed();
    let (_, _, before) = stats(port, workers);
    // 1 + 3 rounds of 7 + 3 pipelined + 1 + 2 malformed + this /stats.
    assert_eq!(before, 29, "requests counted");
    server.assert_running();

    // Concurrency: CLIENTS connections open at once, then requests on all of them at once.
    // They are opened one after the other, each with a first request answered: QEMU's user
    // network listens for a forward with a backlog of 1 (`ss -ltn` shows it), so a burst of
    // connects overflows the host's accept queue and some wait for the host's SYN retries
    // (seconds each) before QEMU even sees them, whatever the guest does.
    let start = Instant::now();
    let files = ["index.html", "css/style.css", "robots.txt"];
    let clients: Vec<Client> = (0..CLIENTS)
        .map(|i| {
            let mut c = Client::connect(port);
            let r = c.request("GET", "/robots.txt");
            assert_eq!((r.status, r.body), (200, file("robots.txt")), "client {i}");
            c
        })
        .collect();
    let opened = start.elapsed();
    let threads: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            std::thread::spawn(move || -> Result<(), String> {
                for k in 1..REQUESTS_PER_CLIENT {
                    let name = files[(i + k) % files.len()];
                    let r = c.request("GET", &format!("/{name}"));
                    if r.status != 200 || r.body != file(name) {
                        return Err(format!("client {i} request {k} /{name}: {r:?}"));
                    }
                }
                Ok(())
            })
        })
        .collect();
    let failures: Vec<String> = threads
        .into_iter()
        .filter_map(|t| {
            t.join()
                .unwrap_or_else(|_| Err("a client panicked".into()))
                .err()
        })
        .collect();
    let took = start.elapsed();
    assert!(
        failures.is_empty(),
        "{} failures: {:?}",
        failures.len(),
        failures
    );
    assert!(
        took < Duration::from_secs(180),
        "{CLIENTS} clients took {took:?}"
    );
    eprintln!(
        "{CLIENTS} connections opened in {opened:?}; {CLIENTS} x {REQUESTS_PER_CLIENT} requests in {took:?}"
    );
    let (per_worker, per_cpu, after) = stats(port, workers);
    // Every request counted (the earlier /stats and this one included).
    assert_eq!(
        after,
        before + 1 + (CLIENTS * REQUESTS_PER_CLIENT) as u64,
        "per worker {per_worker:?}, per CPU {per_cpu:?}"
    );
    server.assert_running();
}

/// Ferrite: the image on 2 vCPUs (its default), one worker per vCPU sharing the port through
/// SO_REUSEPORT; both workers must get connections.
#[test]
fn http_server_image_on_two_cpus() {
    let image = image();
    let port = free_port();
    let mut server = Server::spawn(
        ferrite()
            .arg("run")
            .arg(&image)
            .args(["--accel", "tcg", "--timeout", "600", "--cpus", "2"])
            .args(["--net", "user", "--forward"])
            .arg(format!("tcp:127.0.0.1:{port}:{GUEST_PORT}")),
    );
    let line = server.wait_for("listening on", Duration::from_secs(120));
    assert_eq!(
        line,
        "http-server: listening on port 8080, 2 workers on 2 CPUs (SO_REUSEPORT), serving /www"
    );
    exercise(port, 2, &mut server);
    let (per_worker, per_cpu, _) = stats(port, 2);
    assert!(
        per_worker.iter().all(|&n| n > 0),
        "a worker served nothing: {per_worker:?}"
    );
    let cpus: Vec<u64> = per_cpu.iter().map(|c| c.0).collect();
    assert_eq!(cpus, [0, 1], "requests by CPU: {per_cpu:?}");
}

/// Ferrite with one shared listening socket in every worker's epoll (EPOLLEXCLUSIVE).
#[test]
fn http_server_image_shared_listener() {
    let image = image();
    let port = free_port();
    let mut server = Server::spawn(
        ferrite()
            .arg("run")
            .arg(&image)
            .args(["--accel", "tcg", "--timeout", "600", "--cpus", "2"])
            .args(["--net", "user", "--forward"])
            .arg(format!("tcp:127.0.0.1:{port}:{GUEST_PORT}"))
            .args(["--", "--shared-listener"]),
    );
    server.wait_for("EPOLLEXCLUSIVE", Duration::from_secs(120));
    exercise(port, 2, &mut server);
}

/// The same checks against the native build (the oracle), on 127.0.0.1 only.
#[test]
fn http_server_native() {
    let exe = native();
    let port = free_port();
    let root = example_dir().join("rootfs");
    let mut server = Server::spawn(
        Command::new(&exe)
            .arg("--root")
            .arg(&root)
            .args(["--workers", "2", "--address", "127.0.0.1"])
            .arg(port.to_string()),
    );
    server.wait_for("listening on", Duration::from_secs(30));
    exercise(port, 2, &mut server);
}
