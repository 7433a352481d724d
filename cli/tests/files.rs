//! The writable root file system: the calls that create, change and remove files
//! (C programs run on this host in a scratch directory and under timeshare in
//! /tmp, printing the same), BusyBox's file applets in a shell script compared
//! with the host's BusyBox, a file that fills memory, and what only timeshare's
//! root file system answers.

mod common;

use common::*;

#[test]
fn file_calls_as_on_linux() {
    let dir = scratch_dir("files_calls");
    let host = host_run(&c_program("files_calls"), &[dir.to_str().unwrap()]);
    let guest = run(&c_program("files_calls"), &["/tmp"]);
    assert_status(&host, 0);
    assert_eq!(
        stdout(&guest),
        stdout(&host),
        "files_calls: stdout under timeshare (left) differs from the host's (right)\n--- stderr ---\n{}",
        stderr(&guest)
    );
    assert_status(&guest, 0);
}
