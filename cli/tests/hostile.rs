//! Hostile programs. The kernel never falls: every program that misbehaves
//! ends (or is refused) the way Linux ends or refuses it, and only that program;
//! the kernel and every other process go on.
//!
//! The cases are static musl programs in `user/c/hostile_*.c`; each case runs in a
//! child of its own and prints one line, so the same binary's output on this Linux
//! host and under timeshare can be compared line by line. (`offend`/`contain`,
//! `hostile`, `sigforge`, `execargs` and `fpuyield`, tested elsewhere, cover cli, hlt,
//! in/out, CR3, wrmsr, lgdt, kernel and wild pointers, ud2, div0, int3, forged
//! rt_sigreturn frames, malformed executables, stack overflow and ymm isolation.)
//! Where Linux differs by nature (the process limit, memory exhaustion, the
//! kernel's own tables), `hostile_proc limits` asserts what timeshare guarantees.

mod common;

use common::*;

#[test]
fn privileged_instructions_wild_jumps_and_memory_protection_same_as_host() {
    // 55 cases: swapgs, rdmsr, lidt, ltr, lldt, mov to/from control and debug
    // registers, invlpg, wbinvd, clts, lmsw, xsetbv, sysretq, stac/clac, into, int
    // to kernel vectors, kernel segment loads, far jumps and iretq to the kernel's
    // code segment, popf with IOPL; jumps and accesses to non-canonical, unmapped,
    // kernel direct-map and kernel-stack addresses; writes to text and read-only
    // data; executing the stack, data, bss, heap and non-executable mappings (NX);
    // PROT_NONE, read-only and unmapped pages; with controls that must work.
    let out = compare_with_host(&[], "hostile_insn", &["all"], &[], |line| {
        line == "still running"
            || outcome(line).starts_with("killed by")
            || line.contains("(control")
            || line.contains("(1: IF still set)")
            || line.contains("(11: SIGSEGV)")
    });
    assert!(out.lines().count() >= 50, "{out}");
    assert!(out.contains("iretq to the kernel code segment: killed by SIGSEGV\n"), "{out}");
    assert!(out.contains("execute the stack: killed by SIGSEGV\n"), "{out}");
    assert!(out.contains("swapgs: killed by SIGSEGV\n"), "{out}");
}

/// timeshare's pipes hand a read or write whose buffer is only partly there the
/// bytes that fit (a short count), where Linux's pipe copies its page buffer whole
/// or fails with EFAULT: a documented difference, not a fault of the kernel.
const PIPE_PARTIAL_COPIES: &[(&str, &str)] = &[
    ("read", "read: null=EFAULT kernel=EFAULT unmapped=EFAULT half=8"),
    ("write", "write: null=EFAULT kernel=EFAULT unmapped=EFAULT half=8"),
    ("readv buffer", "readv buffer: null=EFAULT kernel=EFAULT unmapped=EFAULT half=8"),
    ("writev buffer", "writev buffer: null=3 kernel=EFAULT unmapped=3 half=11"),
];

#[test]
fn bad_pointers_in_every_system_call_same_as_host() {
    // Every implemented call that takes a pointer (72 arguments), each with NULL, a
    // kernel address, an unmapped page and a buffer that runs off its mapping.
    let dir = scratch_dir("bad_pointers_in_every_system_call_same_as_host");
    let target = executable_file(&dir, "not-a-program", b"not a program\n");
    let adds = add_same_paths(&[target.clone()]);
    let options: Vec<&str> = adds.iter().map(String::as_str).collect();
    let exec_target = format!("--exec-target={}", target.display());
    let out = compare_with_host(&options, "hostile_calls", &["pointers", &exec_target], PIPE_PARTIAL_COPIES, |line| {
        !line.contains("KILLED")
    });
    assert!(out.lines().count() >= 70, "{out}");
    assert!(out.contains("uname: null=EFAULT kernel=EFAULT unmapped=EFAULT half=EFAULT\n"), "{out}");
    assert!(out.contains("getrandom: null=EFAULT kernel=EFAULT unmapped=EFAULT half=8\n"), "{out}");
}

