//! Birth and death: fork, exit, wait, with Linux's semantics (zombies until the
//! parent reaps them, orphans re-parented to init, SIGCHLD to the parent).

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::{Creation, Entry, ExitStatus, Pid, Process, Stats, INIT_PID, TABLE};
use crate::arch::x86_64::debugcon::{self, Channel};
use crate::arch::x86_64::power::{self, Shutdown};
use crate::mm::kstack::UserState;
use crate::sched::{self, WaitChannel};
use crate::signal;
use kernel_core::abi::errno::{ECHILD, EINTR, ENOMEM};
use kernel_core::abi::signal::SIGCHLD;
use kernel_core::abi::Rusage;

/// Creates a child that is a copy of `parent` (fork): its memory shared
/// copy-on-write, its descriptors duplicated, its registers the parent's except
/// that the system call returns 0 in the child. Returns the child.
pub fn fork(parent: &Process, user: &UserState) -> Result<Arc<Process>, i64> {
    let memory = parent.memory.lock().as_mut().ok_or(ENOMEM)?.fork().map_err(|_| ENOMEM)?;
    let mut frame = *user.frame;
    frame.rax = 0;
    let details = parent.details.lock();
    let creation = Creation {
        name: details.name.clone(),
        cwd: details.cwd,
        limits: details.limits,
        umask: details.umask,
        memory,
        files: parent.files.lock().clone(),
        signals: parent.signals.lock().for_child(),
        frame: &frame,
        fpu_state: user.fpu,
        fs_base: parent.fs_base.load(core::sync::atomic::Ordering::Relaxed),
        gs_base: parent.gs_base.load(core::sync::atomic::Ordering::Relaxed),
    };
    drop(details);
    super::create(parent.pid, creation)
}

/// Ends the current process after its thread left the user loop: closes its files,
/// frees its memory, hands its children to init, becomes a zombie for its parent
/// and gives up the CPU for good. When init itself ends, the machine powers off with
/// its status (the host CLI turns that into its own exit status).
pub fn finish_exit() -> ! {
    {
        let process = sched::current();
        let status = process.exit_status().unwrap_or(ExitStatus::Exited(0));
        crate::log::write(crate::log::LogLevel::Debug, format_args!("pid {} ({}) exits: {:?}", process.pid, process.name(), status));
        process.files.lock().close_all();
        crate::mm::activate_kernel_tree();
        if let Some(memory) = process.memory.lock().take() {
            process.stats.record_peak(&memory);
        }
        report_accounting(&process, status);
        if process.pid == INIT_PID {
            report_and_power_off(status);
        }
        let parent = become_zombie(process.pid, status);
        if let Some(parent) = parent {
            signal::send(&parent, SIGCHLD);
        }
    }
    sched::exit_current()
}

/// Sends the host the process's accounting (the closing table of the demo and of
/// `--stats`), as one control record.
fn report_accounting(process: &Process, status: ExitStatus) {
    let stats = &process.stats;
    let exit = match status {
        ExitStatus::Exited(code) => alloc::format!("exit={code}"),
        ExitStatus::Killed { signal, .. } => alloc::format!("signal={signal}"),
    };
    let record = alloc::format!(
        "process pid={} ppid={} {exit} user_ns={} system_ns={} voluntary={} involuntary={} syscalls={} faults={} peak_kib={} name={}\n",
        process.pid,
        super::parent_of(process.pid),
        crate::time::cycles_to_ns(Stats::load(&stats.user_cycles)),
        crate::time::cycles_to_ns(Stats::load(&stats.system_cycles)),
        Stats::load(&stats.voluntary_switches),
        Stats::load(&stats.involuntary_switches),
        Stats::load(&stats.system_calls),
        Stats::load(&stats.faults),
        Stats::load(&stats.peak_pages) * 4,
        kernel_core::cmdline::encode_arg(process.name().as_bytes()),
    );
    debugcon::write(Channel::Control, record.as_bytes());
}

