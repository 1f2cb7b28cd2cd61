//! `ferrite cc` / `ferrite c++`: compiler drivers in the manner of musl-gcc.
//!
//! C compiles against musl's headers. C++ compiles against the host's glibc headers, because
//! Debian's libstdc++ headers need them (with musl's, os_defines.h and c++locale.h fail), and
//! links against musl plus the glue, which supplies the glibc-ABI symbols libstdc++ uses.

pub mod args;
mod link;

use crate::error::{Error, Result};
use crate::home::{self, Gcc};
use args::Action;
use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    C,
    Cxx,
}

impl Lang {
    pub fn compiler(self) -> &'static str {
        match self {
            Lang::C => "gcc",
            Lang::Cxx => "g++",
        }
    }
}

pub fn verbose() -> bool {
    std::env::var_os("FERRITE_VERBOSE").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Runs the driver; returns the exit status (gcc's own for links).
pub fn main(lang: Lang, argv: &[OsString]) -> Result<i32> {
    let env_target = std::env::var("FERRITE_TARGET")
        .ok()
        .filter(|v| !v.is_empty());
    let argv = args::expand_response_files(argv);
    let inv = args::split_ferrite_options(&argv, env_target.as_deref())?;
    match args::classify(&inv.args)? {
        Action::Compile => {
            let mut cmd = Command::new(lang.compiler());
            cmd.args(header_flags(lang)?).args(&inv.args);
            Err(exec(cmd, lang.compiler()))
        }
        Action::Relocatable => {
            // `-r` merges objects; start files and libraries come at the final link.
            let mut cmd = Command::new(lang.compiler());
            cmd.args(header_flags(lang)?)
                .arg("-nostdlib")
                .args(&inv.args);
            Err(exec(cmd, lang.compiler()))
        }
        Action::Link(l) => link::link(lang, &inv, &l),
    }
}

/// The header flags that C needs (musl), and C++ does not (see the module comment).
fn header_flags(lang: Lang) -> Result<Vec<String>> {
    match lang {
        Lang::C => Ok(Gcc::find()?.musl_include_flags()),
        Lang::Cxx => Ok(Vec::new()),
    }
}

/// Replaces this process with `cmd`; returns only on failure.
fn exec(mut cmd: Command, name: &str) -> Error {
    if verbose() {
        eprintln!("ferrite: {}", show_command(&cmd));
    }
    let e = cmd.exec();
    home::spawn_error(name, e)
}

/// A command as a shell would need it typed: words with odd characters single-quoted.
pub fn show_command(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(shell_quote)
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn shell_quote(word: &OsStr) -> String {
    let s = word.to_string_lossy();
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c));
    if plain {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote(OsStr::new("-Wl,-T,/x/y.ld")), "-Wl,-T,/x/y.ld");
        assert_eq!(shell_quote(OsStr::new("a b")), "'a b'");
        assert_eq!(shell_quote(OsStr::new("it's")), r"'it'\''s'");
        assert_eq!(shell_quote(OsStr::new("")), "''");
    }
}
