//! Ferrite's benchmark harness.
//!
//! One run builds what it needs (the `ferrite` tool, every program in `bench/programs/` both as
//! a native static musl executable and as a Ferrite image, the examples, the floor kernel, the
//! Linux guest from Debian's packages), measures the chosen workloads on every system — native,
//! Ferrite, the Linux guest, the floor — under each accelerator, writes the results as JSON
//! (`bench/results/`) and regenerates `docs/benchmarks.md` and its plots from them.
//! `docs/benchmarks.md` describes the method.

pub mod launch;
pub mod model;
pub mod prepare;
pub mod report;
pub mod svg;

use launch::{Accel, Guest, Outcome};
use model::{Measurement, Meta, Results, Stats};
use prepare::{Built, Res};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Every workload, in run order: `boot` and `size` first, then the micro-benchmarks.
pub const WORKLOADS: &[&str] = &[
    "boot",
    "size",
    "syscall",
    "thread",
    "futex",
    "ctxswitch",
    "mutex",
    "malloc",
    "malloc_mt",
    "mmap",
    "pagefault",
    "fileio",
    "openclose",
    "pipe",
    "eventfd",
    "epoll",
    "parallel",
];

/// Micro-benchmarks: workload (= program) and the vCPUs its guest gets.
pub const MICRO: &[(&str, u32)] = &[
    ("syscall", 1),
    ("thread", 1),
    ("futex", 2),
    ("ctxswitch", 2),
    ("mutex", 2),
    ("malloc", 1),
    ("mmap", 1),
    ("pagefault", 1),
    ("fileio", 1),
    ("openclose", 1),
    ("pipe", 2),
    ("eventfd", 2),
    ("epoll", 1),
];

/// vCPUs of the guest in `malloc_mt` (1 and 2 threads both run on it).
pub const MALLOC_MT_CPUS: u32 = 2;

/// Memory of every guest, as `ferrite run`'s default.
pub const GUEST_MEM_MIB: u32 = 128;

#[derive(Debug, Clone)]
pub struct Options {
    pub smoke: bool,
    pub workloads: Vec<String>,
    pub accels: Vec<Accel>,
    pub linux: bool,
    /// Rounds per program run and the target duration of one round.
    pub rounds: u32,
    pub round_ms: f64,
    /// Boots per boot figure.
    pub boot_runs: u32,
    /// How long one Linux boot under KVM may take before the Linux guest is declared unusable
    /// under KVM.
    pub linux_kvm_probe: Duration,
    /// Where this run's JSON goes; None: the default (see [`run`]).
    pub out: Option<PathBuf>,
    /// Merge into bench/results/latest.json and regenerate docs/benchmarks.md.
    pub docs: bool,
    pub quiet: bool,
}

impl Options {
    pub fn full() -> Options {
        Options {
            smoke: false,
            workloads: WORKLOADS.iter().map(|s| s.to_string()).collect(),
            accels: default_accels(),
            linux: true,
            rounds: 5,
            round_ms: 200.0,
            boot_runs: 10,
            linux_kvm_probe: Duration::from_secs(20),
            out: None,
            docs: true,
            quiet: false,
        }
    }

    /// Tiny durations: checks that every path works, not the figures.
    pub fn smoke() -> Options {
        Options {
            smoke: true,
            rounds: 2,
            round_ms: 5.0,
            boot_runs: 2,
            linux_kvm_probe: Duration::from_secs(5),
            docs: false,
            ..Options::full()
        }
    }

    fn run_limit(&self) -> Duration {
        Duration::from_secs(if self.smoke { 60 } else { 120 })
    }
}

/// KVM and TCG when /dev/kvm is usable, else TCG.
pub fn default_accels() -> Vec<Accel> {
    if prepare::kvm_usable() {
        vec![Accel::Kvm, Accel::Tcg]
    } else {
        vec![Accel::Tcg]
    }
}

pub const USAGE: &str = "\
ferrite-bench: Ferrite beside native, a Linux guest and an empty-kernel floor, in one run