#[test]
fn huge_and_zero_sizes_same_as_host() {
    let dir = scratch_dir("huge_and_zero_sizes_same_as_host");
    let target = executable_file(&dir, "not-a-program", b"not a program\n");
    let adds = add_same_paths(&[target.clone()]);
    let options: Vec<&str> = adds.iter().map(String::as_str).collect();
    let exec_target = format!("--exec-target={}", target.display());
    let out =
        compare_with_host(&options, "hostile_calls", &["sizes", &exec_target], &[], |line| !line.contains("KILLED"));
    assert!(out.contains("getrandom of 1<<26 bytes into the last page: 4096\n"), "{out}");
    assert!(out.contains("read of 1<<26 bytes of /dev/zero into the last page: 4096\n"), "{out}");
    assert!(out.contains("read of 1<<47 bytes of /dev/zero into the last page: EFAULT\n"), "{out}");
    assert!(out.contains("execve with 8000 arguments of 120 KiB: E2BIG\n"), "{out}");
}

#[test]
fn negative_closed_and_huge_descriptors_same_as_host() {
    let out = compare_with_host(&[], "hostile_calls", &["fds"], &[], |line| !line.contains("KILLED"));
    assert!(out.contains("read of -1: EBADF\n"), "{out}");
    assert!(out.contains("write to fd | 1<<32: 2\n"), "{out}");
    assert!(out.contains("dup until it fails: EMFILE, the highest descriptor 1023\n"), "{out}");
}

#[test]
fn unknown_system_call_numbers_same_as_host() {
    let out = compare_with_host(&[], "hostile_calls", &["numbers"], &[], |line| !line.contains("KILLED"));
    assert!(out.contains("system call 500: ENOSYS\n"), "{out}");
    assert!(out.contains("system call -1: ENOSYS\n"), "{out}");
    assert!(out.contains("system call getpid | 1<<32 is getpid: yes\n"), "{out}");
}

#[test]
fn signal_delivery_turned_against_the_kernel_same_as_host() {
    // Handlers and restorers in the kernel or non-canonical, alternate stacks the
    // kernel cannot write, a kernel or non-canonical stack pointer at delivery,
    // faults in handlers, unbounded nesting, and forged frames beyond sigforge's.
    let out = compare_with_host(&[], "hostile_sig", &["all"], &[], |line| {
        line == "still running" || outcome(line).starts_with("killed by") || line.contains("(-12: ENOMEM)")
    });
    assert!(out.contains("sigreturn to a non-canonical rsp: killed by SIGBUS\n"), "{out}");
    assert!(out.contains("sigreturn with garbage FPU state: killed by SIGSEGV\n"), "{out}");
    assert!(out.contains("unbounded nesting on the alternate stack: killed by SIGSEGV\n"), "{out}");
}

#[test]
fn loops_resource_limits_and_fpu_isolation_same_as_host() {
    // Infinite loops killed from outside (even blocking every signal), loops that do
    // not starve a sleeper, RLIMIT_AS and RLIMIT_NOFILE, and FPU state (MXCSR, the
    // x87 control word, ymm) private to each process, reset by execve, fresh in a
    // handler.
    let out = compare_with_host(&[], "hostile_proc", &["same", "all"], &[], |line| {
        !line.contains(": no") && !line.contains("status 0x")
    });
    assert!(out.contains("a loop that blocks and ignores every signal, after SIGTERM and SIGINT: still running\nthen SIGKILL: killed by SIGKILL\n"), "{out}");
    assert!(out.contains("mmap of 128 MiB under it: ENOMEM\n"), "{out}");
    assert!(out.contains("after execve: MXCSR 0x1f80, x87 control word 0x37f\n"), "{out}");
}

