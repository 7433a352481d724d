//! Time sharing, under QEMU: processes fork, exec, wait, block on pipes and
//! sleep; a process that never gives up the CPU still loses it (and can be killed);
//! CPU time is shared fairly; each process keeps its own FPU state; dead processes
//! leave nothing behind. The C programs are also run natively on this Linux host
//! (pinned to CPU 0, like `taskset -c 0`) and must print the same bytes and end with
//! the same status; the expected outputs are written out here as well.

mod common;

use common::*;

#[test]
fn fork_and_wait_statuses_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("forkwait"), &[]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "child exiting with 255: exited 255\n\
         child exiting with 200: exited 200\n\
         child exiting with 42: exited 42\n\
         child exiting with 1: exited 1\n\
         child exiting with 0: exited 0\n\
         wait(-1) three times: 10 11 12\n\
         sleeping child sent SIGTERM: killed by signal 15\n\
         sleeping child sent SIGKILL: killed by signal 9\n\
         WNOHANG on a running child: 0\n\
         child after EOF on its pipe: exited 5\n\
         zombie waited for later: exited 77\n\
         vfork child: exited 7\n\
         middle child: exited 0\n\
         orphan re-parented to the reaper: yes\n\
         orphan waited for by the reaper: exited 9\n\
         wait with no children: -1 ECHILD\n\
         WNOHANG with no children: -1 ECHILD\n\
         wait for a pid that is not a child: -1 ECHILD\n\
         done\n",
    );
}

#[test]
fn one_mebibyte_through_a_pipe_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("pipebig"), &[]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "received 1048576 bytes, fnv1a 0295634f13071859 (matches)\n\
         then read returns 0 (EOF)\n\
         writer (1 if a blocking write was short): exited 0\n\
         write with no reader: killed by signal 13\n\
         write with no reader, SIGPIPE blocked (0 if EPIPE): exited 0\n\
         writer blocked on a full pipe, reader gone: killed by signal 13\n\
         done\n",
    );
}

/// Files execve must refuse with ENOEXEC on Linux as well as on timeshare, at the same
/// absolute path on the host and in the guest.
fn not_programs(test: &str) -> Vec<std::path::PathBuf> {
    let dir = scratch_dir(test);
    let elf = std::fs::read(c_program("hello")).unwrap();
    malformed_elves(&elf)
        .iter()
        .filter(|(name, _)| ["text", "empty", "aarch64", "truncated"].contains(name))
        .map(|(name, bytes)| executable_file(&dir, name, bytes))
        .collect()
}

#[test]
fn execve_with_arguments_and_errors_same_as_host() {
    let files = not_programs("execve_with_arguments_and_errors_same_as_host");
    let options = add_same_paths(&files);
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let args: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    let (_, output) = same_as_host(&options, &c_program("execargs"), &args);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "execve with 6 arguments:\n\
         \x20 argc = 6\n\
         \x20 argv[0] = [execargs]\n\
         \x20 argv[1] = [--child]\n\
         \x20 argv[2] = [alpha]\n\
         \x20 argv[3] = [b c]\n\
         \x20 argv[4] = []\n\
         \x20 argv[5] = [-x]\n\
         \x20 argv[argc] is NULL\n\
         \x20 X = from envp\n\
         child: exited 0\n\
         execve with a 99999-byte argument, empty environment:\n\
         \x20 argc = 3\n\
         \x20 argv[0] = [execargs]\n\
         \x20 argv[1] = [--child]\n\
         \x20 argv[2] = 99999 bytes of 'z'\n\
         \x20 argv[argc] is NULL\n\
         \x20 X = (unset)\n\
         child: exited 0\n\
         execve with 1002 arguments:\n\
         \x20 argc = 1002\n\
         \x20 argv[0] = [execargs]\n\
         \x20 argv[1] = [--child]\n\
         \x20 argv[2] = [a0]\n\
         \x20 argv[3] = [a1]\n\
         \x20 argv[4] = [a2]\n\
         \x20 argv[5] = [a3]\n\
         \x20 argv[6] = [a4]\n\
         \x20 argv[7] = [a5]\n\
         \x20 ... argv[1001] = [a999]\n\
         \x20 argv[argc] is NULL\n\
         \x20 X = 1\n\
         child: exited 0\n\
         across execve, the inherited fd says \"keptclosed\"\n\
         fd child: exited 0\n\
         execve of a missing file: ENOENT\n\
         execve in a missing directory: ENOENT\n\
         execve of \"\": ENOENT\n\
         execve of a directory: EACCES\n\
         execve of a NULL path: EFAULT\n\
         execve of a kernel-address path: EFAULT\n\
         execve with a kernel-address argv: EFAULT\n\
         execve with an unmapped argv[1]: EFAULT\n\
         execve with a kernel-address envp: EFAULT\n\
         execve of a 4999-byte path: ENAMETOOLONG\n\
         execve of a path through a file: ENOTDIR\n\
         execve of text: ENOEXEC\n\
         execve of empty: ENOEXEC\n\
         execve of aarch64: ENOEXEC\n\
         execve of truncated: ENOEXEC\n\
         done\n",
    );
}

