//! Horizontal bar charts as plain SVG (no fonts or libraries needed): one group of bars per
//! figure, a bar per system, whiskers for the interquartile range, linear or logarithmic axis.

use std::fmt::Write as _;

pub struct Bar {
    pub label: String,
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
    pub color: &'static str,
    /// Printed after the bar (e.g. the formatted value).
    pub note: String,
}

pub struct Group {
    pub title: String,
    pub bars: Vec<Bar>,
}

/// Colours per system, shared by every chart.
pub fn color(system: &str, accel: &str) -> &'static str {
    match (system, accel) {
        ("native", _) => "#4d4d4d",
        ("ferrite", "kvm") => "#d95f02",
        ("ferrite", _) => "#fc8d62",
        ("linux", "kvm") => "#1b9e77",
        ("linux", _) => "#66c2a5",
        ("floor", "kvm") => "#7570b3",
        ("floor", _) => "#a6a0e0",
        _ => "#999999",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const W: f64 = 900.0;
const LEFT: f64 = 230.0;
const RIGHT: f64 = 130.0;
const BAR: f64 = 16.0;
const GAP: f64 = 4.0;
const HEAD: f64 = 22.0;

/// Renders the chart. `log`: logarithmic axis (every value must be > 0).
pub fn hbars(title: &str, axis_label: &str, groups: &[Group], log: bool) -> String {
    let vals: Vec<f64> = groups
        .iter()
        .flat_map(|g| g.bars.iter())
        .flat_map(|b| [b.value, b.hi, b.lo])
        .filter(|v| v.is_finite() && (*v > 0.0 || !log))
        .collect();
    let max = vals.iter().cloned().fold(f64::MIN, f64::max).max(1e-9);
    let min = vals.iter().cloned().fold(f64::MAX, f64::min);
    let (a0, a1) = if log {
        let lo = min.max(1e-9).log10().floor();
        let hi = max.log10().ceil().max(lo + 1.0);
        (lo, hi)
    } else {
        (0.0, nice_ceiling(max))
    };
    let plot_w = W - LEFT - RIGHT;
    let x = |v: f64| -> f64 {
        let f = if log {
            (v.max(10f64.powf(a0)).log10() - a0) / (a1 - a0)
        } else {
            v / a1
        };
        LEFT + f.clamp(0.0, 1.0) * plot_w
    };
    let mut body = String::new();
    let mut y = 40.0;
    for g in groups {
        let _ = writeln!(
            body,
            r#"<text x="8" y="{:.1}" font-weight="bold">{}</text>"#,
            y + 14.0,
            esc(&g.title)
        );
        y += HEAD;
        for b in &g.bars {
            let _ = writeln!(
                body,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                LEFT - 6.0,
                y + BAR - 4.0,
                esc(&b.label)
            );
            if b.value.is_finite() && (b.value > 0.0 || !log) {
                let x1 = x(b.value);
                let _ = writeln!(
                    body,
                    r#"<rect x="{LEFT:.1}" y="{y:.1}" width="{:.1}" height="{BAR:.1}" fill="{}"/>"#,
                    (x1 - LEFT).max(0.5),
                    b.color
                );
                if b.hi > b.lo {
                    let (l, h) = (x(b.lo), x(b.hi));
                    let my = y + BAR / 2.0;
                    let _ = writeln!(
                        body,
                        r#"<path d="M{l:.1} {my:.1}H{h:.1}M{l:.1} {:.1}V{:.1}M{h:.1} {:.1}V{:.1}" stroke="black" stroke-width="1" fill="none"/>"#,
                        my - 4.0,
                        my + 4.0,
                        my - 4.0,
                        my + 4.0
                    );
                }
                let _ = writeln!(
                    body,
                    r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
                    x(b.value.max(b.hi)) + 5.0,
                    y + BAR - 4.0,
                    esc(&b.note)
                );
            } else {
                let _ = writeln!(
                    body,
                    r##"<text x="{:.1}" y="{:.1}" fill="#888">{}</text>"##,
                    LEFT + 4.0,
                    y + BAR - 4.0,
                    esc(&b.note)
                );
            }
            y += BAR + GAP;
        }
        y += 6.0;
    }
    // Axis and grid.
    let top = 34.0;
    let bottom = y;
    let mut axis = String::new();
    let ticks: Vec<f64> = if log {
        (a0 as i32..=a1 as i32).map(|e| 10f64.powi(e)).collect()
    } else {
        (0..=5).map(|i| a1 * i as f64 / 5.0).collect()
    };
    for t in ticks {
        let tx = x(t);
        let _ = writeln!(
            axis,
            r##"<line x1="{tx:.1}" y1="{top:.1}" x2="{tx:.1}" y2="{bottom:.1}" stroke="#ddd"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            bottom + 14.0,
            tick_label(t)
        );
    }
    let h = bottom + 40.0;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h:.0}" viewBox="0 0 {W} {h:.0}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="8" y="20" font-size="15" font-weight="bold">{}</text>
{axis}{body}<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>
</svg>
"##,
        esc(title),
        LEFT + plot_w / 2.0,
        bottom + 32.0,
        esc(axis_label)
    )
}

fn nice_ceiling(v: f64) -> f64 {
    let e = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * e >= v {
            return m * e;
        }
    }
    10.0 * e
}

fn tick_label(t: f64) -> String {
    if t == 0.0 {
        "0".into()
    } else if t >= 1e9 {
        format!("{}G", t / 1e9)
    } else if t >= 1e6 {
        format!("{}M", t / 1e6)
    } else if t >= 1e3 {
        format!("{}k", t / 1e3)
    } else if t >= 1.0 {
        format!("{t}")
    } else {
        format!("{t:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_both_scales() {
        let g = vec![Group {
            title: "g <1>".into(),
            bars: vec![
                Bar {
                    label: "a".into(),
                    value: 10.0,
                    lo: 8.0,
                    hi: 12.0,
                    color: "#000",
                    note: "10".into(),
                },
                Bar {
                    label: "b".into(),
                    value: f64::NAN,
                    lo: 0.0,
                    hi: 0.0,
                    color: "#000",
                    note: "did not run".into(),
                },
            ],
        }];
        for log in [false, true] {
            let s = hbars("t", "ns", &g, log);
            assert!(s.starts_with("<svg"));
            assert!(s.contains("g &lt;1&gt;"));
            assert!(s.contains("did not run"));
        }
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(180.0), 200.0);
    }
}
