//! From the kernel's event trace (`kernel_core::trace`) to what people look at: the
//! model (`Timeline::build`: who held the CPU when, who was ready or blocked, and
//! what happened in between), its JSON for Perfetto (`chrome_json`) and its SVG
//! picture (`svg`).

mod json;
mod model;
mod svg;

pub use json::{chrome_json, syscall_name, Written, WARN_BYTES};
pub use model::Timeline;
pub use svg::{svg, SvgOptions};

/// Timelines the tests of every part share.
#[cfg(test)]
mod fixtures {
    use kernel_core::trace::{name_chunks, Event, SwitchReason, TrapReason, WaitKind, What, EVENT_WORDS};

    use super::Timeline;

    /// Builds raw events: `(tsc, pid, what)`, all on CPU 0.
    pub fn raw(events: &[(u64, u32, What)]) -> Vec<[u64; EVENT_WORDS]> {
        events.iter().map(|&(tsc, pid, what)| Event { tsc, cpu: 0, pid, what }.encode()).collect()
    }

    /// Two CPU-bound processes on two CPUs: pid 2 exits at 1 000, and pid 1,
    /// preempted on CPU 0 then, resumes on CPU 1 at 1 100 (a migration) and exits at
    /// 2 000.
    pub fn two_cpus() -> Timeline {
        let mut events: Vec<(u64, u8, u32, What)> = Vec::new();
        for pid in [1, 2] {
            events.extend(named(0, pid, 1, "spin").into_iter().map(|(tsc, pid, what)| (tsc, 0, pid, what)));
        }
        let on = |cpu: u8, (tsc, pid, what): (u64, u32, What)| (tsc, cpu, pid, what);
        events.push(on(0, switch(100, 0, 1, SwitchReason::Dispatched)));
        events.push(on(1, switch(100, 0, 2, SwitchReason::Dispatched)));
        events.push(on(1, (1_000, 2, What::Exit { status: 0 })));
        events.push(on(1, switch(1_000, 2, 0, SwitchReason::Exited)));
        events.push(on(0, switch(1_000, 1, 0, SwitchReason::Preempted)));
        events.push(on(1, switch(1_100, 0, 1, SwitchReason::Dispatched)));
        events.push(on(1, (2_000, 1, What::Exit { status: 0 })));
        events.push(on(1, switch(2_000, 1, 0, SwitchReason::Exited)));
        let raw: Vec<_> = events.iter().map(|&(tsc, cpu, pid, what)| Event { tsc, cpu, pid, what }.encode()).collect();
        Timeline::build(&raw, 1_000_000, 0)
    }

    pub fn named(tsc: u64, pid: u32, parent: u32, name: &str) -> Vec<(u64, u32, What)> {
        let mut events = vec![(tsc, pid, What::Create { parent, process: pid })];
        events.extend(name_chunks(name.as_bytes()).map(|what| (tsc, pid, what)));
        events
    }

    pub fn switch(tsc: u64, from: u32, to: u32, reason: SwitchReason) -> (u64, u32, What) {
        (tsc, from, What::Switch { to, reason })
    }

    /// Two processes ping-ponging with sched_yield, a timer tick, then exits.
    pub fn two_processes() -> Timeline {
        let mut events = named(1_000, 1, 0, "pingpong");
        events.push(switch(1_000, 0, 1, SwitchReason::Dispatched));
        events.push((1_100, 1, What::TrapEnter { reason: TrapReason::SystemCall, number: 57, argument: 0 }));
        events.extend(named(1_200, 2, 1, "pingpong"));
        events.push((1_300, 1, What::SyscallExit { number: 57, result: 2 }));
        events.push((2_000, 1, What::TrapEnter { reason: TrapReason::SystemCall, number: 24, argument: 0 }));
        events.push(switch(2_000, 1, 2, SwitchReason::Yielded));
        events.push((2_500, 2, What::TrapEnter { reason: TrapReason::Interrupt, number: 32, argument: 0 }));
        events.push((2_600, 2, What::Exec));
        events.extend(name_chunks(b"a \"quoted\" <name> & more").map(|what| (2_600, 2, what)));
        events.push(switch(3_000, 2, 1, SwitchReason::Preempted));
        events.push((3_000, 1, What::SyscallExit { number: 24, result: 0 }));
        events.push((3_500, 1, What::Block { wait: WaitKind::Children, detail: 1 }));
        events.push(switch(3_500, 1, 2, SwitchReason::Blocked));
        events.push((4_000, 2, What::Exit { status: 0 }));
        events.push((4_000, 1, What::Wake { wait: WaitKind::Children, interrupted: false }));
        events.push(switch(4_000, 2, 0, SwitchReason::Exited));
        events.push((4_100, 0, What::TrapEnter { reason: TrapReason::Interrupt, number: 32, argument: 0 }));
        events.push(switch(4_500, 0, 1, SwitchReason::Dispatched));
        events.push((5_000, 1, What::TrapExit));
        Timeline::build(&raw(&events), 1_000_000, 0)
    }

    /// `count` processes, each running `slices` short intervals in turn.
    pub fn crowd(count: u32, slices: u32, slice_tsc: u64) -> Timeline {
        let mut events = Vec::new();
        for pid in 1..=count {
            events.extend(named(0, pid, 1, &format!("worker{pid}")));
        }
        let mut tsc = 0;
        let mut holder = 0;
        for round in 0..slices {
            for pid in 1..=count {
                events.push(switch(
                    tsc,
                    holder,
                    pid,
                    if round == 0 && holder == 0 { SwitchReason::Dispatched } else { SwitchReason::Preempted },
                ));
                holder = pid;
                tsc += slice_tsc;
            }
        }
        events.push(switch(tsc, holder, 0, SwitchReason::Exited));
        Timeline::build(&raw(&events), 1_000_000_000, 0)
    }
}
