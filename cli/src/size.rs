//! Memory sizes as users write them (`256M`, `1G`, `512`), kept in whole MiB as QEMU's `-m` wants.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemSize {
    pub mib: u64,
}

impl MemSize {
    /// A number with an optional K/M/G/T suffix (binary units, `B`/`iB` allowed after it);
    /// a bare number means MiB, as for QEMU. Must come to a whole, non-zero number of MiB.
    pub fn parse(text: &str) -> Result<MemSize, String> {
        let bad = || format!("bad memory size `{text}`: write e.g. 128M, 512M or 2G");
        let t = text.trim();
        let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(digits_end);
        let n: u64 = num.parse().map_err(|_| bad())?;
        let unit = unit.to_ascii_lowercase();
        let unit = unit
            .strip_suffix("ib")
            .or_else(|| unit.strip_suffix('b'))
            .unwrap_or(&unit);
        let kib: u64 = match unit {
            "k" => n,
            "" | "m" => n.checked_mul(1024).ok_or_else(bad)?,
            "g" => n.checked_mul(1024 * 1024).ok_or_else(bad)?,
            "t" => n.checked_mul(1024 * 1024 * 1024).ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        if kib == 0 {
            return Err(format!("memory size `{text}` is zero: give at least 1M"));
        }
        if !kib.is_multiple_of(1024) {
            return Err(format!(
                "memory size `{text}` is not a whole number of MiB: round it to M"
            ));
        }
        Ok(MemSize { mib: kib / 1024 })
    }
}

impl fmt::Display for MemSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mib.is_multiple_of(1024) {
            write!(f, "{}G", self.mib / 1024)
        } else {
            write!(f, "{}M", self.mib)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let mib = |s| MemSize::parse(s).unwrap().mib;
        assert_eq!(mib("256M"), 256);
        assert_eq!(mib("256m"), 256);
        assert_eq!(mib("256MiB"), 256);
        assert_eq!(mib("1G"), 1024);
        assert_eq!(mib("2gb"), 2048);
        assert_eq!(mib("512"), 512);
        assert_eq!(mib("2048K"), 2);
        assert_eq!(mib("1T"), 1024 * 1024);
    }

    #[test]
    fn rejects_bad_sizes() {
        for s in [
            "",
            "M",
            "12X",
            "0",
            "0M",
            "1000K",
            "-1M",
            "1.5G",
            "99999999999999999999T",
        ] {
            assert!(MemSize::parse(s).is_err(), "{s} should be rejected");
        }
    }

    #[test]
    fn displays_compactly() {
        assert_eq!(MemSize { mib: 128 }.to_string(), "128M");
        assert_eq!(MemSize { mib: 2048 }.to_string(), "2G");
    }
}
