//! /proc inside the guest: a program reads its own stat, status, links and
//! descriptors and checks them against what it knows, the same on Linux; and
//! BusyBox's ps, top, free, uptime, pidof, kill, df and mount run inside a
//! workload of known processes and show them.

mod common;

use std::path::Path;

use common::*;

const BUSYBOX: &str = "/bin/busybox";

#[test]
fn a_program_finds_itself_its_child_and_its_thread_in_proc_as_on_linux() {
    let (_, guest) = same_as_host(&[], &c_program("procself"), &[]);
    let out = stdout(&guest);
    assert!(!out.contains("FAIL"), "{out}");
    assert!(out.contains("ok stat has 52 fields\n") && out.contains("ok cpu time grows"), "{out}");
}

/// The fields of a `ps -o pid,ppid,stat,comm,args` line: pid, ppid, state, name, command line.
fn ps_rows(section: &str) -> Vec<(u32, u32, String, String, String)> {
    section
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let pid = fields.next()?.parse().ok()?;
            let ppid = fields.next()?.parse().ok()?;
            let state = fields.next()?.to_string();
            let name = fields.next()?.to_string();
            Some((pid, ppid, state, name, fields.collect::<Vec<_>>().join(" ")))
        })
        .collect()
}

/// The part of `out` after the line `== NAME` up to the next such line.
fn section<'a>(out: &'a str, name: &str) -> &'a str {
    let start = out.find(&format!("== {name}\n")).unwrap_or_else(|| panic!("no section {name} in\n{out}"));
    let rest = &out[start + name.len() + 4..];
    &rest[..rest.find("\n== ").map_or(rest.len(), |end| end + 1)]
}

#[test]
fn busybox_tools_see_a_workload_of_known_processes() {
    let script = "sleep 30 & sleeper=$!; \
        sh -c 'while :; do :; done' & spinner=$!; \
        sleep 0.3; \
        echo == ids; echo $$ $sleeper $spinner; \
        echo == ps; ps -o pid,ppid,stat,comm,args; \
        echo == cpu1; cut -d' ' -f14 /proc/$spinner/stat; \
        sleep 0.5; \
        echo == cpu2; cut -d' ' -f14 /proc/$spinner/stat; \
        echo == top; top -b -n 1; \
        echo == free; free; \
        echo == uptime; uptime; \
        echo == pidof; pidof sleep; \
        kill $(pidof sleep) $spinner; wait; \
        echo == after; ps -o pid,comm; \
        echo == df; df; \
        echo == mount; mount; \
        echo == sys; cat /proc/sys/kernel/hostname /proc/sys/kernel/pid_max; ls /proc/sys/kernel; \
        echo == threads-max; cat /proc/sys/kernel/threads-max; ulimit -u; echo == end";
    // One CPU: top shows the spinner taking most of it.
    let output = run_with(&["--cpus", "1"], Path::new(BUSYBOX), &["sh", "-c", script]);
    let out = stdout(&output);
    let ids: Vec<u32> = section(&out, "ids").split_whitespace().map(|id| id.parse().unwrap()).collect();
    let (shell, sleeper, spinner) = (ids[0], ids[1], ids[2]);

    let rows = ps_rows(section(&out, "ps"));
    let row = |pid: u32| rows.iter().find(|row| row.0 == pid).unwrap_or_else(|| panic!("no pid {pid} in\n{out}"));
    assert_eq!((row(sleeper).1, row(sleeper).2.as_str(), row(sleeper).3.as_str()), (shell, "S", "sleep"), "{out}");
    assert_eq!(row(sleeper).4, "sleep 30", "{out}");
    assert_eq!((row(spinner).1, row(spinner).2.as_str(), row(spinner).3.as_str()), (shell, "R", "sh"), "{out}");
    assert_eq!(row(spinner).4, "sh -c while :; do :; done", "{out}");
    assert_eq!((row(shell).1, row(shell).3.as_str()), (0, "busybox"), "{out}");

    let ticks = |name| section(&out, name).trim().parse::<u64>().unwrap();
    let (before, after) = (ticks("cpu1"), ticks("cpu2"));
    assert!(after >= before + 10, "the spinner's utime grows by most of 0.5 s: {before} then {after}");

    let top = section(&out, "top");
    assert!(top.starts_with("Mem: ") && top.contains("\nCPU: "), "{top}");
    let spinner_line = top.lines().find(|line| line.trim_start().starts_with(&format!("{spinner} "))).unwrap();
    let cpu: u32 = spinner_line.split_whitespace().nth(6).unwrap().trim_end_matches('%').parse().unwrap();
    assert!(cpu >= 50, "the spinner takes most of the CPU: {spinner_line}");

    let free = section(&out, "free");
    let memory: Vec<u64> =
        free.lines().nth(1).unwrap().split_whitespace().skip(1).map(|number| number.parse().unwrap()).collect();
    assert!(memory[0] > 100_000 && memory[1] > 0 && memory[2] > 0 && memory[1] + memory[2] <= memory[0], "{free}");
    assert!(section(&out, "uptime").contains(" up "), "{out}");
    assert_eq!(section(&out, "pidof").trim(), sleeper.to_string(), "{out}");
    let after = section(&out, "after");
    assert!(!after.contains("sleep") && !after.contains(&format!("{spinner} ")), "killed: {after}");
    let df = section(&out, "df");
    assert!(df.lines().nth(1).is_some_and(|line| line.starts_with("tmpfs ") && line.ends_with(" /")), "{df}");
    assert_eq!(df.lines().count(), 2, "df leaves /proc out, as on Linux: {df}");
    assert_eq!(section(&out, "mount"), "tmpfs on / type tmpfs (rw)\nproc on /proc type proc (rw)\n");
    assert_eq!(section(&out, "sys"), "timeshare\n32768\nhostname\npid_max\nthreads-max\n");
    // threads-max follows memory; RLIMIT_NPROC's default is half of it, as Linux's.
    let limits: Vec<u64> = section(&out, "threads-max").lines().map(|line| line.parse().unwrap()).collect();
    assert_eq!(limits.len(), 2, "{limits:?}");
    assert_eq!(limits[0] / 2, limits[1], "threads-max and ulimit -u: {limits:?}");
}

