//! docs/benchmarks.md and docs/bench/*.svg, generated from a results file.

use crate::MICRO;
use crate::model::{Measurement, Results};
use crate::prepare::Res;
use crate::svg::{self, Bar, Group};
use std::fmt::Write as _;
use std::path::Path;

/// A time in ns, with a readable unit.
pub fn fmt_ns(ns: f64) -> String {
    let (v, u) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    format!("{} {u}", sig3(v))
}

/// Three significant digits, no exponent.
fn sig3(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn to_ns(v: f64, unit: &str) -> f64 {
    match unit {
        "s" => v * 1e9,
        "ms" => v * 1e6,
        "us" => v * 1e3,
        _ => v,
    }
}

fn fmt_value(m: &Measurement, v: f64) -> String {
    match m.unit.as_str() {
        "ns" | "us" | "ms" | "s" => fmt_ns(to_ns(v, &m.unit)),
        "bytes" => fmt_bytes(v),
        "MiB" => format!("{v:.0} MiB"),
        u => format!("{} {u}", sig3(v)),
    }
}

fn fmt_bytes(b: f64) -> String {
    if b >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", b / 1024.0 / 1024.0)
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

/// `median ±spread%`, or why there is none.
fn cell(m: Option<&Measurement>) -> String {
    match m {
        None => "—".into(),
        Some(m) => match &m.stats {
            Some(s) if s.n > 1 => format!("{} ±{:.0}%", fmt_value(m, s.median), s.spread_pct()),
            Some(s) => fmt_value(m, s.median),
            None => format!("— ({})", short(m.error.as_deref().unwrap_or("no figure"))),
        },
    }
}

fn short(e: &str) -> String {
    let e = e.replace('|', "/").replace('\n', " ");
    if e.chars().count() > 90 {
        format!("{}…", e.chars().take(90).collect::<String>())
    } else {
        e
    }
}

fn median(m: Option<&Measurement>) -> Option<f64> {
    m.and_then(|m| m.stats).map(|s| s.median)
}

/// `a ÷ b` as `×0.42`.
fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("×{}", sig3(a / b)),
        _ => "—".into(),
    }
}

const SYSTEMS: &[(&str, &str, &str)] = &[
    ("native", "", "native"),
    ("ferrite", "kvm", "Ferrite KVM"),
    ("linux", "kvm", "Linux KVM"),
    ("ferrite", "tcg", "Ferrite TCG"),
    ("linux", "tcg", "Linux TCG"),
];

fn has(r: &Results, system: &str, accel: &str) -> bool {
    r.measurements
        .iter()
        .any(|m| m.system == system && m.accel == accel && m.stats.is_some())
}

fn micro_metric(r: &Results, workload: &str) -> Option<String> {
    r.measurements
        .iter()
        .find(|m| m.workload == workload && m.metric != "-")
        .map(|m| m.metric.clone())
}

/// Finds a micro-benchmark figure; native runs have accel "".
fn micro<'a>(
    r: &'a Results,
    w: &str,
    metric: &str,
    system: &str,
    accel: &str,
) -> Option<&'a Measurement> {
    r.find(w, metric, system, accel, 0)
        .or_else(|| r.find(w, "-", system, accel, 0))
}

const DESCRIPTIONS: &[(&str, &str)] = &[
    (
        "syscall",
        "system call round trip: `syscall(SYS_getppid)` in a loop, per call",
    ),
    (
        "thread",
        "`pthread_create` + `pthread_join` of a thread that returns at once",
    ),
    (
        "futex",
        "futex ping-pong between threads pinned to CPU 0 and CPU 1, per round trip",
    ),
    (
        "ctxswitch",
        "two threads pinned to CPU 0 hand a futex token back and forth, per switch",
    ),
    (
        "mutex",
        "one thread per CPU (2) on one `pthread_mutex_t`, wall time per lock+inc+unlock",
    ),
    (
        "malloc",
        "`malloc` (16 B–4 KiB, 1/64 of 64 KiB) + `free` in a 1024-slot ring, per pair",
    ),
    (
        "mmap",
        "`mmap` of 4 KiB (anonymous, private), one write to it, `munmap`, per cycle",
    ),
    (
        "pagefault",
        "first write to a page of a `MAP_NORESERVE` area (demand paging: a page fault and a \
         zeroed frame), per page, with its share of the `MADV_DONTNEED` (one call per 1024 pages) \
         that gives the pages back for the next pass; `MADV_NOHUGEPAGE`, so Linux faults 4 KiB at a time",
    ),
    (
        "fileio",
        "a 4 KiB `pwrite`, then a 4 KiB `pread` of another block, cycling through a 1 MiB file in \
         a memory file system (Ferrite's tmpfs; `/tmp` natively, the initramfs in the Linux \
         guest), per write+read pair",
    ),
    (
        "openclose",
        "`open` + `close` of an existing file two path components deep in a memory file system, \
         per pair",
    ),
    (
        "pipe",
        "a writer thread on CPU 1 streams 64 KiB writes into a pipe read by a thread on CPU 0, \
         per 64 KiB moved",
    ),
    (
        "eventfd",
        "ping-pong through two eventfds between threads on CPU 0 and CPU 1 (blocking reads), per \
         round trip",
    ),
    (
        "epoll",
        "`epoll_wait` (timeout 0) on a set of 10,000 idle eventfds and one readable one \
         (level-triggered), per call",
    ),
];

