//! The kernel heap: memory freed in small pieces (the per-size-class free lists)
//! serves a large request that the heap's admission check (`heap::spare`) allowed.

mod common;

use common::*;

#[test]
fn memory_freed_in_small_pieces_serves_large_requests() {
    // 64 MiB of guest memory: an 8 MiB kernel heap, which the open files fill in
    // a fraction of a second.
    let output = run_with(&["--memory", "64"], &c_program("heap_reuse"), &[]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "setrlimit RLIMIT_NOFILE 1<<20: no error\n\
         open \"/\" until refused with ENFILE, after more than 10000: yes\n\
         then pipes of 64 KiB each until a writer waits: more than 64 of them: yes\n\
         then a fork: exited 3\n",
    );
}

#[test]
fn heap_reuse_refuses_to_run_on_a_host() {
    let output = host_run(&c_program("heap_reuse"), &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
}
