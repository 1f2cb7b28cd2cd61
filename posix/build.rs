//! Generates the Linux ABI bindings from musl's headers (bindgen + libclang) and the system-call
//! name table from musl's `bits/syscall.h`.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

const MUSL_INCLUDE: &str = "/usr/include/x86_64-linux-musl";

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=abi/linux.h");
    println!("cargo:rerun-if-changed=build.rs");

    if !PathBuf::from(MUSL_INCLUDE).join("stdio.h").exists() {
        panic!(
            "musl headers not found in {MUSL_INCLUDE}: install the musl-dev package (tools/setup.sh does)"
        );
    }

    let bindings = bindgen::Builder::default()
        .header("abi/linux.h")
        .clang_args(["-nostdlibinc", "-isystem", MUSL_INCLUDE, "--target=x86_64-linux-musl"])
        .use_core()
        .ctypes_prefix("core::ffi")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .allowlist_type("utsname|timespec|timeval|timezone|iovec|winsize|termios|tms|rusage|rlimit|sysinfo|stat|Elf64_Ehdr|Elf64_Phdr|statx|statfs|pollfd|epoll_event|flock|itimerspec|signalfd_siginfo|sockaddr|sockaddr_un|sockaddr_in|sockaddr_in6|sockaddr_storage|msghdr|mmsghdr|cmsghdr|ucred|linger")
        .allowlist_var(
            "E[A-Z0-9]+|PROT_[A-Z_]+|MAP_[A-Z_0-9]+|MREMAP_[A-Z_]+|MADV_[A-Z_]+|CLOCK_[A-Z_]+|TIMER_ABSTIME|TIOC[A-Z]+|TCGETS|TCSETS[WF]?|FIONREAD|FIONBIO|SIG[A-Z0-9]+|SA_[A-Z]+|SI_[A-Z]+|GRND_[A-Z]+|RLIMIT_[A-Z]+|RLIM_INFINITY|RUSAGE_[A-Z]+|AT_[A-Z_0-9]+|SIG_[A-Z]+|PT_[A-Z_]+|ICANON|ECHO|ISIG|ICRNL|OPOST|ONLCR|B38400|CS8|CREAD|O_[A-Z]+|F_[A-Z_]+|FD_CLOEXEC|S_IF[A-Z]+|SS_[A-Z]+|MINSIGSTKSZ|MS_[A-Z]+|POLL[A-Z]+|EPOLL[A-Z_]+|EFD_[A-Z]+|TFD_[A-Z_]+|SFD_[A-Z]+|SEEK_[A-Z]+|STATX_[A-Z_]+|RENAME_[A-Z]+|FALLOC_FL_[A-Z_]+|LOCK_[A-Z]+|DT_[A-Z]+|S_I[A-Z]+|[RWXF]_OK|UTIME_[A-Z]+|SPLICE_F_[A-Z]+|CLOSE_RANGE_[A-Z]+|FD_SETSIZE|NAME_MAX|PATH_MAX|AT_[A-Z_]+|AF_[A-Z0-9]+|PF_[A-Z0-9]+|SOCK_[A-Z]+|SOL_[A-Z]+|SO_[A-Z_]+|MSG_[A-Z_]+|SCM_[A-Z]+|SHUT_[A-Z]+|SOMAXCONN|IPPROTO_[A-Z0-9]+|TCP_[A-Z_]+|IP_[A-Z_0-9]+|IPV6_[A-Z_0-9]+|INADDR_[A-Z]+",
        )
        .generate()
        .expect("bindgen failed on abi/linux.h (is libclang-dev installed?)");
    bindings
        .write_to_file(out.join("linux_abi.rs"))
        .expect("write linux_abi.rs");

    // System-call names, indexed by number.
    let header = PathBuf::from(MUSL_INCLUDE).join("bits/syscall.h");
    println!("cargo:rerun-if-changed={}", header.display());
    let text = fs::read_to_string(&header).expect("read musl bits/syscall.h");
    let mut names: Vec<(u32, String)> = text
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("#define __NR_")?;
            let mut parts = rest.split_whitespace();
            let name = parts.next()?.to_string();
            let number = parts.next()?.parse().ok()?;
            Some((number, name))
        })
        .collect();
    names.sort();
    // One string of all names and a table of (offset, length): no pointer per entry, which keeps
    // the kernel image small (relocated &str tables cost 16 bytes an entry).
    let max = names.last().map(|(n, _)| *n).unwrap_or(0) as usize;
    let mut all = String::new();
    let mut spans = vec![(0u16, 0u8); max + 1];
    for (number, name) in &names {
        spans[*number as usize] = (all.len() as u16, name.len() as u8);
        all.push_str(name);
    }
    let mut code = String::new();
    writeln!(
        code,
        "/// Linux x86-64 system-call names (from musl's bits/syscall.h), concatenated."
    )
    .unwrap();
    writeln!(code, "static SYSCALL_NAME_TEXT: &str = \"{all}\";").unwrap();
    writeln!(
        code,
        "/// (offset, length) of each number's name in SYSCALL_NAME_TEXT; length 0 when unknown."
    )
    .unwrap();
    writeln!(
        code,
        "static SYSCALL_NAME_SPANS: [(u16, u8); {}] = [",
        max + 1
    )
    .unwrap();
    for (offset, len) in &spans {
        writeln!(code, "    ({offset}, {len}),").unwrap();
    }
    writeln!(code, "];").unwrap();
    fs::write(out.join("syscall_names.rs"), code).expect("write syscall_names.rs");
}
