//! Kernel messages on the console. Formatting happens into a stack buffer so one message is one
//! console write (and never allocates: interrupt and fault handlers print too).

use core::fmt::{self, Write};

/// A `fmt::Write` into a fixed buffer that silently truncates.
pub struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> SliceWriter<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        SliceWriter { buf, len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

pub fn print_fmt(args: fmt::Arguments) {
    let mut buf = [0u8; 512];
    let mut w = SliceWriter::new(&mut buf);
    let _ = w.write_fmt(args);
    crate::console::write(w.as_bytes());
}

/// Print a line prefixed with `ferrite: `.
#[macro_export]
macro_rules! kprintln {
    ($($arg:tt)*) => {
        $crate::log::print_fmt(format_args!("ferrite: {}\n", format_args!($($arg)*)))
    };
}

/// Print without prefix or newline.
#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => {
        $crate::log::print_fmt(format_args!($($arg)*))
    };
}

pub fn info(message: &str) {
    print_fmt(format_args!("ferrite: {message}\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_writer_truncates() {
        let mut buf = [0u8; 4];
        let mut w = SliceWriter::new(&mut buf);
        let _ = write!(w, "abcdef");
        assert_eq!(w.as_bytes(), b"abcd");
    }
}
