//! The other CPUs: `--cpus N` gives the machine N CPUs and the kernel brings every
//! one up (found in the ACPI MADT, started with INIT-SIPI-SIPI), each answering a
//! ping IPI at boot; /proc/cpuinfo lists them, sched_getaffinity (BusyBox's
//! nproc) allows them all, and a program's output and exit status do not depend
//! on N (how they run there: smp_sched.rs).

mod common;

use std::path::Path;

use common::*;

const BUSYBOX: &str = "/bin/busybox";

/// Boots `cpus` CPUs (with `options`) and checks what the guest sees: a
/// /proc/cpuinfo block per CPU, the boot log's line per CPU and its ping summary,
/// and every CPU for programs.
fn check_every_cpu_comes_online(options: &[&str], cpus: usize) {
    let cpus_option = cpus.to_string();
    let options: Vec<&str> = ["--cpus", cpus_option.as_str()].iter().chain(options).copied().collect();
    let guest =
        run_with(&options, Path::new(BUSYBOX), &["sh", "-c", "cat /proc/cpuinfo; echo ==; dmesg; echo ==; nproc"]);
    assert_status(&guest, 0);
    let out = stdout(&guest);
    let mut sections = out.split("==\n");
    let (cpuinfo, dmesg, nproc) = (sections.next().unwrap(), sections.next().unwrap_or(""), sections.next());

    let processors: Vec<&str> = cpuinfo.lines().filter(|line| line.starts_with("processor")).collect();
    let expected: Vec<String> = (0..cpus).map(|n| format!("processor\t: {n}")).collect();
    assert_eq!(processors, expected, "/proc/cpuinfo:\n{cpuinfo}");
    let apic_ids: Vec<&str> = cpuinfo.lines().filter(|line| line.starts_with("apicid")).collect();
    assert_eq!(apic_ids.len(), cpus, "an apicid per CPU:\n{cpuinfo}");
    assert_eq!(cpuinfo.matches("\n\n").count(), cpus, "a blank line after each CPU's block:\n{cpuinfo}");

    for n in 1..cpus {
        let line = format!("] cpu {n} online (apic id {n})");
        assert!(dmesg.lines().any(|l| l.ends_with(&line)), "no `{line}` in dmesg:\n{dmesg}");
    }
    let summary = format!("] cpus online: {cpus}; ping IPIs answered: {0} of {0}, broadcast: {0} of {0}", cpus - 1);
    assert!(dmesg.lines().any(|l| l.ends_with(&summary)), "no `{summary}` in dmesg:\n{dmesg}");
    assert!(!dmesg.contains("did not"), "a CPU failed:\n{dmesg}");

    // sched_getaffinity: the CPUs that run tasks, all of them.
    assert_eq!(nproc, Some(format!("{cpus}\n").as_str()), "{out}");
}

#[test]
fn one_cpu_by_default() {
    check_every_cpu_comes_online(&[], 1);
}

#[test]
fn two_cpus_come_online_and_answer_their_ping() {
    check_every_cpu_comes_online(&[], 2);
}

#[test]
fn four_cpus_come_online_and_answer_their_ping() {
    check_every_cpu_comes_online(&[], 4);
}

/// Under -icount QEMU runs the CPUs one after the other on one thread: every wait
/// for another CPU must let it run (none may spin forever with the others stopped).
#[test]
fn four_cpus_come_online_under_icount() {
    check_every_cpu_comes_online(&["--icount"], 4);
}

#[test]
fn the_most_cpus_come_online() {
    check_every_cpu_comes_online(&[], 16);
}

#[test]
fn programs_behave_the_same_on_one_two_and_four_cpus() {
    for cpus in ["1", "2", "4"] {
        let options = ["--cpus", cpus];
        same_as_host(&options, &c_program("args"), &["a", "b c", ""]);
        same_as_host(&options, &c_program("fdjuggle"), &[]);
        same_as_host(&options, &c_program("polltest"), &[]);
        // Ended by SIGSEGV: status 139 on every side.
        let (_, guest) = same_as_host(&["-q", "--cpus", cpus], &c_program("diagnose"), &["segv"]);
        assert_eq!(guest.status.code(), Some(139), "--cpus {cpus}");
    }
}

#[test]
fn cpu_counts_outside_1_to_16_are_usage_errors() {
    for bad in ["0", "17", "99", "two"] {
        let output = timeshare_with(&["run", "--cpus", bad, &c_program("hello").to_string_lossy()]);
        assert_eq!(output.status.code(), Some(2), "--cpus {bad}");
        let message = stderr(&output);
        assert!(message.contains("--cpus"), "--cpus {bad}: {message}");
        assert!(stdout(&output).is_empty(), "--cpus {bad}");
    }
    let output = timeshare_with(&["run", "--cpus", "17", &c_program("hello").to_string_lossy()]);
    assert!(stderr(&output).contains("17 is not in 1..=16"), "{}", stderr(&output));
}

/// The other CPUs' timer interrupts are traced too; the trace's totals, sent at
/// power-off, must still count exactly what the host reads (an idle CPU's tick
/// right after them once made the host read one event more than counted).
#[test]
fn the_trace_totals_hold_while_other_cpus_tick() {
    let dir = scratch_dir("smp_trace_totals");
    for attempt in 0..3 {
        let trace = dir.join(format!("trace{attempt}.json"));
        let guest = run_with(&["--cpus", "4", "--trace", trace.to_str().unwrap()], &c_program("forkwait"), &[]);
        assert_status(&guest, 0);
        let message = stderr(&guest);
        assert!(!message.contains("timeshare: trace:"), "attempt {attempt}: {message}");
        assert!(std::fs::metadata(&trace).is_ok_and(|m| m.len() > 0), "attempt {attempt}: no trace");
    }
}

