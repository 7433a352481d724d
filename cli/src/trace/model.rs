//! The trace's model: `Timeline::build` turns the kernel's raw events
//! (`kernel_core::trace`) into what each thread was doing over time: running (who
//! held the CPU, from when to when, and why it stopped), ready (runnable, waiting for
//! the CPU) or blocked (and on what); its priority level under a policy with levels;
//! and the system calls, interrupts, faults, blocks and wake-ups in between.
//! `Timeline::window` keeps a stretch of time and `Timeline::fit` merges intervals
//! until a budget is met.

use std::collections::{BTreeMap, BTreeSet};

use kernel_core::trace::{Event, NameAssembler, SwitchReason, TrapReason, WaitKind, What, EVENT_WORDS};

/// One process's stay on a CPU.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// TSC when it got the CPU and when it gave it up.
    pub start: u64,
    pub end: u64,
    /// The CPU it ran on.
    pub cpu: u8,
    /// Its program then.
    pub name: String,
    /// Why it stopped, and who got the CPU then (0: idle); None when the trace
    /// ended while it ran.
    pub ended: Option<(SwitchReason, u32)>,
    /// How many intervals it stands for (1 unless `Timeline::fit` merged some) and
    /// how long they ran in all (`end - start` for one interval).
    pub merged: u32,
    pub busy: u64,
}

/// What a thread does when it is not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Runnable, waiting for the CPU.
    Ready,
    /// Waiting for something.
    Blocked(WaitKind),
}

impl State {
    /// A short description for people ("ready", "blocked: sleep").
    pub fn describe(self) -> String {
        match self {
            State::Ready => "ready".to_string(),
            State::Blocked(wait) => format!("blocked: {}", wait.describe()),
        }
    }
}

/// A stretch of time a thread spent ready or blocked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wait {
    pub start: u64,
    pub end: u64,
    pub state: State,
    /// As `Slice::merged` and `Slice::busy`: the intervals it stands for, and the
    /// time they took in all.
    pub merged: u32,
    pub busy: u64,
}

/// Something that happened to a process at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mark {
    /// A system call (entered at this instant), with its result once it returned.
    Syscall {
        number: u64,
        result: Option<i64>,
    },
    Interrupt {
        vector: u64,
    },
    Exception {
        vector: u64,
        address: u64,
    },
    Block {
        wait: WaitKind,
    },
    Wake {
        wait: WaitKind,
        interrupted: bool,
    },
    Exec,
    Exit {
        status: u64,
    },
}

/// One thread (a process's first thread is the process; with pid 0, the idle
/// loop) over the whole trace.
#[derive(Debug, Clone, Default)]
pub struct Lane {
    /// Its tid (the pid for a process's first thread).
    pub pid: u32,
    pub parent: u32,
    /// The process it is a thread of; 0 or `pid` itself for a process's first
    /// thread.
    pub process: u32,
    /// Its programs, in order (a fork keeps the parent's, an exec adds one).
    pub names: Vec<String>,
    pub slices: Vec<Slice>,
    /// When it was ready or blocked, in time order.
    pub waits: Vec<Wait>,
    /// Its level under a policy with levels, from each instant on (empty under
    /// other policies).
    pub levels: Vec<(u64, u8)>,
    pub marks: Vec<(u64, Mark)>,
}

impl Lane {
    /// The current program's name ("pid N" before any name event).
    pub fn name(&self) -> String {
        self.names.last().cloned().unwrap_or_else(|| format!("pid {}", self.pid))
    }

    /// Its current name with its pid, "spin (pid 2)"; for a thread, "worker (tid 5
    /// of pid 2)".
    pub fn current_label(&self) -> String {
        self.label_with(&self.name())
    }

    /// `names` with its pid (and process, for a thread), as labels give them.
    pub fn label_with(&self, names: &str) -> String {
        match self.process_id() {
            process if process != self.pid => format!("{names} (tid {} of pid {process})", self.pid),
            _ => format!("{names} (pid {})", self.pid),
        }
    }

    /// Whether it is a thread other than its process's first.
    pub fn is_secondary_thread(&self) -> bool {
        self.process_id() != self.pid
    }

    /// "demo → spin (pid 2)": every program it ran, and its pid; for a thread,
    /// "worker (tid 5 of pid 2)".
    pub fn label(&self) -> String {
        let names = if self.names.is_empty() { "?".to_string() } else { self.names.join(" → ") };
        self.label_with(&names)
    }

