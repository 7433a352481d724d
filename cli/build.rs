//! Build what the `timeshare` command boots, so that `cargo run` and `cargo test` at the
//! workspace root need nothing else:
//!
//! 1. the kernel (`kernel/`, its own workspace with its own `.cargo/config.toml`), always in
//!    release mode, into `<root>/target/kernel`;
//! 2. the Rust user programs (`user/`, likewise), into `<root>/target/user`;
//! 3. every `user/c/*.c` with `musl-gcc -static -O2 -g` (debug info, for `timeshare run --gdb`), into `<root>/target/user-c`;
//! 4. the Rust programs that use std (`user/std/`, its own workspace, for the
//!    `x86_64-unknown-linux-musl` target), into `<root>/target/user-std`.
//!
//! The results reach the CLI (and its tests) as `env!("TIMESHARE_KERNEL")`,
//! `env!("TIMESHARE_USER_BIN_DIR")`, `env!("TIMESHARE_USER_C_DIR")` and
//! `env!("TIMESHARE_USER_STD_DIR")`.
//!
//! The nested cargo runs with `current_dir` set to the sub-workspace so that its
//! `.cargo/config.toml` applies, and with an environment scrubbed of everything the outer
//! cargo sets for this build script that would leak into it (above all
//! `CARGO_ENCODED_RUSTFLAGS`, which would silently replace the kernel's rustflags).

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("cli/ lives in the workspace root").to_path_buf();
    let target = root.join("target");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    println!("cargo:rerun-if-changed=build.rs");
    for dir in ["kernel", "kernel-core", "freestanding", "user"] {
        watch_sources(&root.join(dir));
    }

    // 1. The kernel.
    let kernel_target = target.join("kernel");
    cargo_build(&cargo, &root.join("kernel"), &kernel_target, "the kernel");
    let kernel = release_dir(&root.join("kernel"), &kernel_target).join("kernel");
    if !kernel.is_file() {
        fail(&format!("the kernel build succeeded but {} does not exist", kernel.display()));
    }
    println!("cargo:rustc-env=TIMESHARE_KERNEL={}", kernel.display());

    // 2. The Rust user programs.
    let user = root.join("user");
    let user_target = target.join("user");
    if user.join("Cargo.toml").is_file() {
        cargo_build(&cargo, &user, &user_target, "the user programs");
    } else {
        println!(
            "cargo:warning=user/Cargo.toml does not exist yet: no Rust user programs built \
             (`timeshare demo` will have nothing to run)"
        );
    }
    let user_bin_dir = release_dir(&user, &user_target);
    println!("cargo:rustc-env=TIMESHARE_USER_BIN_DIR={}", user_bin_dir.display());

    // 3. The C user programs.
    let user_c_dir = target.join("user-c");
    build_c_programs(&root, &user_c_dir);
    println!("cargo:rustc-env=TIMESHARE_USER_C_DIR={}", user_c_dir.display());

    // 4. The Rust std programs (user/ is watched above, user/std with it).
    let user_std = user.join("std");
    let musl = "x86_64-unknown-linux-musl";
    if !rust_target_installed(musl) {
        fail(&format!(
            "the Rust target {musl} is missing: user/std (Rust programs with std, for the thread tests) \
             is built for it. Add it with `rustup target add {musl}`."
        ));
    }
    let user_std_target = target.join("user-std");
    cargo_build(&cargo, &user_std, &user_std_target, "the Rust std programs");
    println!("cargo:rustc-env=TIMESHARE_USER_STD_DIR={}", release_dir(&user_std, &user_std_target).display());
}

/// Whether the toolchain that builds us has the standard library of `triple` (what
/// `rustup target add` installs): `<sysroot>/lib/rustlib/<triple>/lib`.
fn rust_target_installed(triple: &str) -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(output) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_string();
    Path::new(&sysroot).join("lib/rustlib").join(triple).join("lib").is_dir()
}

