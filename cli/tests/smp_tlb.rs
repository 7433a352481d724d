//! TLB shootdown: a change that removes or narrows a translation (munmap, mprotect,
//! a copy-on-write break, fork) reaches every CPU that may have cached it before
//! the call returns.
//!
//! The kernel's self-test (`selftest=tlb-shootdown`) proves it with the other CPUs
//! reading a page through their own TLBs while the boot CPU replaces its frame.
//! The user-level test (`user/c/smp_tlb.c`: threads of one process remapping,
//! protecting and reading each other's pages) runs them on two CPUs, each with its
//! run queue, where a reader keeps its TLB while another CPU changes the tables.

mod common;

use common::*;

/// Boots `cpus` CPUs with the self-test; it must pass (its log line) and the boot
/// go on to run the program.
fn shootdown_self_test(cpus: usize) {
    let cpus_option = cpus.to_string();
    let options = ["-v", "--cpus", cpus_option.as_str(), "--kernel-arg", "selftest=tlb-shootdown"];
    let output = run_with(&options, &c_program("args"), &["ok"]);
    let log = stderr(&output);
    assert_status(&output, 0);
    let line = format!("selftest=tlb-shootdown: {} cpus read the page", cpus - 1);
    assert!(log.contains(&line) && log.contains("no stale read"), "{log}");
    assert!(stdout(&output).contains("ok"), "{}", stdout(&output));
}

#[test]
fn other_cpus_never_read_a_page_through_a_translation_shot_down_two_cpus() {
    shootdown_self_test(2);
}

#[test]
fn other_cpus_never_read_a_page_through_a_translation_shot_down_four_cpus() {
    shootdown_self_test(4);
}

/// After its reads, the self-test has CPU 1 shoot at the others every 100 us
/// until power-off (an answer that takes over a second fails the kernel): the
/// boot CPU answers from user mode, from system calls and from idle while it runs
/// a program with threads, and from user mode alone while a program stays there
/// for longer than a shootdown's timeout (5 s: a CPU that answered only on its
/// way into the kernel would fail the machine), and both behave as on Linux.
#[test]
fn the_boot_cpu_answers_shootdowns_while_it_runs_a_program() {
    for cpus in ["2", "4"] {
        let options = ["--cpus", cpus, "--kernel-arg", "selftest=tlb-shootdown"];
        compare_with_host(&options, "smp_tlb", &[], &[], |_| true);
    }
    let options = ["--cpus", "2", "--kernel-arg", "selftest=tlb-shootdown"];
    compare_with_host(&options, "smp_tlb", &["spin", "6000"], &[], |_| true);
}

#[test]
fn the_shootdown_self_test_needs_a_second_cpu() {
    let output = run_with(&["--cpus", "1", "--kernel-arg", "selftest=tlb-shootdown"], &c_program("hello"), &[]);
    assert_status(&output, 125);
    assert!(stderr(&output).contains("selftest=tlb-shootdown needs a second CPU"), "{}", stderr(&output));
}

#[test]
fn threads_remapping_and_protecting_pages_never_see_a_stale_translation_same_as_host() {
    let out = compare_with_host(&["--cpus", "2"], "smp_tlb", &[], &[], |line| {
        !line.contains("stale reads: ") || line.contains("stale reads: 0,")
    });
    assert!(out.contains("remap: 3000 rounds, failed calls: 0, stale reads: 0, readers read: yes\n"), "{out}");
    assert!(out.contains("protect: 200 rounds, failed calls: 0, writes after read-only: 0\n"), "{out}");
}