    /// The process it belongs to.
    pub fn process_id(&self) -> u32 {
        if self.process == 0 {
            self.pid
        } else {
            self.process
        }
    }
}

/// A thread whose run began on another CPU than its previous run: marked on both
/// CPUs' lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// When its run on `to` began.
    pub tsc: u64,
    pub pid: u32,
    pub from: u8,
    pub to: u8,
}

/// What one CPU did over the view: time running threads and idling, switches it
/// made, migrations to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTotals {
    pub cpu: u8,
    pub busy: u64,
    pub idle: u64,
    pub switches: usize,
    pub migrations_in: usize,
}

/// A context switch, as the trace recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switch {
    pub tsc: u64,
    /// The CPU it happened on.
    pub cpu: u8,
    /// 0 stands for the idle loop.
    pub from: u32,
    pub to: u32,
    pub reason: SwitchReason,
}

/// Everything the pictures need.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// TSC of the first and last event.
    pub start: u64,
    pub end: u64,
    /// The stretch the pictures show: all of it, unless `window` cut it.
    pub view: (u64, u64),
    /// When the policy moved every task to the top level.
    pub boosts: Vec<u64>,
    pub tsc_hz: u64,
    /// Threads by process, then tid.
    pub lanes: Vec<Lane>,
    /// When the CPU idled (pid 0).
    pub idle: Lane,
    pub switches: Vec<Switch>,
    /// The CPUs the trace saw switch, in order (one CPU: `[0]`).
    pub cpus: Vec<u8>,
    /// Threads that moved between CPUs, in time order.
    pub migrations: Vec<Migration>,
    /// Events the kernel dropped (ring full) and records that were not events.
    pub dropped: u64,
    pub undecodable: usize,
    /// What `fit` merged, if it had to.
    pub merging: Option<Merging>,
}

/// What `Timeline::fit` did to meet its budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merging {
    pub budget: usize,
    /// Intervals before and after.
    pub before: usize,
    pub after: usize,
    /// Adjacent intervals of one state starting within this many TSC ticks of each
    /// other's bucket became one.
    pub grain: u64,
}

/// Where a thread is while it is not running, as the events tell it: the state
/// it is in since when.
type Pending = BTreeMap<u32, (State, u64)>;

/// Ends `pid`'s pending ready or blocked stretch at `tsc`, if any.
fn settle(lanes: &mut BTreeMap<u32, Lane>, pending: &mut Pending, pid: u32, tsc: u64) {
    if let Some((state, start)) = pending.remove(&pid) {
        if tsc > start {
            let wait = Wait { start, end: tsc, state, merged: 1, busy: tsc - start };
            lanes.entry(pid).or_insert_with(|| Lane { pid, ..Lane::default() }).waits.push(wait);
        }
    }
}