#[test]
fn execve_with_empty_argv_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("execargs"), &["--empty-argv"]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "execve with an empty argv:\n\
         \x20 argc = 1, argv[0] = \n\
         child: exited 0\n\
         execve with a NULL argv:\n\
         \x20 argc = 1, argv[0] = \n\
         child: exited 0\n",
    );
}

#[test]
fn file_descriptors_dup_close_and_fork_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("fds"), &[]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "pipe: ok\n\
         dup takes the lowest free number: ok\n\
         pipe again: ok\n\
         dup of the write end: ok\n\
         write through the duplicate: ok\n\
         read what the duplicate wrote: ok\n\
         write through the duplicate after closing the original: ok\n\
         no EOF while a duplicate of the write end is open: ok\n\
         EOF when the last write end is closed: ok\n\
         pipe again: ok\n\
         dup2 onto itself returns the fd: ok\n\
         dup3 onto itself fails with EINVAL: ok\n\
         dup3 with a bad flag fails with EINVAL: ok\n\
         dup2 onto 100: ok\n\
         write to fd 100 reaches the pipe: ok\n\
         another pipe: ok\n\
         dup2 onto an open fd replaces it: ok\n\
         fd 100 now writes to the other pipe: ok\n\
         dup3 with O_CLOEXEC: ok\n\
         close of a closed fd fails with EBADF: ok\n\
         close(-1) fails with EBADF: ok\n\
         dup of a closed fd fails with EBADF: ok\n\
         dup2 of a closed fd fails with EBADF: ok\n\
         dup2 onto a huge fd fails with EBADF: ok\n\
         write to a closed fd fails with EBADF: ok\n\
         read from a closed fd fails with EBADF: ok\n\
         read from a pipe's write end fails with EBADF: ok\n\
         write to a pipe's read end fails with EBADF: ok\n\
         pipe2 with a bad flag fails with EINVAL: ok\n\
         pipe with a NULL array fails with EFAULT: ok\n\
         the child wrote through the inherited fd: ok\n\
         and the parent reads it: ok\n\
         the parent's fds are still open after the child closed its copies: ok\n\
         done\n",
    );
}

#[test]
fn parent_sleeps_then_kills_a_spinning_child_same_as_host() {
    // Only preemption lets the parent run again while the child spins in for(;;).
    let (_, output) = same_as_host(&[], &c_program("killspin"), &[]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "kill(spinner, 0): 0\n\
         spinner sent SIGKILL: killed by signal 9\n\
         spinner ran while the parent slept: yes\n\
         kill(reaped spinner, 0): -1 ESRCH\n\
         spinner sent SIGTERM: killed by signal 15\n\
         spinner ran while the parent slept: yes\n\
         first of two spinners, SIGKILL: killed by signal 9\n\
         second of two spinners, SIGTERM: killed by signal 15\n\
         the pair ran while the parent slept: yes\n\
         kill(zombie, 0): 0\n\
         done\n",
    );
}