const HEADLINE_NAMES: &[(&str, &str)] = &[
    ("syscall", "system call (`getppid`)"),
    ("thread", "thread create + join"),
    ("futex", "futex round trip across CPUs"),
    ("ctxswitch", "context switch, one CPU"),
    ("mutex", "contended mutex, per lock/unlock"),
    ("malloc", "malloc + free"),
    ("mmap", "4 KiB mmap + touch + munmap"),
    ("pagefault", "page fault (first touch, `MAP_NORESERVE`)"),
    ("fileio", "4 KiB file write + read (tmpfs)"),
    ("openclose", "open + close"),
    ("pipe", "pipe, 64 KiB across CPUs"),
    ("eventfd", "eventfd round trip across CPUs"),
    ("epoll", "epoll_wait, 10,000 idle fds + 1 ready"),
];

/// The whole page.
pub fn render(r: &Results) -> (String, Vec<(String, String)>) {
    let mut md = String::new();
    let mut svgs = Vec::new();
    let meta = &r.meta;
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Generated by `make bench` (`cargo run -p ferrite-bench --release`) from \
         [`bench/results/latest.json`](../bench/results/latest.json); do not edit by hand (the text \
         lives in `bench/src/report.rs`). Every figure is the median of its samples with the spread \
         as ±half the interquartile range; a ratio is Ferrite's median divided by the baseline's \
         (for times: below ×1 Ferrite is faster).\n"
    );
    let _ = writeln!(
        md,
        "Taken {} at commit `{}`{} on:\n",
        meta.date,
        meta.commit,
        if meta.dirty {
            " (work tree with uncommitted changes)"
        } else {
            ""
        }
    );
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(
        md,
        "| host | {} ({} CPUs, {} MiB) |",
        meta.host, meta.cpus, meta.memory_mib
    );
    let _ = writeln!(md, "| CPU | {} |", meta.cpu_model);
    let _ = writeln!(md, "| host kernel | {} |", meta.host_kernel);
    let _ = writeln!(md, "| QEMU | {} |", meta.qemu_version);
    let _ = writeln!(md, "| /dev/kvm | {} |", meta.kvm);
    let _ = writeln!(md, "| accelerators | {} |", meta.accels.join(", "));
    let _ = writeln!(
        md,
        "| Linux guest | Debian {} |",
        if meta.linux_kernel.is_empty() {
            "(not run)"
        } else {
            &meta.linux_kernel
        }
    );
    let _ = writeln!(
        md,
        "| parameters | {} rounds of ~{} ms per program run; {} boots per boot figure{} |",
        meta.rounds,
        meta.round_ms,
        meta.boot_runs,
        if meta.smoke {
            "; **smoke run: the figures mean nothing**"
        } else {
            ""
        }
    );
    let _ = writeln!(
        md,
        "| load average | {} at the start, {} at the end (other jobs share the host) |",
        meta.load_start, meta.load_end
    );
    let _ = writeln!(
        md,
        "| run time | {:.0} s (the last run, workloads {}) |\n",
        meta.duration_s,
        meta.workloads.join(" ")
    );
    let stale: Vec<String> = {
        let mut v: Vec<String> = r
            .measurements
            .iter()
            .filter(|m| m.taken != meta.date)
            .map(|m| format!("{} ({})", m.workload, m.taken))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    if !stale.is_empty() {
        let _ = writeln!(md, "Figures from earlier runs: {}.\n", stale.join(", "));
    }

    headline(&mut md, r);
    boot_section(&mut md, &mut svgs, r);
    size_section(&mut md, r);
    micro_section(&mut md, &mut svgs, r);
    malloc_mt_section(&mut md, r);
    parallel_section(&mut md, r);
    md.push_str(METHOD);
    (md, svgs)
}