impl Timeline {
    /// Rebuilds the schedule from raw events (as read from the ring, in order).
    pub fn build(raw: &[[u64; EVENT_WORDS]], tsc_hz: u64, dropped: u64) -> Timeline {
        let mut timeline = Timeline { tsc_hz: tsc_hz.max(1), dropped, ..Timeline::default() };
        let mut lanes: BTreeMap<u32, Lane> = BTreeMap::new();
        let mut names: BTreeMap<u32, NameAssembler> = BTreeMap::new();
        // Per CPU: who runs there, since when, under which name.
        let mut running: BTreeMap<u8, (u32, u64, String)> = BTreeMap::new();
        // Per thread: the CPU of its last run.
        let mut ran_on: BTreeMap<u32, u8> = BTreeMap::new();
        // Per pid: where its system call in progress is in its marks.
        let mut in_syscall: BTreeMap<u32, usize> = BTreeMap::new();
        let mut pending = Pending::new();
        let mut exited = BTreeSet::new();
        let mut first = None;
        for words in raw {
            let Ok(event) = Event::decode(*words) else {
                timeline.undecodable += 1;
                continue;
            };
            let Event { tsc, cpu, pid, what } = event;
            first.get_or_insert(tsc);
            timeline.end = timeline.end.max(tsc);
            let lane = lanes.entry(pid).or_insert_with(|| Lane { pid, ..Lane::default() });
            match what {
                What::Create { parent, process } => {
                    lane.parent = parent;
                    lane.process = process;
                    pending.insert(pid, (State::Ready, tsc));
                }
                What::Name { chunk, length, bytes } => {
                    if let Some(name) = names.entry(pid).or_default().push(chunk, length, &bytes) {
                        lane.names.push(String::from_utf8_lossy(&name).into_owned());
                    }
                }
                What::Exec => lane.marks.push((tsc, Mark::Exec)),
                What::TrapEnter { reason, number, argument } => {
                    let mark = match reason {
                        TrapReason::SystemCall => {
                            in_syscall.insert(pid, lane.marks.len());
                            Mark::Syscall { number, result: None }
                        }
                        TrapReason::Interrupt => Mark::Interrupt { vector: number },
                        TrapReason::Exception => Mark::Exception { vector: number, address: argument },
                    };
                    lane.marks.push((tsc, mark));
                }
                What::SyscallExit { number, result } => {
                    if let Some(index) = in_syscall.remove(&pid) {
                        if let Some((_, Mark::Syscall { number: entered, result: slot })) = lane.marks.get_mut(index) {
                            if *entered == number {
                                *slot = Some(result);
                            }
                        }
                    }
                }
                What::Block { wait, .. } => {
                    lane.marks.push((tsc, Mark::Block { wait }));
                    settle(&mut lanes, &mut pending, pid, tsc);
                    pending.insert(pid, (State::Blocked(wait), tsc));
                }
                What::Wake { wait, interrupted } => {
                    lane.marks.push((tsc, Mark::Wake { wait, interrupted }));
                    settle(&mut lanes, &mut pending, pid, tsc);
                    pending.insert(pid, (State::Ready, tsc));
                }
                What::Exit { status } => {
                    lane.marks.push((tsc, Mark::Exit { status }));
                    exited.insert(pid);
                    settle(&mut lanes, &mut pending, pid, tsc);
                }
                What::Level { level } => lane.levels.push((tsc, level)),
                What::Boost { .. } => {
                    timeline.boosts.push(tsc);
                    for lane in lanes.values_mut().filter(|lane| !exited.contains(&lane.pid)) {
                        if lane.levels.last().is_some_and(|&(_, level)| level != 0) {
                            lane.levels.push((tsc, 0));
                        }
                    }
                }
                What::Switch { to, reason } => {
                    timeline.switches.push(Switch { tsc, cpu, from: pid, to, reason });
                    settle(&mut lanes, &mut pending, to, tsc);
                    if pid != 0 {
                        match reason {
                            SwitchReason::Preempted | SwitchReason::Yielded => {
                                pending.insert(pid, (State::Ready, tsc));
                            }
                            SwitchReason::Blocked => {
                                pending.entry(pid).or_insert((State::Blocked(WaitKind::Other), tsc));
                            }
                            SwitchReason::Exited | SwitchReason::Dispatched => {}
                        }
                    }
                    if let Some((holder, start, name)) = running.remove(&cpu) {
                        let slice = Slice {
                            start,
                            end: tsc,
                            cpu,
                            name,
                            ended: Some((reason, to)),
                            merged: 1,
                            busy: tsc.saturating_sub(start),
                        };
                        lanes
                            .entry(holder)
                            .or_insert_with(|| Lane { pid: holder, ..Lane::default() })
                            .slices
                            .push(slice);
                    }
                    let next = lanes.entry(to).or_insert_with(|| Lane { pid: to, ..Lane::default() });
                    let name = if to == 0 { "idle".to_string() } else { next.name() };
                    running.insert(cpu, (to, tsc, name));
                    if to != 0 {
                        if let Some(from) = ran_on.insert(to, cpu).filter(|&from| from != cpu) {
                            timeline.migrations.push(Migration { tsc, pid: to, from, to: cpu });
                        }
                    }
                }
                What::TrapExit | What::Schedule { .. } => {}
            }
        }
        for pid in pending.keys().copied().collect::<Vec<_>>() {
            settle(&mut lanes, &mut pending, pid, timeline.end);
        }
        for (cpu, (holder, start, name)) in running {
            let busy = timeline.end.saturating_sub(start);
            let slice = Slice { start, end: timeline.end, cpu, name, ended: None, merged: 1, busy };
            lanes.entry(holder).or_insert_with(|| Lane { pid: holder, ..Lane::default() }).slices.push(slice);
        }
        timeline.cpus =
            timeline.switches.iter().map(|switch| switch.cpu).collect::<BTreeSet<u8>>().into_iter().collect();
        timeline.start = first.unwrap_or(0);
        timeline.view = (timeline.start, timeline.end);
        timeline.idle = lanes.remove(&0).unwrap_or_default();
        timeline.idle.names = vec!["idle".to_string()];
        timeline.lanes = lanes.into_values().collect();
        // Threads right under their process.
        timeline.lanes.sort_by_key(|lane| (lane.process_id(), lane.pid));
        timeline
    }

