//! Limited direct execution end to end, under QEMU: programs run in user
//! mode, make system calls, get their output to the host byte for byte and their exit
//! status back; the same static binaries print the same on this Linux host; a
//! misbehaving program ends only itself, with the signal Linux uses; malformed
//! programs are refused with a clear error, by the CLI and by execve in the kernel.

mod common;

use common::*;

// ---- Programs that run, print and exit ----

#[test]
fn rust_hello_without_arguments() {
    let output = run(&user_program("hello"), &[]);
    assert_status(&output, 0);
    assert_stdout(&output, "hello from user mode\nargv[0] = /bin/hello\n");
}

#[test]
fn rust_hello_with_arguments() {
    let output = run(&user_program("hello"), &["a", "b c"]);
    assert_status(&output, 0);
    assert_stdout(&output, "hello from user mode\nargv[0] = /bin/hello\nargv[1] = a\nargv[2] = b c\n");
}

#[test]
fn musl_hello_with_arguments_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("hello"), &["alice", "b c"]);
    assert_status(&output, 3);
    assert_stdout(&output, "hello, alice\nargv[0] = /bin/hello\nargv[1] = alice\nargv[2] = b c\nargc = 3\n");
}

#[test]
fn musl_args_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("args"), &["x", "y z", "", "--flag=1"]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "argc = 5\nargv[0] = [/bin/args]\nargv[1] = [x]\nargv[2] = [y z]\nargv[3] = []\n\
         argv[4] = [--flag=1]\nPATH = /bin\nAT_PAGESZ == 4096: yes\n",
    );
}

#[test]
fn verbose_log_stays_off_stdout() {
    // With the kernel log on stderr, stdout is still exactly the program's.
    let output = run_with(&["--verbose"], &c_program("hello"), &[]);
    assert_status(&output, 3);
    assert_stdout(&output, "hello, world\nargv[0] = /bin/hello\nargc = 1\n");
    assert!(!stderr(&output).is_empty(), "--verbose printed no kernel log");
}

#[test]
fn syscall_exerciser_all_ok() {
    let output = run(&user_program("sysx"), &[]);
    assert_status(&output, 0);
    let expected = [
        "getpid",
        "getppid",
        "gettid",
        "ids",
        "uname",
        "clock_monotonic",
        "gettimeofday",
        "clock_invalid",
        "brk",
        "mmap",
        "mmap_bad_flags",
        "write_null",
        "write_kernel",
        "write_unmapped",
        "read_kernel",
        "enosys",
        "arch_prctl_fs",
        "ioctl_tiocgwinsz",
        "rt_sigprocmask",
    ]
    .iter()
    .map(|name| format!("ok {name}\n"))
    .chain(["writev: abc\n".to_string()])
    .chain(
        ["writev", "sse_preserved", "nanosleep", "sched_yield", "write_partial_fault", "heap"]
            .iter()
            .map(|name| format!("ok {name}\n")),
    )
    .collect::<String>();
    assert_stdout(&output, &expected);
}

#[test]
fn write_with_null_and_kernel_pointers_is_efault_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("efault"), &[]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "write(1, NULL, 5) = -1 EFAULT\nwrite(1, 0xffffffff80000000, 5) = -1 EFAULT\n\
         read(pipe's write end, kernel, 5) = -1 EBADF\nwrite(pipe's read end, kernel, 5) = -1 EBADF\n\
         read(O_PATH, kernel, 5) = -1 EBADF\nwrite(O_PATH, kernel, 5) = -1 EBADF\n",
    );
}

#[test]
fn fpu_state_survives_system_calls_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("fpu"), &[]);
    assert_status(&output, 0);
    assert_stdout(&output, "ok sse squares\nok sse harmonic\nok x87\nok rounding squares\nok rounding harmonic\n");
}

#[test]
fn timeout_ends_a_program_that_never_stops() {
    // `spin` with no argument loops forever without a system call.
    let spin = user_program("spin");
    let output = timeshare_with(&["run", "--timeout", "3", spin.to_str().unwrap()]);
    assert_status(&output, 124);
    assert!(output.stdout.is_empty(), "stdout: {:?}", stdout(&output));
}

// ---- Misbehaving programs: each ends with Linux's signal, and only itself ----

