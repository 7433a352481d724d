//! `timeshare run --explain` and `--report`: the textbook's two LDE tables, filled
//! from a real run. Each row must be there, in the book's order, with values that
//! agree with the program's ELF file (read here with the `object` crate) and with
//! the event trace of the same run (`--trace`): the system calls it made, the
//! switch it recorded.

mod common;

use std::path::Path;

use common::{c_program, run_with, user_program};
use object::{Object, ObjectSegment};

/// The rows of the first table before the system calls, in order.
const BOOT_AND_FIRST_PROCESS: [(&str, &str); 8] = [
    ("OS @ boot (kernel mode)", "initialize trap table"),
    ("Hardware", "remember address of syscall handler"),
    ("OS @ run (kernel mode)", "create entry for process list"),
    ("OS @ run (kernel mode)", "allocate memory, load program"),
    ("OS @ run (kernel mode)", "set up user stack with argv"),
    ("OS @ run (kernel mode)", "fill kernel stack with reg/PC"),
    ("OS @ run (kernel mode)", "return-from-trap"),
    ("Hardware", "restore regs from kernel stack, move to user mode, jump to main"),
];

/// The four rows of each system call.
const SYSTEM_CALL: [(&str, &str); 4] = [
    ("Program (user mode)", "call system call, trap into OS"),
    ("Hardware", "save regs to kernel stack, move to kernel mode, jump to trap handler"),
    ("OS @ run (kernel mode)", "handle trap, do work of syscall, return-from-trap"),
    ("Hardware", "restore regs from kernel stack, move to user mode, jump to PC after trap"),
];

/// The three rows of an exception.
const EXCEPTION: [(&str, &str); 3] = [
    ("Program (user mode)", "cause an exception"),
    ("Hardware", "save regs to kernel stack, move to kernel mode, jump to trap handler"),
    ("OS @ run (kernel mode)", "handle the trap"),
];

/// The second table's rows, in order.
const TIMER: [(&str, &str); 9] = [
    ("OS @ boot (kernel mode)", "initialize trap table"),
    ("Hardware", "remember addresses of syscall handler, timer handler"),
    ("OS @ boot (kernel mode)", "start interrupt timer"),
    ("Hardware", "start timer; interrupt CPU in X ms"),
    ("Program (user mode)", "Process A"),
    ("Hardware", "timer interrupt; save regs(A) to k-stack(A); move to kernel mode; jump to trap handler"),
    (
        "OS @ run (kernel mode)",
        "handle the trap; call switch(): save regs(A) → proc-struct(A), restore regs(B) ← proc-struct(B), switch to k-stack(B); return-from-trap (into B)",
    ),
    ("Hardware", "restore regs(B) ← k-stack(B); move to user mode; jump to B's PC"),
    ("Program (user mode)", "Process B"),
];

/// One row of the text tables: its column, its step and its value lines.
#[derive(Debug)]
struct Row {
    column: String,
    step: String,
    values: Vec<String>,
}

/// The two tables of `--explain`'s text.
fn tables(text: &str) -> [Vec<Row>; 2] {
    let mut tables: Vec<Vec<Row>> = Vec::new();
    for line in text.lines() {
        if line.starts_with("LDE protocol (without interrupts)") || line.starts_with("LDE protocol (timer interrupt)") {
            tables.push(Vec::new());
        } else if let Some(header) = line.strip_prefix("  [") {
            let (column, step) = header.split_once("] ").expect("a row header");
            let table = tables.last_mut().expect("a row inside a table");
            table.push(Row { column: column.to_string(), step: step.to_string(), values: Vec::new() });
        } else if let Some(value) = line.strip_prefix("      ") {
            if let Some(row) = tables.last_mut().and_then(|table| table.last_mut()) {
                if !value.starts_with("why: ") && !value.starts_with("at: ") {
                    row.values.push(value.to_string());
                }
            }
        }
    }
    tables.try_into().unwrap_or_else(|tables: Vec<_>| panic!("two tables, got {}:\n{text}", tables.len()))
}

fn steps(rows: &[Row]) -> Vec<(&str, &str)> {
    rows.iter().map(|row| (row.column.as_str(), row.step.as_str())).collect()
}

/// The row whose step is `step` (the first one).
fn row<'a>(rows: &'a [Row], step: &str) -> &'a Row {
    rows.iter().find(|row| row.step == step).unwrap_or_else(|| panic!("no row `{step}` in {rows:#?}"))
}