    /// Milliseconds from the trace's start to `tsc`.
    pub fn ms(&self, tsc: u64) -> f64 {
        tsc.saturating_sub(self.start) as f64 * 1e3 / self.tsc_hz as f64
    }

    /// Microseconds from the trace's start to `tsc`.
    pub fn us(&self, tsc: u64) -> f64 {
        self.ms(tsc) * 1e3
    }

    /// The TSC `ms` milliseconds after the trace's start.
    pub fn tsc_at(&self, ms: f64) -> u64 {
        self.start.saturating_add((ms.max(0.0) * self.tsc_hz as f64 / 1e3) as u64)
    }

    /// Keeps only what happened between `from_ms` and `to_ms` (milliseconds from the
    /// trace's start): intervals are cut at the edges, each lane's level at
    /// `from_ms` is kept, and the pictures show that stretch alone.
    pub fn window(&mut self, from_ms: f64, to_ms: f64) {
        let (from, to) = (self.tsc_at(from_ms), self.tsc_at(to_ms).max(self.tsc_at(from_ms)));
        self.view = (from, to);
        // A cut interval keeps the share of its time it was busy.
        let cut = |start: &mut u64, end: &mut u64, busy: &mut u64| {
            let (new_start, new_end) = ((*start).max(from), (*end).min(to));
            let span = end.saturating_sub(*start).max(1);
            *busy = (*busy as u128 * u128::from(new_end.saturating_sub(new_start)) / u128::from(span)) as u64;
            (*start, *end) = (new_start, new_end);
        };
        for lane in self.lanes.iter_mut().chain(std::iter::once(&mut self.idle)) {
            lane.slices.retain(|slice| slice.end > from && slice.start < to);
            for slice in &mut lane.slices {
                cut(&mut slice.start, &mut slice.end, &mut slice.busy);
            }
            lane.waits.retain(|wait| wait.end > from && wait.start < to);
            for wait in &mut lane.waits {
                cut(&mut wait.start, &mut wait.end, &mut wait.busy);
            }
            lane.marks.retain(|&(tsc, _)| (from..=to).contains(&tsc));
            let before = lane.levels.iter().rev().find(|&&(tsc, _)| tsc <= from).map(|&(_, level)| (from, level));
            lane.levels.retain(|&(tsc, _)| tsc > from && tsc <= to);
            lane.levels.splice(0..0, before);
        }
        self.boosts.retain(|tsc| (from..=to).contains(tsc));
        self.switches.retain(|switch| (from..=to).contains(&switch.tsc));
        self.migrations.retain(|migration| (from..=to).contains(&migration.tsc));
    }

    /// Whether the trace saw more than one CPU at work (the pictures then show a
    /// lane per CPU).
    pub fn several_cpus(&self) -> bool {
        self.cpus.len() > 1
    }

    /// Each CPU's running and idle time, switches and incoming migrations over the
    /// view.
    pub fn cpu_totals(&self) -> Vec<CpuTotals> {
        let mut totals: BTreeMap<u8, CpuTotals> =
            self.cpus.iter().map(|&cpu| (cpu, CpuTotals { cpu, ..CpuTotals::default() })).collect();
        for lane in self.lanes.iter().chain(std::iter::once(&self.idle)) {
            for slice in &lane.slices {
                if let Some(total) = totals.get_mut(&slice.cpu) {
                    *if lane.pid == 0 { &mut total.idle } else { &mut total.busy } += slice.busy;
                }
            }
        }
        for switch in &self.switches {
            totals.entry(switch.cpu).and_modify(|total| total.switches += 1);
        }
        for migration in &self.migrations {
            totals.entry(migration.to).and_modify(|total| total.migrations_in += 1);
        }
        totals.into_values().collect()
    }

    /// Running, ready and blocked intervals in all lanes (idle included).
    pub fn intervals(&self) -> usize {
        self.lanes.iter().chain(std::iter::once(&self.idle)).map(|lane| lane.slices.len() + lane.waits.len()).sum()
    }

