//! `timeshare run --gdb`: QEMU starts halted with its gdb stub, timeshare prints the one
//! command that attaches, and the script it names loads the kernel's and the
//! program's symbols: gdb (driven here with -batch) stops in the program's main, sees
//! a system call enter the kernel with its number in rax, and lets the run finish as
//! usual. `--kernel-profile dev` boots the debug-friendly kernel.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// gdb, which these tests drive (.ci/run installs it).
fn gdb() -> &'static str {
    let found = Command::new("gdb").arg("--version").output().is_ok_and(|output| output.status.success());
    assert!(found, "gdb is not installed: `apt-get install gdb` (.ci/run does)");
    "gdb"
}

/// Runs `timeshare run --gdb OPTIONS PROGRAM ARGS`, reads the attach command it
/// prints, and runs gdb -batch with that script and `commands` once QEMU's socket is
/// there. Returns (the script's text, gdb's output, timeshare's output).
fn debug_session(options: &[&str], program: &Path, args: &[&str], commands: &[&str]) -> (String, String, Output) {
    let gdb = gdb();
    let mut child = timeshare()
        .args(["run", "--gdb", "--timeout", TIMEOUT_SECS])
        .args(options)
        .arg(program)
        .args(args)
        .spawn()
        .expect("start timeshare");
    let mut stderr = BufReader::new(child.stderr.take().expect("piped"));
    let mut said = String::new();
    let script = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).expect("read timeshare's stderr") == 0 {
            panic!("timeshare ended without an attach command:\n{said}");
        }
        said.push_str(&line);
        if let Some(script) = line.trim().strip_prefix("gdb -x ") {
            break PathBuf::from(script);
        }
    };
    let text = std::fs::read_to_string(&script).expect("read the gdb script");
    let socket = text.lines().find_map(|line| line.strip_prefix("target remote ")).expect("a target line").to_string();
    let started = Instant::now();
    while !Path::new(&socket).exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "QEMU never made {socket}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut command = Command::new(gdb);
    command.args(["-batch", "-nx", "-x"]).arg(&script);
    for line in commands {
        command.args(["-ex", line]);
    }
    let debugged = command.stdin(Stdio::null()).output().expect("run gdb");
    let gdb_said =
        format!("{}{}", String::from_utf8_lossy(&debugged.stdout), String::from_utf8_lossy(&debugged.stderr));
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        rest
    });
    let mut output = child.wait_with_output().expect("wait for timeshare");
    output.stderr = format!("{said}{}", rest.join().unwrap()).into_bytes();
    (text, gdb_said, output)
}

/// The commands that stop in main, then at the entry of getpid (its number, 39, in
/// rax), then back in the program where the call returns, whose backtrace leads into
/// main; then the program runs to its end. main's breakpoint goes once it is hit: on
/// a loaded host the next `continue` once stopped there again (gdb steps over the
/// breakpoint to go on; an interrupt in that step would return to the same
/// instruction, the likely cause).
const GETPID_SESSION: &[&str] = &[
    "continue",
    "delete 1",
    "condition 2 $rax == 39",
    "enable 2",
    "continue",
    "printf \"rax = %d\\n\", $rax",
    "tbreak *$rcx",
    "continue",
    "bt",
    "delete",
    "continue",
];

#[test]
fn gdb_stops_in_main_and_sees_a_system_call_enter_the_kernel() {
    let debugme = c_program("debugme");
    let (script, gdb_said, output) = debug_session(&[], &debugme, &[], GETPID_SESSION);
    assert!(script.contains(&format!("add-symbol-file {}", debugme.canonicalize().unwrap().display())), "{script}");
    assert!(script.contains("/release/kernel\n"), "{script}");
    // The run itself is as without --gdb.
    assert_status(&output, 0);
    assert_stdout(&output, "getpid() = 1\n");
    for wanted in
        ["Breakpoint 1, main () at user/c/debugme.c:", "Breakpoint 2, 0x", " in syscall_entry ()", "rax = 39\n"]
    {
        assert!(gdb_said.contains(wanted), "no `{wanted}` in gdb's output:\n{gdb_said}");
    }
    // Where the call returns: ask_pid, called by main.
    let backtrace: Vec<&str> = gdb_said.lines().filter(|line| line.starts_with('#')).collect();
    assert!(
        backtrace.len() >= 2
            && backtrace[0].contains("ask_pid () at user/c/debugme.c:")
            && backtrace[1].contains(" main () at user/c/debugme.c:"),
        "{gdb_said}"
    );
}

#[test]
fn the_dev_kernel_shows_values_that_release_optimizes_out() {
    let diagnose = c_program("diagnose");
    let (script, gdb_said, output) = debug_session(
        &["--kernel-profile", "dev"],
        &diagnose,
        &["segv"],
        &[
            "break timeshare_kernel::process::lifecycle::report_fatal_signal",
            "continue",
            // main's breakpoint goes once hit, as in GETPID_SESSION: on a loaded host
            // the next `continue` stopped in main again.
            "delete 1",
            "continue",
            "up",
            "info locals",
            "delete",
            "continue",
        ],
    );
    assert!(script.contains("/kernel-dev/kernel\n"), "{script}");
    assert_status(&output, 128 + 11);
    assert_stdout(&output, "before\n");
    // The frame that decided the program dies, signal::deliver's `deliver_pending`:
    // its register state and the locals the release kernel's gdb shows as
    // `<optimized out>`. (gdb writes "#1  0x... in deliver_pending (" or, when the
    // return address starts a line of the line table, "#1  deliver_pending (".)
    let caller = gdb_said
        .lines()
        .find(|line| line.starts_with('#') && line.contains("timeshare_kernel::signal::deliver::deliver_pending ("))
        .unwrap_or_else(|| panic!("no deliver frame:\n{gdb_said}"));
    assert!(caller.contains(", user=0x"), "{caller}");
    for wanted in ["action = kernel_core::abi::signal::SigAction {", "interruption = core::option::Option"] {
        assert!(gdb_said.contains(wanted), "no `{wanted}` in gdb's output:\n{gdb_said}");
    }
}
