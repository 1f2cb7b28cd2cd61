//! What the host-driven tests (examples, network, HTTP, memcached) share: the examples' images,
//! and the processes they start and talk to (`ferrite run` with its QEMU, or a native server).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

/// The image of `examples/<name>`, built through the CMake toolchain file as a porter would
/// (one build directory for every example, configured once per test process; builds run one at a
/// time, since examples share targets such as the kernel).
pub fn example_image(name: &str) -> PathBuf {
    static CONFIGURED: Mutex<bool> = Mutex::new(false); // held across each build
    let root = crate::repo_root();
    let build = crate::out_dir().join("examples-build");
    let run = |cmd: &mut Command| {
        let out = cmd
            .env("FERRITE_HOME", &root)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        assert!(
            out.status.success(),
            "{cmd:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // (The CMake project's compiler drivers run the ferrite tool: built first.)
    drop(crate::ferrite());
    let mut configured = CONFIGURED.lock().unwrap_or_else(|e| e.into_inner());
    if !*configured {
        run(Command::new("cmake")
            .arg("-S")
            .arg(root.join("examples"))
            .arg("-B")
            .arg(&build)
            .arg(format!(
                "-DCMAKE_TOOLCHAIN_FILE={}",
                root.join("cmake/ferrite.cmake").display()
            )));
        *configured = true;
    }
    run(Command::new("cmake")
        .arg("--build")
        .arg(&build)
        .args(["--target", name, "-j", "2"]));
    build.join(name).join(format!("{name}.elf"))
}

/// A free TCP port on 127.0.0.1 (for `--forward tcp:127.0.0.1:PORT:...`).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// Kill `child`'s process group (the runner leads its own, with QEMU in it) and reap `child`.
pub fn kill_group(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A process started in its own process group, its stdout read line by line; dropping it kills
/// the group, so no QEMU outlives a failed test.
pub struct Watched {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    /// The lines read so far.
    pub seen: Vec<String>,
}

impl Watched {
    pub fn spawn(cmd: &mut Command) -> Watched {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watched {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Wait (bounded) for an output line containing `text`.
    pub fn wait_for(&mut self, text: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no `{text}` in the output; so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The process must still be running (a crash shows here with its output).
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
                self.seen.push(line);
            }
            panic!(
                "the process ended with {status}; its output:\n{}",
                self.seen.join("\n")
            );
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}