#[test]
fn fork_bombs_memory_hogs_and_kernel_object_floods_are_contained() {
    // timeshare's limits, which Linux's differ from by nature: RLIMIT_NPROC (from
    // memory as Linux's, but enforced for root too), a
    // reserve of memory for the kernel with an OOM killer for the biggest process,
    // 65530 mappings per process and a share of the kernel heap for all of them,
    // pipe buffers and descriptors within what the heap can spare.
    let output = run(&c_program("hostile_proc"), &["limits", "all"]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "fork until it fails: EAGAIN\n\
         processes at the peak: the limit, RLIMIT_NPROC: yes\n\
         fork by another process meanwhile: EAGAIN\n\
         the bystander still answers: yes\n\
         the bomb killed and reaped all its children: yes\n\
         processes back to what they were: yes\n\
         free memory back to what it was: yes\n\
         a new child: exited 3\n\
         the bystander still answers: yes\n\
         the bystander: exited 0\n\
         the hog: killed by SIGKILL\n\
         the bystander still answers: yes\n\
         free memory back to what it was: yes\n\
         a new child: exited 3\n\
         fork while 8 hogs hold the memory: exited 3\n\
         every hog gone, free memory back to what it was: yes\n\
         mappings until mmap fails: ENOMEM, at most 65530: yes\n\
         munmap of all of them: ok\n\
         mmap again: ok\n\
         32 processes mapping until ENOMEM: 32 of 32 got ENOMEM\n\
         mmap afterwards: ok\n\
         16 processes filling pipes until refused: 16 of 16 were refused cleanly\n\
         a pipe afterwards: ok\n\
         400 children exit unreaped: 400 zombies\n\
         reaped 400, all exited: yes; processes back: yes\n\
         still running\n",
    );
}

#[test]
fn the_limits_cases_refuse_to_run_on_a_host() {
    // They are fork bombs: only as the first process of timeshare.
    let output = host_run(&c_program("hostile_proc"), &["limits", "all"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
}

// ---- The kernel's own protections, checked by the CPU ----

/// `timeshare run --kernel-arg selftest=TEST hello`: the kernel makes a forbidden
/// access on purpose before the first program; the CPU must refuse it, and the run
/// must fail (status 125) with the kernel's report of the fault on stderr.
#[track_caller]
fn selftest(test: &str, expected: &[&str]) {
    // One CPU: the guard page's address is that of the first kernel stack, which
    // other CPUs' stacks would precede.
    let output = run_with(&["--cpus", "1", "--kernel-arg", &format!("selftest={test}")], &c_program("hello"), &[]);
    assert_status(&output, 125);
    assert!(output.stdout.is_empty(), "the program ran: {}", stdout(&output));
    let err = stderr(&output);
    for wanted in expected {
        assert!(err.contains(wanted), "no `{wanted}` in stderr:\n{err}");
    }
    assert!(!err.contains("is not enforced") && !err.contains("is mapped") && !err.contains("not read-only"), "{err}");
}

#[test]
fn a_kernel_panic_fails_the_run() {
    selftest("panic", &["kernel failure", "kernel panic", "selftest=panic: a kernel panic on purpose"]);
}

#[test]
fn smap_stops_the_kernel_reading_user_memory() {
    selftest("smap", &["kernel fault: vector 14 error 0x1 ", "(cr2 0x400000)"]);
}

#[test]
fn smep_stops_the_kernel_running_user_code() {
    selftest("smep", &["kernel fault: vector 14 error 0x11 at rip 0x400000 (cr2 0x400000)"]);
}

#[test]
fn nx_stops_the_kernel_running_its_data() {
    selftest("nx", &["selftest=nx: calling kernel data", "kernel fault: vector 14 error 0x11 "]);
}

#[test]
fn kernel_text_is_read_only() {
    selftest("text", &["selftest=text: writing the kernel's text", "kernel fault: vector 14 error 0x3 "]);
}

#[test]
fn a_guard_page_lies_under_each_kernel_stack() {
    selftest("guard", &["kernel fault: vector 14 error 0x2 ", "(cr2 0xffffff0000000ff8)"]);
}

#[test]
fn every_boot_checks_its_protections() {
    let output = run_with(&["--verbose"], &c_program("hello"), &[]);
    assert_status(&output, 3);
    let err = stderr(&output);
    assert!(err.contains("protections: CR0.WP, EFER.NXE, SMEP, SMAP; kernel text r-x"), "{err}");
    assert!(!err.contains("protection missing"), "{err}");
}

#[test]
fn kernel_arg_takes_only_selftests() {
    let hello = c_program("hello");
    for bad in ["selftest=nothing", "log=debug", "nonsense"] {
        let output = timeshare_with(&["run", "--kernel-arg", bad, hello.to_str().unwrap()]);
        assert_status(&output, 2);
    }
}
