//! Memory-mapped files, /dev/zero, shared anonymous memory, ETXTBSY and O_CREAT
//! through a dangling symlink (`user/c/mmap_files.c`, run on this host in a
//! scratch directory and under timeshare in /tmp, printing the same), and BusyBox
//! `vi` editing a file through the terminal.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn mapped_files_as_on_linux() {
    let dir = scratch_dir("mmap_files");
    let host = host_run(&c_program("mmap_files"), &[dir.to_str().unwrap()]);
    let guest = run(&c_program("mmap_files"), &["/tmp"]);
    assert_status(&host, 0);
    assert_eq!(
        stdout(&guest),
        stdout(&host),
        "mmap_files: stdout under timeshare (left) differs from the host's (right)\n--- stderr ---\n{}",
        stderr(&guest)
    );
    assert_status(&guest, 0);
}

/// A truncate leaves the pages already mapped in place (Linux takes them away:
/// SIGBUS), and never frees a frame still mapped: other files filling memory
/// afterwards do not show through the mapping.
#[test]
fn a_truncated_mapped_file_keeps_its_mapped_frames() {
    let output = run_with(&["--memory", "64"], &c_program("mmap_files"), &["--truncate", "/tmp"]);
    assert_stdout(
        &output,
        "truncated: the mapped pages keep their bytes: yes\n\
         truncated: stores reach no file: yes\n\
         truncated: the file grown again reads zeros: yes\n",
    );
    assert_status(&output, 0);
}

/// BusyBox `vi` in a shell on a terminal (a pty, as a user's): it draws its
/// screen, takes `ihello<Esc>:wq<Enter>`, writes the file; `cat` in the same
/// session shows it, and `--copy-out` brings it back byte for byte.
#[test]
fn vi_edits_a_file_through_the_terminal() {
    let dir = scratch_dir("mmap_files_vi");
    let copied = dir.join("edited");
    let (mut terminal, device) = open_pty(80, 24);
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_timeshare"));
    command
        .args(["run", "--timeout", "120", "--copy-out"])
        .arg(format!("/tmp/edited:{}", copied.display()))
        .args(["/bin/busybox", "sh"]);
    let mut child = spawn_on_terminal(&mut command, device);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen = Vec::new();
    let transcript = |seen: &[u8]| String::from_utf8_lossy(seen).into_owned();

    assert!(read_until(&mut terminal, &mut seen, "# ", deadline), "no prompt: {}", transcript(&seen));
    terminal.write_all(b"vi /tmp/edited\r").unwrap();
    assert!(read_until(&mut terminal, &mut seen, "vi /tmp/edited", deadline), "no echo: {}", transcript(&seen));
    seen.clear();
    // vi draws the lines past the end of the (new, empty) file as `~`.
    assert!(read_until(&mut terminal, &mut seen, "~", deadline), "no vi screen: {}", transcript(&seen));
    std::thread::sleep(Duration::from_millis(500));
    terminal.write_all(b"ihello\x1b").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    terminal.write_all(b":wq\r").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    seen.clear();
    terminal.write_all(b"cat /tmp/edited; echo cat gave $?\r").unwrap();
    assert!(
        read_until(&mut terminal, &mut seen, "hello\r\ncat gave 0", deadline),
        "the file is not what was typed: {}",
        transcript(&seen)
    );
    terminal.write_all(b"exit 0\r").unwrap();
    let status = child.wait().expect("timeshare ends");
    assert_eq!(status.code(), Some(0), "transcript: {}", transcript(&seen));
    assert_eq!(std::fs::read(&copied).expect("--copy-out brought the file back"), b"hello\n");
}
