//! What `timeshare bench` prints and writes: the table (both systems and their ratio
//! in each mode, the goals, what is missing and why) and the JSON of every figure.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::guest::RunResult;
use super::rows::{format_value, Goal, Mode, Row, System};
use crate::linux;

/// The whole report: what ran where, and each machine's figures.
pub struct Report {
    pub date: String,
    pub qemu: String,
    pub linux: Result<linux::Kernel, String>,
    pub scale: f64,
    pub modes: Vec<Mode>,
    pub rows: Vec<&'static Row>,
    /// By (mode, system).
    pub runs: BTreeMap<(&'static str, &'static str), RunResult>,
    /// The whole command's wall time so far.
    pub elapsed: Duration,
}

impl Report {
    fn run(&self, mode: Mode, system: System) -> Option<&RunResult> {
        self.runs.get(&(mode.name(), system.name()))
    }

    fn figure(&self, mode: Mode, system: System, row: &Row) -> Option<Result<f64, String>> {
        self.run(mode, system).map(|r| r.get(row.name))
    }

    fn ratio(&self, mode: Mode, row: &Row) -> Option<f64> {
        let ours = self.figure(mode, System::Timeshare, row)?.ok()?;
        let theirs = self.figure(mode, System::Linux, row)?.ok()?;
        (theirs > 0.0).then(|| ours / theirs)
    }

    fn goal_met(&self, row: &Row) -> Option<bool> {
        let goal = row.goal?;
        let mode = if matches!(goal, Goal::AtLeastInTcg(_)) { Mode::Tcg } else { Mode::Icount };
        if !self.modes.contains(&mode) {
            return None;
        }
        let ours = self.figure(mode, System::Timeshare, row).and_then(|r| r.ok());
        goal.met(ours, self.ratio(mode, row))
    }

    /// Every selected row has a timeshare figure in every mode.
    pub fn timeshare_complete(&self) -> bool {
        self.modes.iter().all(|&mode| {
            self.rows
                .iter()
                .all(|row| matches!(self.figure(mode, System::Timeshare, row), Some(Ok(v)) if v.is_finite()))
        })
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("timeshare bench, {} (scale {})\n", self.date, self.scale));
        out.push_str(&format!("QEMU: {}\n", self.qemu));
        match &self.linux {
            Ok(kernel) => out.push_str(&format!("Linux: {}\n", kernel.describe())),
            Err(reason) => out.push_str(&format!("Linux: not run ({reason})\n")),
        }
        for mode in &self.modes {
            out.push_str(&format!("{}: {}\n", mode.name(), mode.describe()));
        }
        out.push('\n');