/// `offend CASE` ends with signal `signal`: `timeshare run` exits 128 + signal,
/// with nothing on stdout.
#[track_caller]
fn offender(case: &str, signal: i32) {
    let output = run(&user_program("offend"), &[case]);
    assert_status(&output, 128 + signal);
    assert!(output.stdout.is_empty(), "stdout: {:?}", stdout(&output));
}

macro_rules! offenders {
    ($($name:ident: $case:literal => $signal:expr,)*) => {
        $(
            #[test]
            fn $name() {
                offender($case, $signal);
            }
        )*
    };
}

const SIGILL: i32 = 4;
const SIGTRAP: i32 = 5;
const SIGFPE: i32 = 8;
const SIGSEGV: i32 = 11;

offenders! {
    offender_cli_is_sigsegv: "cli" => SIGSEGV,
    offender_hlt_is_sigsegv: "hlt" => SIGSEGV,
    offender_in_is_sigsegv: "in" => SIGSEGV,
    offender_out_is_sigsegv: "out" => SIGSEGV,
    offender_mov_cr3_is_sigsegv: "cr3" => SIGSEGV,
    offender_wrmsr_is_sigsegv: "wrmsr" => SIGSEGV,
    offender_lgdt_is_sigsegv: "lgdt" => SIGSEGV,
    offender_kernel_read_is_sigsegv: "kread" => SIGSEGV,
    offender_kernel_write_is_sigsegv: "kwrite" => SIGSEGV,
    offender_kernel_jump_is_sigsegv: "kjump" => SIGSEGV,
    offender_null_is_sigsegv: "null" => SIGSEGV,
    offender_noncanonical_is_sigsegv: "noncanon" => SIGSEGV,
    offender_ud2_is_sigill: "ud2" => SIGILL,
    offender_div0_is_sigfpe: "div0" => SIGFPE,
    offender_int3_is_sigtrap: "int3" => SIGTRAP,
}

#[test]
fn offend_usage_error() {
    let output = run(&user_program("offend"), &["foo"]);
    assert_status(&output, 2);
    assert!(output.stdout.is_empty(), "stdout: {:?}", stdout(&output));
    assert!(stderr(&output).contains("usage: offend CASE"), "stderr: {:?}", stderr(&output));
}

#[test]
fn every_offender_in_one_boot_and_the_others_still_run_same_as_host() {
    // `contain` forks and execs each offender case in turn while a bystander child
    // waits; the offend binary is in the guest at the same path as on the host.
    let offend = user_program("offend");
    let offend = offend.to_str().unwrap();
    let add = format!("{offend}:{offend}");
    let (_, output) = same_as_host(&["--add", &add], &c_program("contain"), &[offend]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "cli      killed by signal 11 (SIGSEGV)\n\
         hlt      killed by signal 11 (SIGSEGV)\n\
         in       killed by signal 11 (SIGSEGV)\n\
         out      killed by signal 11 (SIGSEGV)\n\
         cr3      killed by signal 11 (SIGSEGV)\n\
         wrmsr    killed by signal 11 (SIGSEGV)\n\
         lgdt     killed by signal 11 (SIGSEGV)\n\
         kread    killed by signal 11 (SIGSEGV)\n\
         kwrite   killed by signal 11 (SIGSEGV)\n\
         kjump    killed by signal 11 (SIGSEGV)\n\
         null     killed by signal 11 (SIGSEGV)\n\
         noncanon killed by signal 11 (SIGSEGV)\n\
         ud2      killed by signal 4 (SIGILL)\n\
         div0     killed by signal 8 (SIGFPE)\n\
         int3     killed by signal 5 (SIGTRAP)\n\
         bystander still alive: yes\n\
         bystander exited 0\n\
         still running\n",
    );
}

// ---- Malformed programs ----

