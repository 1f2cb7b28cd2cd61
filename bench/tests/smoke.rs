//! The harness cannot rot: a smoke run (tiny durations) of two workloads on every system under
//! TCG, then the report rendered from its results. About 20 s once everything is built.

use ferrite_bench::{Options, launch::Accel, prepare, report, run};

#[test]
fn smoke_run_of_two_workloads() {
    let o = Options {
        workloads: vec!["syscall".into(), "futex".into()],
        accels: vec![Accel::Tcg],
        out: Some(prepare::work_dir().join("smoke-test.json")),
        quiet: true,
        ..Options::smoke()
    };
    let r = run(&o).expect("the smoke run failed");
    for (workload, metric) in [("syscall", "getppid"), ("futex", "round_trip")] {
        for (system, accel) in [("native", ""), ("ferrite", "tcg"), ("linux", "tcg")] {
            let m = r
                .find(workload, metric, system, accel, 0)
                .unwrap_or_else(|| panic!("no {workload} figure for {system} {accel}"));
            assert!(
                m.stats.is_some() && m.error.is_none(),
                "{workload} on {system} {accel}: {:?}",
                m.error
            );
        }
    }
    let (md, svgs) = report::render(&r);
    assert!(md.contains("## Micro-benchmarks"));
    assert!(md.contains("| `futex` |"));
    assert!(svgs.iter().any(|(name, _)| name == "micro.svg"));
}
