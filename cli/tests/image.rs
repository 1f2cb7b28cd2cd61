//! Image links and `ferrite run`, against a stand-in kernel (tests/fixtures/fake_kernel.rs) so
//! they do not wait for the real one: it boots through the PVH note or Multiboot2, prints its
//! command line, echoes serial input up to EOT and reports `exit <bytes read mod 8>`.
//! The linker script and the runtime glue are the repository's own.

mod common;
use common::*;
use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A Ferrite tree with the fake kernel as `ferrite-posix`, kept under the target directory.
fn fake_home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let repo = repo_root();
        let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fake-ferrite");
        let write = |rel: &str, text: &str| {
            let p = home.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            // Rewriting unchanged files would make every test run rebuild everything.
            if fs::read_to_string(&p).ok().as_deref() != Some(text) {
                fs::write(&p, text).unwrap();
            }
        };
        let copy = |rel: &str| write(rel, &fs::read_to_string(repo.join(rel)).unwrap());
        write(
            "Cargo.toml",
            "[workspace]\nresolver = \"2\"\nmembers = [\"posix\"]\n\
             [profile.release]\npanic = \"abort\"\nlto = true\ncodegen-units = 1\n\
             [profile.dev]\npanic = \"abort\"\n",
        );
        write(
            "posix/Cargo.toml",
            "[package]\nname = \"ferrite-posix\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
             [lib]\nname = \"ferrite\"\ncrate-type = [\"staticlib\"]\n",
        );
        write("posix/src/lib.rs", include_str!("fixtures/fake_kernel.rs"));
        write(
            "posix/exports.txt",
            "ferrite_pvh_entry\nferrite_multiboot2_entry\n",
        );
        copy("libos/ferrite.ld");
        copy("rust-toolchain.toml");
        for glue in ["cxx-runtime", "musl-shim"] {
            let link = home.join(glue);
            if fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink(repo.join(glue), &link).unwrap();
            }
        }
        let out = output(ferrite(&home).arg("build-kernel"));
        ok(&out);
        home
    })
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn symbol(file: &object::File<'_>, name: &str) -> u64 {
    file.symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("no symbol {name}"))
        .address()
}

/// The bytes between `__ferrite_<what>_start` and `_end`.
fn blob<'a>(file: &object::File<'a>, what: &str) -> &'a [u8] {
    let start = symbol(file, &format!("__ferrite_{what}_start"));
    let end = symbol(file, &format!("__ferrite_{what}_end"));
    let s = file.section_by_name(".ferrite.appended").unwrap();
    s.data_range(start, end - start).unwrap().unwrap()
}

fn link_c_image(dir: &Path, extra: &[&str]) -> PathBuf {
    let img = dir.join("hello.elf");
    let out = output(
        ferrite(fake_home())
            .args(["cc", "-O2", &fixture("hello.c"), "-o"])
            .arg(&img)
            .args(["-lm", "-lpthread"])
            .args(extra),
    );
    ok(&out);
    img
}