#[test]
fn the_load_average_follows_the_run_queue() {
    // Two spinners for 11 s: two samples of at least 2 runnable tasks (the
    // spinners; the shell sleeps), so the 1-minute average is at least
    // 2 * (1 - (1884/2048)^2) = 0.31, and sysinfo's (uptime's) says the same.
    let script = "sh -c 'while :; do :; done' & a=$!; sh -c 'while :; do :; done' & b=$!; \
        sleep 11; cat /proc/loadavg; uptime; kill $a $b";
    let output = run(Path::new(BUSYBOX), &["sh", "-c", script]);
    let out = stdout(&output);
    let fields: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    let one_minute: f64 = fields[0].parse().unwrap();
    assert!((0.31..1.0).contains(&one_minute), "{out}");
    let (running, threads) = fields[3].split_once('/').unwrap();
    assert!(running.parse::<u32>().unwrap() >= 2 && threads.parse::<u32>().unwrap() >= 3, "{out}");
    // BusyBox truncates sysinfo's figure where /proc/loadavg rounds it, as on Linux.
    let uptime = out.lines().nth(1).unwrap();
    let from_sysinfo: f64 = uptime.split("load average: ").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
    assert!((one_minute - from_sysinfo).abs() < 0.015, "{out}");
}

/// `procsched NICE` under `--sched POLICY`: its /proc/self/sched before and after
/// 200 ms of CPU, and /proc/timeshare/sched. Under `--icount`: the ticks in those
/// 200 ms are the same every time (without it, a host that stops QEMU for a while
/// lets the CPU time pass with fewer timer interrupts than its length holds).
fn policy_views(policy: &str, nice: &str) -> (String, String, String) {
    let options = ["--cpus", "1", "--icount", "--sched", policy, "--mlfq-boost-ms", "10000"];
    let output = run_with(&options, &c_program("procsched"), &[nice]);
    assert_status(&output, 0);
    let out = stdout(&output);
    (section(&out, "before").to_string(), section(&out, "after").to_string(), section(&out, "policy").to_string())
}

