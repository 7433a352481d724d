//! The CLI under bad input: what it cannot do is said clearly, with exit status 2 and
//! not as a kernel failure (125), before booting wherever that can be known.

mod common;

use common::*;

#[track_caller]
fn refused(output: &std::process::Output, message: &str) {
    assert_status(output, 2);
    assert!(stderr(output).contains(message), "stderr: {:?}, expected {message:?}", stderr(output));
}

/// `timeshare run OPTIONS args` with no QEMU on PATH: exit status 2 can then only come
/// from a refusal before the boot (otherwise: "qemu-system-x86_64 not found", 125).
fn before_booting(options: &[&str]) -> std::process::Output {
    timeshare()
        .env("PATH", "/nonexistent")
        .arg("run")
        .args(options)
        .arg(c_program("args"))
        .output()
        .expect("start timeshare")
}

#[test]
fn qemu_s_own_refusals_are_reported_as_such() {
    let args = c_program("args");
    let bad_option = run_with(&["--qemu-arg", "-no-such-option"], &args, &[]);
    refused(&bad_option, "QEMU could not start the machine");
    refused(&bad_option, "-no-such-option");
    // An initrd larger than 16 MiB of guest memory can hold.
    let dir = scratch_dir("cli_input_big_initrd");
    let big = dir.join("big");
    std::fs::write(&big, vec![0u8; 20 << 20]).unwrap();
    let spec = format!("{}:/big", big.display());
    refused(&run_with(&["--memory", "16", "--add", &spec], &args, &[]), "initrd is too large");
}

#[test]
fn memory_the_host_does_not_have_is_refused_before_booting() {
    refused(&before_booting(&["--memory", "1048576"]), "--memory 1048576: this host has");
    refused(&before_booting(&["--memory", "15"]), "--memory");
}

#[test]
fn the_smallest_memory_boots() {
    let (_, guest) = same_as_host(&["--memory", "16"], &c_program("args"), &["x"]);
    assert!(stdout(&guest).contains("argv[1] = [x]"));
}

#[test]
fn kvm_runs_the_program_or_fails_fast() {
    match std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm") {
        Err(error) => {
            let output = before_booting(&["--accel", "kvm"]);
            refused(&output, "--accel kvm: /dev/kvm:");
            eprintln!("/dev/kvm cannot be opened here ({error}): checked the refusal");
        }
        Ok(_) => {
            // A KVM that can run the kernel runs the program; one that cannot (a
            // nested software hypervisor) is found out by the boot deadline, well
            // before the run's own timeout, and one QEMU aborts on (an MSR its CPU
            // model sets that the host's KVM refuses) is QEMU's refusal.
            let started = std::time::Instant::now();
            let output = run_with(&["--accel", "kvm"], &c_program("args"), &["x"]);
            let elapsed = started.elapsed();
            if output.status.code() == Some(0) {
                assert!(stdout(&output).contains("argv[1] = [x]"), "{}", stdout(&output));
                eprintln!("KVM runs the kernel on this host");
            } else if stderr(&output).contains("timeshare: QEMU could not start the machine:") {
                refused(&output, "QEMU could not start the machine:");
                eprintln!("QEMU cannot start a machine under this host's KVM: refused after {elapsed:?}");
            } else {
                refused(&output, "--accel kvm: the kernel did not boot within 10 s: this host's KVM cannot run it");
                assert!(elapsed < std::time::Duration::from_secs(30), "took {elapsed:?}");
                eprintln!("KVM cannot run the kernel on this host: refused after {elapsed:?}");
            }
        }
    }
}

#[test]
fn add_refuses_guest_paths_the_guest_cannot_open() {
    let long_name = format!("/etc/{}", "n".repeat(256));
    let long_path = format!("/{}bcd", "a/".repeat(2046));
    for (guest, message) in [
        (long_name.as_str(), "at most 255 bytes"),
        (long_path.as_str(), "at most 4095 bytes"),
        ("/proc/cpuinfo", "hidden by the kernel's own /proc"),
        ("/proc", "hidden by the kernel's own /proc"),
        ("/dev/null", "hidden by the kernel's own /dev"),
        ("/bin/args", "/bin/args is given twice"),
        ("/etc/../x", "no empty, `.` or `..` components"),
        ("/etc//x", "no empty, `.` or `..` components"),
    ] {
        let spec = format!("{}:{guest}", c_program("hello").display());
        refused(&before_booting(&["--add", &spec]), message);
    }
}

#[test]
fn trace_files_that_cannot_be_written() {
    let dir = scratch_dir("cli_input_trace");
    let missing = dir.join("missing/trace.json");
    for option in ["--trace", "--timeline"] {
        refused(&before_booting(&[option, dir.to_str().unwrap()]), "Is a directory");
        refused(&before_booting(&[option, missing.to_str().unwrap()]), "No such file or directory");
        // Opened, but every write fails: found at the end, after a successful program.
        let output = run_with(&[option, "/dev/full"], &c_program("args"), &[]);
        refused(&output, "/dev/full: No space left on device");
    }
}
