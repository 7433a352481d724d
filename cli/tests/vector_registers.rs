//! The kernel leaves a program's FPU/SSE/AVX registers live across a fast-path system
//! call (kernel/base/src/arch/x86_64/fpu.rs). That is only right while no kernel code
//! touches them behind the FPU module's back: the compiler cannot (the kernel is built
//! for the soft-float target), so this checks the hand-written code, in the built
//! kernel itself. Every instruction that reads or writes vector or x87 state must come
//! from the FPU module, from the AVX copies in mm/frame.rs (which save the program's
//! state first), or from the entry code's save and restore.

use std::collections::BTreeMap;
use std::process::Command;

/// Source files whose instructions may touch the vector state (by DWARF line info,
/// which follows inlined code to where it was written).
const ALLOWED_SOURCES: &[&str] = &["kernel/base/src/arch/x86_64/fpu.rs", "kernel/base/src/mm/frame.rs"];

/// Labels of the entry code and of fpu.rs's XRSTOR from a signal frame
/// (`global_asm!`, without line info) that save or reload it.
const ALLOWED_ENTRY_LABELS: &[&str] =
    &["arrived_from_user", "syscall_not_straight_back", "enter_user_mode", "load_fpu_image_xrstor"];

/// Whether a disassembled instruction (AT&T syntax, as objdump prints it) reads or
/// writes vector, mask or x87 state.
fn touches_vector_state(instruction: &str) -> bool {
    let mnemonic = instruction.split_whitespace().next().unwrap_or("");
    let registers = ["%xmm", "%ymm", "%zmm"].iter().any(|register| instruction.contains(register))
        || (instruction.contains("%k") && mnemonic.starts_with('k'));
    let state = ["xsave", "xrstor", "fxsave", "fxrstor", "ldmxcsr", "stmxcsr", "vzero", "emms", "xsetbv"]
        .iter()
        .any(|name| mnemonic.starts_with(name));
    // x87: every mnemonic that starts with 'f' (no integer one does).
    let x87 = mnemonic.starts_with('f');
    registers || state || x87
}

#[test]
fn only_the_fpu_module_the_avx_copies_and_the_entry_code_touch_vector_registers() {
    let kernel = env!("TIMESHARE_KERNEL");
    let output = Command::new("objdump")
        .args(["-d", "-l", "--no-show-raw-insn", kernel])
        .output()
        .expect("objdump (binutils) must be installed to check the kernel image");
    assert!(output.status.success(), "objdump failed: {}", String::from_utf8_lossy(&output.stderr));
    let listing = String::from_utf8_lossy(&output.stdout);

    let mut function = String::new();
    let mut source: Option<String> = None;
    let mut allowed = BTreeMap::<String, usize>::new();
    let mut offenders = Vec::new();
    for line in listing.lines() {
        if let Some(name) = line.strip_suffix(">:").and_then(|head| head.split_once(" <")).map(|(_, name)| name) {
            function = name.to_string();
            source = None;
        } else if line.starts_with('/') && line.contains(".rs:") {
            source = Some(line.split(".rs:").next().unwrap_or("").to_string() + ".rs");
        } else if let Some((_, instruction)) = line.split_once(":\t") {
            if !touches_vector_state(instruction) {
                continue;
            }
            let place = match &source {
                Some(file) if ALLOWED_SOURCES.iter().any(|allowed| file.ends_with(allowed)) => Some(file.clone()),
                None if ALLOWED_ENTRY_LABELS.contains(&function.as_str()) => Some(function.clone()),
                _ => None,
            };
            match place {
                Some(place) => *allowed.entry(place).or_default() += 1,
                None => offenders.push(format!("{function} ({}): {instruction}", source.as_deref().unwrap_or("asm"))),
            }
        }
    }
    assert!(offenders.is_empty(), "vector state touched outside the FPU module:\n{}", offenders.join("\n"));
    // The check saw the code it allows (else it would pass on any listing).
    for expected in
        ALLOWED_SOURCES.iter().map(|s| s.to_string()).chain(ALLOWED_ENTRY_LABELS.iter().map(|s| s.to_string()))
    {
        assert!(
            allowed.keys().any(|place| place.ends_with(&expected)),
            "no vector instruction found in {expected}: {allowed:?}"
        );
    }
}
