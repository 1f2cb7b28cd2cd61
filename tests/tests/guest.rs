//! The guest test manifest: programs, then cases (one line each), then the cases that also run
//! under KVM, on q35 and through GRUB. See tests/src/lib.rs for how a case is built, run and
//! compared, and tests/README.md for how to add one.

use ferrite_guest_tests::{Program, boot_cases, case, guest_cases, text};

// Programs: tests/programs/<source>, built as an image and as a native musl executable.
const ARGS: Program = Program::c("args", "args.c");
const EXIT: Program = Program::c("exit", "exit.c");
const STDIO: Program = Program::c("stdio", "stdio.c");
const MALLOC: Program = Program::c("malloc", "malloc.c");
const SETJMP: Program = Program::c("setjmp", "setjmp.c");
const FLOAT: Program = Program::c("float", "float.c");
const TIME: Program = Program::c("time", "time.c");
const FAULT: Program = Program::c("fault", "fault.c");
const SIGNALS: Program = Program::c("signals", "signals.c");
const MMAN: Program = Program::c("mman", "mman.c");
const SYS: Program = Program::c("sys", "sys.c");
const FORTIFY_C: Program = Program::c("fortify_c", "fortify.c").flags(FORTIFY);
const CXX_EXCEPTIONS: Program = Program::cxx("cxx_exceptions", "cxx_exceptions.cpp");
const CXX_STREAMS: Program = Program::cxx("cxx_streams", "cxx_streams.cpp");
const CXX_LIFETIME: Program = Program::cxx("cxx_lifetime", "cxx_lifetime.cpp");
const FORTIFY_CXX: Program = Program::cxx("fortify_cxx", "fortify.cpp").flags(FORTIFY);

const FORTIFY: &[&str] = &["-D_FORTIFY_SOURCE=2", "-O2"];

const SIGSEGV: i32 = 128 + 11;

const ARG_3000: &str = text(&[b'a'; 3000]);
const ARG_5000: &str = text(&[b'b'; 5000]);
const VALUE_1000: &str = text(&[b'v'; 1000]);