/// Tell cargo which sources the nested builds depend on. A directory given to
/// `rerun-if-changed` is scanned recursively, so each top-level entry is named except
/// `target` (a build run by hand inside the sub-workspace lands there). The files that make
/// a sub-workspace appear are named even when missing (cargo then reruns this script on
/// every build until they exist, which is what we want while `user/` is being written).
fn watch_sources(dir: &Path) {
    for always in ["Cargo.toml", "Cargo.lock", ".cargo/config.toml", "build.rs", "c"] {
        let path = dir.join(always);
        if path.exists() || always == "Cargo.toml" {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let Ok(entries) = fs::read_dir(dir) else {
        println!("cargo:rerun-if-changed={}", dir.display());
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().unwrap_or_default();
        if name == "target" || name == ".git" {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The variables the outer cargo (or the user, for the outer build) sets that must not
/// reach a nested `cargo build` of another workspace with its own flags.
fn leaks_into_nested_cargo(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        "CARGO_BUILD_RUSTDOCFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "CARGO_BUILD_BUILD_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_RUSTC_WRAPPER",
        "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_RUSTC_CURRENT_DIR",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "RUSTC_LINKER",
        // Build-script inputs: the nested cargo sets its own for its build scripts, but
        // crates without a build script would see ours (e.g. `env!("OUT_DIR")`).
        "OUT_DIR",
        "TARGET",
        "HOST",
        "NUM_JOBS",
        "OPT_LEVEL",
        "PROFILE",
        "DEBUG",
    ];
    const PREFIXES: &[&str] = &["CARGO_CFG_", "CARGO_FEATURE_", "CARGO_PKG_", "CARGO_MANIFEST_", "DEP_"];
    if EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p)) {
        return true;
    }
    // Per-target flags given for the host build (`CARGO_TARGET_<TRIPLE>_RUSTFLAGS`,
    // `..._LINKER`, `..._RUNNER`): the user programs use the host's triple but their
    // own flags.
    if let Some(rest) = name.strip_prefix("CARGO_TARGET_") {
        return rest.ends_with("_RUSTFLAGS") || rest.ends_with("_LINKER") || rest.ends_with("_RUNNER");
    }
    false
}

/// `cargo build --release --target-dir TARGET_DIR` inside `workspace`, failing this build
/// script with the child's output when it fails.
fn cargo_build(cargo: &OsString, workspace: &Path, target_dir: &Path, what: &str) {
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace).arg("build").arg("--release").arg("--target-dir").arg(target_dir);
    for (name, _) in env::vars_os() {
        if name.to_str().is_some_and(leaks_into_nested_cargo) {
            cmd.env_remove(&name);
        }
    }
    let shown = format!("cd {} && cargo build --release --target-dir {}", workspace.display(), target_dir.display());
    let output = run(&mut cmd, what, &shown);
    // The nested cargo reports on stderr; keep it in this script's stderr (cargo shows it
    // with -vv or on failure). Never let it reach our stdout: cargo parses that.
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    eprint!("{}", String::from_utf8_lossy(&output.stdout));
}

/// Where `cargo build --release` put the binaries: under `<triple>/release` when the
/// workspace's `.cargo/config.toml` names a `[build] target`, else under `release`.
fn release_dir(workspace: &Path, target_dir: &Path) -> PathBuf {
    let config = fs::read_to_string(workspace.join(".cargo/config.toml")).unwrap_or_default();
    match build_target(&config) {
        Some(triple) => target_dir.join(triple).join("release"),
        None => target_dir.join("release"),
    }
}

/// The `target` a `.cargo/config.toml` sets in its `[build]` table (a tiny TOML reader:
/// enough for `[build]\ntarget = "..."` and `build.target = "..."`).
fn build_target(config: &str) -> Option<String> {
    let mut table = String::new();
    for line in config.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            table = line.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if (table == "build" && key == "target") || (table.is_empty() && key == "build.target") {
            return Some(value.trim().trim_matches('"').to_string());
        }
    }
    None
}

/// `musl-gcc -static -O2 -g -o <out_dir>/NAME user/c/NAME.c` for every C program, when the
/// output is missing or older than anything in `user/c` (headers included, such as the
/// shared `user/c/include/testlib.h`).
fn build_c_programs(root: &Path, out_dir: &Path) {
    let c_dir = root.join("user/c");
    let mut sources: Vec<String> = match fs::read_dir(&c_dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| name.ends_with(".c"))
            .collect(),
        Err(_) => Vec::new(),
    };
    sources.sort();
    fs::create_dir_all(out_dir).unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", out_dir.display())));
    if sources.is_empty() {
        return;
    }
    for source in &sources {
        println!("cargo:rerun-if-changed={}", c_dir.join(source).display());
    }
    let include_dir = c_dir.join("include");
    if include_dir.is_dir() {
        println!("cargo:rerun-if-changed={}", include_dir.display());
    }
    let musl_gcc = find_musl_gcc().unwrap_or_else(|| {
        fail("musl-gcc not found: the C test programs in user/c need it. Install it with `apt-get install musl-tools`.")
    });
    // This script holds the compiler flags: a program built before they changed is stale.
    let this_script = fs::metadata(root.join("cli/build.rs")).and_then(|m| m.modified()).ok();
    let newest_input = newest_mtime(&c_dir).max(this_script);
    for source in &sources {
        let name = source.strip_suffix(".c").expect("filtered on .c");
        let output = out_dir.join(name);
        let up_to_date = fs::metadata(&output)
            .and_then(|m| m.modified())
            .is_ok_and(|built| newest_input.is_some_and(|newest| built >= newest));
        if up_to_date {
            continue;
        }
        let mut cmd = Command::new(&musl_gcc);
        cmd.current_dir(root).args(["-static", "-O2", "-g", "-o"]).arg(&output).arg(format!("user/c/{source}"));
        let shown = format!("musl-gcc -static -O2 -g -o {} user/c/{source}", output.display());
        let out = run(&mut cmd, &format!("user/c/{source}"), &shown);
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }
}

fn find_musl_gcc() -> Option<PathBuf> {
    let on_path = env::var_os("PATH")
        .and_then(|path| env::split_paths(&path).map(|dir| dir.join("musl-gcc")).find(|candidate| candidate.is_file()));
    on_path.or_else(|| Some(PathBuf::from("/usr/bin/musl-gcc")).filter(|p| p.is_file()))
}

/// The newest modification time of anything below `dir`, subdirectories included (a
/// directory's own time changes only when entries come or go, not when a file in it is
/// edited).
fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            let own = meta.modified().ok();
            if meta.is_dir() {
                own.max(newest_mtime(&e.path()))
            } else {
                own
            }
        })
        .max()
}

/// Run a command to completion with its output captured; fail the build script, showing
/// that output, when it cannot start or exits unsuccessfully.
fn run(cmd: &mut Command, what: &str, shown: &str) -> Output {
    let output = cmd.output().unwrap_or_else(|e| fail(&format!("building {what}: cannot run `{shown}`: {e}")));
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stdout));
        let stderr = String::from_utf8_lossy(&output.stderr);
        eprintln!("{stderr}");
        // rustc's own note names the target; say how to get it.
        let hint = if stderr.contains("target may not be installed") {
            "; a Rust target is missing: `rustup target add x86_64-unknown-none` (the kernel's)"
        } else {
            ""
        };
        fail(&format!("building {what} failed ({}): `{shown}` (its output is above){hint}", output.status));
    }
    output
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    println!("cargo:warning={message}");
    std::process::exit(1);
}
