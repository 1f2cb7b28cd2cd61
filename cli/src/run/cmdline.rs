//! The kernel command line: its quoting rule, and how `ferrite run` puts one together.
//!
//! Rule (the kernel implements the same): words are separated by spaces. A word that is empty or
//! contains a space, `"` or `\` is written in double quotes, with `"` and `\` inside escaped as
//! `\"` and `\\`. Any other word is written as it is.

/// One word; `quoted` keeps a word that was written in quotes in quotes (`"--"` is not `--`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub quoted: bool,
}

impl Word {
    pub fn plain(text: impl Into<String>) -> Word {
        Word {
            text: text.into(),
            quoted: false,
        }
    }
}

/// The kernel splits words at any whitespace (tabs and newlines too), so those need quotes.
fn needs_quotes(w: &str) -> bool {
    w.is_empty()
        || w.chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\\')
}

/// Writes one word by the rule.
pub fn quote(w: &str) -> String {
    if !needs_quotes(w) {
        return w.to_string();
    }
    let mut s = String::with_capacity(w.len() + 2);
    s.push('"');
    for c in w.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

pub fn join(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| {
            if w.quoted && !needs_quotes(&w.text) {
                format!("\"{}\"", w.text)
            } else {
                quote(&w.text)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits a command line written by the rule. Quotes may also open inside a word (`a"b c"`)
/// and a lone backslash outside quotes stays a backslash, as the kernel reads them.
pub fn split(line: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if_eq(&' ').is_some() {}
        if chars.peek().is_none() {
            return words;
        }
        let mut text = String::new();
        let mut quoted = false;
        let mut in_quotes = false;
        while let Some(c) = chars.next() {
            match c {
                ' ' if !in_quotes => break,
                '"' => {
                    in_quotes = !in_quotes;
                    quoted = true;
                }
                '\\' if in_quotes => match chars.next_if(|&n| n == '"' || n == '\\') {
                    Some(n) => text.push(n),
                    None => text.push('\\'),
                },
                _ => text.push(c),
            }
        }
        words.push(Word { text, quoted });
    }
}

/// Whether a command line holds the separator `--` written bare (not quoted).
pub fn has_separator(words: &[Word]) -> bool {
    words.iter().any(|w| !w.quoted && w.text == "--")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    Tty { cols: u16, rows: u16 },
    TtyUnknownSize,
    Pipe,
}

/// What `ferrite run` passes to the kernel, in this order: console, boot log, `--append`
/// options, `--env` pairs, the image's own command line, then `--` and the service's arguments.
pub struct Parts<'a> {
    pub console: Console,
    pub boot_log: bool,
    pub append: &'a [String],
    pub env: &'a [String],
    pub image_cmdline: Option<&'a str>,
    pub args: &'a [String],
}

pub fn build(p: &Parts<'_>) -> Vec<Word> {
    let mut words = Vec::new();
    match p.console {
        Console::Tty { cols, rows } => {
            words.push(Word::plain("ferrite.console=tty"));
            words.push(Word::plain(format!("ferrite.winsize={cols}x{rows}")));
        }
        Console::TtyUnknownSize => words.push(Word::plain("ferrite.console=tty")),
        Console::Pipe => words.push(Word::plain("ferrite.console=pipe")),
    }
    if p.boot_log {
        words.push(Word::plain("ferrite.bootlog"));
    }
    for a in p.append {
        words.extend(split(a));
    }
    words.extend(p.env.iter().map(Word::plain));
    let image = p.image_cmdline.map(split).unwrap_or_default();
    let image_has_separator = has_separator(&image);
    words.extend(image);
    if !p.args.is_empty() {
        if !image_has_separator {
            words.push(Word::plain("--"));
        }
        words.extend(p.args.iter().map(Word::plain));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_rule() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a=b"), "a=b");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(quote(r"C:\dir"), r#""C:\\dir""#);
        assert_eq!(quote("'single'"), "'single'");
    }

    #[test]
    fn split_inverts_join() {
        let texts = [
            "a",
            "",
            "b c",
            r#"q"uote"#,
            r"back\slash",
            "--",
            "x=y z",
            "\\\"",
        ];
        let words: Vec<Word> = texts.iter().map(|t| Word::plain(*t)).collect();
        let line = join(&words);
        let back: Vec<String> = split(&line).into_iter().map(|w| w.text).collect();
        assert_eq!(back, texts);
    }

    #[test]
    fn split_details() {
        let w = split(r#"  one  "two three" "--" -- a"b c"d "" "#);
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["one", "two three", "--", "--", "ab cd", ""]);
        assert!(w[2].quoted && !w[3].quoted);
        assert!(has_separator(&w));
        assert!(!has_separator(&split(r#"a "--""#)));
        // A quoted `--` stays quoted when written again.
        assert_eq!(join(&split(r#"a "--""#)), r#"a "--""#);
    }

    fn build_line(p: Parts<'_>) -> String {
        join(&build(&p))
    }

    #[test]
    fn assembled_in_order() {
        let append = vec!["ferrite.debug loglevel=3".to_string()];
        let env = vec!["HOME=/root".to_string(), "GREETING=hello world".to_string()];
        let args = vec![
            "--port".to_string(),
            "80".to_string(),
            "two words".to_string(),
        ];
        let line = build_line(Parts {
            console: Console::Tty { cols: 80, rows: 24 },
            boot_log: true,
            append: &append,
            env: &env,
            image_cmdline: Some("-v \"x y\""),
            args: &args,
        });
        assert_eq!(
            line,
            "ferrite.console=tty ferrite.winsize=80x24 ferrite.bootlog ferrite.debug loglevel=3 \
             HOME=/root \"GREETING=hello world\" -v \"x y\" -- --port 80 \"two words\""
        );
    }

    #[test]
    fn separator_only_once() {
        let args = vec!["extra".to_string()];
        let line = build_line(Parts {
            console: Console::Pipe,
            boot_log: false,
            append: &[],
            env: &[],
            image_cmdline: Some("KEY=1 -- --fixed"),
            args: &args,
        });
        assert_eq!(line, "ferrite.console=pipe KEY=1 -- --fixed extra");
        let line = build_line(Parts {
            console: Console::Pipe,
            boot_log: false,
            append: &[],
            env: &[],
            image_cmdline: None,
            args: &[],
        });
        assert_eq!(line, "ferrite.console=pipe");
    }
}