fn boot_m<'a>(
    r: &'a Results,
    metric: &str,
    system: &str,
    accel: &str,
    cpus: u32,
) -> Option<&'a Measurement> {
    r.find("boot", metric, system, accel, cpus)
}

fn headline(md: &mut String, r: &Results) {
    let _ = writeln!(md, "## Headline\n");
    let _ = writeln!(
        md,
        "| figure | Ferrite | baseline | ratio |\n|---|---|---|---|"
    );
    for accel in ["tcg", "kvm"] {
        let f = boot_m(r, "first_output", "ferrite", accel, 1);
        if f.is_none() {
            continue;
        }
        let fl = boot_m(r, "first_output", "floor", accel, 1);
        let l = boot_m(r, "first_output", "linux", accel, 1);
        let up = accel.to_uppercase();
        if median(l).is_some() {
            let _ = writeln!(
                md,
                "| boot to first output, {up}, 1 vCPU (QEMU wall time) | {} | Linux guest {} | {} |",
                cell(f),
                cell(l),
                ratio(median(f), median(l))
            );
            let _ = writeln!(
                md,
                "| … minus the floor ({}) | {} | Linux guest {} | {} |",
                cell(fl),
                fmt_opt_ms(sub(median(f), median(fl))),
                fmt_opt_ms(sub(median(l), median(fl))),
                ratio(sub(median(f), median(fl)), sub(median(l), median(fl)))
            );
        } else {
            let _ = writeln!(
                md,
                "| boot to first output, {up}, 1 vCPU | {} | floor {} | {} |",
                cell(f),
                cell(fl),
                ratio(median(f), median(fl))
            );
        }
        let tm = boot_m(r, "to_main", "ferrite", accel, 1);
        if tm.is_some() {
            let _ = writeln!(
                md,
                "| PVH entry → `main`, {up}, 1 vCPU (guest TSC) | {} | | |",
                cell(tm)
            );
        }
    }
    if let Some(s) = r
        .find("size", "stripped_bytes", "ferrite", "", 0)
        .filter(|m| m.subject == "hello-c")
    {
        let k = r.find("size", "kernel_bytes", "linux", "", 0);
        let i = r.find("size", "initramfs_bytes", "linux", "", 0);
        let linux = match (median(k), median(i)) {
            (Some(k), Some(i)) => Some(k + i),
            _ => None,
        };
        let _ = writeln!(
            md,
            "| image size, hello-c, stripped | {} | Linux kernel + initramfs {} | {} |",
            cell(Some(s)),
            linux.map(fmt_bytes).unwrap_or("—".into()),
            ratio(median(Some(s)), linux)
        );
    }
    for (w, _) in MICRO {
        let Some(metric) = micro_metric(r, w) else {
            continue;
        };
        let short_desc = HEADLINE_NAMES
            .iter()
            .find(|(n, _)| n == w)
            .map(|(_, d)| *d)
            .unwrap_or(w);
        let ft = micro(r, w, &metric, "ferrite", "tcg");
        let lt = micro(r, w, &metric, "linux", "tcg");
        if median(ft).is_some() && median(lt).is_some() {
            let _ = writeln!(
                md,
                "| {short_desc}, TCG | {} | Linux guest {} | {} |",
                cell(ft),
                cell(lt),
                ratio(median(ft), median(lt))
            );
        }
        let fk = micro(r, w, &metric, "ferrite", "kvm");
        let n = micro(r, w, &metric, "native", "");
        if median(fk).is_some() && median(n).is_some() {
            let _ = writeln!(
                md,
                "| {short_desc}, KVM (PVM) | {} | native {} | {} |",
                cell(fk),
                cell(n),
                ratio(median(fk), median(n))
            );
        }
    }
    let native_mt = malloc_scaling(r, "native", "");
    for accel in ["tcg", "kvm"] {
        if let Some((s, _, _)) = malloc_scaling(r, "ferrite", accel) {
            let mut base = Vec::new();
            if let Some(l) = malloc_scaling(r, "linux", accel) {
                base.push(format!("Linux guest ×{:.2}", l.0));
            }
            if let Some(n) = native_mt {
                base.push(format!("native ×{:.2}", n.0));
            }
            let _ = writeln!(
                md,
                "| malloc/free throughput 1 → 2 threads, 2 vCPUs, {} | ×{s:.2} | {} | |",
                accel.to_uppercase(),
                base.join(", ")
            );
        }
    }
    for (name, subject) in [("hello-c", "hello-c"), ("hello-cpp", "hello-cpp")] {
        if let Some(m) = r
            .measurements
            .iter()
            .find(|m| m.workload == "size" && m.metric == "min_mem" && m.subject == subject)
        {
            let _ = writeln!(
                md,
                "| smallest `--mem` that boots {name} | {} | | |",
                cell(Some(m))
            );
        }
    }
    let native = speedup(r, "native", "");
    for accel in ["kvm", "tcg"] {
        if let Some((s, _, two)) = speedup(r, "ferrite", accel) {
            let mut base = Vec::new();
            if let Some(l) = speedup(r, "linux", accel) {
                base.push(format!("Linux guest ×{:.2}", l.0));
            }
            if let Some(n) = native {
                base.push(format!("native ×{:.2}", n.0));
            }
            let _ = writeln!(
                md,
                "| parallel speedup 1 → 2 vCPUs, {} | ×{s:.2} | {} | |",
                accel.to_uppercase(),
                base.join(", ")
            );
            if let Some((_, _, n2)) = native {
                let _ = writeln!(
                    md,
                    "| parallel job, 2 threads, {} (throughput vs native) | {} | native {} | ×{:.2} |",
                    accel.to_uppercase(),
                    fmt_ns(two),
                    fmt_ns(n2),
                    n2 / two
                );
            }
        }
    }
    md.push('\n');
}

