//! The reference Linux for `timeshare bench`: Debian's cloud kernel, fetched once with
//! `apt-get download` + `dpkg-deb -x` into a cache directory and reused; its initramfs
//! (the benchmark program as `/init`); and the QEMU command line that boots it under the
//! same machine as timeshare.
//!
//! The cache is `$XDG_CACHE_HOME/timeshare/linux` (or `~/.cache/timeshare/linux`), one
//! directory per kernel release holding `vmlinuz` and `version` (the Debian package and
//! its version). Only the kernel image is kept: the package's modules are not needed
//! (the benchmark's initramfs loads none).

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The meta-package that depends on the current versioned cloud kernel.
pub const META_PACKAGE: &str = "linux-image-cloud-amd64";

/// A Linux kernel image ready to boot.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub vmlinuz: PathBuf,
    /// The kernel release, e.g. `6.1.0-48-cloud-amd64`.
    pub release: String,
    /// The Debian package and its version, e.g. `linux-image-6.1.0-48-cloud-amd64 6.1.172-1`,
    /// when known.
    pub package: Option<String>,
}

impl Kernel {
    /// "6.1.0-48-cloud-amd64 (Debian linux-image-6.1.0-48-cloud-amd64 6.1.172-1)"
    pub fn describe(&self) -> String {
        match &self.package {
            Some(package) => format!("{} (Debian {package})", self.release),
            None => self.release.clone(),
        }
    }

    /// A kernel image given by the user (`--linux-kernel FILE`).
    pub fn from_file(path: &Path) -> Result<Kernel, String> {
        if !path.is_file() {
            return Err(format!("{}: no such file", path.display()));
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("vmlinuz");
        let release = name.strip_prefix("vmlinuz-").unwrap_or(name).to_string();
        Ok(Kernel { vmlinuz: path.to_path_buf(), release, package: None })
    }
}

/// Where fetched kernels are kept.
pub fn cache_dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".cache"),
    };
    Some(base.join("timeshare").join("linux"))
}

/// The current cloud kernel: from the cache when it is there, else fetched into it.
/// When apt cannot say which is current, or the download fails, a cached kernel (the
/// newest) still serves. `progress` is told what happens.
pub fn obtain(progress: &mut dyn FnMut(&str)) -> Result<Kernel, String> {
    let cache = cache_dir().ok_or("neither XDG_CACHE_HOME nor HOME is set: no cache directory")?;
    let current = current_package();
    if let Ok(package) = &current {
        let release = package.strip_prefix("linux-image-").unwrap_or(package);
        if let Some(kernel) = cached(&cache.join(release)) {
            return Ok(kernel);
        }
        progress(&format!("fetching {package} with apt-get download (once; cached in {})", cache.display()));
        match fetch(package, release, &cache) {
            Ok(kernel) => return Ok(kernel),
            Err(reason) => match newest_cached(&cache) {
                Some(kernel) => {
                    progress(&format!("{reason}; using the cached {}", kernel.release));
                    return Ok(kernel);
                }
                None => return Err(reason),
            },
        }
    }
    let reason = current.unwrap_err();
    newest_cached(&cache).ok_or(reason)
}

/// `apt-cache depends linux-image-cloud-amd64` → `linux-image-6.1.0-48-cloud-amd64`.
fn current_package() -> Result<String, String> {
    let output = Command::new("apt-cache")
        .args(["depends", META_PACKAGE])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run apt-cache ({e}): fetching the reference Linux needs Debian's apt"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("Depends:"))
        .map(|p| p.trim().trim_matches(|c| c == '<' || c == '>').to_string())
        .find(|p| p.starts_with("linux-image-") && p.ends_with("-cloud-amd64"))
        .ok_or_else(|| {
            format!("apt-cache does not know {META_PACKAGE} (run `apt-get update` first?){}", tail_of(&output.stderr))
        })
}

fn cached(dir: &Path) -> Option<Kernel> {
    let vmlinuz = dir.join("vmlinuz");
    if !vmlinuz.is_file() {
        return None;
    }
    let release = dir.file_name()?.to_str()?.to_string();
    let package = fs::read_to_string(dir.join("version")).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    Some(Kernel { vmlinuz, release, package })
}

