//! `.ferrite.config`: `key=value` lines the link step embeds and `ferrite run` and the kernel read.

use crate::driver::args::parse_cpus;
use crate::error::{Error, Result};
use crate::size::MemSize;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub name: Option<String>,
    pub cmdline: Option<String>,
    pub cpus: Option<u32>,
    pub memory: Option<MemSize>,
}

impl Config {
    pub fn encode(&self) -> String {
        let mut s = String::new();
        let mut line = |k: &str, v: &str| {
            s.push_str(k);
            s.push('=');
            s.push_str(v);
            s.push('\n');
        };
        if let Some(n) = &self.name {
            line("name", n);
        }
        if let Some(c) = &self.cmdline {
            line("cmdline", c);
        }
        if let Some(c) = self.cpus {
            line("cpus", &c.to_string());
        }
        if let Some(m) = self.memory {
            line("memory", &m.to_string());
        }
        s
    }

    /// Parses the section's text; unknown keys are skipped so newer images still run.
    pub fn parse(text: &str) -> Result<Config> {
        let mut c = Config::default();
        for line in text.lines() {
            let line = line.trim_end_matches('\0');
            if line.is_empty() {
                continue;
            }
            let bad = |why: String| Error::usage(format!("image configuration: {why}"));
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| bad(format!("line `{line}` is not key=value")))?;
            match key {
                "name" => c.name = Some(value.to_string()),
                "cmdline" => c.cmdline = Some(value.to_string()),
                "cpus" => c.cpus = Some(parse_cpus(value, "cpus").map_err(|e| bad(e.message))?),
                "memory" => c.memory = Some(MemSize::parse(value).map_err(bad)?),
                _ => {}
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let c = Config {
            name: Some("web".into()),
            cmdline: Some("--port 80 \"a b\"".into()),
            cpus: Some(4),
            memory: Some(MemSize { mib: 512 }),
        };
        let text = c.encode();
        assert_eq!(
            text,
            "name=web\ncmdline=--port 80 \"a b\"\ncpus=4\nmemory=512M\n"
        );
        assert_eq!(Config::parse(&text).unwrap(), c);
    }

    #[test]
    fn minimal_and_unknown_keys() {
        let c = Config::parse("name=x\nfuture=thing\n\0\0").unwrap();
        assert_eq!(c.name.as_deref(), Some("x"));
        assert_eq!(c.cpus, None);
        // Values may contain `=`.
        let c = Config::parse("cmdline=a=b\n").unwrap();
        assert_eq!(c.cmdline.as_deref(), Some("a=b"));
    }

    #[test]
    fn bad_values() {
        assert!(Config::parse("cpus=zero\n").is_err());
        assert!(Config::parse("memory=12X\n").is_err());
        assert!(Config::parse("garbage\n").is_err());
    }
}