#[test]
fn three_cpu_bound_processes_share_fairly_same_as_host() {
    let (host, output) = same_as_host(&["--cpus", "1"], &c_program("shares"), &[]);
    // For the record (`cargo test -- --nocapture`): the shares, in ms of CPU time.
    eprint!("timeshare {}host (CPU 0) {}", stderr(&output), stderr(&host));
    assert_status(&output, 0);
    assert_stdout(&output, "fair\n");
}

#[test]
fn reader_blocked_on_an_empty_pipe_wakes_when_data_arrives_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("pipewake"), &[]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "reader woke with the bytes written: yes\n\
         reader was blocked until they were written (>= 40 ms): yes\n\
         reader used no CPU while blocked (< 20 ms): yes\n\
         drained 1048576 bytes (0 wrong)\n\
         writer's 1 MiB write completed: yes\n\
         writer was blocked until the reader drained the pipe (>= 40 ms): yes\n\
         ping-pong token after 1000 round trips: 2000\n\
         done\n",
    );
}

#[test]
fn sleepers_wake_on_the_timer_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("sleeps"), &[]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "nanosleep(30 ms) returned 0: yes\n\
         nanosleep(30 ms) lasted at least 30 ms: yes\n\
         nanosleep(30 ms) used no CPU (< 10 ms): yes\n\
         nanosleep(0) returned 0: yes\n\
         nanosleep with tv_nsec = 1e9 fails with EINVAL: yes\n\
         nanosleep with tv_sec = -1 fails with EINVAL: yes\n\
         clock_nanosleep(TIMER_ABSTIME) returned 0: yes\n\
         clock_nanosleep(TIMER_ABSTIME) returned at or after its deadline: yes\n\
         clock_nanosleep to a past deadline returned 0: yes\n\
         sleepers woke in the order 1 3 2 0\n\
         done\n",
    );
}

#[test]
fn fpu_registers_survive_yields_copies_and_preemption_in_two_processes_same_as_host() {
    let (_, output) = same_as_host(&[], &c_program("fpuyield"), &[]);
    eprint!("{}", stderr(&output));
    assert_status(&output, 0);
    // The spin rounds really were preempted: each process saw the TSC jump (the other
    // one ran) in at least one of them, else "intact across preemption" proves little.
    for process in ["process 0", "process 1"] {
        let line = stderr(&output)
            .lines()
            .find(|line| line.contains(process) && line.contains("spin rounds"))
            .map(str::to_string)
            .unwrap_or_default();
        let preempted: u32 = line
            .split(": ")
            .nth(2)
            .and_then(|rest| rest.split(' ').nth(2))
            .and_then(|count| count.parse().ok())
            .unwrap_or(0);
        assert!(preempted >= 1, "{process} was never preempted while spinning: {line:?}");
    }
    assert_stdout(
        &output,
        "ok process 0: registers intact across sched_yield\n\
         ok process 0: registers intact across 4 KiB pipe writes and reads\n\
         ok process 0: registers intact across preemption\n\
         ok process 0: own rounding mode kept\n\
         ok process 1: registers intact across sched_yield\n\
         ok process 1: registers intact across 4 KiB pipe writes and reads\n\
         ok process 1: registers intact across preemption\n\
         ok process 1: own rounding mode kept\n",
    );
}

#[test]
fn short_lived_processes_leave_no_zombies_and_return_their_frames() {
    // timeshare only: the program must be pid 1 and alone (sysinfo counts processes).
    let output = run(&c_program("zombies"), &[]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "200 children one after another: frames returned\n\
         200 children one after another: no zombies\n\
         with 50 children forked, sysinfo counts 51 processes\n\
         50 children at once: frames returned\n\
         50 children at once: no zombies\n\
         20 children using 2.25 MiB each: frames returned\n\
         20 children using 2.25 MiB each: no zombies\n\
         20 children that execve: frames returned\n\
         20 children that execve: no zombies\n\
         20 children killed: frames returned\n\
         20 children killed: no zombies\n",
    );
}

#[test]
fn rust_process_exerciser_all_ok() {
    let output = run(&user_program("procs"), &[]);
    assert_status(&output, 0);
    assert_stdout(
        &output,
        "ok fork_wait\n\
         ok fork_copies_memory\n\
         ok pipe\n\
         ok kill\n\
         ok exec\n\
         ok wait_no_child\n",
    );
}