fn newest_cached(cache: &Path) -> Option<Kernel> {
    let mut found: Vec<(std::time::SystemTime, Kernel)> = fs::read_dir(cache)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let kernel = cached(&e.path())?;
            let modified = fs::metadata(&kernel.vmlinuz).and_then(|m| m.modified()).ok()?;
            Some((modified, kernel))
        })
        .collect();
    found.sort_by_key(|(modified, _)| *modified);
    found.pop().map(|(_, kernel)| kernel)
}

/// `apt-get download PACKAGE` and `dpkg-deb -x` in a scratch directory inside the cache;
/// keep `boot/vmlinuz-RELEASE` as `RELEASE/vmlinuz`.
fn fetch(package: &str, release: &str, cache: &Path) -> Result<Kernel, String> {
    fs::create_dir_all(cache).map_err(|e| format!("cannot create {}: {e}", cache.display()))?;
    let scratch = cache.join(format!(".fetch-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let result = fetch_into(package, release, cache, &scratch);
    let _ = fs::remove_dir_all(&scratch);
    result
}

fn fetch_into(package: &str, release: &str, cache: &Path, scratch: &Path) -> Result<Kernel, String> {
    let output = Command::new("apt-get")
        .args(["download", "-q", package])
        .current_dir(scratch)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run apt-get ({e})"))?;
    let deb = fs::read_dir(scratch)
        .ok()
        .and_then(|entries| {
            entries.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| p.extension().is_some_and(|x| x == "deb"))
        })
        .ok_or_else(|| format!("`apt-get download {package}` failed{}", tail_of(&output.stderr)))?;
    let version = Command::new("dpkg-deb")
        .args([OsString::from("-f"), deb.clone().into(), "Version".into()])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty());
    let tree = scratch.join("tree");
    let output = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&tree)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run dpkg-deb ({e})"))?;
    if !output.status.success() {
        return Err(format!("`dpkg-deb -x {}` failed{}", deb.display(), tail_of(&output.stderr)));
    }
    let image = tree.join("boot").join(format!("vmlinuz-{release}"));
    if !image.is_file() {
        return Err(format!("{package} holds no boot/vmlinuz-{release}"));
    }
    // Into place under a temporary name, then renamed: a cache entry is whole or absent.
    let staged = scratch.join("entry");
    fs::create_dir_all(&staged).map_err(|e| e.to_string())?;
    fs::rename(&image, staged.join("vmlinuz")).map_err(|e| e.to_string())?;
    let described = match &version {
        Some(v) => format!("{package} {v}\n"),
        None => format!("{package}\n"),
    };
    fs::write(staged.join("version"), described).map_err(|e| e.to_string())?;
    let entry = cache.join(release);
    let _ = fs::remove_dir_all(&entry);
    fs::rename(&staged, &entry).map_err(|e| format!("cannot fill {}: {e}", entry.display()))?;
    cached(&entry).ok_or_else(|| format!("{} is incomplete", entry.display()))
}

/// The last lines of a command's stderr, as ": ..." (or nothing).
fn tail_of(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    format!(": {}", lines[lines.len().saturating_sub(3)..].join(" / "))
}

/// The initramfs: `/init` = `program` (a static binary), `/dev/console` (the kernel opens
/// it for init's stdio), `/dev/null`, `/dev/zero` and, when given, `/bin/sh` = `shell` (a
/// static binary). newc format, written here because the initrd writer for timeshare has
/// no device nodes.
pub fn initramfs(program: &[u8], shell: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ino = 1;
    let mut entry = |name: &str, mode: u32, rdev: (u32, u32), data: &[u8]| {
        let header = format!(
            "070701{ino:08x}{mode:08x}{uid:08x}{gid:08x}{nlink:08x}{mtime:08x}{size:08x}\
             {dmaj:08x}{dmin:08x}{rmaj:08x}{rmin:08x}{namesize:08x}{check:08x}",
            uid = 0,
            gid = 0,
            nlink = if mode & 0o170000 == 0o040000 { 2 } else { 1 },
            mtime = 0,
            size = data.len(),
            dmaj = 0,
            dmin = 0,
            rmaj = rdev.0,
            rmin = rdev.1,
            namesize = name.len() + 1,
            check = 0,
        );
        ino += 1;
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    };
    entry("dev", 0o040755, (0, 0), &[]);
    entry("dev/console", 0o020600, (5, 1), &[]);
    entry("dev/null", 0o020666, (1, 3), &[]);
    entry("dev/zero", 0o020666, (1, 5), &[]);
    if let Some(shell) = shell {
        entry("bin", 0o040755, (0, 0), &[]);
        entry("bin/sh", 0o100755, (0, 0), shell);
    }
    entry("init", 0o100755, (0, 0), program);
    entry("TRAILER!!!", 0, (0, 0), &[]);
    out
}

