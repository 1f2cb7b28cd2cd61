//! The results file: run metadata and a flat list of measurements, so runs of different subsets
//! merge by workload.

use serde::{Deserialize, Serialize};

/// Where and when the numbers were taken.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Meta {
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub date: String,
    pub commit: String,
    /// The work tree had uncommitted changes in what the images or the harness are built from.
    pub dirty: bool,
    pub host: String,
    pub cpu_model: String,
    pub cpus: u32,
    pub memory_mib: u64,
    pub host_kernel: String,
    pub qemu_version: String,
    /// Accelerators measured in this run (`kvm`, `tcg`).
    pub accels: Vec<String>,
    /// What `/dev/kvm` is (e.g. `kvm_pvm` loaded: the PVM hypervisor).
    pub kvm: String,
    /// The Linux guest's kernel package and version.
    pub linux_kernel: String,
    pub smoke: bool,
    /// Workloads this run measured.
    pub workloads: Vec<String>,
    /// Rounds per program run, target time of one round, boots per boot figure.
    pub rounds: u32,
    pub round_ms: f64,
    pub boot_runs: u32,
    pub duration_s: f64,
    /// /proc/loadavg's 1-minute figure when the run started and ended: the host is shared.
    #[serde(default)]
    pub load_start: String,
    #[serde(default)]
    pub load_end: String,
}

/// Median and spread of a set of samples.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    pub n: usize,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub p25: f64,
    pub p75: f64,
}

impl Stats {
    pub fn of(samples: &[f64]) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        let mut v = samples.to_vec();
        v.sort_by(f64::total_cmp);
        let q = |p: f64| {
            let pos = p * (v.len() - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = pos.ceil() as usize;
            v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
        };
        Some(Stats {
            n: v.len(),
            median: q(0.5),
            min: v[0],
            max: v[v.len() - 1],
            p25: q(0.25),
            p75: q(0.75),
        })
    }

    /// Half the interquartile range relative to the median, in percent.
    pub fn spread_pct(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.p75 - self.p25) / 2.0 / self.median.abs() * 100.0
        }
    }
}

/// One figure: a workload's metric on one system, accelerator and CPU count.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Measurement {
    /// `boot`, `size`, `syscall`, … (the name given on the command line).
    pub workload: String,
    /// e.g. `first_output`, `exit`, `to_main`, `stripped_bytes`, `min_mem`, `getppid`.
    pub metric: String,
    /// `ns`, `ms`, `us`, `bytes`, `MiB`.
    pub unit: String,
    /// `native`, `ferrite`, `linux` or `floor`.
    pub system: String,
    /// `kvm` or `tcg`; empty for native runs and sizes.
    pub accel: String,
    pub cpus: u32,
    /// What ran: the program or image (`hello`, `hello-c`, …).
    pub subject: String,
    pub samples: Vec<f64>,
    pub stats: Option<Stats>,
    /// Why there is no figure (did not boot, timed out, skipped).
    pub error: Option<String>,
    /// When it was measured (the date of its run).
    pub taken: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Results {
    pub meta: Meta,
    pub measurements: Vec<Measurement>,
}

impl Results {
    /// The measurement for one (workload, metric, system, accel, cpus), if any.
    pub fn find(
        &self,
        workload: &str,
        metric: &str,
        system: &str,
        accel: &str,
        cpus: u32,
    ) -> Option<&Measurement> {
        self.measurements.iter().find(|m| {
            m.workload == workload
                && m.metric == metric
                && m.system == system
                && m.accel == accel
                && (cpus == 0 || m.cpus == cpus)
        })
    }

    /// Replaces every measurement of the workloads `newer` measured by newer's.
    pub fn merge(mut self, newer: Results) -> Results {
        self.measurements
            .retain(|m| !newer.meta.workloads.contains(&m.workload));
        self.measurements.extend(newer.measurements);
        let mut workloads = self.meta.workloads.clone();
        for w in &newer.meta.workloads {
            if !workloads.contains(w) {
                workloads.push(w.clone());
            }
        }
        let mut meta = newer.meta;
        meta.workloads = workloads;
        Results {
            meta,
            measurements: self.measurements,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_median_and_quartiles() {
        let s = Stats::of(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!(s.median, 3.0);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 5.0);
        assert_eq!(s.p25, 2.0);
        assert_eq!(s.p75, 4.0);
        assert!(Stats::of(&[]).is_none());
        let even = Stats::of(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(even.median, 2.5);
    }

    #[test]
    fn merge_replaces_whole_workloads() {
        let m = |w: &str, v: f64| Measurement {
            workload: w.into(),
            samples: vec![v],
            ..Default::default()
        };
        let old = Results {
            meta: Meta {
                workloads: vec!["boot".into(), "syscall".into()],
                ..Default::default()
            },
            measurements: vec![m("boot", 1.0), m("syscall", 2.0)],
        };
        let new = Results {
            meta: Meta {
                workloads: vec!["syscall".into()],
                ..Default::default()
            },
            measurements: vec![m("syscall", 3.0)],
        };
        let merged = old.merge(new);
        assert_eq!(merged.measurements.len(), 2);
        assert_eq!(merged.meta.workloads, vec!["boot", "syscall"]);
        assert!(
            merged
                .measurements
                .iter()
                .any(|x| x.workload == "syscall" && x.samples == [3.0])
        );
    }
}