fn sub(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? - b?)
}

fn fmt_opt_ms(v: Option<f64>) -> String {
    v.map(|v| fmt_ns(v * 1e6)).unwrap_or("—".into())
}

/// (throughput with 2 threads ÷ with 1, time per pair with 1, with 2) of `malloc_mt`.
fn malloc_scaling(r: &Results, system: &str, accel: &str) -> Option<(f64, f64, f64)> {
    let one = median(r.find("malloc_mt", "malloc_free_1_threads", system, accel, 0))?;
    let two = median(r.find("malloc_mt", "malloc_free_2_threads", system, accel, 0))?;
    Some((one / two, one, two))
}

/// (speedup, time with 1, time with 2) of the parallel job.
fn speedup(r: &Results, system: &str, accel: &str) -> Option<(f64, f64, f64)> {
    let one = median(r.find("parallel", "job_1_threads", system, accel, 1))?;
    let two = median(r.find("parallel", "job_2_threads", system, accel, 2))?;
    Some((one / two, one, two))
}

fn boot_section(md: &mut String, svgs: &mut Vec<(String, String)>, r: &Results) {
    if !r.measurements.iter().any(|m| m.workload == "boot") {
        return;
    }
    let _ = writeln!(md, "## Boot\n");
    let _ = writeln!(
        md,
        "QEMU wall time from starting `qemu-system-x86_64` to the service's first line on the serial \
         console (`first output`) and to QEMU's exit (`exit`), for the same tiny program \
         (`bench/programs/hello.c`) as a Ferrite image and as a Linux guest's `/init`, beside the \
         floor (an empty PVH kernel: what QEMU itself costs). `− floor` subtracts the floor's median. \
         `to main` is Ferrite's own boot log (`ferrite run --boot-log`): TSC time from the first \
         instruction at the PVH entry to `main`.\n"
    );
    let _ = writeln!(
        md,
        "| accel | vCPUs | system | first output | − floor | exit | − floor | to main |\n|---|---|---|---|---|---|---|---|"
    );
    let mut groups = Vec::new();
    for accel in ["kvm", "tcg"] {
        for cpus in [1, 2] {
            let fl1 = median(boot_m(r, "first_output", "floor", accel, cpus));
            let fl2 = median(boot_m(r, "exit", "floor", accel, cpus));
            let mut bars = Vec::new();
            for system in ["floor", "ferrite", "linux"] {
                let f = boot_m(r, "first_output", system, accel, cpus);
                let e = boot_m(r, "exit", system, accel, cpus);
                if f.is_none() && e.is_none() {
                    continue;
                }
                let tm = if system == "ferrite" {
                    cell(boot_m(r, "to_main", "ferrite", accel, cpus))
                } else {
                    String::new()
                };
                let minus = |m: Option<&Measurement>, fl: Option<f64>| {
                    if system == "floor" {
                        String::new()
                    } else {
                        fmt_opt_ms(sub(median(m), fl))
                    }
                };
                let _ = writeln!(
                    md,
                    "| {} | {cpus} | {} | {} | {} | {} | {} | {tm} |",
                    accel.to_uppercase(),
                    system_name(system),
                    cell(f),
                    minus(f, fl1),
                    cell(e),
                    minus(e, fl2)
                );
                bars.push(bar(system_name(system), system, accel, f));
            }
            if !bars.is_empty() {
                groups.push(Group {
                    title: format!(
                        "{}, {cpus} vCPU{}",
                        accel.to_uppercase(),
                        if cpus > 1 { "s" } else { "" }
                    ),
                    bars,
                });
            }
        }
    }
    md.push('\n');
    if !groups.is_empty() {
        svgs.push((
            "boot.svg".into(),
            svg::hbars(
                "Boot: QEMU start to the service's first output (median, IQR; log scale)",
                "milliseconds (log)",
                &groups,
                true,
            ),
        ));
        let _ = writeln!(md, "![boot times](bench/boot.svg)\n");
    }
}

