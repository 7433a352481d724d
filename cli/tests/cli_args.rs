//! Everything after PROGRAM is the program's: words that look like timeshare's options,
//! `--help` and `--` reach its argv exactly as on the host, and the options before
//! PROGRAM still belong to timeshare.

mod common;

use common::*;

/// `args WORDS...` under timeshare prints the same argv as on the host, and nothing of
/// timeshare's (the kernel log that `-v` would show, its help) reaches stderr.
#[track_caller]
fn program_gets(options: &[&str], words: &[&str]) {
    let (_, guest) = same_as_host(options, &c_program("args"), words);
    let expected: String = words.iter().enumerate().map(|(i, word)| format!("argv[{}] = [{word}]\n", i + 1)).collect();
    assert!(stdout(&guest).contains(&expected), "argv {words:?} not in:\n{}", stdout(&guest));
}

#[test]
fn a_verbose_flag_is_the_programs() {
    program_gets(&[], &["-v"]);
    let output = run(&c_program("args"), &["-v"]);
    assert!(stderr(&output).is_empty(), "timeshare took -v (kernel log on stderr):\n{}", stderr(&output));
}

#[test]
fn help_is_the_programs() {
    program_gets(&[], &["--help"]);
    program_gets(&[], &["-h", "-V", "--version"]);
}

#[test]
fn a_double_dash_after_the_program_is_the_programs() {
    program_gets(&[], &["--", "x", "--"]);
}

#[test]
fn words_like_timeshare_options_are_the_programs() {
    program_gets(&[], &["--timeout", "5", "--sched", "rr", "-x=1", "--memory=16", "--add", "/etc/passwd"]);
}

#[test]
fn options_before_the_program_still_count() {
    let args = c_program("args");
    // --sched and -v before PROGRAM are timeshare's: the kernel log names the policy.
    let output = run_with(&["--sched", "rr", "-v"], &args, &["-v", "--sched", "mlfq"]);
    assert_status(&output, 0);
    assert!(stdout(&output).contains("argv[1] = [-v]\nargv[2] = [--sched]\nargv[3] = [mlfq]\n"), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("sched rr"),
        "-v --sched rr before PROGRAM: no kernel log naming rr:\n{}",
        stderr(&output)
    );
    // `--` before PROGRAM ends timeshare's options.
    let output = run_with(&["--"], &args, &["--verbose"]);
    assert_status(&output, 0);
    assert!(
        stdout(&output).contains("argc = 2\nargv[0] = [/bin/args]\nargv[1] = [--verbose]\n"),
        "{}",
        stdout(&output)
    );
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
}

#[test]
fn an_unknown_option_before_the_program_is_a_usage_error() {
    let args = c_program("args");
    let output = timeshare_with(&["run", "--frobnicate", args.to_str().unwrap()]);
    assert_status(&output, 2);
    assert!(stderr(&output).contains("--frobnicate"), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
}

#[test]
fn help_names_the_debugging_and_diagnostics_options() {
    let output = timeshare_with(&["run", "--help"]);
    assert_status(&output, 0);
    for option in ["--gdb", "--kernel-profile", "--quiet"] {
        assert!(stdout(&output).contains(option), "{option} missing from:\n{}", stdout(&output));
    }
}
