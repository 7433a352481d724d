//! The QEMU command line: the machine, and the channels the kernel is written against
//! (see `session` for the host side of them).
//!
//! | channel         | guest side            | chardev id   | host side                          |
//! |-----------------|-----------------------|--------------|------------------------------------|
//! | guest RAM       | all of it             | (memfd)      | the console's rings, the trace     |
//! | guest doorbell  | COM1, port 0x3f8 (in) | `doorbell`   | a byte: look at the console rings  |
//! | output doorbell | debugcon, port 0xe9   | `output`     | a byte: output ring has records    |
//! | input doorbell  | debugcon, port 0xec   | `input`      | a byte: input ring has room        |
//! | kernel log      | debugcon, port 0xea   | `klog`       | --verbose / --log FILE / in memory |
//! | control         | debugcon, port 0xeb   | `control`    | parsed by `control`                |
//!
//! Guest RAM is a memory file (memfd) that QEMU inherits and maps shared
//! (`memory-backend-file` on `/proc/self/fd/N`), and that we map too: the program's
//! stdin, stdout and stderr travel in the console's rings there (`host_io`), the
//! trace in its ring (`trace_ring`). Each chardev is one end of a socketpair inherited
//! by QEMU (`socket,fd=N`), so nothing but the guest's bytes travels on it and nothing
//! lands in the file system.

use std::ffi::OsString;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use kernel_core::hostio;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Accel {
    /// QEMU's software CPU emulation: works everywhere.
    Tcg,
    /// Hardware virtualization: only for hosts with real VT-x/AMD-V (a nested software
    /// hypervisor such as kvm_pvm cannot run a bare-metal kernel).
    Kvm,
}

