//! `--grub`: boot the image the way a disk would, through GRUB's Multiboot2 loader.

use super::cmdline::Word;
use crate::error::{Error, Result};
use crate::home;
use std::fs;
use std::path::Path;
use std::process::Command;

/// GRUB on the serial console (so its output reaches the terminal), no menu delay, then
/// `multiboot2` with the kernel command line and `boot`.
pub fn grub_cfg(words: &[Word]) -> String {
    let mut line = String::from("multiboot2 /boot/image.elf");
    for w in words {
        // GRUB's script language: single quotes keep everything literal except `'` itself.
        // GRUB then joins the words for the kernel the way the kernel reads them: a word with a
        // space or tab in double quotes, and `\`, `"` and `'` escaped with a backslash. (It drops
        // empty words and does not quote newlines.)
        line.push_str(" '");
        line.push_str(&w.text.replace('\'', r"'\''"));
        line.push('\'');
    }
    format!(
        "serial --unit=0 --speed=115200\nterminal_input serial\nterminal_output serial\n\
         set timeout=0\n{line}\nboot\n"
    )
}

/// Lays out the ISO tree under `work` and returns the grub-mkrescue command that makes `iso`.
pub fn mkrescue_command(image: &Path, words: &[Word], work: &Path, iso: &Path) -> Result<Command> {
    if !Path::new("/usr/lib/grub/i386-pc").is_dir() {
        return Err(Error::usage(
            "--grub needs GRUB's BIOS modules: install the Debian packages grub-pc-bin, grub-common and xorriso",
        ));
    }
    let boot = work.join("iso/boot");
    fs::create_dir_all(boot.join("grub")).map_err(|e| Error::io(e, "cannot create", &boot))?;
    fs::copy(image, boot.join("image.elf")).map_err(|e| Error::io(e, "cannot copy", image))?;
    let cfg = boot.join("grub/grub.cfg");
    fs::write(&cfg, grub_cfg(words)).map_err(|e| Error::io(e, "cannot write", &cfg))?;
    let mut cmd = Command::new("grub-mkrescue");
    cmd.arg("-o").arg(iso).arg(work.join("iso"));
    Ok(cmd)
}

/// Runs grub-mkrescue quietly; its output is shown only when it fails.
pub fn run_mkrescue(mut cmd: Command) -> Result<()> {
    let out = cmd
        .output()
        .map_err(|e| home::spawn_error("grub-mkrescue", e))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::failed(format!(
        "grub-mkrescue failed (it needs xorriso and grub-pc-bin): {}",
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_quotes_each_word() {
        let words = [
            Word::plain("ferrite.console=pipe"),
            Word::plain("--"),
            Word::plain("it's a b"),
        ];
        let cfg = grub_cfg(&words);
        assert!(cfg.starts_with("serial --unit=0 --speed=115200\nterminal_input serial\n"));
        assert!(cfg.contains("set timeout=0\n"));
        assert!(cfg.contains(
            "multiboot2 /boot/image.elf 'ferrite.console=pipe' '--' 'it'\\''s a b'\nboot\n"
        ));
    }
}
