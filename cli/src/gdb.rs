//! Debugging in one flag, as xv6's `make qemu-gdb`: `timeshare run --gdb` starts QEMU
//! halted at reset with its gdb stub on a Unix socket (no port to pick or collide on)
//! and writes a gdb script that loads the kernel's and the program's symbols, sets the
//! handy breakpoints and attaches; `--kernel-profile dev` boots a kernel built to be
//! read in gdb.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::ValueEnum;

/// Which build of the kernel boots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KernelProfile {
    /// The kernel `cargo build` made (optimized, with debug info)
    Release,
    /// kernel/Cargo.toml's `kernel-dev` profile: light optimization, full debug info and
    /// debug assertions, so that gdb shows values instead of `<optimized out>`; built
    /// on first use into target/kernel-dev
    Dev,
}

/// The kernel of the debug-friendly profile, built now if it is not up to date (cargo
/// decides; it says nothing when there is nothing to do). The kernel's own workspace
/// and flags apply: `cargo build` runs in kernel/, with none of the variables that
/// would override its rustflags or target.
pub fn dev_kernel() -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("cli/ lives in the workspace root");
    let target = root.join("target/kernel-dev");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root.join("kernel"))
        .args(["build", "--quiet", "--profile", "kernel-dev", "--target-dir"])
        .arg(&target);
    for leaking in
        ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_TARGET_DIR"]
    {
        command.env_remove(leaking);
    }
    let status = command.status().map_err(|e| format!("--kernel-profile dev: cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("--kernel-profile dev: building the kernel in {} failed", root.join("kernel").display()));
    }
    Ok(target.join("x86_64-unknown-none/kernel-dev/kernel"))
}

/// The gdb stub of one run: QEMU listens on `socket`; `script` attaches to it.
pub struct GdbStub {
    pub socket: PathBuf,
    pub script: PathBuf,
}

impl GdbStub {
    /// Writes the script into `dir` (which lives as long as the run).
    pub fn prepare(dir: &Path, kernel: &Path, program: &Path) -> std::io::Result<GdbStub> {
        let socket = dir.join("gdb.socket");
        let script = dir.join("attach.gdb");
        let absolute = |path: &Path| fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        fs::write(&script, script_text(&absolute(kernel), &absolute(program), &socket))?;
        Ok(GdbStub { socket, script })
    }

    /// The command that attaches gdb, for the user to type in another terminal.
    pub fn attach_command(&self) -> String {
        format!("gdb -x {}", self.script.display())
    }
}

/// The script: symbols, breakpoints, attach. The program is a static executable at
/// the addresses it was linked for, so `add-symbol-file` needs no address; its `main`
/// is `-qualified` because the kernel has a `main` of its own.
fn script_text(kernel: &Path, program: &Path, socket: &Path) -> String {
    format!(
        "# timeshare run --gdb: QEMU waits, halted at reset, for this script to attach.\n\
         set pagination off\n\
         set confirm off\n\
         file {kernel}\n\
         add-symbol-file {program}\n\
         target remote {socket}\n\
         # 1: the program's main.\n\
         break -qualified main\n\
         # 2: every system call entering the kernel ($rax: its number, $rcx: where the\n\
         #    program resumes); disabled: `enable 2` once in main, or\n\
         #    `condition 2 $rax == 39` for getpid only.\n\
         break syscall_entry\n\
         disable 2\n\
         # 3: a kernel panic.\n\
         break rust_begin_unwind\n\
         echo timeshare: attached; `continue` runs to the program's main\\n\n",
        kernel = kernel.display(),
        program = program.display(),
        socket = socket.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_loads_both_and_attaches() {
        let text = script_text(Path::new("/k/kernel"), Path::new("/p/hello"), Path::new("/tmp/t/gdb.socket"));
        let lines: Vec<&str> = text.lines().filter(|line| !line.starts_with('#')).collect();
        let at =
            |wanted: &str| lines.iter().position(|line| *line == wanted).unwrap_or_else(|| panic!("{wanted}: {text}"));
        // Symbols first, so that the breakpoints resolve when set.
        assert!(at("file /k/kernel") < at("target remote /tmp/t/gdb.socket"));
        assert!(at("add-symbol-file /p/hello") < at("break -qualified main"));
        assert!(at("break syscall_entry") + 1 == at("disable 2"));
        at("break rust_begin_unwind");
    }
}
