//! The guest's exit report on the status channel (I/O port 0x402): one line per report,
//! `exit N`, `signal N` or `panic`; the last line that reads as one of those wins.

/// Exit status for a kernel panic.
pub const PANIC: i32 = 250;

pub fn exit_code(report: &str) -> Option<i32> {
    report.lines().rev().find_map(parse_line)
}

fn parse_line(line: &str) -> Option<i32> {
    let line = line.trim();
    if line == "panic" || line.starts_with("panic ") || line.starts_with("panic:") {
        return Some(PANIC);
    }
    let (word, n) = line.split_once(' ')?;
    let n: i64 = n.trim().parse().ok()?;
    match word {
        // As a Linux process's status: only the low 8 bits survive.
        "exit" => Some((n & 0xff) as i32),
        "signal" if (1..=64).contains(&n) => Some(128 + n as i32),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports() {
        assert_eq!(exit_code("exit 0\n"), Some(0));
        assert_eq!(exit_code("exit 3"), Some(3));
        assert_eq!(exit_code("exit 256\n"), Some(0));
        assert_eq!(exit_code("signal 11\n"), Some(139));
        assert_eq!(exit_code("panic\n"), Some(250));
        assert_eq!(exit_code("panic: out of memory\n"), Some(250));
        assert_eq!(exit_code(""), None);
        assert_eq!(exit_code("garbage\n"), None);
        assert_eq!(exit_code("signal 0\n"), None);
    }

    #[test]
    fn last_line_wins() {
        assert_eq!(exit_code("exit 1\nsignal 6\n"), Some(134));
        assert_eq!(exit_code("panic\nexit 7\nnoise\n"), Some(7));
    }
}