fn system_name(s: &str) -> &'static str {
    match s {
        "floor" => "floor",
        "ferrite" => "Ferrite",
        "linux" => "Linux guest",
        "native" => "native",
        _ => "?",
    }
}

fn bar(label: &str, system: &str, accel: &str, m: Option<&Measurement>) -> Bar {
    match m.and_then(|m| m.stats.map(|s| (m, s))) {
        Some((m, s)) => Bar {
            label: label.into(),
            value: s.median,
            lo: s.p25,
            hi: s.p75,
            color: svg::color(system, accel),
            note: fmt_value(m, s.median),
        },
        None => Bar {
            label: label.into(),
            value: f64::NAN,
            lo: 0.0,
            hi: 0.0,
            color: svg::color(system, accel),
            note: m
                .and_then(|m| m.error.as_deref())
                .map(|e| short(e).chars().take(60).collect())
                .unwrap_or("not measured".into()),
        },
    }
}

fn size_section(md: &mut String, r: &Results) {
    if !r.measurements.iter().any(|m| m.workload == "size") {
        return;
    }
    let _ = writeln!(md, "## Image size and memory\n");
    let _ = writeln!(
        md,
        "The examples as `make examples` builds them; `stripped` is the size after `strip` (the \
         image keeps its own symbol table in its appended segment, so fault reports still \
         symbolize). `min --mem` is the smallest memory (1 MiB steps, binary search) with which the \
         image boots and prints and exits exactly as with 128 MiB. For scale: the Linux guest is \
         Debian's compressed cloud kernel plus the initramfs holding the static `hello`.\n"
    );
    let _ = writeln!(
        md,
        "| image | size | stripped | min `--mem` |\n|---|---|---|---|"
    );
    for name in ["hello-c", "hello-cpp"] {
        let get = |metric: &str| {
            r.measurements
                .iter()
                .find(|m| m.workload == "size" && m.metric == metric && m.subject == name)
        };
        if get("image_bytes").is_none() {
            continue;
        }
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} |",
            cell(get("image_bytes")),
            cell(get("stripped_bytes")),
            cell(get("min_mem"))
        );
    }
    let k = r.find("size", "kernel_bytes", "linux", "", 0);
    let i = r.find("size", "initramfs_bytes", "linux", "", 0);
    if k.is_some() {
        let _ = writeln!(
            md,
            "| Linux guest: vmlinuz + initramfs | {} + {} | | |",
            cell(k),
            cell(i)
        );
    }
    md.push('\n');
}

