//! The schedulers of the papers, under QEMU: EEVDF's request size set through
//! sched_setattr (user/c/schedattr.c, compared with the host's Linux; procsched.c
//! shows it reaching the policy), and lottery's ticket transfer seen in
//! /proc/PID/sched. The responsiveness and share tests of lottery and EEVDF are
//! with the other policies' in sched.rs.

mod common;

use common::*;

/// sched_setattr / sched_getattr answer as the host's Linux does (for root): sizes,
/// errors, policies, clamped nice and slice, KEEP_POLICY / KEEP_PARAMS, and what a
/// child inherits with and without RESET_ON_FORK.
#[test]
fn sched_setattr_and_getattr_as_on_linux() {
    let (_, guest) = same_as_host(&[], &c_program("schedattr"), &[]);
    let out = stdout(&guest);
    assert!(out.contains("runtime: 5000000\n") && out.contains("child reset: size 48 policy 3 nice 0"), "{out}");
}

/// The text of `== NAME` up to the next section in procsched's output.
fn section<'a>(out: &'a str, name: &str) -> &'a str {
    let start = out.find(&format!("== {name}\n")).unwrap_or_else(|| panic!("no section {name} in\n{out}"));
    let rest = &out[start + name.len() + 4..];
    &rest[..rest.find("\n== ").map_or(rest.len(), |end| end + 1)]
}

/// The number after `name: ` in a `name: value` text.
fn value(text: &str, name: &str) -> i128 {
    let line =
        text.lines().find(|line| line.starts_with(&format!("{name}: "))).unwrap_or_else(|| panic!("{name} in {text}"));
    line[name.len() + 2..].split_whitespace().next().unwrap().parse().unwrap()
}

/// A slice set by sched_setattr is EEVDF's request, in ticks rounded up; the
/// policy's view shows lag, deadline and eligibility.
#[test]
fn sched_runtime_is_the_eevdf_request() {
    let output = run_with(&["--cpus", "1", "--sched", "eevdf"], &c_program("procsched"), &["2", "7000000"]);
    assert_status(&output, 0);
    let out = stdout(&output);
    let before = section(&out, "before");
    assert!(before.contains("\npolicy: eevdf\nweight: 655\nrequest: 7 ticks\n"), "{before}");
    for field in ["\nlag: ", "\ndeadline: ", "\neligible: yes\n"] {
        assert!(before.contains(field), "{field} in {before}");
    }
    assert!(section(&out, "policy").starts_with("policy: eevdf\ndefault request: 3 ticks\n"), "{out}");
    let (deadline, vruntime) = (value(section(&out, "after"), "deadline"), value(section(&out, "after"), "vruntime"));
    assert!(deadline > vruntime, "a request in progress ends in the future: {out}");
    let output = run_with(&["--cpus", "1", "--sched", "eevdf"], &c_program("procsched"), &["0", "1500000"]);
    assert!(stdout(&output).contains("\nrequest: 2 ticks\n"), "{}", stdout(&output));
}

/// BusyBox, on the host (the initrd gets it at /bin/busybox).
const BUSYBOX: &str = "/bin/busybox";

/// A shell waiting in wait4 for its one child lends it its tickets: the child sees
/// them in its /proc/self/sched.
#[test]
fn a_waiting_parent_lends_its_lottery_tickets_to_the_child() {
    let script = "renice -n -5 $$ >/dev/null; cat /proc/self/sched; true";
    let output = run_with(&["--cpus", "1", "--sched", "lottery"], std::path::Path::new(BUSYBOX), &["sh", "-c", script]);
    let out = stdout(&output);
    // The parent's nice -5 weighs 3121; the child inherited it.
    assert!(out.contains("\ntickets: 3121\n") && out.contains("\nborrowed tickets: 3121\n"), "{out}");
}

/// A thread blocked on a mutex whose lock word holds its owner's tid (a musl
/// recursive mutex) lends the owner its tickets until it has the lock.
#[test]
fn a_thread_waiting_for_a_mutex_lends_its_lottery_tickets_to_the_owner() {
    let output = run_with(&["--cpus", "1", "--sched", "lottery"], &c_program("lendlock"), &[]);
    assert_status(&output, 0);
    let out = stdout(&output);
    // The waiter's nice -5 weighs 3121.
    assert!(section(&out, "owner while the main thread waits").contains("\nborrowed tickets: 3121\n"), "{out}");
    assert!(section(&out, "owner after").contains("\nborrowed tickets: 0\n"), "{out}");
}

/// `threadshare 1000 3` under `options` (and `--icount`): the CPU of a process of
/// three spinning threads over that of a process of one.
fn multi_over_single(options: &[&str]) -> f64 {
    let options: Vec<&str> = ["--cpus", "1", "--icount"].into_iter().chain(options.iter().copied()).collect();
    let output = run_with(&options, &c_program("threadshare"), &["1000", "3"]);
    assert_status(&output, 0);
    let out = stdout(&output);
    eprintln!("{options:?} threadshare 1000 3:\n{out}");
    let line = out.lines().find(|line| line.starts_with("multi/single ")).unwrap_or_else(|| panic!("{out}"));
    line["multi/single ".len()..].parse().unwrap()
}

/// Lottery's currencies: a process's threads share its one pool of tickets, so a
/// process of three busy threads gets the CPU of a process of one (round robin,
/// which counts threads, gives it three times as much). 1 ms quanta: 1000 draws.
#[test]
fn a_process_s_threads_share_its_lottery_tickets() {
    let lottery = multi_over_single(&["--sched", "lottery", "--quantum-ms", "1"]);
    assert!((0.8..1.25).contains(&lottery), "lottery: three threads / one = {lottery}");
    let rr = multi_over_single(&["--sched", "rr"]);
    assert!(rr > 2.0, "rr: three threads / one = {rr}");
}