impl Accel {
    fn as_str(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

/// Everything that decides the QEMU command line except the channel descriptors.
#[derive(Debug, Clone)]
pub struct Machine {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub cmdline: String,
    pub memory_mib: u32,
    /// `-smp`: how many CPUs.
    pub cpus: u32,
    pub accel: Accel,
    pub icount: bool,
    /// `--gdb`: start halted, with the gdb stub listening on this Unix socket.
    pub gdb_socket: Option<PathBuf>,
    /// `--qemu-arg`s, appended last.
    pub extra: Vec<OsString>,
}

/// The QEMU-side descriptors of the channels (inherited by the QEMU process).
#[derive(Debug, Clone, Copy)]
pub struct ChannelFds {
    pub guest_doorbell: RawFd,
    pub output_doorbell: RawFd,
    pub input_doorbell: RawFd,
    pub klog: RawFd,
    pub control: RawFd,
    /// The memory file that holds guest RAM, shared with the host.
    pub guest_ram: RawFd,
}

pub const PORT_KLOG: u16 = 0xea;
pub const PORT_CONTROL: u16 = 0xeb;
pub const PORT_DEBUG_EXIT: u16 = 0xf4;

/// The arguments after `qemu-system-x86_64`.
pub fn arguments(machine: &Machine, fds: ChannelFds) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |items: &[&str]| args.extend(items.iter().map(OsString::from));
    push(&["-M", "pc", "-cpu", "max", "-accel", machine.accel.as_str()]);
    push(&["-m", &format!("{}M", machine.memory_mib), "-smp", &machine.cpus.to_string()]);
    push(&[
        "-object",
        &format!(
            "memory-backend-file,id=ram,size={}M,mem-path=/proc/self/fd/{},share=on",
            machine.memory_mib, fds.guest_ram
        ),
        "-machine",
        "memory-backend=ram",
    ]);
    push(&["-display", "none", "-no-reboot", "-nodefaults", "-monitor", "none"]);
    push(&["-device", &format!("isa-debug-exit,iobase={PORT_DEBUG_EXIT:#x},iosize=0x04")]);
    push(&["-chardev", &format!("socket,id=doorbell,fd={}", fds.guest_doorbell), "-serial", "chardev:doorbell"]);
    for (id, fd, port) in [
        ("output", fds.output_doorbell, hostio::OUTPUT_DOORBELL_PORT),
        ("input", fds.input_doorbell, hostio::INPUT_DOORBELL_PORT),
        ("klog", fds.klog, PORT_KLOG),
        ("control", fds.control, PORT_CONTROL),
    ] {
        push(&["-chardev", &format!("socket,id={id},fd={fd}")]);
        push(&["-device", &format!("isa-debugcon,iobase={port:#x},chardev={id}")]);
    }
    if machine.icount {
        push(&["-icount", "shift=0,sleep=off"]);
    }
    if let Some(socket) = &machine.gdb_socket {
        push(&["-chardev", &format!("socket,id=gdb,path={},server=on,wait=off", socket.display())]);
        push(&["-gdb", "chardev:gdb", "-S"]);
    }
    args.push("-kernel".into());
    args.push(machine.kernel.clone().into());
    args.push("-initrd".into());
    args.push(machine.initrd.clone().into());
    args.push("-append".into());
    args.push(machine.cmdline.clone().into());
    args.extend(machine.extra.iter().cloned());
    args
}

pub const QEMU: &str = "qemu-system-x86_64";

/// `qemu-system-x86_64` on PATH.
pub fn find() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(QEMU))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| format!("{QEMU} not found on PATH; install it with `apt-get install qemu-system-x86`"))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        Machine {
            kernel: "/k/kernel".into(),
            initrd: "/tmp/x/initrd.cpio".into(),
            cmdline: "init=/bin/hello".into(),
            memory_mib: 256,
            cpus: 1,
            accel: Accel::Tcg,
            icount: false,
            gdb_socket: None,
            extra: vec![],
        }
    }

    const FDS: ChannelFds = ChannelFds {
        guest_doorbell: 10,
        output_doorbell: 11,
        input_doorbell: 14,
        klog: 12,
        control: 13,
        guest_ram: 15,
    };

    fn joined(m: &Machine) -> String {
        arguments(m, FDS).iter().map(|a| a.to_str().unwrap()).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn the_default_machine() {
        assert_eq!(
            joined(&machine()),
            "-M pc -cpu max -accel tcg -m 256M -smp 1 \
             -object memory-backend-file,id=ram,size=256M,mem-path=/proc/self/fd/15,share=on \
             -machine memory-backend=ram -display none -no-reboot -nodefaults -monitor none \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
             -chardev socket,id=doorbell,fd=10 -serial chardev:doorbell \
             -chardev socket,id=output,fd=11 -device isa-debugcon,iobase=0xe9,chardev=output \
             -chardev socket,id=input,fd=14 -device isa-debugcon,iobase=0xec,chardev=input \
             -chardev socket,id=klog,fd=12 -device isa-debugcon,iobase=0xea,chardev=klog \
             -chardev socket,id=control,fd=13 -device isa-debugcon,iobase=0xeb,chardev=control \
             -kernel /k/kernel -initrd /tmp/x/initrd.cpio -append init=/bin/hello"
        );
    }

    #[test]
    fn options_change_the_machine() {
        let mut m = machine();
        m.memory_mib = 1024;
        m.accel = Accel::Kvm;
        m.icount = true;
        m.gdb_socket = Some("/tmp/x/gdb.socket".into());
        m.extra = vec!["-d".into(), "int".into()];
        let line = joined(&m);
        assert!(line.contains("-accel kvm "), "{line}");
        assert!(line.contains("-m 1024M "), "{line}");
        assert!(line.contains(" -icount shift=0,sleep=off "), "{line}");
        assert!(line.ends_with(" -append init=/bin/hello -d int"), "{line}");
        assert!(
            line.contains(" -chardev socket,id=gdb,path=/tmp/x/gdb.socket,server=on,wait=off -gdb chardev:gdb -S "),
            "{line}"
        );
    }

    #[test]
    fn the_command_line_is_one_argument() {
        let mut m = machine();
        m.cmdline = "init=/bin/hello arg=\"a b\"".into();
        let args = arguments(&m, FDS);
        let at = args.iter().position(|a| a == "-append").unwrap();
        assert_eq!(args[at + 1], "init=/bin/hello arg=\"a b\"");
    }
}