/// The failure report's "CPUs:" section after `selftest=ap-panic` on `cpus` CPUs:
/// cpu 1 failed; the boot CPU, spinning with interrupts off, took the stop NMI in
/// kernel mode; the others, idle, too; every line comes after the panic's.
fn assert_every_cpu_stopped(err: &str, cpus: usize) {
    let section = err.split_once("CPUs:\n").map(|(before, after)| {
        assert!(before.contains("kernel panic on cpu 1: "), "{err}");
        after
    });
    let section = section.unwrap_or_else(|| panic!("no CPUs: section in\n{err}"));
    let lines: Vec<&str> = section.lines().take(cpus).collect();
    assert_eq!(lines.len(), cpus, "{err}");
    for (cpu, line) in lines.iter().enumerate() {
        let expected = if cpu == 1 { "failed (this report), no process" } else { "stopped in kernel mode at rip 0x" };
        assert!(line.contains(&format!("cpu {cpu}: {expected}")), "line {cpu}: {line}\n{err}");
        if cpu != 1 {
            assert!(line.contains("cs 0x10, no process"), "line {cpu}: {line}\n{err}");
        }
    }
    assert!(!err.contains("did not answer"), "{err}");
}

/// A panic on another CPU prints its report and fails the run, even while the boot
/// CPU holds the kernel log's lock (`selftest=ap-panic`), instead of hanging; it
/// stops every other CPU first, and its report shows each one's state.
#[test]
fn a_panic_on_another_cpu_prints_its_report() {
    let output = run_with(&["--cpus", "2", "--kernel-arg", "selftest=ap-panic"], &c_program("hello"), &[]);
    assert_status(&output, 125);
    let err = stderr(&output);
    assert!(err.contains("kernel panic on cpu 1: "), "{err}");
    assert!(err.contains("selftest=ap-panic: a kernel panic on cpu 1 on purpose"), "{err}");
    assert_every_cpu_stopped(&err, 2);

    let started = std::time::Instant::now();
    let output = run_with(&["--cpus", "4", "--kernel-arg", "selftest=ap-panic"], &c_program("hello"), &[]);
    assert_status(&output, 125);
    assert_every_cpu_stopped(&stderr(&output), 4);
    // The stopped CPUs end nothing: the failing CPU's wait for them is bounded and
    // it ends the machine (the boot CPU alone would spin 5 s and fail differently).
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "{:?}", started.elapsed());

    // With one CPU the self-test cannot run, and says so.
    let output = run_with(&["--kernel-arg", "selftest=ap-panic"], &c_program("hello"), &[]);
    assert_status(&output, 125);
    assert!(stderr(&output).contains("selftest=ap-panic needs a second CPU"), "{}", stderr(&output));
}

/// CPUs that fail at the same moment (`selftest=panic-all`: every CPU but the boot
/// CPU panics at once, at a tick that interrupted one of the spinning programs,
/// `spinall`)
/// stop the machine once: one panic's report, no other printed over it, and one
/// line per CPU: the boot CPU, running a program, stopped by the NMI in user mode
/// (with interrupts on, but the same entry as any other mode); the other
/// failing CPUs stopped, having failed too or taken the NMI first (spinning with
/// interrupts off); the run ends promptly though the programs never would.
#[test]
fn cpus_failing_at_once_stop_the_machine_once() {
    for cpus in [3, 4] {
        let started = std::time::Instant::now();
        let cpus_option = cpus.to_string();
        let output = run_with(
            &["--cpus", &cpus_option, "--kernel-arg", "selftest=panic-all"],
            &c_program("spinall"),
            &[&cpus_option],
        );
        assert_status(&output, 125);
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{:?}", started.elapsed());
        let err = stderr(&output);
        assert_eq!(err.matches("kernel panic on cpu").count(), 1, "{err}");
        assert!(err.contains("fails with the others on purpose"), "{err}");
        let (_, section) = err.split_once("CPUs:\n").unwrap_or_else(|| panic!("no CPUs: section in\n{err}"));
        let lines: Vec<&str> = section.lines().take(cpus).collect();
        assert_eq!(lines.len(), cpus, "{err}");
        // Its program spins in user mode, never entering the kernel but for ticks;
        // the others fail at their own ticks, which every CPU's timer fires in step,
        // so CPU 0 may be in its tick's handler when it is stopped (the more often as
        // the spinners are spread one per CPU, and the failing ones arrive together).
        let user_mode = lines[0].contains("cpu 0: stopped in user mode at rip 0x4") && lines[0].contains("cs 0x33");
        let in_its_tick = lines[0].contains("cpu 0: stopped in kernel mode") && lines[0].contains("cs 0x10");
        assert!(user_mode || in_its_tick, "{err}");
        assert_eq!(lines.iter().filter(|line| line.contains(": failed (this report)")).count(), 1, "{err}");
        for (cpu, line) in lines.iter().enumerate().skip(1) {
            let stopped = line.contains(&format!("cpu {cpu}: failed (this report)"))
                || line.contains(&format!("cpu {cpu}: failed too (its report withheld), stopped in kernel mode"))
                || line.contains(&format!("cpu {cpu}: stopped in kernel mode"));
            assert!(stopped, "line {cpu}: {line}\n{err}");
        }
        for line in &lines {
            assert!(line.contains("running pid "), "{line}\n{err}");
        }
    }
}