fn micro_section(md: &mut String, svgs: &mut Vec<(String, String)>, r: &Results) {
    let present: Vec<&str> = MICRO
        .iter()
        .map(|(w, _)| *w)
        .filter(|w| micro_metric(r, w).is_some())
        .collect();
    if present.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Micro-benchmarks\n");
    let _ = writeln!(
        md,
        "Each program in `bench/programs/` runs unchanged natively (static musl), as a Ferrite image \
         and as the Linux guest's `/init`; a guest gets 1 vCPU, or 2 for `futex`, `ctxswitch` and \
         `mutex`. Time per operation (lower is better):\n"
    );
    for (w, d) in DESCRIPTIONS {
        if present.contains(w) {
            let _ = writeln!(md, "- `{w}`: {d}");
        }
    }
    md.push('\n');
    let cols: Vec<&(&str, &str, &str)> = SYSTEMS.iter().filter(|(s, a, _)| has(r, s, a)).collect();
    let _ = write!(md, "| workload |");
    for c in &cols {
        let _ = write!(md, " {} |", c.2);
    }
    let kvm_ratio = has(r, "ferrite", "kvm") && has(r, "native", "");
    let tcg_ratio = has(r, "ferrite", "tcg") && has(r, "linux", "tcg");
    let kvm_linux_ratio = has(r, "ferrite", "kvm") && has(r, "linux", "kvm");
    if kvm_ratio {
        md.push_str(" Ferrite KVM ÷ native |");
    }
    if kvm_linux_ratio {
        md.push_str(" Ferrite ÷ Linux, KVM |");
    }
    if tcg_ratio {
        md.push_str(" Ferrite ÷ Linux, TCG |");
    }
    md.push('\n');
    let ncols = 1 + cols.len() + kvm_ratio as usize + tcg_ratio as usize + kvm_linux_ratio as usize;
    md.push_str(&"|---".repeat(ncols));
    md.push_str("|\n");
    let mut groups = Vec::new();
    for w in &present {
        let metric = micro_metric(r, w).unwrap();
        let _ = write!(md, "| `{w}` |");
        let mut bars = Vec::new();
        for (s, a, label) in &cols {
            let m = micro(r, w, &metric, s, a);
            let _ = write!(md, " {} |", cell(m));
            bars.push(bar(label, s, a, m));
        }
        let g = |s: &str, a: &str| median(micro(r, w, &metric, s, a));
        if kvm_ratio {
            let _ = write!(md, " {} |", ratio(g("ferrite", "kvm"), g("native", "")));
        }
        if kvm_linux_ratio {
            let _ = write!(md, " {} |", ratio(g("ferrite", "kvm"), g("linux", "kvm")));
        }
        if tcg_ratio {
            let _ = write!(md, " {} |", ratio(g("ferrite", "tcg"), g("linux", "tcg")));
        }
        md.push('\n');
        groups.push(Group {
            title: (*w).to_string(),
            bars,
        });
    }
    md.push('\n');
    svgs.push((
        "micro.svg".into(),
        svg::hbars(
            "Micro-benchmarks: time per operation (median, IQR; log scale)",
            "nanoseconds (log)",
            &groups,
            true,
        ),
    ));
    let _ = writeln!(md, "![micro-benchmarks](bench/micro.svg)\n");
}

fn malloc_mt_section(md: &mut String, r: &Results) {
    if !r.measurements.iter().any(|m| m.workload == "malloc_mt") {
        return;
    }
    let _ = writeln!(md, "## malloc/free from two threads\n");
    let _ = writeln!(
        md,
        "`bench/programs/malloc_mt.c`: every thread runs the `malloc` workload's loop on its own \
         1024-slot ring, all threads at once; the figure is wall time per `malloc` + `free` pair \
         over all threads together (lower is more throughput). The guest has 2 vCPUs for both \
         thread counts; natively the threads run unpinned on the host's 2 CPUs. `2 ÷ 1 thread` is \
         the throughput with 2 threads over that with 1 (×2 would be perfect scaling); `vs native` \
         is native time ÷ the system's time with the same thread count. musl's malloc (mallocng) \
         serialises every call behind one lock, natively too, so two threads contend on it rather \
         than scale. Under TCG the Ferrite figures vary by up to ×2 between runs (a second run of \
         the same build gave 6.79 µs and 3.01 µs): compare within one run.\n"
    );
    let _ = writeln!(
        md,
        "| system | 1 thread | 2 threads | 2 ÷ 1 thread | 1 thread vs native | 2 threads vs native |\n|---|---|---|---|---|---|"
    );
    let n1 = median(r.find("malloc_mt", "malloc_free_1_threads", "native", "", 0));
    let n2 = median(r.find("malloc_mt", "malloc_free_2_threads", "native", "", 0));
    for (s, a, label) in SYSTEMS {
        let m1 = r.find("malloc_mt", "malloc_free_1_threads", s, a, 0);
        let m2 = r.find("malloc_mt", "malloc_free_2_threads", s, a, 0);
        if m1.is_none() && m2.is_none() {
            continue;
        }
        let sc = malloc_scaling(r, s, a)
            .map(|x| format!("×{:.2}", x.0))
            .unwrap_or("—".into());
        let _ = writeln!(
            md,
            "| {label} | {} | {} | {sc} | {} | {} |",
            cell(m1),
            cell(m2),
            ratio(n1, median(m1)),
            ratio(n2, median(m2))
        );
    }
    md.push('\n');
}

