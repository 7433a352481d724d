//! `hello [ARGS...]`: the first program to run in user mode. Prints a greeting and its
//! arguments, one per line, and exits 0.
#![no_std]
#![no_main]

use rt::{Lossy, println};

rt::entry!(main);

fn main(args: rt::Args) -> i32 {
    println!("hello from user mode");
    for (i, arg) in args.iter().enumerate() {
        println!("argv[{i}] = {}", Lossy(arg));
    }
    0
}
