//! The short system calls' own fast paths (getppid read from the process,
//! /dev/zero cleared in place, the result returned in rax by the SYSCALL entry)
//! against Linux, and against timeshare's general path: with `--trace` every
//! number goes through the one recorded dispatch, so a traced run serves the same
//! calls without any fast path.

mod common;

use common::{compare_with_host, scratch_dir};

fn ends_well(line: &str) -> bool {
    !line.ends_with(": no")
}

#[test]
fn short_calls_match_linux_on_the_fast_path() {
    compare_with_host(&[], "fastcalls", &[], &[], ends_well);
}

#[test]
fn short_calls_match_linux_on_the_general_path() {
    let trace = scratch_dir("short_calls_general_path").join("trace.json");
    compare_with_host(&["--trace", trace.to_str().unwrap()], "fastcalls", &[], &[], ends_well);
}