/// `timeshare run --icount --explain --trace JSON OPTIONS PROGRAM ARGS`, which must
/// exit with `status`: the tables' text (from `--explain-out`), the trace's events,
/// the program's stdout.
fn explained(options: &[&str], program: &Path, args: &[&str], status: i32) -> (String, Vec<serde_json::Value>, String) {
    let dir = tempfile_dir();
    let text_path = dir.join("tables.txt");
    let json_path = dir.join("trace.json");
    let mut all =
        vec!["--icount", "--explain-out", text_path.to_str().unwrap(), "--trace", json_path.to_str().unwrap()];
    all.extend_from_slice(options);
    let output = run_with(&all, program, args);
    assert_eq!(output.status.code(), Some(status), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let text = std::fs::read_to_string(&text_path).expect("the tables were written");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    let events = json["traceEvents"].as_array().expect("trace events").clone();
    let _ = std::fs::remove_dir_all(&dir);
    (text, events, String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A fresh directory of this test's own.
fn tempfile_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "timeshare-explain-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The first `count` system calls of `tid`, by number, from the trace.
fn traced_syscalls(events: &[serde_json::Value], tid: u64, count: usize) -> Vec<u64> {
    let mut calls: Vec<(f64, u64)> = events
        .iter()
        .filter(|event| event["cat"] == "syscall" && event["tid"] == tid)
        .map(|event| (event["ts"].as_f64().unwrap(), event["args"]["number"].as_u64().unwrap()))
        .collect();
    calls.sort_by(|a, b| a.0.total_cmp(&b.0));
    calls.into_iter().take(count).map(|(_, number)| number).collect()
}

/// The system call numbers the tables show (`rax = N` in the program's rows).
fn explained_syscalls(rows: &[Row]) -> Vec<u64> {
    rows.iter()
        .filter(|row| row.step == SYSTEM_CALL[0].1)
        .map(|row| {
            let value = &row.values[0];
            let number = value.split("rax = ").nth(1).expect("rax = N").split(',').next().unwrap();
            number.parse().unwrap()
        })
        .collect()
}

/// The values the first table must agree with: the ELF entry point and every
/// loadable segment's address range.
fn check_against_the_elf(rows: &[Row], program: &Path) {
    let data = std::fs::read(program).unwrap();
    let elf = object::File::parse(&*data).unwrap();
    let fill = row(rows, "fill kernel stack with reg/PC");
    assert!(fill.values[0].contains(&format!("rip = {:#x}", elf.entry())), "{fill:#?}");
    let jump = row(rows, "restore regs from kernel stack, move to user mode, jump to main");
    assert!(jump.values[0].starts_with(&format!("rip ← {:#x}", elf.entry())), "{jump:#?}");
    let load = row(rows, "allocate memory, load program");
    let segments: Vec<String> = elf
        .segments()
        .filter(|segment| segment.size() > 0)
        .map(|segment| format!("segment {:#x}..{:#x}", segment.address(), segment.address() + segment.size()))
        .collect();
    assert_eq!(load.values.len(), segments.len(), "{load:#?}");
    for (shown, expected) in load.values.iter().zip(&segments) {
        assert!(shown.starts_with(expected), "{shown} vs {expected}");
    }
    let stack = row(rows, "set up user stack with argv");
    assert!(stack.values.iter().any(|value| value.contains("argv at 0x7ff")), "{stack:#?}");
}

/// The first table's rows: boot, the first process, then four rows per system call.
fn expected_first_table(syscalls: usize, exceptions: usize) -> Vec<(&'static str, &'static str)> {
    let mut rows = BOOT_AND_FIRST_PROCESS.to_vec();
    (0..syscalls).for_each(|_| rows.extend(SYSTEM_CALL));
    (0..exceptions).for_each(|_| rows.extend(EXCEPTION));
    rows
}

#[test]
fn a_raw_system_call_program_fills_every_row() {
    let program = user_program("hello");
    let (text, events, stdout) = explained(&["--explain-syscalls", "2"], &program, &["a"], 0);
    assert_eq!(stdout, "hello from user mode\nargv[0] = /bin/hello\nargv[1] = a\n", "the program runs as usual");
    let [first, second] = tables(&text);
    assert_eq!(steps(&first), expected_first_table(2, 0), "{text}");
    assert_eq!(steps(&second), TIMER, "{text}");
    check_against_the_elf(&first, &program);
    assert_eq!(explained_syscalls(&first), traced_syscalls(&events, 1, 2), "{text}");
    assert_eq!(explained_syscalls(&first), [1, 1], "two writes");
    let handler = first.iter().find(|row| row.step == SYSTEM_CALL[2].1).unwrap();
    assert!(
        handler.values[0].contains("syscall::io::write") && handler.values[0].contains("kernel/src/syscall/"),
        "{handler:#?}"
    );
    let boot = row(&first, "remember address of syscall handler");
    assert!(boot.values[0].starts_with("LSTAR = 0xffffffff") && boot.values[0].contains("(syscall_entry"), "{boot:#?}");
    // One process that never ran a whole quantum: the timer table says so.
    assert!(row(&second, "Process A").values[0].contains("not recorded"), "{text}");
}

#[test]
fn a_musl_program_fills_every_row() {
    let program = c_program("hello");
    let (text, events, _) = explained(&[], &program, &[], 3);
    let [first, second] = tables(&text);
    assert_eq!(steps(&first), expected_first_table(3, 0), "{text}");
    assert_eq!(steps(&second), TIMER, "{text}");
    check_against_the_elf(&first, &program);
    assert_eq!(explained_syscalls(&first), traced_syscalls(&events, 1, 3), "{text}");
    let entry = row(&first, "fill kernel stack with reg/PC");
    assert!(entry.values[0].contains("(_start"), "the program's own symbol: {entry:#?}");
}

#[test]
fn a_preempting_pair_shows_the_switch_and_the_fault() {
    let program = c_program("explain_pair");
    let (text, events, stdout) = explained(&["--explain-syscalls", "1"], &program, &["crash"], 0);
    assert_eq!(stdout, "child killed by signal 11\n");
    let [first, second] = tables(&text);
    // A page fault the kernel resolved (fork's copy-on-write), then the child's SIGSEGV.
    assert_eq!(steps(&first), expected_first_table(1, 2), "{text}");
    check_against_the_elf(&first, &program);
    let outcomes: Vec<&str> =
        first.iter().filter(|row| row.step == "handle the trap").map(|row| row.values[0].as_str()).collect();
    assert!(outcomes[0].starts_with("resolved"), "{outcomes:?}");
    assert_eq!(outcomes[1], "not resolvable: SIGSEGV sent to pid 2 alone");
    let crash = first.iter().filter(|row| row.step == "cause an exception").nth(1).unwrap();
    assert!(crash.values[0].contains("address 0x10") && crash.values[0].contains("(main+"), "{crash:#?}");

    assert_eq!(steps(&second), TIMER, "{text}");
    let switch = &second[6];
    assert!(switch.values[0].starts_with("policy rr: A's quantum (10 ms) expired → B = pid "), "{switch:#?}");
    // The trace of the same run holds that switch: A's slice ended, preempted, for B.
    let a: u64 = row(&second, "Process A").values[0].split_whitespace().nth(1).unwrap().parse().unwrap();
    let b: u64 = row(&second, "Process B").values[0].split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_ne!(a, b);
    let preempted =
        events.iter().find(|event| event["cat"] == "run" && event["args"]["ended"] == "preempted (quantum expired)");
    let preempted = preempted.expect("a preemption in the trace");
    assert_eq!((preempted["tid"].as_u64(), preempted["args"]["next"].as_u64()), (Some(a), Some(b)));
    // What the hardware pushed is A's user state; where B resumes is B's code.
    let pushed = &second[5].values[0];
    assert!(pushed.contains("SS 0x2b") && pushed.contains("CS 0x33"), "{pushed}");
    assert!(
        switch.values[1].contains("resume at 0xffffffff") && switch.values[2].contains("returning into 0xffffffff")
    );
    assert!(second[7].values[0].starts_with("rip ← 0x4"), "{:#?}", second[7]);
}

#[test]
fn icount_runs_give_identical_tables() {
    let program = c_program("explain_pair");
    let (one, _, _) = explained(&[], &program, &[], 0);
    let (two, _, _) = explained(&[], &program, &[], 0);
    assert!(one.contains("pid 1 (explain_pair)"));
    assert_eq!(one, two);
}

#[test]
fn the_html_report_loads_in_a_headless_browser() {
    let program = c_program("explain_pair");
    let dir = tempfile_dir();
    let report = dir.join("report.html");
    let output = run_with(&["--icount", "--report", report.to_str().unwrap()], &program, &[]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"), "self-contained");

    let browser = |args: &[&str]| {
        std::process::Command::new("chromium")
            .args(["--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr", "--v=0"])
            .args(args)
            .arg(&report)
            .output()
            .expect("chromium (apt-get install chromium)")
    };
    let dom = browser(&["--dump-dom"]);
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(!log.contains("Uncaught") && !log.contains("ERROR:CONSOLE"), "{log}");
    let dom = String::from_utf8_lossy(&dom.stdout);
    for (column, step) in BOOT_AND_FIRST_PROCESS.iter().chain(&SYSTEM_CALL).chain(&TIMER) {
        let escaped = step.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        assert!(dom.contains(&format!("<div class=\"name\">{escaped}</div>")), "row `{step}` ({column}) in the DOM");
    }
    assert!(dom.contains("switch_kernel_stacks:"), "the source lines shown in place");
    assert!(dom.contains("<svg"), "the timeline");
    assert!(dom.contains("<title>"), "hover titles on the timeline");
    assert!(dom.contains("<td>explain_pair</td>"), "per-process statistics");
    assert!(dom.contains("<td>fork</td>") || dom.contains("<td>clone</td>"), "system-call counts");

    let shot = dir.join("shot.png");
    let screenshot = browser(&[&format!("--screenshot={}", shot.display()), "--window-size=1024,1500"]);
    assert!(shot.is_file(), "no screenshot: {}", String::from_utf8_lossy(&screenshot.stderr));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let pixels = &pixels[..frame.buffer_size()];
    let mean = pixels.iter().map(|&byte| f64::from(byte)).sum::<f64>() / pixels.len() as f64;
    let variance = pixels.iter().map(|&byte| (f64::from(byte) - mean).powi(2)).sum::<f64>() / pixels.len() as f64;
    assert!(variance > 100.0, "a blank screenshot (variance {variance})");
    let _ = std::fs::remove_dir_all(&dir);
}
