//! `timeshare`: boot the timeshare kernel under QEMU with a program, relay its console,
//! and exit with its status.
//!
//! `cli/build.rs` builds the kernel and the user programs; this binary finds them through
//! `env!` paths, packs an initrd, starts QEMU (`session`), and maps how the run ended to an
//! exit status (`outcome`). This file dispatches the subcommands parsed by `args`: a boot
//! (`demo`, `run`) is `run`'s, the others have a module each.

mod args;
mod bench;
mod control;
mod copy_out;
mod diagnostics;
mod explain;
mod fuzz;
mod gdb;
mod host_io;
mod initrd;
mod linux;
mod outcome;
mod qemu;
mod run;
mod sched_sim;
mod session;
mod svg;
mod terminal;
mod trace;
mod trace_ring;

use std::process::ExitCode;

use clap::Parser;

use args::{BootArgs, Cli, Command, DemoArgs};
use outcome::EXIT_USAGE;

/// An error that ends `timeshare` before or instead of a boot, with its exit status.
struct Failure {
    status: u8,
    message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure { status: EXIT_USAGE, message: message.into() }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Demo(DemoArgs { boot: BootArgs::default() })) {
        Command::Demo(args) => run::demo(args),
        Command::Run(args) => run::run(args),
        Command::Bench(args) => Ok(bench::main(args)),
        Command::Fuzz(args) => Ok(fuzz::main(args)),
        Command::SchedSim(args) => sched_sim::run(args).map_err(|message| Failure { status: 1, message }),
    };
    terminal::restore();
    match result {
        Ok(status) => ExitCode::from(status),
        Err(failure) => {
            eprintln!("timeshare: {}", failure.message);
            ExitCode::from(failure.status)
        }
    }
}