    /// Meets a budget of `budget` intervals: while there are more, the intervals of
    /// one lane in the same state (running, ready, or blocked on the same kind of
    /// channel) that start in the same stretch of `grain` TSC ticks become one, whose `merged` and `busy` keep the count and the time of what it
    /// holds (so each lane's totals stay true); `grain` doubles until the budget is
    /// met or one stretch covers the whole view. Records what it did in `merging`.
    pub fn fit(&mut self, budget: usize) {
        let before = self.intervals();
        if before <= budget {
            return;
        }
        let span = self.view.1.saturating_sub(self.view.0).max(1);
        let lanes = self.lanes.len() as u64 + 1;
        let mut grain = (span * lanes / budget.max(1) as u64).max(1);
        loop {
            let origin = self.view.0;
            let bucket = |tsc: u64| tsc.saturating_sub(origin) / grain;
            for lane in self.lanes.iter_mut().chain(std::iter::once(&mut self.idle)) {
                lane.slices = merge_adjacent(
                    std::mem::take(&mut lane.slices),
                    |a, b| a.cpu == b.cpu && bucket(a.start) == bucket(b.start),
                    |a, b| {
                        a.end = b.end;
                        a.busy += b.busy;
                        a.merged += b.merged;
                        a.ended = b.ended;
                        a.name = std::mem::take(&mut b.name);
                    },
                );
                lane.waits = merge_waits(std::mem::take(&mut lane.waits), bucket);
            }
            if self.intervals() <= budget || grain >= span {
                break;
            }
            grain = grain.saturating_mul(2);
        }
        self.merging = Some(Merging { budget, before, after: self.intervals(), grain });
    }

    /// How many switches happened for each reason, in `REASONS` order.
    pub fn switch_counts(&self) -> [usize; REASONS.len()] {
        let mut counts = [0; REASONS.len()];
        for switch in &self.switches {
            if let Some(index) = REASONS.iter().position(|&reason| reason == switch.reason) {
                counts[index] += 1;
            }
        }
        counts
    }
}

/// `items` with each run of neighbours that `same` pairs folded into its first by
/// `fold`.
fn merge_adjacent<T>(items: Vec<T>, same: impl Fn(&T, &T) -> bool, fold: impl Fn(&mut T, &mut T)) -> Vec<T> {
    let mut merged: Vec<T> = Vec::with_capacity(items.len());
    for mut item in items {
        match merged.last_mut() {
            Some(last) if same(last, &item) => fold(last, &mut item),
            _ => merged.push(item),
        }
    }
    merged
}

/// `waits` with those in one state starting in one bucket folded into the first
/// of them: ready and blocked stretches alternate, so that merged ones overlap
/// (their `busy` says how much of their span they hold).
fn merge_waits(waits: Vec<Wait>, bucket: impl Fn(u64) -> u64) -> Vec<Wait> {
    let mut merged: Vec<Wait> = Vec::with_capacity(waits.len());
    // Where each state's wait of the current bucket is in `merged`.
    let mut current: Vec<(State, usize)> = Vec::new();
    let mut current_bucket = None;
    for wait in waits {
        if current_bucket != Some(bucket(wait.start)) {
            current_bucket = Some(bucket(wait.start));
            current.clear();
        }
        match current.iter().find(|&&(state, _)| state == wait.state) {
            Some(&(_, at)) => {
                let into = &mut merged[at];
                into.end = into.end.max(wait.end);
                into.busy += wait.busy;
                into.merged += wait.merged;
            }
            None => {
                current.push((wait.state, merged.len()));
                merged.push(wait);
            }
        }
    }
    merged
}