guest_cases! {
    args_none: case(ARGS);
    args_words: case(ARGS)
        .args(&["one", "two words", "say \"hi\"", "back\\slash", "", "  lead and trail  ",
                "--flag=x", "-", "FT_NOT_ENV=1", "h\u{e9}llo \u{2603}", "'single'"])
        .env(&[("FT_A", "1"), ("FT_SPACE", "a b"), ("FT_QUOTE", "x\"y"), ("FT_EMPTY", "")]);
    // GRUB cannot pass an empty word (it drops it): the same words without one.
    args_words_no_empty: case(ARGS)
        .args(&["one", "two words", "say \"hi\"", "back\\slash", "  lead and trail  ",
                "--flag=x", "-", "FT_NOT_ENV=1", "h\u{e9}llo \u{2603}", "'single'"])
        .env(&[("FT_A", "1"), ("FT_SPACE", "a b"), ("FT_QUOTE", "x\"y")]);
    args_long_3000: case(ARGS).args(&[ARG_3000, "after"]);
    args_long_5000: case(ARGS).args(&[ARG_5000, "after"]).env(&[("FT_LONG", VALUE_1000)]);
    args_control_chars: case(ARGS).args(&["tab\there", "new\nline"]);

    exit_0: case(EXIT).args(&["return", "0"]);
    exit_1: case(EXIT).args(&["exit", "1"]).status(1);
    exit_42: case(EXIT).args(&["exit", "42"]).status(42);
    exit_return_42: case(EXIT).args(&["return", "42"]).status(42);
    exit_underscore_42: case(EXIT).args(&["_exit", "42"]).status(42);
    exit_300_wraps_to_44: case(EXIT).args(&["exit", "300"]).status(44);

    stdio_full_buffered: case(STDIO).args(&["full"]);
    stdio_line_buffered: case(STDIO).args(&["line"]);
    stdio_unbuffered: case(STDIO).args(&["none"]);
    stdio_format: case(STDIO).args(&["format"]);
    stdio_bulk: case(STDIO).args(&["bulk", "2000"]);
    stdio_stdin: case(STDIO).args(&["stdin"])
        .stdin("first line\nsecond line, with spaces\n\n  indented\nlast line without newline");
    stdio_stdin_empty: case(STDIO).args(&["stdin"]);
    malloc: case(MALLOC);
    setjmp_longjmp: case(SETJMP);

    float_regs_across_syscalls: case(FLOAT).args(&["regs"]);
    float_regs_across_signal_handler: case(FLOAT).args(&["signal"]);
    float_avx_regs_across_signal_handler: case(FLOAT).args(&["signal-avx"]);
    float_signal_handler_clean_state: case(FLOAT).args(&["signal-clean"]);
    float_strtod_printf: case(FLOAT).args(&["format"]);

    time_clocks_and_sleep: case(TIME);
    time_clocks_and_sleep_few_reads: case(TIME).args(&["1000"]);

    fault_null_write: case(FAULT).args(&["null-write"]).status(SIGSEGV)
        .guest_contains(&["NULL pointer"]);
    fault_null_read: case(FAULT).args(&["null-read"]).status(SIGSEGV)
        .guest_contains(&["NULL pointer"]);
    fault_null_call: case(FAULT).args(&["null-call"]).status(SIGSEGV)
        .guest_contains(&["NULL pointer"]);
    fault_wild_write: case(FAULT).args(&["wild-write"]).status(SIGSEGV);
    fault_stack_overflow: case(FAULT).args(&["stack-overflow"]).status(SIGSEGV);
    fault_divide_by_zero: case(FAULT).args(&["divide"]).status(128 + 8);
    fault_invalid_opcode: case(FAULT).args(&["ud2"]).status(128 + 4);

    signal_raise_handler: case(SIGNALS).args(&["raise"]);
    signal_siginfo: case(SIGNALS).args(&["siginfo"]);
    signal_mask_pending: case(SIGNALS).args(&["mask"]);
    signal_ignore: case(SIGNALS).args(&["ignore"]);
    signal_nested_handlers: case(SIGNALS).args(&["nested"]);
    signal_resethand: case(SIGNALS).args(&["resethand"]).status(128 + 10);
    signal_default_action_kills: case(SIGNALS).args(&["default-usr1"]).status(128 + 10);
    signal_alarm_pause: case(SIGNALS).args(&["alarm"]);
    abort_134: case(SIGNALS).args(&["abort"]).status(134);
    abort_with_returning_handler: case(SIGNALS).args(&["abort-handler"]).status(134);

    mman_basic: case(MMAN).args(&["basic"]);
    mman_mprotect_fault_handled: case(MMAN).args(&["protect"]);
    mman_unmapped_fault_handled: case(MMAN).args(&["unmapped"]);
    mman_madvise_dontneed: case(MMAN).args(&["madvise"]);

    sys_getrandom: case(SYS).args(&["getrandom"]);
    sys_uname: case(SYS).args(&["uname"]);
    sys_unknown_syscall_enosys: case(SYS).args(&["enosys"])
        .guest_contains(&["ferrite: unimplemented system call"]);
    sys_ids: case(SYS).args(&["ids"]);

    fortify_c: case(FORTIFY_C).stdin("fortified input\n");
    fortify_cxx: case(FORTIFY_CXX);
    fortify_cxx_overflow_aborts: case(FORTIFY_CXX).args(&["overflow"]).status(134);

    cxx_exceptions: case(CXX_EXCEPTIONS);
    cxx_uncaught_exception_terminates: case(CXX_EXCEPTIONS).args(&["terminate"]).status(134);
    cxx_ostringstream: case(CXX_STREAMS).args(&["format"]);
    cxx_cin_integers: case(CXX_STREAMS).args(&["cin", "8"])
        .stdin("Ferrite\n1 2 3\n  -4\t5\n\n100 200\n-7");
    cxx_cin_empty: case(CXX_STREAMS).args(&["cin", "0"]);
    cxx_cin_2kb_of_numbers: case(CXX_STREAMS).args(&["cin", "300"])
        .stdin(include_str!("../programs/numbers.txt"));
    cxx_static_and_thread_local_lifetimes: case(CXX_LIFETIME);
    cxx_lifetimes_with_exit: case(CXX_LIFETIME).args(&["exit", "3"]).status(3);
}

// A representative subset on microvm under KVM (PVM here: the kernel's code is emulated, the
// service's runs natively, so syscall entry/exit and fault paths behave differently).
boot_cases!(kvm, Kvm:
    args_words,
    exit_42,
    stdio_full_buffered,
    stdio_stdin,
    malloc,
    setjmp_longjmp,
    float_regs_across_syscalls,
    float_regs_across_signal_handler,
    float_strtod_printf,
    time_clocks_and_sleep_few_reads,
    fault_null_write,
    fault_stack_overflow,
    signal_raise_handler,
    signal_alarm_pause,
    abort_134,
    mman_mprotect_fault_handled,
    sys_unknown_syscall_enosys,
    fortify_c,
    cxx_exceptions,
    cxx_cin_integers,
    cxx_static_and_thread_local_lifetimes,
);

// Other machines: output (after the firmware's) and status only.
boot_cases!(q35, Q35: args_words);
boot_cases!(grub, Grub:
    exit_42,
    args_words_no_empty,
);