fn parallel_section(md: &mut String, r: &Results) {
    if !r.measurements.iter().any(|m| m.workload == "parallel") {
        return;
    }
    let _ = writeln!(md, "## Parallel speedup\n");
    let _ = writeln!(
        md,
        "`bench/programs/parallel.c` (a C copy of `examples/parallel`): one job counts the primes \
         below 1,000,000 by trial division over one thread per CPU, the threads created before the \
         clock starts. The guest gets 1 or 2 vCPUs; natively the job runs with 1 or 2 threads. \
         `vs native` is native time ÷ the system's time with the same thread count (throughput \
         relative to native).\n"
    );
    let _ = writeln!(
        md,
        "| system | 1 CPU | 2 CPUs | speedup | 1 CPU vs native | 2 CPUs vs native |\n|---|---|---|---|---|---|"
    );
    let n1 = median(r.find("parallel", "job_1_threads", "native", "", 1));
    let n2 = median(r.find("parallel", "job_2_threads", "native", "", 2));
    for (s, a, label) in SYSTEMS {
        let m1 = r.find("parallel", "job_1_threads", s, a, 1);
        let m2 = r.find("parallel", "job_2_threads", s, a, 2);
        if m1.is_none() && m2.is_none() {
            continue;
        }
        let sp = speedup(r, s, a)
            .map(|x| format!("×{:.2}", x.0))
            .unwrap_or("—".into());
        let _ = writeln!(
            md,
            "| {label} | {} | {} | {sp} | {} | {} |",
            cell(m1),
            cell(m2),
            ratio(n1, median(m1)),
            ratio(n2, median(m2))
        );
    }
    md.push('\n');
}

const METHOD: &str = r#"## Method

