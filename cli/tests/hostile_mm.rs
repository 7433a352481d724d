//! The address space's bookkeeping under programs that cut it into pieces, the
//! stack against RLIMIT_STACK, and memory exhaustion beside innocent processes.
//!
//! `hostile_mm same` runs on this Linux host and under timeshare, and the lines
//! must agree; `hostile_mm limits` runs only under timeshare (it exhausts memory
//! and counts free frames) and asserts what timeshare guarantees.

mod common;

use common::*;

#[test]
fn heap_cut_by_munmap_mprotect_and_map_fixed_then_moved_by_brk_same_as_host() {
    // A heap split into pieces and then grown, shrunk, forked: brk deals with
    // [old break, new break) only, and no page is ever in two regions.
    let out = compare_with_host(&[], "hostile_mm", &["same", "heap-cut-then-moved"], &[], |line| {
        !line.contains("FAILED") && !line.contains(": no")
    });
    assert!(out.contains("write above the lowered break: killed by SIGSEGV\n"), "{out}");
    assert!(
        out.contains("a fork writes its own copy and moves its own break: exited 0; the parent's pages: yes\n"),
        "{out}"
    );
}

#[test]
fn the_break_against_its_bounds_same_as_host() {
    // Not below its start, not onto or right up against another mapping (Linux
    // keeps a page free above the break), growth and shrinking as Linux's brk.
    let out = compare_with_host(&[], "hostile_mm", &["same", "break-bounds"], &[], |line| {
        !line.contains("FAILED") && !line.contains(": no")
    });
    assert!(out.contains("break up to the mapping: refused\n"), "{out}");
    assert!(out.contains("break one page below it: moved\n"), "{out}");
}

#[test]
fn a_cut_heap_gives_back_every_frame_exactly_once() {
    // Frames freed twice would land in another process's page tables (or panic
    // the kernel); frames lost would not come back.
    let output = run(&c_program("hostile_mm"), &["limits", "heap-cut-memory-back"]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "20 processes cut, moved and forked their heaps: 20 exited 0\n\
         free memory back to what it was: yes\n\
         still running\n",
    );
}

#[test]
fn the_limits_cases_refuse_to_run_on_a_host() {
    let output = host_run(&c_program("hostile_mm"), &["limits", "all"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn the_stack_grows_within_rlimit_stack_same_as_host() {
    // Recursion until SIGSEGV under 256 KiB, 1 MiB, the default (8 MiB) and a
    // raised 16 MiB limit: as deep as Linux lets it, in whole units.
    let out = compare_with_host(&[], "hostile_mm", &["same", "stack-limit"], &[], |line| {
        line.starts_with("the default limit") || line == "still running" || line.contains("killed by SIGSEGV")
    });
    assert!(out.contains("recursion under a 256 KiB stack limit: killed by SIGSEGV, 3 x 64 KiB deep\n"), "{out}");
    assert!(out.contains("recursion under a 16 MiB stack limit: killed by SIGSEGV, 15 MiB deep\n"), "{out}");
}

#[test]
fn the_kernel_s_copies_into_fresh_pages_go_through_the_oom_policy() {
    // A hog holds every frame programs may have while the kernel copies into (or
    // out of) fresh pages of another process: as that process's own touch would,
    // the copy kills the hog (the biggest) and succeeds.
    let output = run_with(&["--memory", "64"], &c_program("hostile_mm"), &["limits", "oom-kernel-copies"]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "read from a pipe into fresh pages: 4096 bytes; the hog: killed by SIGKILL\n\
         read from /dev/zero into fresh pages: 65536 bytes; the hog: killed by SIGKILL\n\
         getrandom into fresh pages: 65536 bytes; the hog: killed by SIGKILL\n\
         write to a pipe from fresh pages: 4096 bytes; the hog: killed by SIGKILL\n\
         a signal frame on a fresh alternate stack: 1 bytes; the hog: killed by SIGKILL\n\
         free memory back to what it was: yes\n\
         still running\n",
    );
}