Usage: cargo run -p ferrite-bench --release -- [OPTIONS] [WORKLOAD…]      (or: make bench)

Workloads (default: all): boot size syscall thread futex ctxswitch mutex malloc malloc_mt mmap
                          pagefault fileio openclose pipe eventfd epoll parallel

Options:
  --smoke            tiny durations (2 rounds of 5 ms, 2 boots); results to target/bench/smoke.json,
                     docs untouched
  --accel LIST       kvm,tcg (default: both when /dev/kvm is usable, else tcg)
  --no-linux         skip the Linux guest
  --rounds N         rounds per program run (default 5)
  --round-ms MS      target duration of one round (default 200)
  --boot-runs N      boots per boot figure (default 10)
  --out FILE         write this run's JSON to FILE (and leave docs alone unless --docs)
  --docs / --no-docs merge into bench/results/latest.json and regenerate docs/benchmarks.md
                     and docs/bench/*.svg (default: yes unless --smoke or --out)
  --report           only regenerate the docs from bench/results/latest.json
  -q, --quiet        less progress output
";

pub enum Command {
    Run(Options),
    Report,
    Help,
}

pub fn parse_args(args: &[String]) -> Res<Command> {
    let mut o = if args.iter().any(|a| a == "--smoke") {
        Options::smoke()
    } else {
        Options::full()
    };
    let mut workloads = Vec::new();
    let mut docs = None;
    let mut it = args.iter();
    let num = |v: Option<&String>, what: &str| -> Res<f64> {
        v.and_then(|s| s.parse::<f64>().ok())
            .filter(|x| *x > 0.0)
            .ok_or_else(|| format!("{what} needs a positive number"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--smoke" => {}
            "-h" | "--help" => return Ok(Command::Help),
            "--report" => return Ok(Command::Report),
            "--no-linux" => o.linux = false,
            "--docs" => docs = Some(true),
            "--no-docs" => docs = Some(false),
            "-q" | "--quiet" => o.quiet = true,
            "--rounds" => o.rounds = num(it.next(), "--rounds")? as u32,
            "--round-ms" => o.round_ms = num(it.next(), "--round-ms")?,
            "--boot-runs" => o.boot_runs = num(it.next(), "--boot-runs")? as u32,
            "--out" => {
                o.out = Some(PathBuf::from(it.next().ok_or("--out needs a file")?));
            }
            "--accel" => {
                let list = it.next().ok_or("--accel needs kvm, tcg or kvm,tcg")?;
                o.accels = list
                    .split(',')
                    .map(|s| match s {
                        "kvm" => Ok(Accel::Kvm),
                        "tcg" => Ok(Accel::Tcg),
                        _ => Err(format!("unknown accelerator {s}")),
                    })
                    .collect::<Res<_>>()?;
            }
            w if WORKLOADS.contains(&w) => workloads.push(w.to_string()),
            w => return Err(format!("unknown option or workload: {w}\n\n{USAGE}")),
        }
    }
    if !workloads.is_empty() {
        o.workloads = WORKLOADS
            .iter()
            .filter(|w| workloads.iter().any(|x| x == *w))
            .map(|s| s.to_string())
            .collect();
    }
    o.docs = docs.unwrap_or(!o.smoke && o.out.is_none());
    Ok(Command::Run(o))
}

/// bench/results/latest.json: every workload's latest figures.
pub fn latest_path() -> PathBuf {
    prepare::repo_root().join("bench/results/latest.json")
}

pub fn read_results(path: &Path) -> Res<Results> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn write_results(path: &Path, r: &Results) -> Res<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(r).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))
}

/// Regenerates docs/benchmarks.md and docs/bench/*.svg from latest.json.
pub fn regenerate_docs() -> Res<()> {
    let r = read_results(&latest_path())?;
    report::write_docs(&r, &prepare::repo_root().join("docs"))
}

// ------------------------------------------------------------------------------------------------
// A run

struct Ctx<'a> {
    o: &'a Options,
    tool: PathBuf,
    built: HashMap<String, Built>,
    linux: Option<prepare::LinuxKernel>,
    /// None: not probed yet.
    linux_kvm_ok: Option<bool>,
    out: Vec<Measurement>,
    date: String,
    status: PathBuf,
}

impl Ctx<'_> {
    fn log(&self, msg: &str) {
        if !self.o.quiet {
            eprintln!("bench: {msg}");
        }
    }

    fn program(&mut self, name: &str) -> Res<Built> {
        if let Some(b) = self.built.get(name) {
            return Ok(b.clone());
        }
        let b = prepare::build_program(&self.tool, name)?;
        self.built.insert(name.to_string(), b.clone());
        Ok(b)
    }

    fn guest(&self, accel: Accel, cpus: u32) -> Guest {
        Guest {
            accel,
            cpus,
            mem_mib: GUEST_MEM_MIB,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        workload: &str,
        metric: &str,
        unit: &str,
        system: &str,
        accel: &str,
        cpus: u32,
        subject: &str,
        samples: Vec<f64>,
        error: Option<String>,
    ) {
        let stats = Stats::of(&samples);
        let shown = match (&stats, &error) {
            (Some(s), _) => format!("{:.3} {unit} ±{:.0}% (n={})", s.median, s.spread_pct(), s.n),
            (None, Some(e)) => format!("— ({e})"),
            (None, None) => "—".to_string(),
        };
        self.log(&format!(
            "{workload} {metric} {system} {accel} {cpus} CPU: {shown}"
        ));
        self.out.push(Measurement {
            workload: workload.into(),
            metric: metric.into(),
            unit: unit.into(),
            system: system.into(),
            accel: accel.into(),
            cpus,
            subject: subject.into(),
            samples,
            stats,
            error,
            taken: self.date.clone(),
        });
    }

    fn linux_kernel(&mut self) -> Res<prepare::LinuxKernel> {
        if let Some(k) = &self.linux {
            return Ok(k.clone());
        }
        self.log(
            "the Linux guest kernel (apt-get download linux-image-cloud-amd64 when not cached)",
        );
        let k = prepare::linux_kernel()?;
        self.linux = Some(k.clone());
        Ok(k)
    }

    /// Whether the Linux guest runs under `accel`: TCG always; KVM if one boot reaches /init
    /// within the probe time (recorded as a boot measurement either way).
    fn linux_usable(&mut self, accel: Accel) -> bool {
        if !self.o.linux {
            return false;
        }
        if self.linux_kernel().is_err() {
            return false;
        }
        if accel == Accel::Tcg {
            return true;
        }
        if let Some(ok) = self.linux_kvm_ok {
            return ok;
        }
        let ok = match self.linux_outcome("hello", accel, 1, &[], self.o.linux_kvm_probe) {
            Ok(o) if o.ready.is_some() => true,
            Ok(o) => {
                let console = summarize_console(&o.output);
                let mut msg = format!(
                    "no /init output within {} s under KVM (probe)",
                    self.o.linux_kvm_probe.as_secs()
                );
                if console != "(nothing)" {
                    msg.push_str(&format!("; console: {console}"));
                }
                self.record(
                    "boot",
                    "first_output",
                    "ms",
                    "linux",
                    "kvm",
                    1,
                    "hello",
                    vec![],
                    Some(msg),
                );
                false
            }
            Err(e) => {
                self.log(&format!("Linux under KVM: {e}"));
                false
            }
        };
        self.linux_kvm_ok = Some(ok);
        ok
    }

    fn linux_outcome(
        &mut self,
        program: &str,
        accel: Accel,
        cpus: u32,
        args: &[String],
        limit: Duration,
    ) -> Res<Outcome> {
        let k = self.linux_kernel()?;
        let b = self.program(program)?;
        let initrd = prepare::initramfs(program, &b.native)?;
        let g = self.guest(accel, cpus);
        launch::spawn_timed(launch::linux_command(&k.vmlinuz, &initrd, &g, args), limit)
    }

    fn ferrite_outcome(
        &mut self,
        program: &str,
        accel: Accel,
        cpus: u32,
        extra: &[&str],
        args: &[String],
        limit: Duration,
    ) -> Res<Outcome> {
        let b = self.program(program)?;
        let g = self.guest(accel, cpus);
        let cmd = launch::ferrite_command(&self.tool, &b.image, &g, extra, args, &self.status)?;
        launch::spawn_timed(cmd, limit)
    }
}

fn summarize_console(out: &str) -> String {
    let t: String = out
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains('='))
        .take(3)
        .collect::<Vec<_>>()
        .join(" | ");
    let kvm_err = out
        .lines()
        .find(|l| l.contains("KVM internal error") || l.contains("emulation failure"));
    match kvm_err {
        Some(e) => format!("{t} | {}", e.trim()),
        None if t.is_empty() => "(nothing)".into(),
        None => t,
    }
}

/// Runs the chosen workloads; writes the results and (with `docs`) the documentation.
/// Returns the results of this run.
pub fn run(o: &Options) -> Res<Results> {
    let started = Instant::now();
    let mut meta = machine_meta_for(o);
    let tool = prepare::ferrite_tool()?;
    let mut cx = Ctx {
        o,
        tool,
        built: HashMap::new(),
        linux: None,
        linux_kvm_ok: None,
        out: Vec::new(),
        date: meta.date.clone(),
        status: launch::status_file(),
    };
    std::fs::create_dir_all(prepare::work_dir()).map_err(|e| e.to_string())?;
    cx.log(&format!(
        "workloads {:?}, accelerators {:?}, {} rounds of {} ms, {} boots",
        o.workloads, o.accels, o.rounds, o.round_ms, o.boot_runs
    ));
    for w in &o.workloads {
        let t = Instant::now();
        match w.as_str() {
            "boot" => boot(&mut cx)?,
            "size" => size(&mut cx)?,
            "parallel" => parallel(&mut cx)?,
            "malloc_mt" => malloc_mt(&mut cx)?,
            name => {
                let cpus = MICRO
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, c)| *c)
                    .ok_or_else(|| format!("unknown workload {name}"))?;
                micro(&mut cx, name, cpus)?;
            }
        }
        cx.log(&format!("{w} took {:.1} s", t.elapsed().as_secs_f64()));
    }
    let _ = std::fs::remove_file(&cx.status);
    if let Some(k) = &cx.linux {
        meta.linux_kernel = k.package.clone();
    }
    meta.duration_s = started.elapsed().as_secs_f64();
    meta.load_end = prepare::load_average();
    let results = Results {
        meta,
        measurements: std::mem::take(&mut cx.out),
    };
    let out = match &o.out {
        Some(p) => p.clone(),
        None if o.smoke => prepare::work_dir().join("smoke.json"),
        None => prepare::repo_root().join(format!(
            "bench/results/runs/{}-{}.json",
            results.meta.date.replace(':', ""),
            results.meta.commit
        )),
    };
    write_results(&out, &results)?;
    cx.log(&format!("results: {}", out.display()));
    if o.docs {
        let latest = latest_path();
        let merged = match read_results(&latest) {
            Ok(old) => old.merge(results.clone()),
            Err(_) => results.clone(),
        };
        write_results(&latest, &merged)?;
        report::write_docs(&merged, &prepare::repo_root().join("docs"))?;
        cx.log("regenerated docs/benchmarks.md and docs/bench/*.svg");
    }
    cx.log(&format!("done in {:.1} s", results.meta.duration_s));
    Ok(results)
}

fn machine_meta_for(o: &Options) -> Meta {
    let mut m = prepare::machine_meta();
    m.accels = o.accels.iter().map(|a| a.name().to_string()).collect();
    m.smoke = o.smoke;
    m.workloads = o.workloads.clone();
    m.rounds = o.rounds;
    m.round_ms = o.round_ms;
    m.boot_runs = o.boot_runs;
    m
}

// ------------------------------------------------------------------------------------------------
// Workloads

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Boot: floor, Ferrite and the Linux guest booting `hello`, interleaved run by run, with 1 and
/// 2 vCPUs; then Ferrite's own boot log (first instruction to main).
fn boot(cx: &mut Ctx) -> Res<()> {
    let floor = prepare::build_floor()?;
    cx.program("hello")?;
    let runs = cx.o.boot_runs;
    let limit = cx.o.run_limit();
    for accel in cx.o.accels.clone() {
        let linux = cx.linux_usable(accel);
        for cpus in [1, 2] {
            let g = cx.guest(accel, cpus);
            let systems: Vec<&str> = if linux {
                vec!["floor", "ferrite", "linux"]
            } else {
                vec!["floor", "ferrite"]
            };
            let mut first: HashMap<&str, Vec<f64>> = HashMap::new();
            let mut exit: HashMap<&str, Vec<f64>> = HashMap::new();
            let mut errors: HashMap<&str, String> = HashMap::new();
            for _ in 0..runs {
                for &s in &systems {
                    let o = match s {
                        "floor" => launch::spawn_timed(launch::floor_command(&floor, &g), limit),
                        "ferrite" => cx.ferrite_outcome("hello", accel, cpus, &[], &[], limit),
                        _ => cx.linux_outcome("hello", accel, cpus, &[], limit),
                    };
                    match o {
                        Ok(o) => match (o.ready, o.exit) {
                            (Some(r), Some(e)) => {
                                first.entry(s).or_default().push(ms(r));
                                exit.entry(s).or_default().push(ms(e));
                            }
                            _ => {
                                errors.insert(
                                    s,
                                    format!(
                                        "no output or no exit: {}",
                                        summarize_console(&o.output)
                                    ),
                                );
                            }
                        },
                        Err(e) => {
                            errors.insert(s, e);
                        }
                    }
                }
            }
            for &s in &systems {
                let subject = if s == "floor" { "floor" } else { "hello" };
                for (metric, map) in [("first_output", &mut first), ("exit", &mut exit)] {
                    let samples = map.remove(s).unwrap_or_default();
                    let err = if samples.is_empty() {
                        errors.get(s).cloned()
                    } else {
                        None
                    };
                    cx.record(
                        "boot",
                        metric,
                        "ms",
                        s,
                        accel.name(),
                        cpus,
                        subject,
                        samples,
                        err,
                    );
                }
            }
            // Guest-internal: PVH entry to main, from the kernel's boot log.
            let mut to_main = Vec::new();
            let mut err = None;
            for _ in 0..runs {
                match cx.ferrite_outcome("hello", accel, cpus, &["--boot-log"], &[], limit) {
                    Ok(o) => match parse_to_main(&o.output) {
                        Some(us) => to_main.push(us),
                        None => {
                            err = Some(format!("no boot line: {}", summarize_console(&o.output)))
                        }
                    },
                    Err(e) => err = Some(e),
                }
            }
            let err = if to_main.is_empty() { err } else { None };
            cx.record(
                "boot",
                "to_main",
                "us",
                "ferrite",
                accel.name(),
                cpus,
                "hello",
                to_main,
                err,
            );
        }
    }
    Ok(())
}

/// `ferrite: boot: N us from the first instruction to main`
pub fn parse_to_main(out: &str) -> Option<f64> {
    out.lines().find_map(|l| {
        let rest = l.split("boot: ").nth(1)?;
        let (n, tail) = rest.split_once(" us from the first instruction to main")?;
        let _ = tail;
        n.trim().parse::<f64>().ok()
    })
}

/// Image sizes (full and stripped) of the examples and the smallest `--mem` that boots each;
/// the Linux guest's kernel + initramfs beside them.
fn size(cx: &mut Ctx) -> Res<()> {
    let build = prepare::build_examples()?;
    let accel = if cx.o.accels.contains(&Accel::Tcg) {
        Accel::Tcg
    } else {
        cx.o.accels[0]
    };
    for (name, args) in [("hello-c", vec![]), ("hello-cpp", vec!["21".to_string()])] {
        let image = build.join(name).join(format!("{name}.elf"));
        let (full, stripped) = prepare::stripped_size(&image)?;
        cx.record(
            "size",
            "image_bytes",
            "bytes",
            "ferrite",
            "",
            1,
            name,
            vec![full as f64],
            None,
        );
        cx.record(
            "size",
            "stripped_bytes",
            "bytes",
            "ferrite",
            "",
            1,
            name,
            vec![stripped as f64],
            None,
        );
        let (min, err) = min_mem(cx, &image, accel, &args)?;
        cx.record(
            "size",
            "min_mem",
            "MiB",
            "ferrite",
            accel.name(),
            1,
            name,
            min.map(|m| vec![m as f64]).unwrap_or_default(),
            err,
        );
    }
    if cx.o.linux
        && let Ok(k) = cx.linux_kernel()
    {
        let b = cx.program("hello")?;
        let initrd = prepare::initramfs("hello", &b.native)?;
        let kernel = std::fs::metadata(&k.vmlinuz).map(|m| m.len()).unwrap_or(0);
        let ird = std::fs::metadata(&initrd).map(|m| m.len()).unwrap_or(0);
        cx.record(
            "size",
            "kernel_bytes",
            "bytes",
            "linux",
            "",
            1,
            "vmlinuz",
            vec![kernel as f64],
            None,
        );
        cx.record(
            "size",
            "initramfs_bytes",
            "bytes",
            "linux",
            "",
            1,
            "hello",
            vec![ird as f64],
            None,
        );
    }
    Ok(())
}

/// Binary search (1 MiB steps) for the smallest `--mem` with which the image prints what it
/// prints with 128 MiB and exits with the same status.
fn min_mem(
    cx: &mut Ctx,
    image: &Path,
    accel: Accel,
    args: &[String],
) -> Res<(Option<u32>, Option<String>)> {
    let limit = Duration::from_secs(30);
    let boot = |mem: u32| -> Res<Option<(String, bool)>> {
        let g = Guest {
            accel,
            cpus: 1,
            mem_mib: mem,
        };
        let cmd = launch::ferrite_command(&cx.tool, image, &g, &[], args, &cx.status)?;
        let o = launch::spawn_timed(cmd, limit)?;
        let status = std::fs::read_to_string(&cx.status).unwrap_or_default();
        let _ = std::fs::remove_file(&cx.status);
        let out: String = o
            .output
            .lines()
            .filter(|l| !l.starts_with("[stderr]"))
            .collect::<Vec<_>>()
            .join("\n");
        Ok(o.exit.map(|_| (format!("{}\n{out}", status.trim()), true)))
    };
    let Some((reference, _)) = boot(GUEST_MEM_MIB)? else {
        return Ok((None, Some("does not boot with 128 MiB".into())));
    };
    if !reference.starts_with("exit") {
        return Ok((
            None,
            Some(format!("no exit status with 128 MiB: {reference}")),
        ));
    }
    let (mut lo, mut hi) = (0u32, GUEST_MEM_MIB); // lo fails (or untested 0), hi works
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        let ok = matches!(boot(mid)?, Some((r, _)) if r == reference);
        if ok {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok((Some(hi), None))
}

fn round_args(o: &Options) -> Vec<String> {
    vec![o.rounds.to_string(), format!("{}", o.round_ms)]
}

/// Runs one program natively, on Ferrite under each accelerator and on the Linux guest, and
/// records every metric it printed.
fn run_everywhere(
    cx: &mut Ctx,
    workload: &str,
    guest_cpus: u32,
    native_args: &[String],
    guest_args: &[String],
    native_cpus: u32,
) -> Res<()> {
    let limit = cx.o.run_limit();
    let b = cx.program(workload)?;
    let o = launch::spawn_timed(launch::native_command(&b.native, native_args), limit);
    record_outcome(cx, workload, "native", "", native_cpus, o);
    for accel in cx.o.accels.clone() {
        let o = cx.ferrite_outcome(workload, accel, guest_cpus, &[], guest_args, limit);
        record_outcome(cx, workload, "ferrite", accel.name(), guest_cpus, o);
        if cx.linux_usable(accel) {
            let o = cx.linux_outcome(workload, accel, guest_cpus, guest_args, limit);
            record_outcome(cx, workload, "linux", accel.name(), guest_cpus, o);
        }
    }
    Ok(())
}

fn record_outcome(
    cx: &mut Ctx,
    workload: &str,
    system: &str,
    accel: &str,
    cpus: u32,
    o: Res<Outcome>,
) {
    match o {
        Ok(o) => {
            let lines = o.bench_lines();
            let problem = o.problem();
            let mut metrics: Vec<(String, String)> = Vec::new();
            for (w, m, u, _) in &lines {
                if w == workload && !metrics.iter().any(|(x, _)| x == m) {
                    metrics.push((m.clone(), u.clone()));
                }
            }
            if metrics.is_empty() {
                cx.record(
                    workload,
                    "-",
                    "ns",
                    system,
                    accel,
                    cpus,
                    workload,
                    vec![],
                    Some(problem.clone().unwrap_or_else(|| "no result line".into())),
                );
            }
            for (m, u) in metrics {
                let samples: Vec<f64> = lines
                    .iter()
                    .filter(|(w, mm, _, _)| w == workload && *mm == m)
                    .map(|l| l.3)
                    .collect();
                cx.record(
                    workload,
                    &m,
                    &u,
                    system,
                    accel,
                    cpus,
                    workload,
                    samples,
                    problem.clone(),
                );
            }
        }
        Err(e) => cx.record(
            workload,
            "-",
            "ns",
            system,
            accel,
            cpus,
            workload,
            vec![],
            Some(e),
        ),
    }
}

fn micro(cx: &mut Ctx, name: &str, cpus: u32) -> Res<()> {
    let args = round_args(cx.o);
    let host = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1);
    run_everywhere(cx, name, cpus, &args, &args, host)
}

/// The parallel job with 1 and 2 CPUs: the guest gets that many vCPUs and one thread per CPU;
/// natively, that many threads.
fn parallel(cx: &mut Ctx) -> Res<()> {
    for cpus in [1u32, 2] {
        let mut native = round_args(cx.o);
        native.push(cpus.to_string());
        let mut guest = round_args(cx.o);
        guest.push("0".into());
        run_everywhere(cx, "parallel", cpus, &native, &guest, cpus)?;
    }
    Ok(())
}

/// malloc/free throughput with 1 and 2 threads, the guest on 2 vCPUs both times; natively, that
/// many threads.
fn malloc_mt(cx: &mut Ctx) -> Res<()> {
    for threads in [1u32, 2] {
        let mut args = round_args(cx.o);
        args.push(threads.to_string());
        run_everywhere(cx, "malloc_mt", MALLOC_MT_CPUS, &args, &args, threads)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_main_line() {
        let out = "ferrite: boot: apic 1 us\nferrite: boot: 118083 us from the first instruction to main (117149 us in the kernel, 934 us in libc start-up)\n";
        assert_eq!(parse_to_main(out), Some(118083.0));
        assert_eq!(parse_to_main("nothing"), None);
    }

    #[test]
    fn args_select_workloads_in_order() {
        let a: Vec<String> = ["--smoke", "futex", "syscall", "--accel", "tcg"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let Command::Run(o) = parse_args(&a).unwrap() else {
            panic!("not a run")
        };
        assert!(o.smoke);
        assert!(!o.docs);
        assert_eq!(o.workloads, ["syscall", "futex"]);
        assert_eq!(o.accels, [Accel::Tcg]);
        assert!(parse_args(&["bogus".to_string()]).is_err());
    }
}
