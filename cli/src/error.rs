//! The one error type of the tool: a message for the user and the exit status to end with.

use std::fmt;

/// Exit status for bad input (arguments, missing files): the convention of most Unix tools.
pub const USAGE: i32 = 2;
/// Exit status when something outside the user's input failed (a tool, the file system).
pub const FAILED: i32 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    pub status: i32,
}

impl Error {
    /// Bad user input: exit status 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            status: USAGE,
        }
    }

    /// Something failed that is not the user's input: exit status 1.
    pub fn failed(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            status: FAILED,
        }
    }

    /// A failed operation on a path, e.g. `io(e, "cannot read", path)`.
    pub fn io(err: std::io::Error, what: &str, path: &std::path::Path) -> Self {
        Error::failed(format!("{what} {}: {err}", path.display()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
