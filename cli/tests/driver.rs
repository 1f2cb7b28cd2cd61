//! `ferrite cc` / `ferrite c++`: compile-only calls and native (host) executables.
//! Native links need no kernel, only the runtime glue, so these run everywhere.

mod common;
use common::*;
use std::fs;
use std::process::Command;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn queries_pass_through_to_gcc() {
    let root = repo_root();
    let out = ok(&output(ferrite(&root).args(["cc", "-dumpmachine"])));
    assert!(out.trim().starts_with("x86_64"), "{out}");
    let out = ok(&output(ferrite(&root).args(["c++", "--version"])));
    assert!(out.contains("g++"), "{out}");
}

#[test]
fn c_compiles_against_musl_headers_and_cxx_against_glibc() {
    let dir = tempfile::tempdir().unwrap();
    let obj = dir.path().join("hello.o");
    let mut c = ferrite(&repo_root());
    c.args(["cc", "-c", "-O2", &fixture("hello.c"), "-o"])
        .arg(&obj);
    ok(&output(&mut c));
    assert!(obj.is_file());
    let src = dir.path().join("glibc.cpp");
    fs::write(
        &src,
        "#include <cstdio>\n#ifndef __GLIBC__\n#error no glibc\n#endif\n",
    )
    .unwrap();
    let mut c = ferrite(&repo_root());
    c.args(["c++", "-E", "-o", "/dev/null"]).arg(&src);
    ok(&output(&mut c));
}

#[test]
fn native_c_program_runs() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("hello");
    let mut c = ferrite(&repo_root());
    c.args([
        "cc",
        "--ferrite-target=native",
        "-O2",
        &fixture("hello.c"),
        "-o",
    ])
    .arg(&exe)
    .args(["-lm", "-lpthread", "--ferrite-cpus=4"]); // image options are ignored here
    ok(&output(&mut c));
    let out = output(Command::new(&exe).arg("7"));
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from C: argc=2 sqrt2=1.414 thread=42\n"
    );
}

#[test]
fn native_separate_compile_and_link_with_env_target() {
    let dir = tempfile::tempdir().unwrap();
    let obj = dir.path().join("hello.o");
    let exe = dir.path().join("hello");
    let mut c = ferrite(&repo_root());
    c.args(["cc", "-c", &fixture("hello.c"), "-o"]).arg(&obj);
    ok(&output(&mut c));
    let mut c = ferrite(&repo_root());
    c.env("FERRITE_TARGET", "native")
        .arg("cc")
        .arg(&obj)
        .arg("-o")
        .arg(&exe)
        .args(["-lm", "-pthread", "-rdynamic", "-static-libgcc"]);
    ok(&output(&mut c));
    let out = output(&mut Command::new(&exe));
    assert_eq!(out.status.code(), Some(0));
    // A static executable: no interpreter, so it runs on any Linux.
    let data = fs::read(&exe).unwrap();
    assert!(!data.windows(14).any(|w| w == b"ld-linux-x86-6"));
}

#[test]
fn native_cxx_program_runs() {
    let glue = repo_root().join("cxx-runtime");
    let has_glue = fs::read_dir(&glue).is_ok_and(|d| {
        d.flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "c"))
    });
    assert!(
        has_glue,
        "cxx-runtime/ has no C sources: the C++ glue is missing"
    );
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("hello");
    let mut c = ferrite(&repo_root());
    c.args([
        "c++",
        "--ferrite-target=native",
        "-O2",
        "-pthread",
        &fixture("hello.cpp"),
        "-o",
    ])
    .arg(&exe);
    ok(&output(&mut c));
    let out = run_with_input(Command::new(&exe).args(["a", "b"]), b"41\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "caught boom\nsum=10 tls=main read=41\n"
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_invocations_are_clear_errors() {
    let root = repo_root();
    for (args, needle) in [
        (&["cc", "-shared", "a.o"][..], "-shared"),
        (&["cc", "--ferrite-target=elf", "a.o"], "--ferrite-target"),
        (&["cc", "--ferrite-memory=lots", "a.o"], "memory size"),
        (
            &["cc", "--ferrite-bogus=1", "a.o"],
            "unknown option --ferrite-bogus",
        ),
        (&["frobnicate"], "unknown command"),
    ] {
        let mut c = ferrite(&root);
        c.args(args);
        let out = output(&mut c);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with("ferrite: ") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn gcc_status_is_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("bad.c");
    fs::write(&src, "int main(void) { return missing(); }\n").unwrap();
    let mut c = ferrite(&repo_root());
    c.args([
        "cc",
        "--ferrite-target=native",
        "-Werror=implicit-function-declaration",
    ])
    .arg(&src)
    .arg("-o")
    .arg(dir.path().join("bad"));
    let out = output(&mut c);
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.path().join("bad").exists());
}

#[test]
fn configure_and_make_project_builds_natively() {
    if !have("make") {
        eprintln!("skipped: make is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = wrapper_dir(d, &repo_root());
    fs::write(
        d.join("main.c"),
        "int add(int, int);\nint main(void) { return add(2, 3); }\n",
    )
    .unwrap();
    fs::write(d.join("add.c"), "int add(int a, int b) { return a + b; }\n").unwrap();
    // `./configure CC=ferrite-cc && make`: a hand-written configure that tries the compiler.
    fs::write(
        d.join("configure"),
        "#!/bin/sh\nfor a; do case $a in CC=*) CC=${a#CC=};; esac; done\n\
         echo 'int main(void) { return 0; }' > conftest.c\n\
         $CC -o conftest conftest.c && ./conftest || { echo 'C compiler does not work'; exit 1; }\n\
         echo \"CC = $CC\" > config.mk\n",
    )
    .unwrap();
    fs::write(
        d.join("Makefile"),
        "include config.mk\nCFLAGS ?= -O2 -Wall\nprog: main.o add.o\n\t$(CC) $(CFLAGS) -o $@ $^ -lm\n",
    )
    .unwrap();
    let mut configure = Command::new("sh");
    configure
        .current_dir(d)
        .arg("configure")
        .arg(format!("CC={}", bin.join("ferrite-cc").display()))
        .env("FERRITE_TARGET", "native");
    ok(&output(&mut configure));
    let mut make = Command::new("make");
    make.current_dir(d)
        .env("FERRITE_TARGET", "native")
        .env("CFLAGS", "-O1 -g"); // must not leak into the glue build
    ok(&output(&mut make));
    assert_eq!(
        output(&mut Command::new(d.join("prog"))).status.code(),
        Some(5)
    );
}

#[test]
fn sh_wrappers_work_through_symlinks_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = repo_root().join("bin");
    // ~/bin/ferrite-cc -> bin/ferrite-cc, and a relative link to that link.
    std::os::unix::fs::symlink(bin.join("ferrite-cc"), d.join("ferrite-cc")).unwrap();
    std::os::unix::fs::symlink("ferrite-cc", d.join("cc-again")).unwrap();
    std::os::unix::fs::symlink(bin.join("ferrite"), d.join("ferrite")).unwrap();
    std::os::unix::fs::symlink(bin.join("ferrite-c++"), d.join("ferrite-c++")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    for (tool, args, needle) in [
        ("cc-again", &["-dumpmachine"][..], "x86_64"),
        ("ferrite-c++", &["--version"], "g++"),
        ("ferrite", &["--help"], "ferrite run IMAGE"),
    ] {
        let mut c = Command::new(d.join(tool));
        c.current_dir(elsewhere.path())
            .args(args)
            .env_remove("FERRITE_HOME");
        let out = ok(&output(&mut c));
        assert!(out.contains(needle), "{tool}: {out}");
    }
}