/// The switch reasons, in the order legends show them.
pub const REASONS: [SwitchReason; 5] = [
    SwitchReason::Preempted,
    SwitchReason::Yielded,
    SwitchReason::Blocked,
    SwitchReason::Exited,
    SwitchReason::Dispatched,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::fixtures::*;

    #[test]
    fn intervals_follow_the_switches() {
        let timeline = two_processes();
        assert_eq!((timeline.start, timeline.end), (1_000, 5_000));
        let spans = |lane: &Lane| lane.slices.iter().map(|s| (s.start, s.end, s.ended)).collect::<Vec<_>>();
        let [first, second] = &timeline.lanes[..] else { panic!("two lanes: {:?}", timeline.lanes) };
        assert_eq!(
            spans(first),
            [
                (1_000, 2_000, Some((SwitchReason::Yielded, 2))),
                (3_000, 3_500, Some((SwitchReason::Blocked, 2))),
                (4_500, 5_000, None)
            ]
        );
        assert_eq!(
            spans(second),
            [(2_000, 3_000, Some((SwitchReason::Preempted, 1))), (3_500, 4_000, Some((SwitchReason::Exited, 0)))]
        );
        assert_eq!(spans(&timeline.idle), [(4_000, 4_500, Some((SwitchReason::Dispatched, 1)))]);
        assert_eq!(timeline.idle.slices[0].name, "idle");
        assert_eq!(second.label(), "pingpong → a \"quoted\" <name> & more (pid 2)");
        assert_eq!(second.slices[1].name, "a \"quoted\" <name> & more");
        assert_eq!(first.marks[0], (1_100, Mark::Syscall { number: 57, result: Some(2) }));
        assert_eq!(first.marks[1], (2_000, Mark::Syscall { number: 24, result: Some(0) }));
        assert_eq!(timeline.switch_counts(), [1, 1, 1, 1, 2]);
        assert!((timeline.ms(2_000) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn each_cpu_keeps_its_own_runs_and_a_move_between_cpus_is_a_migration() {
        let timeline = two_cpus();
        assert_eq!(timeline.cpus, [0, 1]);
        assert!(timeline.several_cpus() && !two_processes().several_cpus());
        let runs = |lane: &Lane| lane.slices.iter().map(|s| (s.cpu, s.start, s.end)).collect::<Vec<_>>();
        assert_eq!(runs(&timeline.lanes[0]), [(0, 100, 1_000), (1, 1_100, 2_000)]);
        assert_eq!(runs(&timeline.lanes[1]), [(1, 100, 1_000)]);
        assert_eq!(runs(&timeline.idle), [(1, 1_000, 1_100), (0, 1_000, 2_000), (1, 2_000, 2_000)]);
        assert_eq!(timeline.migrations, [Migration { tsc: 1_100, pid: 1, from: 0, to: 1 }]);
        assert_eq!(
            timeline.cpu_totals(),
            [
                CpuTotals { cpu: 0, busy: 900, idle: 1_000, switches: 2, migrations_in: 0 },
                CpuTotals { cpu: 1, busy: 1_800, idle: 100, switches: 4, migrations_in: 1 },
            ]
        );
        // Merging keeps each CPU's runs apart.
        let mut fitted = timeline.clone();
        fitted.fit(1);
        assert_eq!(fitted.lanes[0].slices.iter().map(|s| s.cpu).collect::<Vec<_>>(), [0, 1]);
    }

    #[test]
    fn threads_are_lanes_of_their_own_under_their_process() {
        // Process 1 and process 3; thread 4 of process 1, created after process 3 and
        // named by prctl.
        let mut events = named(0, 1, 0, "main");
        events.extend(named(10, 3, 1, "child"));
        events.push((20, 4, What::Create { parent: 1, process: 1 }));
        events.extend(kernel_core::trace::name_chunks(b"worker").map(|what| (20, 4, what)));
        events.push(switch(30, 0, 4, SwitchReason::Dispatched));
        let timeline = Timeline::build(&raw(&events), 1_000_000, 0);
        let labels: Vec<String> = timeline.lanes.iter().map(Lane::label).collect();
        assert_eq!(labels, ["main (pid 1)", "worker (tid 4 of pid 1)", "child (pid 3)"]);
    }

    #[test]
    fn garbage_is_counted_not_fatal() {
        let mut events = raw(&[switch(10, 0, 7, SwitchReason::Dispatched)]);
        events.push([0, 0xff, 0, 0]);
        let timeline = Timeline::build(&events, 0, 5);
        assert_eq!(timeline.undecodable, 1);
        assert_eq!(timeline.dropped, 5);
        assert_eq!(timeline.lanes[0].label(), "? (pid 7)");
        assert_eq!(timeline.lanes[0].slices.len(), 1);
        let empty = Timeline::build(&[], 0, 0);
        assert!(empty.lanes.is_empty());
    }

    /// (start, end, state) of a lane's ready and blocked stretches.
    fn waits(lane: &Lane) -> Vec<(u64, u64, State)> {
        lane.waits.iter().map(|wait| (wait.start, wait.end, wait.state)).collect()
    }

    #[test]
    fn ready_and_blocked_stretches_fill_the_gaps_between_runs() {
        let timeline = two_processes();
        let [first, second] = &timeline.lanes[..] else { panic!("two lanes") };
        // pid 1: ready while 2 ran after its yield, blocked on its child, ready after
        // the wake until the idle loop dispatched it.
        assert_eq!(
            waits(first),
            [
                (2_000, 3_000, State::Ready),
                (3_500, 4_000, State::Blocked(WaitKind::Children)),
                (4_000, 4_500, State::Ready)
            ]
        );
        // pid 2: ready from its creation to its first run, and after its preemption.
        assert_eq!(waits(second), [(1_200, 2_000, State::Ready), (3_000, 3_500, State::Ready)]);
        assert_eq!(State::Blocked(WaitKind::Sleep).describe(), "blocked: sleep");
        assert_eq!(second.current_label(), "a \"quoted\" <name> & more (pid 2)");
    }

    #[test]
    fn levels_follow_the_events_and_a_boost_lifts_every_live_task() {
        let mut events = named(0, 1, 0, "a");
        events.push((0, 1, What::Level { level: 0 }));
        events.extend(named(5, 2, 1, "b"));
        events.push((5, 2, What::Level { level: 0 }));
        events.push(switch(10, 0, 1, SwitchReason::Dispatched));
        events.push((20, 1, What::Level { level: 1 }));
        events.push(switch(20, 1, 2, SwitchReason::Preempted));
        events.push((30, 2, What::Level { level: 1 }));
        events.push((40, 2, What::Level { level: 2 }));
        events.push((50, 2, What::Boost { count: 1 }));
        events.push(switch(60, 2, 0, SwitchReason::Exited));
        let timeline = Timeline::build(&raw(&events), 1_000, 0);
        assert_eq!(timeline.lanes[0].levels, [(0, 0), (20, 1), (50, 0)]);
        assert_eq!(timeline.lanes[1].levels, [(5, 0), (30, 1), (40, 2), (50, 0)]);
        assert_eq!(timeline.boosts, [50]);
    }

    #[test]
    fn a_window_keeps_its_stretch_and_the_level_at_its_start() {
        let mut timeline = two_processes();
        timeline.lanes[0].levels = vec![(1_000, 0), (2_500, 1), (4_200, 2)];
        // 1 ms = 1 000 TSC ticks here; the trace starts at 1 000.
        timeline.window(1.5, 3.0);
        assert_eq!(timeline.view, (2_500, 4_000));
        let [first, second] = &timeline.lanes[..] else { panic!("two lanes") };
        let spans = |lane: &Lane| lane.slices.iter().map(|s| (s.start, s.end, s.busy)).collect::<Vec<_>>();
        assert_eq!(spans(first), [(3_000, 3_500, 500)]);
        assert_eq!(spans(second), [(2_500, 3_000, 500), (3_500, 4_000, 500)]);
        assert_eq!(waits(first), [(2_500, 3_000, State::Ready), (3_500, 4_000, State::Blocked(WaitKind::Children))]);
        assert_eq!(first.levels, [(2_500, 1)]);
        assert!(first.marks.iter().all(|&(tsc, _)| (2_500..=4_000).contains(&tsc)));
        assert_eq!(timeline.switches.len(), 3);
    }

    #[test]
    fn fitting_a_budget_merges_neighbours_and_keeps_every_total() {
        let mut timeline = crowd(3, 400, 1_000);
        let totals = |timeline: &Timeline| {
            timeline
                .lanes
                .iter()
                .map(|lane| {
                    let ready: u64 = lane.waits.iter().map(|wait| wait.busy).sum();
                    let running: u64 = lane.slices.iter().map(|slice| slice.busy).sum();
                    let count: u32 = lane.slices.iter().map(|slice| slice.merged).sum();
                    (running, ready, count)
                })
                .collect::<Vec<_>>()
        };
        let before = totals(&timeline);
        let intervals = timeline.intervals();
        timeline.fit(intervals);
        assert_eq!(timeline.merging, None, "within the budget: nothing merged");
        timeline.fit(100);
        let merging = timeline.merging.expect("merged");
        assert_eq!((merging.before, merging.budget), (intervals, 100));
        assert!(merging.after <= 100 && merging.after == timeline.intervals(), "{merging:?}");
        assert_eq!(totals(&timeline), before, "running and ready time and interval counts are kept");
        for lane in &timeline.lanes {
            assert!(lane.slices.windows(2).all(|pair| pair[0].end <= pair[1].start), "still in order, no overlap");
        }
    }
}
