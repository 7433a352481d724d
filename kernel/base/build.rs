//! Builds the vDSO (kernel/vdso) that the base embeds: one `rustc` run, not a
//! nested cargo, because the image is a single dependency-free file (it takes
//! kernel-core's clock.rs by path) and needs flags of its own that the kernel's
//! `.cargo/config.toml` would otherwise impose (static, kernel code model).
//!
//! On stable Rust, x86_64-unknown-none builds no `cdylib`; a `no_main` binary
//! compiled position-independent and linked by rust-lld with `-shared` (after
//! `--no-pie`, which cancels the `-pie` rustc passes for PIC binaries) is the
//! shared object wanted: the linker script lays it out, the version script
//! exports the functions under LINUX_2.6 and hides the rest.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let vdso_dir = manifest_dir.join("../vdso");
    let clock = manifest_dir.join("../../kernel-core/src/clock.rs");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("vdso.so");
    for input in [vdso_dir.join("vdso.rs"), vdso_dir.join("vdso.lds"), vdso_dir.join("vdso.map"), clock] {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let link_args = [
        "--no-pie".to_string(),
        "-shared".to_string(),
        format!("-T{}", vdso_dir.join("vdso.lds").display()),
        format!("--version-script={}", vdso_dir.join("vdso.map").display()),
        "-soname=linux-vdso.so.1".to_string(),
        // musl looks symbols up through DT_HASH, glibc prefers DT_GNU_HASH.
        "--hash-style=both".to_string(),
        "--build-id=none".to_string(),
        "--strip-all".to_string(),
    ];
    let mut command = Command::new(&rustc);
    command
        .args(["--edition", "2021", "--crate-type", "bin", "--crate-name", "vdso", "--target", "x86_64-unknown-none"])
        .args(["-C", "opt-level=2", "-C", "panic=abort", "-C", "relocation-model=pic", "-C", "debuginfo=0"])
        .args(link_args.iter().flat_map(|arg| ["-C".to_string(), format!("link-arg={arg}")]))
        .arg("-o")
        .arg(&out)
        .arg(vdso_dir.join("vdso.rs"));
    let output = command.output().unwrap_or_else(|error| panic!("cannot run {rustc:?} for the vDSO: {error}"));
    if !output.status.success() {
        panic!("building the vDSO failed:\n{}", String::from_utf8_lossy(&output.stderr));
    }
    check_position_independent(&std::fs::read(&out).expect("the vDSO was just built"));
}

/// The image is mapped as it is, at an address chosen at exec, and nothing
/// relocates it: it must have no dynamic relocations, and one loadable segment.
fn check_position_independent(image: &[u8]) {
    let field = |offset: usize, size: usize| -> u64 {
        image[offset..offset + size].iter().rev().fold(0, |value, &byte| value << 8 | u64::from(byte))
    };
    let (phoff, phentsize, phnum) = (field(0x20, 8) as usize, field(0x36, 2) as usize, field(0x38, 2) as usize);
    let mut loads = 0;
    for header in (0..phnum).map(|index| phoff + index * phentsize) {
        const PT_LOAD: u64 = 1;
        const PT_DYNAMIC: u64 = 2;
        match field(header, 4) {
            PT_LOAD => loads += 1,
            PT_DYNAMIC => {
                let (dynamic, size) = (field(header + 8, 8) as usize, field(header + 32, 8) as usize);
                for entry in (dynamic..dynamic + size).step_by(16) {
                    const DT_RELA: u64 = 7;
                    const DT_REL: u64 = 17;
                    const DT_JMPREL: u64 = 23;
                    const DT_TEXTREL: u64 = 22;
                    let tag = field(entry, 8);
                    assert!(
                        ![DT_RELA, DT_REL, DT_JMPREL, DT_TEXTREL].contains(&tag),
                        "the vDSO needs relocations (dynamic tag {tag}): it must not take the address of a global"
                    );
                }
            }
            _ => {}
        }
    }
    assert_eq!(loads, 1, "the vDSO must be one loadable segment");
}