#[test]
fn malformed_elf_files_are_refused_by_the_cli() {
    // No QEMU: `timeshare run` checks PROGRAM on the host first.
    let dir = scratch_dir("malformed_elf_files_are_refused_by_the_cli");
    let elf = std::fs::read(c_program("hello")).unwrap();
    for (name, bytes, message) in [
        ("text", b"#not a program\n".to_vec(), "not an ELF file"),
        ("empty", Vec::new(), "not an ELF file"),
        ("aarch64", malformed(&elf, "aarch64"), "not x86_64"),
        ("truncated", malformed(&elf, "truncated"), "past the end of the file"),
        ("class32", malformed(&elf, "class32"), "32-bit"),
        ("kernel-entry", malformed(&elf, "kernel-entry"), "entry point"),
        ("kernel-segment", malformed(&elf, "kernel-segment"), ""),
        ("segment-past-end", malformed(&elf, "segment-past-end"), ""),
    ] {
        let path = executable_file(&dir, name, &bytes);
        let output = timeshare_with(&["run", path.to_str().unwrap()]);
        assert_status(&output, 2);
        assert!(output.stdout.is_empty(), "{name}: stdout: {:?}", stdout(&output));
        let error = stderr(&output);
        assert!(
            error.starts_with(&format!("timeshare: {}: ", path.display())) && error.contains(message),
            "{name}: stderr {error:?}, expected the path and {message:?}"
        );
    }
}

fn malformed(elf: &[u8], name: &str) -> Vec<u8> {
    malformed_elves(elf).into_iter().find(|(n, _)| *n == name).map(|(_, bytes)| bytes).unwrap()
}

#[test]
fn exec_of_malformed_files_fails_with_enoexec() {
    // In the kernel: `execargs FILE...` execve's each FILE (added to the initrd, where
    // the CLI does not check them) and expects ENOEXEC, then runs its other checks.
    // Some of these Linux would run (a 32-bit ELF) or start and kill; a dynamically
    // linked program (the host's /bin/true) has an interpreter timeshare refuses.
    let dir = scratch_dir("exec_of_malformed_files_fails_with_enoexec");
    let elf = std::fs::read(c_program("hello")).unwrap();
    let mut files: Vec<_> =
        malformed_elves(&elf).iter().map(|(name, bytes)| executable_file(&dir, name, bytes)).collect();
    files.push(executable_file(&dir, "dynamic", &std::fs::read("/bin/true").unwrap()));
    let options = add_same_paths(&files);
    let execargs = c_program("execargs");
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let args: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    let output = run_with(&options, &execargs, &args);
    let out = stdout(&output);
    for name in [
        "text",
        "empty",
        "aarch64",
        "truncated",
        "class32",
        "kernel-entry",
        "kernel-segment",
        "segment-past-end",
        "dynamic",
    ] {
        assert!(
            out.contains(&format!("execve of {name}: ENOEXEC\n")),
            "{name}: not ENOEXEC\n--- stdout ---\n{out}\n--- stderr ---\n{}",
            stderr(&output)
        );
    }
    assert!(out.contains("execve of a path through a file: ENOTDIR\n"), "{out}");
    assert!(out.ends_with("done\n"), "{out}");
    assert_status(&output, 0);
}

// ---- Hostile programs beyond one bad instruction (`hostile CASE`) ----

#[test]
fn stack_overflow_is_sigsegv_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("hostile"), &["stack"]);
    assert_status(&output, 0);
    assert_stdout(&output, "stack overflow: killed by signal 11\nstill running\n");
}

#[test]
fn crash_wait_status_has_no_core_dump_bit_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("hostile"), &["corebit"]);
    assert_status(&output, 0);
    assert_stdout(&output, "null write: raw wait status 0xb, WCOREDUMP no\nstill running\n");
}

#[test]
fn read_into_a_bad_buffer_keeps_the_pipe_data_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("hostile"), &["readfault"]);
    assert_status(&output, 0);
    assert_stdout(&output, "read into an unmapped buffer: -1 EFAULT\nthen read: 3 \"abc\"\nstill running\n");
}

#[test]
fn execve_with_oversized_arguments_is_e2big_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("hostile"), &["e2big"]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "execve with a 199999-byte argument: E2BIG\nexecve with 300000 arguments: E2BIG\nstill running\n",
    );
}

#[test]
fn memory_exhaustion_ends_only_the_hog() {
    let output = run(&c_program("hostile"), &["oom"]);
    assert_status(&output, 0);
    assert_stdout(&output, "memory hog: stopped\na new child after that: exited 3\nstill running\n");
}

#[test]
fn fork_bomb_is_contained() {
    // timeshare only (a fork bomb on the host would be unkind).
    let output = run(&c_program("hostile"), &["forkbomb"]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "fork eventually failed: EAGAIN or ENOMEM\nevery child killed and reaped: yes\n\
         a new child after that: exited 3\nstill running\n",
    );
}
