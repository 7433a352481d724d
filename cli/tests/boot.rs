//! Smoke test: the whole path, from `timeshare run` on the host to a C program in user
//! mode and its exit status back.

mod common;

use common::*;

#[test]
fn hello_world_in_user_mode() {
    let output = run(&c_program("hello"), &[]);
    assert_status(&output, 3);
    assert!(stdout(&output).starts_with("hello, world\n"), "stdout: {:?}", stdout(&output));
}