#[test]
fn kernel_object_has_only_the_abi_global() {
    let obj = fake_home().join("target/ferrite/libferrite.o");
    let nm = ok(&output(Command::new("nm").arg("-g").arg(&obj)));
    // "TYPE NAME" of every global: defined ones are exactly the exports.
    let mut globals: Vec<String> = nm
        .lines()
        .map(|l| {
            l.split_whitespace()
                .rev()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    globals.sort();
    assert_eq!(
        globals,
        [
            "_start U",
            "ferrite_multiboot2_entry T",
            "ferrite_pvh_entry T"
        ],
        "{nm}"
    );
}

#[test]
fn image_carries_config_symbols_and_rootfs() {
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("root");
    fs::create_dir_all(rootfs.join("etc")).unwrap();
    fs::write(rootfs.join("etc/motd"), "welcome\n").unwrap();
    let img = link_c_image(
        dir.path(),
        &[
            "--ferrite-cmdline=-v \"x y\"",
            "--ferrite-cpus=2",
            "--ferrite-memory=256M",
            "--ferrite-name=hello-svc",
        ],
    );
    let img2 = dir.path().join("with-root.elf");
    ok(&output(
        ferrite(fake_home())
            .args(["cc", &fixture("hello.c"), "-lm", "-o"])
            .arg(&img2)
            .arg(format!("--ferrite-rootfs={}", rootfs.display())),
    ));

    let data = fs::read(&img).unwrap();
    let file = object::File::parse(&*data).unwrap();
    assert_eq!(
        blob(&file, "config"),
        b"name=hello-svc\ncmdline=-v \"x y\"\ncpus=2\nmemory=256M\n"
    );
    assert!(blob(&file, "rootfs").is_empty());
    let symtab = blob(&file, "symtab");
    assert_eq!(&symtab[..8], b"FSYM\x01\0\0\0");
    let count = u32::from_le_bytes(symtab[8..12].try_into().unwrap()) as usize;
    let strtab = u32::from_le_bytes(symtab[12..16].try_into().unwrap()) as usize;
    assert_eq!(strtab, 16 + 16 * count);
    let mut last = 0;
    let mut names = Vec::new();
    for i in 0..count {
        let e = &symtab[16 + 16 * i..32 + 16 * i];
        let addr = u64::from_le_bytes(e[..8].try_into().unwrap());
        assert!(addr > last, "sorted, one entry per address");
        last = addr;
        let off = strtab + u32::from_le_bytes(e[12..16].try_into().unwrap()) as usize;
        let end = off + symtab[off..].iter().position(|&b| b == 0).unwrap();
        let name = std::str::from_utf8(&symtab[off..end]).unwrap();
        if name == "main" {
            assert_eq!(addr, symbol(&file, "main"));
        }
        names.push(name.to_string());
    }
    for wanted in ["main", "_start", "printf", "ferrite_pvh_entry", "worker"] {
        assert!(
            names.iter().any(|n| n == wanted),
            "{wanted} missing from the symbol table"
        );
    }

    let data2 = fs::read(&img2).unwrap();
    let file2 = object::File::parse(&*data2).unwrap();
    assert_eq!(blob(&file2, "config"), b"name=with-root.elf\n");
    let cpio = blob(&file2, "rootfs");
    assert!(cpio.starts_with(b"070701"));
    assert!(cpio.windows(9).any(|w| w == b"etc/motd\0"));
    assert!(cpio.windows(11).any(|w| w == b"TRAILER!!!\0"));
    // The appended segment is the last loadable one and is read-only.
    let last_load = file2.segments().last().map(|s| s.address()).unwrap();
    assert_eq!(last_load, symbol(&file2, "__ferrite_symtab_start"));
}

#[test]
fn run_boots_with_command_line_input_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let img = link_c_image(dir.path(), &["--ferrite-cmdline=-v \"x y\""]);
    let out = run_with_input(
        ferrite(fake_home())
            .arg("run")
            .arg(&img)
            .args([
                "--env",
                "GREETING=hi there",
                "--boot-log",
                "--timeout",
                "60",
            ])
            .args(["--", "a b", "c"]),
        b"abc",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout,
        "[ferrite.console=pipe ferrite.bootlog \"GREETING=hi there\" -v \"x y\" -- \"a b\" c]\nabc",
        "stderr: {}",
        stderr(&out)
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "the guest read 3 bytes before EOT"
    );
}

#[test]
fn run_dry_run_uses_image_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let img = link_c_image(dir.path(), &["--ferrite-cpus=3", "--ferrite-memory=1G"]);
    let line = ok(&output(
        ferrite(fake_home()).arg("run").arg(&img).arg("--dry-run"),
    ));
    assert!(line.contains(" -m 1G -smp 3 "), "{line}");
    let line = ok(&output(ferrite(fake_home()).arg("run").arg(&img).args([
        "--dry-run",
        "--cpus",
        "2",
        "--mem",
        "64M",
        "--machine",
        "q35",
        "--accel",
        "tcg",
    ])));
    assert!(
        line.contains("-M q35 -accel tcg -cpu max -m 64M -smp 2 "),
        "{line}"
    );
}

