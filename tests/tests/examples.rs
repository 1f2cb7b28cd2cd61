//! The examples in `examples/`, built through the CMake toolchain file as a porter would, then
//! booted under TCG: each must print what it prints natively and exit with its status.

use ferrite_guest_tests::{example_image, ferrite};
use std::process::Command;

fn run(cmd: &mut Command) -> (i32, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// Boots `example`'s image with `ferrite run` (TCG) and the given arguments.
fn boot(example: &str, args: &[&str]) -> (i32, String) {
    let image = example_image(example);
    run(ferrite()
        .arg("run")
        .arg(&image)
        .args(["--accel", "tcg", "--timeout", "120", "--"])
        .args(args))
}

/// The guest's output without the kernel's own lines.
fn service_lines(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| !l.starts_with("ferrite:"))
        .collect()
}

#[test]
fn config_reader_reads_its_packed_root_file_system() {
    let (status, output) = boot("config-reader", &[]);
    assert_eq!(status, 0, "{output}");
    assert_eq!(
        service_lines(&output),
        [
            "Hello, Ferrite! (1/3)",
            "Hello, Ferrite! (2/3)",
            "Hello, Ferrite! (3/3)",
            "motd: This message of the day came from the image's root file system.",
        ],
        "{output}"
    );
}

#[test]
fn config_reader_reports_a_missing_file() {
    let (status, output) = boot("config-reader", &["/etc/missing.conf"]);
    assert_eq!(status, 2, "{output}");
    assert!(
        output.contains("cannot open /etc/missing.conf: No such file or directory"),
        "{output}"
    );
}

#[test]
fn log_writer_threads_append_whole_lines_on_two_cpus() {
    // (The image's default is 2 CPUs.)
    let (status, output) = boot("log-writer", &["4", "3000"]);
    assert_eq!(status, 0, "{output}");
    assert!(
        output.contains(
            "4 threads wrote 12000 lines (1 rotation); torn lines: 0, missing: 0, duplicated: 0"
        ),
        "{output}"
    );
}