/// The machine Linux boots on, as timeshare's: memory, CPUs, and whether QEMU counts
/// instructions (-icount) or follows the wall clock.
#[derive(Clone, Copy, Debug)]
pub struct Machine {
    pub memory_mib: u32,
    pub cpus: u32,
    pub icount: bool,
}

/// The QEMU arguments that boot `kernel` with `initrd` like timeshare's machine (same
/// CPU model, memory, CPUs, TCG), the console (ttyS0) on QEMU's stdout, and
/// `init_args` as init's arguments (after `--` on the kernel command line).
pub fn qemu_arguments(kernel: &Path, initrd: &Path, machine: Machine, init_args: &[String]) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "-M",
        "pc",
        "-cpu",
        "max",
        "-accel",
        "tcg",
        "-m",
        &format!("{}M", machine.memory_mib),
        "-smp",
        &machine.cpus.to_string(),
        "-display",
        "none",
        "-no-reboot",
        "-nodefaults",
        "-monitor",
        "none",
        "-serial",
        "stdio",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    if machine.icount {
        args.extend(["-icount", "shift=0,sleep=off"].map(OsString::from));
    }
    args.push("-kernel".into());
    args.push(kernel.into());
    args.push("-initrd".into());
    args.push(initrd.into());
    let mut cmdline = String::from("console=ttyS0 quiet loglevel=0 panic=-1");
    if !init_args.is_empty() {
        cmdline.push_str(" --");
        for arg in init_args {
            cmdline.push(' ');
            cmdline.push_str(arg);
        }
    }
    args.push("-append".into());
    args.push(cmdline.into());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_initramfs_is_newc_with_init_and_devices() {
        let archive = initramfs(b"\x7fELF-ish", None);
        let entries: Vec<_> =
            kernel_core::cpio::entries(&archive).collect::<Result<Vec<_>, _>>().expect("a valid newc archive");
        let names: Vec<&str> = entries.iter().map(|e| e.path).collect();
        assert_eq!(names, ["dev", "dev/console", "dev/null", "dev/zero", "init"]);
        assert_eq!(entries[4].data, b"\x7fELF-ish");
        assert_eq!(archive.len() % 4, 0);

        let archive = initramfs(b"\x7fELF-ish", Some(b"\x7fELF-shell"));
        let entries: Vec<_> =
            kernel_core::cpio::entries(&archive).collect::<Result<Vec<_>, _>>().expect("a valid newc archive");
        let shell = entries.iter().find(|e| e.path == "bin/sh").expect("/bin/sh");
        assert_eq!(shell.data, b"\x7fELF-shell");
    }

    #[test]
    fn the_command_line_passes_init_arguments_after_dashes() {
        let machine = Machine { memory_mib: 256, cpus: 2, icount: true };
        let args = qemu_arguments(Path::new("/k"), Path::new("/i"), machine, &["--scale".into(), "0.5".into()]);
        let line: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        let at = line.iter().position(|a| a == "-append").unwrap();
        assert_eq!(line[at + 1], "console=ttyS0 quiet loglevel=0 panic=-1 -- --scale 0.5");
        assert!(line.windows(2).any(|w| w == ["-icount", "shift=0,sleep=off"]));
        assert!(line.windows(2).any(|w| w == ["-serial", "stdio"]));
        assert!(line.windows(2).any(|w| w == ["-smp", "2"]));
    }

    #[test]
    fn a_kernel_from_a_file_takes_its_release_from_the_name() {
        let dir = std::env::temp_dir().join(format!("timeshare-linux-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let image = dir.join("vmlinuz-6.1.0-48-cloud-amd64");
        fs::write(&image, b"x").unwrap();
        let kernel = Kernel::from_file(&image).unwrap();
        assert_eq!(kernel.release, "6.1.0-48-cloud-amd64");
        assert!(Kernel::from_file(&dir.join("missing")).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
