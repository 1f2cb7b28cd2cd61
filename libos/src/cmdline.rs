//! The kernel command line: kernel options, the service's environment and its arguments.
//!
//! Syntax (Linux's conventions for init, plus quoting):
//! - words are separated by whitespace; a word may be written in double quotes to contain
//!   whitespace, and a backslash makes the next character literal, inside quotes or not (so
//!   `\"` and `\\` stand for `"` and `\`; this is also how GRUB escapes its arguments);
//! - before a bare `--`: words starting with `ferrite.` are kernel options (`ferrite.key=value` or
//!   `ferrite.flag`); other `KEY=VALUE` words go to the service's environment; any other word is an
//!   argument;
//! - every word after the first bare `--` is an argument, whatever it looks like.

use alloc::string::String;
use alloc::vec::Vec;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// `ferrite.*` options without the prefix: (key, value); a flag has an empty value.
    pub options: Vec<(String, String)>,
    pub env: Vec<String>,
    pub args: Vec<String>,
}

impl CommandLine {
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.option(key), Some("" | "1" | "on" | "yes" | "true"))
    }
}

/// Split into words, honouring double quotes and backslash escapes inside them.
pub fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            '\\' => {
                if let Some(next) = chars.next() {
                    current.push(next);
                    in_word = true;
                }
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(core::mem::take(&mut current));
                    in_word = false;
                }
            }
            c => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

pub fn parse(text: &str) -> CommandLine {
    let mut line = CommandLine::default();
    let mut after_separator = false;
    for word in split_words(text) {
        if after_separator {
            line.args.push(word);
        } else if word == "--" {
            after_separator = true;
        } else if let Some(option) = word.strip_prefix("ferrite.") {
            let (key, value) = option.split_once('=').unwrap_or((option, ""));
            line.options.push((key.into(), value.into()));
        } else if is_env_assignment(&word) {
            line.env.push(word);
        } else {
            line.args.push(word);
        }
    }
    line
}

fn is_env_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_unquotes() {
        assert_eq!(
            split_words(r#"  a "b c" "" "x\"y\\z" d"#),
            ["a", "b c", "", "x\"y\\z", "d"]
        );
    }

    #[test]
    fn backslash_escapes_outside_quotes_too() {
        // The way GRUB writes its arguments for the kernel.
        let words = split_words("\\'single\\' back\\\\slash \"say \\\"hi\\\"\"");
        assert_eq!(words, ["'single'", "back\\slash", "say \"hi\""]);
    }

    #[test]
    fn sorts_words_into_options_env_and_args() {
        let line =
            parse("ferrite.bootlog ferrite.console=pipe HOME=/ verbose -- ferrite.x=1 A=B -- last");
        assert_eq!(
            line.options,
            [
                ("bootlog".into(), "".into()),
                ("console".into(), "pipe".into())
            ]
        );
        assert_eq!(line.env, ["HOME=/"]);
        assert_eq!(line.args, ["verbose", "ferrite.x=1", "A=B", "--", "last"]);
        assert!(line.flag("bootlog"));
        assert_eq!(line.option("console"), Some("pipe"));
        assert_eq!(line.option("missing"), None);
    }

    #[test]
    fn not_every_equals_sign_is_an_assignment() {
        let line = parse("--x=1 =y 9A=1 _OK=1");
        assert_eq!(line.env, ["_OK=1"]);
        assert_eq!(line.args, ["--x=1", "=y", "9A=1"]);
    }
}