/// Tells the host how init ended, then powers off.
fn report_and_power_off(status: ExitStatus) -> ! {
    let record = match status {
        ExitStatus::Exited(code) => alloc::format!("exit {code}\n"),
        ExitStatus::Killed { signal, .. } => alloc::format!("signal {signal}\n"),
    };
    debugcon::write(Channel::Control, record.as_bytes());
    power::shutdown(Shutdown::PowerOff)
}

/// Marks `pid` a zombie, re-parents its children to init, and wakes the waiters.
/// Returns the parent, to be signalled.
fn become_zombie(pid: Pid, status: ExitStatus) -> Option<Arc<Process>> {
    let mut table = TABLE.lock();
    let (parent, children) = {
        let entry = table.entries.get_mut(&pid)?;
        entry.zombie = Some(status);
        (entry.parent, core::mem::take(&mut entry.children))
    };
    let mut orphan_zombies = false;
    for child in &children {
        if let Some(entry) = table.entries.get_mut(child) {
            entry.parent = INIT_PID;
            orphan_zombies |= entry.zombie.is_some();
        }
    }
    if let Some(init) = table.entries.get_mut(&INIT_PID) {
        init.children.extend(children);
    }
    let parent_process = table.entries.get(&parent).map(|entry| entry.process.clone());
    drop(table);
    if orphan_zombies {
        sched::wake_all(WaitChannel::Children(INIT_PID));
    }
    sched::wake_all(WaitChannel::Children(parent));
    sched::wake_all(WaitChannel::VforkDone(pid));
    parent_process
}

/// Which children a wait4 accepts.
#[derive(Clone, Copy)]
pub enum WaitTarget {
    Any,
    Pid(Pid),
    Group(Pid),
}

/// A reaped child: its pid, status and resource usage.
pub struct Reaped {
    pub pid: Pid,
    pub status: ExitStatus,
    pub usage: Rusage,
}

/// Waits for a child of `parent` matching `target` to end and reaps it. With
/// `no_hang`, returns Ok(None) instead of waiting. ECHILD when no child matches;
/// EINTR when a signal cuts the wait short.
pub fn wait(parent: Pid, target: WaitTarget, no_hang: bool) -> Result<Option<Reaped>, i64> {
    loop {
        {
            let mut table = TABLE.lock();
            let children = table.entries.get(&parent).map(|entry| entry.children.clone()).unwrap_or_default();
            let matches = |entry: &Entry, pid: Pid| match target {
                WaitTarget::Any => true,
                WaitTarget::Pid(wanted) => pid == wanted,
                WaitTarget::Group(group) => entry.process_group == group,
            };
            let candidates: Vec<Pid> = children.into_iter().filter(|pid| table.entries.get(pid).is_some_and(|entry| matches(entry, *pid))).collect();
            if candidates.is_empty() {
                return Err(ECHILD);
            }
            if let Some(&pid) = candidates.iter().find(|pid| table.entries[pid].zombie.is_some()) {
                let entry = table.entries.remove(&pid).expect("candidate is in the table");
                if let Some(parent_entry) = table.entries.get_mut(&parent) {
                    parent_entry.children.retain(|&child| child != pid);
                }
                let parent_process = table.entries.get(&parent).map(|entry| entry.process.clone());
                drop(table);
                sched::forget(pid);
                let stats = &entry.process.stats;
                if let Some(parent_process) = parent_process {
                    let totals = &parent_process.stats;
                    Stats::add(&totals.children_user_cycles, Stats::load(&stats.user_cycles) + Stats::load(&stats.children_user_cycles));
                    Stats::add(&totals.children_system_cycles, Stats::load(&stats.system_cycles) + Stats::load(&stats.children_system_cycles));
                }
                return Ok(Some(Reaped { pid, status: entry.zombie.expect("found as a zombie"), usage: entry.process.usage() }));
            }
        }
        if no_hang {
            return Ok(None);
        }
        sched::block(WaitChannel::Children(parent)).map_err(|_| EINTR)?;
    }
}