        let mut header = vec!["figure".to_string()];
        for &mode in &self.modes {
            let m = mode.name();
            header.push(format!("{m} timeshare"));
            header.push(format!("{m} Linux"));
            header.push(format!("{m} ratio"));
            if mode == Mode::Icount {
                header.push("goal".to_string());
            }
        }
        let mut lines = vec![header];
        let mut notes = Vec::new();
        for row in &self.rows {
            let mut cells = vec![row.name.to_string()];
            for &mode in &self.modes {
                for system in [System::Timeshare, System::Linux] {
                    cells.push(match self.figure(mode, system, row) {
                        None => "-".to_string(),
                        Some(Ok(v)) => format_value(v, row.unit),
                        Some(Err(reason)) => {
                            notes.push(format!("{} on {} ({}): {reason}", row.name, system.name(), mode.name()));
                            "n/a".to_string()
                        }
                    });
                }
                cells.push(match self.ratio(mode, row) {
                    Some(r) => format_ratio(r),
                    None => "-".to_string(),
                });
                if mode == Mode::Icount {
                    cells.push(match (row.goal, self.goal_met(row)) {
                        (None, _) => String::new(),
                        (Some(goal), Some(true)) => format!("{} met", goal.describe()),
                        (Some(goal), Some(false)) => format!("{} MISSED", goal.describe()),
                        (Some(goal), None) => format!("{} ?", goal.describe()),
                    });
                }
            }
            lines.push(cells);
        }
        let columns = lines[0].len();
        let widths: Vec<usize> =
            (0..columns).map(|c| lines.iter().map(|l| l[c].chars().count()).max().unwrap_or(0)).collect();
        for (i, line) in lines.iter().enumerate() {
            let mut text = String::new();
            for (c, cell) in line.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                if c == 0 || lines[0][c] == "goal" {
                    text.push_str(cell);
                    text.push_str(&" ".repeat(pad));
                } else {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(cell);
                }
                text.push_str("  ");
            }
            out.push_str(text.trim_end());
            out.push('\n');
            if i == 0 {
                out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (columns - 1)));
                out.push('\n');
            }
        }
        out.push_str("\nratio = timeshare / Linux (lower is better for every row but timer-tick-rate and the smp-scaling rows); goals are judged on icount (the smp-scaling rows' on tcg).\n");
        let mut failures: Vec<String> = Vec::new();
        for ((mode, system), run) in &self.runs {
            if let Some(reason) = &run.failure {
                failures.push(format!("{system} ({mode}): {reason}"));
            }
        }
        if !failures.is_empty() || !notes.is_empty() {
            out.push_str("\nn/a and failures:\n");
            for line in failures.iter().chain(notes.iter()) {
                out.push_str(&format!("  {line}\n"));
            }
        }
        out
    }

    pub fn json(&self) -> serde_json::Value {
        use serde_json::{json, Value};
        let number = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let mut entry = serde_json::Map::new();
                entry.insert("name".into(), json!(row.name));
                entry.insert("group".into(), json!(row.group));
                entry.insert("unit".into(), json!(row.unit));
                entry.insert("what".into(), json!(row.what));
                entry.insert(
                    "goal".into(),
                    match row.goal {
                        None => Value::Null,
                        Some(Goal::Ratio(r)) => json!({"max_ratio": r, "mode": "icount", "met": self.goal_met(row)}),
                        Some(Goal::BelowNs(ns)) => json!({"below_ns": ns, "mode": "icount", "met": self.goal_met(row)}),
                        Some(Goal::AtLeastInTcg(x)) => json!({"at_least": x, "mode": "tcg", "met": self.goal_met(row)}),
                    },
                );
                for &mode in &self.modes {
                    let mut per = serde_json::Map::new();
                    for system in [System::Timeshare, System::Linux] {
                        match self.figure(mode, system, row) {
                            None => {
                                per.insert(system.name().into(), Value::Null);
                            }
                            Some(Ok(v)) => {
                                per.insert(system.name().into(), number(v));
                            }
                            Some(Err(reason)) => {
                                per.insert(system.name().into(), Value::Null);
                                per.insert(format!("{}_error", system.name()), json!(reason));
                            }
                        }
                    }
                    per.insert("ratio".into(), self.ratio(mode, row).map_or(Value::Null, number));
                    entry.insert(mode.name().into(), Value::Object(per));
                }
                Value::Object(entry)
            })
            .collect();
        let runs: Vec<Value> = self
            .runs
            .iter()
            .map(|((mode, system), run)| {
                json!({
                    "mode": mode,
                    "system": system,
                    "wall_seconds": run.wall.as_secs_f64(),
                    "failure": run.failure,
                })
            })
            .collect();
        json!({
            "date": self.date,
            "qemu": self.qemu,
            "linux": match &self.linux {
                Ok(kernel) => json!({"release": kernel.release, "package": kernel.package, "unavailable": Value::Null}),
                Err(reason) => json!({"release": Value::Null, "package": Value::Null, "unavailable": reason}),
            },
            "scale": self.scale,
            "modes": self.modes.iter().map(|m| json!({"name": m.name(), "description": m.describe()})).collect::<Vec<_>>(),
            "machine": "qemu-system-x86_64 -M pc -cpu max -accel tcg -m 256M -smp 1",
            "rows": rows,
            "runs": runs,
            "wall_seconds": self.elapsed.as_secs_f64(),
        })
    }
}

fn format_ratio(ratio: f64) -> String {
    if ratio < 0.01 {
        format!("{ratio:.4}x")
    } else if ratio < 10.0 {
        format!("{ratio:.2}x")
    } else {
        format!("{ratio:.1}x")
    }
}

/// The report's date: `at` in UTC, to the second, as `2025-01-31T12:00:00Z`.
pub fn report_date(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_read_well() {
        assert_eq!(format_ratio(0.4213), "0.42x");
        assert_eq!(format_ratio(0.0013), "0.0013x");
    }

    #[test]
    fn dates_are_utc_to_the_second() {
        let leap_day_evening = std::time::UNIX_EPOCH + Duration::new(951_862_875, 999_999_999);
        assert_eq!(report_date(leap_day_evening), "2000-02-29T22:21:15Z");
        let now = report_date(SystemTime::now());
        assert_eq!(now.len(), 20, "{now}");
    }
}
