//! Signals with handlers, Linux style: each C program in `user/c` runs on this
//! Linux host and under `timeshare run`, and must print the same and end the same way
//! (the programs print pids only as comparisons). Each test also checks a line or two
//! of the expected output, so that the two agreeing is not the only evidence.

mod common;

use common::*;

/// Runs `name ARGS` on both sides, checks the exit status, and returns its stdout.
#[track_caller]
fn same_output(name: &str, args: &[&str], status: i32) -> String {
    let (_, guest) = same_as_host(&[], &c_program(name), args);
    assert_status(&guest, status);
    stdout(&guest)
}

#[track_caller]
fn assert_has(output: &str, line: &str) {
    assert!(output.lines().any(|l| l == line), "no line {line:?} in:\n{output}");
}

#[test]
fn handler_returns_with_every_register_restored() {
    let output = same_output("sigregs", &[], 0);
    assert_has(&output, "SIGILL (synchronous): every register restored");
    assert_has(&output, "SIGUSR1 (asynchronous): every register restored");
    assert_has(&output, "handler MXCSR 0x1f80 (fresh FPU state), rounding after return still downward");
}

#[test]
fn siginfo_fields_and_handler_masks() {
    let output = same_output("siginfo", &[], 0);
    assert_has(&output, "kill: signo 10 code 0 (SI_USER 0) pid is mine yes uid is mine yes errno 0");
    assert_has(&output, "SIGCHLD: signo 17 code 1 (CLD_EXITED 1) pid is the child yes status 7");
    assert_has(&output, "sigaction(SIGKILL): -1 errno 22 (EINVAL 22)");
}

#[test]
fn default_action_of_every_signal_seen_by_the_parent() {
    let output = same_output("sigdefault", &[], 0);
    assert_has(&output, "Terminated (15): killed by signal 15");
    assert_has(&output, "Child process status (17): exited 0");
    assert_has(&output, "Stopped (signal) (19): stopped by 19, exited 0");
    assert_has(&output, "real-time (64): killed by signal 64");
}

#[test]
fn self_kill_with_the_default_action_ends_a_process_but_not_init() {
    for (signal, status) in [("15", 143), ("11", 139), ("9", 137), ("6", 134), ("10", 138)] {
        // On the host the program is an ordinary process: killed, 128 + N.
        let host = host_run(&c_program("sigdefault"), &["self", signal]);
        assert_eq!(shell_status(host.status), status);
        // Under timeshare it is pid 1, which Linux lets no signal it has no handler
        // for end (a fault of its own does: see `forged_signal_frames_kill_only_the_forger`).
        let guest = run(&c_program("sigdefault"), &["self", signal]);
        assert_status(&guest, 0);
        assert_stdout(&guest, &format!("survived signal {signal}\n"));
    }
    // Ignored by default: the program goes on.
    assert_eq!(same_output("sigdefault", &["self", "28"], 0), "survived signal 28\n");
}

#[test]
fn sigpipe_kills_by_default_and_is_epipe_when_handled_or_ignored() {
    let output = same_output("sigpipe", &[], 0);
    assert_has(&output, "default: killed by signal 13");
    assert_has(&output, "handled: write -1 errno EPIPE, handler ran 1 time(s), si_code 0 (SI_USER 0), from self yes");
    assert_has(&output, "ignored: write -1 errno EPIPE, handler ran 1 time(s)");
}

#[test]
fn blocked_signals_wait_and_arrive_when_unblocked() {
    let output = same_output("sigmask", &[], 0);
    assert_has(&output, "unblocked: delivered 2 in order 21 (a signal pending twice arrives once)");
    assert_has(&output, "sigwaitinfo: 12, code -1 (SI_QUEUE -1) value 7, handler ran 0 time(s), still pending no");
    assert_has(&output, "fork child: handler inherited yes, SIGTERM blocked yes, SIGTERM pending no");
    assert_has(
        &output,
        "after exec: SIGUSR1 handler reset to SIG_DFL yes, SIGUSR2 still SIG_IGN yes, SIGTERM still blocked yes, \
         SIGTERM still pending yes",
    );
}