#[test]
fn run_rejects_what_is_not_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let native = dir.path().join("native");
    ok(&output(
        ferrite(fake_home())
            .args([
                "cc",
                "--ferrite-target=native",
                &fixture("hello.c"),
                "-lm",
                "-o",
            ])
            .arg(&native),
    ));
    for (path, needle) in [
        (native.clone(), "not a Ferrite image"),
        (PathBuf::from(fixture("hello.c")), "not an ELF file"),
        (dir.path().join("missing"), "no such image"),
    ] {
        let out = output(ferrite(fake_home()).arg("run").arg(&path));
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(needle), "{}", stderr(&out));
    }
}

#[test]
fn cxx_image_links() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("hello.elf");
    ok(&output(
        ferrite(fake_home())
            .args(["c++", "-O2", "-pthread", &fixture("hello.cpp"), "-o"])
            .arg(&img),
    ));
    let data = fs::read(&img).unwrap();
    let file = object::File::parse(&*data).unwrap();
    // Exceptions need .eh_frame_hdr, found through PT_GNU_EH_FRAME.
    assert!(file.section_by_name(".eh_frame_hdr").is_some());
    assert_eq!(blob(&file, "config"), b"name=hello.elf\n");
}

#[test]
fn cmake_project_builds_images() {
    if !have("cmake") || !have("make") {
        eprintln!("skipped: cmake or make is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = wrapper_dir(d, fake_home());
    fs::write(
        d.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.16)\nproject(demo C CXX)\n\
         add_executable(democ main.c)\nadd_executable(democxx main.cpp)\n\
         target_link_libraries(democ m)\n",
    )
    .unwrap();
    fs::write(d.join("main.c"), "int main(void) { return 0; }\n").unwrap();
    fs::write(
        d.join("main.cpp"),
        "#include <iostream>\nint main() { std::cout << 1; }\n",
    )
    .unwrap();
    ok(&output(
        Command::new("cmake")
            .arg("-S")
            .arg(d)
            .arg("-B")
            .arg(d.join("build"))
            .arg(format!(
                "-DCMAKE_C_COMPILER={}",
                bin.join("ferrite-cc").display()
            ))
            .arg(format!(
                "-DCMAKE_CXX_COMPILER={}",
                bin.join("ferrite-c++").display()
            )),
    ));
    ok(&output(
        Command::new("cmake").arg("--build").arg(d.join("build")),
    ));
    for exe in ["democ", "democxx"] {
        let line = ok(&output(
            ferrite(fake_home())
                .arg("run")
                .arg(d.join("build").join(exe))
                .arg("--dry-run"),
        ));
        assert!(line.contains("-kernel"), "{line}");
    }
}

#[test]
fn source_on_stdin_and_response_files() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("stdin.elf");
    // Both passes need the source, and `-x c` must not reach the libraries after it.
    let out = run_with_input(
        ferrite(fake_home())
            .args(["cc", "-x", "c", "-", "-o"])
            .arg(&img),
        b"int main(void) { return 0; }\n",
    );
    ok(&out);
    assert!(img.is_file());
    let rsp = dir.path().join("link.rsp");
    let img2 = dir.path().join("rsp.elf");
    fs::write(
        &rsp,
        format!(
            "'{}' -lm -o '{}' --ferrite-cpus=2\n",
            fixture("hello.c"),
            img2.display()
        ),
    )
    .unwrap();
    ok(&output(
        ferrite(fake_home())
            .arg("cc")
            .arg(format!("@{}", rsp.display())),
    ));
    let data = fs::read(&img2).unwrap();
    let file = object::File::parse(&*data).unwrap();
    assert_eq!(blob(&file, "config"), b"name=rsp.elf\ncpus=2\n");
}