**One command.** `make bench` (= `cargo run -p ferrite-bench --release`) builds the `ferrite`
tool, every program in `bench/programs/` twice with the same compiler and flags
(`ferrite cc --ferrite-target=native|image -O2 -pthread`: a static musl executable and a Ferrite
image), the examples (CMake, as `make examples`), the floor kernel (`bench/floor/`), and fetches
the Linux guest (`apt-get download linux-image-cloud-amd64` and the kernel package it depends on,
into `target/bench/linux/`; the initramfs is a cpio the harness writes: `/dev/console` and the
program's native executable as `/init`). It then runs every workload on every system, writes this
run's JSON to `bench/results/runs/DATE-COMMIT.json`, merges it into `bench/results/latest.json`
(a run of a subset replaces only those workloads) and regenerates this page and its plots.

**Systems.**
- *native*: the static musl executable on the host, unpinned unless the program pins itself.
- *Ferrite*: the image booted with the exact QEMU command line `ferrite run` uses (taken from
  `ferrite run --dry-run`): `-M microvm,x-option-roms=off,rtc=on`, `-cpu host` (KVM) or `-cpu max`
  (TCG), 128 MiB.
- *Linux guest*: Debian's `linux-image-cloud-amd64` bzImage booted by the same QEMU on `-M microvm`
  (through microvm's default qboot firmware, which loads a bzImage; PVH would need the
  uncompressed vmlinux), same vCPUs, memory and `-cpu`, command line
  `console=ttyS0 quiet loglevel=3 panic=-1 pci=off BENCH_POWEROFF=1 -- ARGS`. The program is
  `/init`; with `BENCH_POWEROFF=1` it ends the VM through QEMU's isa-debug-exit port as Ferrite
  does.
- *floor*: `bench/floor/floor.S`, an ELF whose PVH entry writes `BENCH-READY` to COM1 and then to
  isa-debug-exit: QEMU's own start-up and tear-down, booted exactly like Ferrite.

**Measuring.** Every program calibrates its iteration count (doubling until a batch takes a
quarter of a round, then scaling to a round of `--round-ms`), then runs `--rounds` rounds and
prints `BENCH workload=… metric=… unit=ns round=I iters=N value=V` per round; the clock is read only
around whole rounds, because `clock_gettime` is a system call on Ferrite. The figure is the
median over the rounds and the spread ±half their interquartile range. Threads a workload needs
(the futex partner, the mutex, `malloc_mt` and parallel workers) are created before measuring.
Boot figures are medians over `--boot-runs` boots; the floor, Ferrite and Linux boots alternate
run by run so that background load hits all of them alike. Every run has a time limit (120 s; a smoke run
60 s), and a run that fails or times out is recorded with its reason instead of a figure.

**Rerunning one figure.**
```sh
cargo run -p ferrite-bench --release -- futex                 # one workload, everything else kept
cargo run -p ferrite-bench --release -- --accel tcg boot size # only under TCG
cargo run -p ferrite-bench --release -- --smoke               # every path, tiny durations (~1 min)
cargo run -p ferrite-bench --release -- --report              # regenerate this page from the JSON
target/bench/build/futex.native 5 200                         # a program by hand: ROUNDS ROUND_MS
bin/ferrite run --cpus 2 target/bench/build/futex.elf -- 5 200
```
`cargo test -p ferrite-bench` runs a smoke run of two workloads, so the harness cannot rot.

## Caveats

- **KVM here is PVM.** `/dev/kvm` on the development hosts is the PVM hypervisor: a guest's ring-3
  code runs natively but its ring-0 code goes through KVM's instruction emulator (~4 µs per
  instruction). Under KVM every Ferrite figure that involves the kernel — system calls, thread
  switches, futex waits, page faults, boot — measures that emulator, not Ferrite; only pure
  ring-3 work (the parallel job, uncontended user-space locking) is meaningful there. The Debian
  Linux kernel is not PVM-aware either: all of it runs in ring 0, and it does not reach `/init`
  within the probe time (a manual two-minute try printed nothing from the kernel and ended in a
  KVM emulation-failure register dump at a `lock cmpxchg16b`), so there is no Linux-under-KVM
  baseline on these hosts. On hardware virtualization (VMX/SVM) these figures would be entirely different; rerun
  there before quoting KVM numbers.
- **TCG is uniform**: every instruction, ring 0 or 3, is translated, so Ferrite under TCG against
  Linux under TCG compares the kernels' work fairly, but absolute TCG times are not hardware
  times (atomics, TLB and interrupt costs differ; TCG runs vCPUs as host threads).
- **Two cores, shared and noisy.** The host has 2 CPUs, and other jobs may run on it at the same
  time: look at the spreads, and compare systems within one run (the ratios) rather than across
  runs. A 2-vCPU guest on a 2-CPU host competes with QEMU's own I/O thread; native futex and
  mutex figures on a busy host include waiting for a CPU.
- **Native is itself a virtual machine**: the host is a cloud VM, so "native" is that VM's Linux,
  and waking a thread on the other CPU goes through the outer hypervisor (an idle vCPU halts
  there): the native `futex` round trip is hundreds of µs, far above bare-metal Linux's few µs.
- **Parallel speedup needs two idle host CPUs.** With a load average above 2 (see the host
  table) a 2-vCPU guest, or two native threads, cannot get both CPUs, and the speedup collapses
  for every system alike. Rerun `parallel` on a quiet host before quoting it.
- Boot figures include QEMU's process start and tear-down; the floor shows how much of that is
  QEMU's. The Linux guest's time includes qboot loading the bzImage and the initramfs.
- No NIC yet: the boot figures without and with a network device, and the network workloads,
  come with the network issue.
"#;

/// Writes docs/benchmarks.md and docs/bench/*.svg.
pub fn write_docs(r: &Results, docs: &Path) -> Res<()> {
    let (md, svgs) = render(r);
    let dir = docs.join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(docs.join("benchmarks.md"), md).map_err(|e| e.to_string())?;
    for (name, text) in svgs {
        std::fs::write(dir.join(&name), text).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_ns(12.345), "12.3 ns");
        assert_eq!(fmt_ns(1234.0), "1.23 µs");
        assert_eq!(fmt_ns(2.5e8), "250 ms");
        assert_eq!(ratio(Some(1.0), Some(4.0)), "×0.25");
        assert_eq!(ratio(None, Some(4.0)), "—");
    }
}