/// The number after `name: ` in a `name: value` text.
fn value(text: &str, name: &str) -> u64 {
    let line =
        text.lines().find(|line| line.starts_with(&format!("{name}: "))).unwrap_or_else(|| panic!("{name} in {text}"));
    line[name.len() + 2..].split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn an_mlfq_hog_is_seen_moving_down() {
    let (before, after, policy) = policy_views("mlfq", "0");
    assert!(before.contains("policy: mlfq\nlevel: 0 of 3 (0 is the top)\n"), "{before}");
    assert!(value(&before, "allotment left") <= 10, "{before}");
    assert!(after.contains("level: 2 of 3 (0 is the top)\n"), "two allotments (10 + 20 ticks) spent: {after}");
    assert!(value(&before, "next boost in") > value(&after, "next boost in"), "{before}{after}");
    assert!(
        policy.starts_with("policy: mlfq\nquanta: 10 20 40 ticks\n") && policy.contains("\nboosts: 0\n"),
        "{policy}"
    );
}

#[test]
fn a_stride_task_is_seen_advancing_by_its_stride() {
    let (before, after, policy) = policy_views("stride", "5");
    // nice 5 weighs 335: a stride of 2^20 * 1024 / 335.
    assert_eq!((value(&before, "stride"), value(&after, "stride")), (3_205_199, 3_205_199), "{before}");
    let advanced = value(&after, "pass") - value(&before, "pass");
    assert_eq!(advanced % 3_205_199, 0, "whole strides: {before}{after}");
    assert!(advanced / 3_205_199 >= 100, "a stride per tick of 200 ms: {before}{after}");
    assert!(policy.starts_with("policy: stride\nquantum: 10 ticks\n"), "{policy}");
}

#[test]
fn lottery_fair_and_rr_show_their_own_view() {
    let (before, after, _) = policy_views("lottery", "5");
    assert_eq!(value(&before, "tickets"), 335, "{before}");
    assert!(value(&after, "wins") > value(&before, "wins") + 5, "a draw won each quantum: {before}{after}");
    let (before, after, policy) = policy_views("fair", "5");
    assert_eq!(value(&before, "weight"), 335, "{before}");
    let aged = value(&after, "vruntime") - value(&before, "vruntime");
    assert!(aged % 3_205_199 == 0 && aged / 3_205_199 >= 100, "2^20 * 1024 / 335 a tick: {before}{after}");
    assert!(policy.starts_with("policy: fair\nlatency: 10 ticks\n"), "{policy}");
    let (before, _, policy) = policy_views("rr", "0");
    assert!(before.contains("policy: rr\nposition: not queued (running or blocked)\n"), "{before}");
    assert!(policy.contains("\nswitches: ") && policy.contains("\npreemptions: "), "{policy}");
}

#[test]
fn the_policy_lists_its_run_queue_and_counts_switches() {
    let script = "sh -c 'while :; do :; done' & a=$!; sh -c 'while :; do :; done' & b=$!; sleep 0.3; \
        cat /proc/timeshare/sched; cat /proc/$a/sched; kill $a $b";
    let output = run_with(&["--cpus", "1", "--sched", "rr"], Path::new(BUSYBOX), &["sh", "-c", script]);
    let out = stdout(&output);
    // The reader runs; both spinners wait in the queue, in some order.
    let queue = out.lines().find(|line| line.starts_with("queue: ")).unwrap();
    let mut queued: Vec<&str> = queue["queue: ".len()..].split(' ').collect();
    queued.sort();
    assert_eq!(queued, ["2", "3"], "{out}");
    assert!(value(&out, "preemptions") >= 20 && value(&out, "switches") >= value(&out, "preemptions"), "{out}");
    assert!(out.contains("task: 2 (sh)\npolicy: rr\nposition: "), "{out}");
}

#[test]
fn dev_stdin_stdout_and_fd_lead_through_proc_as_on_linux() {
    let (_, guest) = same_as_host(
        &[],
        Path::new(BUSYBOX),
        &[
            "sh",
            "-c",
            "echo to-stdout > /dev/stdout; echo via-fd > /dev/fd/1; readlink /dev/stdin; readlink /dev/fd; \
             echo piped | cat /dev/stdin; echo to-stderr > /dev/stderr",
        ],
    );
    assert_eq!(stdout(&guest), "to-stdout\nvia-fd\n/proc/self/fd/0\n/proc/self/fd\npiped\n");
}
