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
        echo == mount; mount; echo == end";
    let output = run(Path::new(BUSYBOX), &["sh", "-c", script]);
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