#[test]
fn interrupted_calls_fail_with_eintr_or_restart() {
    let output = same_output("sigrestart", &[], 0);
    assert_has(&output, "read without SA_RESTART: -1, EINTR");
    assert_has(&output, "read with SA_RESTART: 4 bytes \"data\", handler ran: yes");
    assert_has(&output, "nanosleep 10 s with SA_RESTART: -1, EINTR, time left between 1 and 10 s: yes");
    assert_has(&output, "nanosleep 300 ms, stopped and continued: 0, slept at least 300 ms: yes");
}

#[test]
fn stack_overflow_is_caught_on_the_alternate_stack() {
    let output = same_output("sigaltstack", &[], 0);
    assert_has(
        &output,
        "stack overflow caught: on the alternate stack yes, si_code 1 (SEGV_MAPERR 1 or SEGV_ACCERR 1)",
    );
    assert_has(&output, "inside the handler: flags SS_ONSTACK , changing it: EPERM");
}

#[test]
fn faults_have_linux_codes_and_handlers_can_siglongjmp_out() {
    let output = same_output("sigfault", &[], 0);
    assert_has(&output, "unmapped write, round 2: signal 11 code 1 (SEGV_MAPERR 1) address right yes");
    assert_has(&output, "read-only write: signal 11 code 2 (SEGV_ACCERR 2) address right yes");
    assert_has(&output, "blocked SIGSEGV on a fault: killed by signal 11");
}

#[test]
fn pause_returns_after_a_signal_from_a_child() {
    let output = same_output("sigpause", &[], 0);
    assert_has(&output, "pause: -1 EINTR, handler ran: yes");
}

#[test]
fn stop_and_continue_with_wuntraced_and_wcontinued() {
    let output = same_output("sigstop", &[], 0);
    assert_has(&output, "while stopped it wrote nothing");
    assert_has(&output, "with a handler: SIGCHLD codes CLD_STOPPED CLD_CONTINUED CLD_STOPPED CLD_KILLED");
    assert_has(&output, "SA_NOCLDSTOP: SIGCHLD codes CLD_KILLED");
    assert_has(&output, "stopped, an ignored signal, SIGCONT, SIGKILL: killed by 9, then a SIGCHLD: yes");
    assert_has(&output, "stopped, then SIGTERM: still there yes, after SIGCONT: killed by 15");
}

#[test]
fn process_groups_and_sessions() {
    let output = same_output("pgroups", &[], 0);
    assert_has(&output, "setpgid(child after exec): EACCES");
    assert_has(&output, "group leader setsid: EPERM");
    assert_has(&output, "  second member: killed by 15");
    assert_has(&output, "  outsider: exited 0");
}

#[test]
fn forged_signal_frames_kill_only_the_forger() {
    let output = same_output("sigforge", &[], 0);
    assert_has(&output, "non-canonical rip: killed by signal 11");
    assert_has(&output, "kernel code segment: killed by signal 11");
    assert_has(&output, "XCOMP_BV set (compacted format): killed by signal 11");
    assert_has(&output, "the parent is still here");
    // The first process itself, too: its end is the machine's.
    for case in ["0", "1", "3", "8"] {
        let (_, guest) = same_as_host(&[], &c_program("sigforge"), &[case]);
        assert_status(&guest, 139);
    }
}

#[test]
fn ignoring_sigchld_keeps_no_zombies() {
    let output = same_output("sigchld", &[], 0);
    assert_has(&output, "SIGCHLD ignored: wait -1 ECHILD");
    // More children than the process table holds: none of them lingers.
    assert_has(&output, "SIGCHLD ignored: 600 children forked, none waited for");
    assert_has(&output, "SA_NOCLDWAIT: wait -1 ECHILD, handler heard SIGCHLD yes");
}
