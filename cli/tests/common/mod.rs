//! Helpers shared by the integration tests: run the built `ferrite`, make scratch projects.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The `ferrite` binary under test, with FERRITE_HOME set to `home`.
pub fn ferrite(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ferrite"));
    c.env("FERRITE_HOME", home);
    c.env_remove("FERRITE_TARGET");
    c.env_remove("FERRITE_VERBOSE");
    c
}

/// Runs a command with `input` on stdin and returns its output.
pub fn run_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

pub fn output(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null());
    cmd.output().expect("spawn")
}

/// Asserts success and returns stdout as text, showing stderr when it fails.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A directory with `ferrite-cc` and `ferrite-c++` scripts that run the binary under test,
/// for build systems that want a compiler path (make, CMake).
pub fn wrapper_dir(dir: &Path, home: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("wrappers");
    std::fs::create_dir_all(&bin).unwrap();
    for (name, cmd) in [("ferrite-cc", "cc"), ("ferrite-c++", "c++")] {
        let path = bin.join(name);
        let script = format!(
            "#!/bin/sh\nFERRITE_HOME='{}' exec '{}' {cmd} \"$@\"\n",
            home.display(),
            env!("CARGO_BIN_EXE_ferrite")
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}
