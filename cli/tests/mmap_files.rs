//! Memory-mapped files, /dev/zero, shared anonymous memory, ETXTBSY and O_CREAT
//! through a dangling symlink (`user/c/mmap_files.c`, run on this host in a
//! scratch directory and under timeshare in /tmp, printing the same), and BusyBox
//! `vi` editing a file through the terminal.

mod common;

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
