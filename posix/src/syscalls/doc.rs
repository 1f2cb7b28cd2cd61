//! `docs/syscalls.md`, generated from the system-call table. The `syscalls_doc_is_current` test
//! fails when the file is stale; `FERRITE_BLESS=1 cargo test -p ferrite-posix syscalls_doc`
//! rewrites it.

use alloc::string::String;
use core::fmt::Write;

use super::{ENTRIES, known_syscalls};

pub fn render() -> String {
    let mut out = String::new();
    let implemented = ENTRIES.len();
    let known = known_syscalls().count();
    out.push_str("# System calls\n\n");
    out.push_str("Generated from the system-call table (`posix/src/syscalls/mod.rs`) by\n");
    out.push_str("`FERRITE_BLESS=1 cargo test -p ferrite-posix syscalls_doc`; a test fails when this file is stale.\n\n");
    let _ = writeln!(
        out,
        "{implemented} of the {known} Linux x86-64 system calls musl knows are implemented. Every other number returns\n\
         `-ENOSYS` and is reported once on the console by name (`ferrite: unimplemented system call NAME (N): ENOSYS`).\n"
    );
    out.push_str("| number | name | status | notes |\n|---:|---|---|---|\n");
    for (number, name) in known_syscalls() {
        match ENTRIES.iter().find(|e| e.number as usize == number) {
            Some(e) => {
                let _ = writeln!(out, "| {number} | `{name}` | implemented | {} |", e.note);
            }
            None => {
                let _ = writeln!(out, "| {number} | `{name}` | ENOSYS | |");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn syscalls_doc_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/syscalls.md");
        let expected = super::render();
        if std::env::var_os("FERRITE_BLESS").is_some() {
            std::fs::write(path, &expected).expect("write docs/syscalls.md");
            return;
        }
        let actual = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            actual == expected,
            "docs/syscalls.md is stale: run `FERRITE_BLESS=1 cargo test -p ferrite-posix syscalls_doc` and commit it"
        );
    }
}
