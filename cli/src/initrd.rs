//! What goes into the initrd: the standard directories, the program, the `--add`ed files.
//! The archive itself is written by `kernel_core::cpio` (newc), the format the kernel reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kernel_core::tree::{NAME_MAX, PATH_MAX};

/// The directories every initrd has.
const STANDARD_DIRS: &[(&str, u32)] = &[("bin", 0o755), ("dev", 0o755), ("tmp", 0o1777), ("etc", 0o755)];

/// One `--add HOST[:GUEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddSpec {
    pub host: PathBuf,
    /// Absolute path in the initrd.
    pub guest: String,
}

impl AddSpec {
    /// `HOST[:GUEST]`. The text after the last `:` is GUEST when it starts with `/`;
    /// otherwise the whole argument is HOST (so a host path may contain `:`) and GUEST is
    /// `/bin/<file name of HOST>`.
    pub fn parse(spec: &str) -> Result<AddSpec, String> {
        let (host, guest) = match spec.rsplit_once(':') {
            Some((host, guest)) if guest.starts_with('/') => (host, Some(guest)),
            _ => (spec, None),
        };
        if host.is_empty() {
            return Err(format!("`{spec}`: HOST is empty (expected HOST[:GUEST])"));
        }
        let guest = match guest {
            Some(guest) => guest.to_string(),
            None => {
                let name = Path::new(host)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .ok_or_else(|| format!("`{spec}`: HOST has no file name to put under /bin"))?;
                format!("/bin/{name}")
            }
        };
        normalize_guest(&guest).map_err(|e| format!("`{spec}`: {e}"))?;
        Ok(AddSpec { host: PathBuf::from(host), guest })
    }
}

/// The directories the kernel makes itself: a file at or under them would be hidden.
const KERNEL_DIRS: &[&str] = &["proc", "dev"];

/// A guest path as the archive names it: absolute on input, without the leading `/`,
/// with no empty, `.` or `..` components, that the guest can open: no component over
/// NAME_MAX bytes, at most PATH_MAX bytes with its NUL, not at or under a directory
/// the kernel makes itself.
pub fn normalize_guest(guest: &str) -> Result<String, String> {
    let Some(relative) = guest.strip_prefix('/') else {
        return Err(format!("GUEST `{guest}` must be an absolute path"));
    };
    let parts: Vec<&str> = relative.split('/').collect();
    if parts.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
        return Err(format!("GUEST `{guest}` must name a file: no empty, `.` or `..` components, no trailing `/`"));
    }
    if guest.len() >= PATH_MAX {
        return Err(format!(
            "GUEST is {} bytes long: the guest opens paths of at most {} bytes",
            guest.len(),
            PATH_MAX - 1
        ));
    }
    if let Some(long) = parts.iter().find(|p| p.len() > NAME_MAX) {
        return Err(format!(
            "GUEST has a component of {} bytes (`{}...`): the guest opens names of at most {NAME_MAX} bytes",
            long.len(),
            &long[..long.floor_char_boundary(16)]
        ));
    }
    if let Some(dir) = KERNEL_DIRS.iter().find(|dir| parts[0] == **dir) {
        return Err(format!("GUEST `{guest}` would be hidden by the kernel's own /{dir}"));
    }
    Ok(parts.join("/"))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Dir { mode: u32 },
    File { mode: u32, data: Vec<u8> },
    Symlink { target: String },
}

/// The initrd's contents before packing. Paths are archive paths (no leading `/`).
#[derive(Debug, Default)]
pub struct Initrd {
    entries: BTreeMap<String, Entry>,
}

impl Initrd {
    /// An initrd holding the standard directories.
    pub fn new() -> Initrd {
        let mut initrd = Initrd::default();
        for &(dir, mode) in STANDARD_DIRS {
            initrd.entries.insert(dir.to_string(), Entry::Dir { mode });
        }
        initrd
    }

    /// Add a file at absolute `guest` path, creating its parent directories. Two files at
    /// one path, or a file where a directory is, is an error.
    pub fn add_file(&mut self, guest: &str, mode: u32, data: Vec<u8>) -> Result<(), String> {
        self.add(guest, Entry::File { mode: mode & 0o7777, data })
    }

    /// Add a symbolic link at absolute `guest` path, as `add_file`.
    pub fn add_symlink(&mut self, guest: &str, target: &str) -> Result<(), String> {
        self.add(guest, Entry::Symlink { target: target.to_string() })
    }

    /// Add a directory at absolute `guest` path (its mode, if it is there already).
    pub fn add_directory(&mut self, guest: &str, mode: u32) -> Result<(), String> {
        let path = normalize_guest(guest)?;
        if let Some(Entry::Dir { mode: existing }) = self.entries.get_mut(&path) {
            *existing = mode & 0o7777;
            return Ok(());
        }
        self.add(guest, Entry::Dir { mode: mode & 0o7777 })
    }

    /// Add `entry` at `guest`, creating its parent directories.
    fn add(&mut self, guest: &str, entry: Entry) -> Result<(), String> {
        let path = normalize_guest(guest)?;
        let mut parent = String::new();
        let components: Vec<&str> = path.split('/').collect();
        for dir in &components[..components.len() - 1] {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(dir);
            match self.entries.get(&parent) {
                None => {
                    self.entries.insert(parent.clone(), Entry::Dir { mode: 0o755 });
                }
                Some(Entry::Dir { .. }) => {}
                Some(_) => return Err(format!("/{parent} is a file in the initrd, not a directory")),
            }
        }
        match self.entries.get(&path) {
            None => {
                self.entries.insert(path, entry);
                Ok(())
            }
            Some(Entry::Dir { .. }) => Err(format!("{guest} is a directory in the initrd")),
            Some(_) => Err(format!("{guest} is given twice")),
        }
    }

    /// The archive (newc). Sorted order puts every directory before what it contains.
    pub fn pack(&self) -> Result<Vec<u8>, String> {
        let mut writer = kernel_core::cpio::Writer::new();
        for (path, entry) in &self.entries {
            match entry {
                Entry::Dir { mode } => writer.add_directory(path, *mode),
                Entry::File { mode, data } => writer.add_file(path, *mode, data),
                Entry::Symlink { target } => writer.add_symlink(path, target),
            }
            .map_err(|e| format!("packing the initrd: {e}"))?;
        }
        Ok(writer.finish())
    }

    #[cfg(test)]
    fn paths(&self) -> Vec<&str> {
        self.entries.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_spec_with_and_without_guest() {
        assert_eq!(
            AddSpec::parse("/bin/busybox:/bin/sh").unwrap(),
            AddSpec { host: "/bin/busybox".into(), guest: "/bin/sh".into() }
        );
        assert_eq!(
            AddSpec::parse("data/x.txt").unwrap(),
            AddSpec { host: "data/x.txt".into(), guest: "/bin/x.txt".into() }
        );
        assert_eq!(AddSpec::parse("a:b:/etc/motd").unwrap(), AddSpec { host: "a:b".into(), guest: "/etc/motd".into() });
        // No `/` after the colon: the whole argument is the host path.
        assert_eq!(
            AddSpec::parse("odd:name").unwrap(),
            AddSpec { host: "odd:name".into(), guest: "/bin/odd:name".into() }
        );
    }

    #[test]
    fn bad_add_specs() {
        for spec in [":/bin/x", "", "x:/", "x:/bin/", "x:/bin/../etc", "x:/a//b", "/", "..", "x:/proc", "x:/dev/sda"] {
            assert!(AddSpec::parse(spec).is_err(), "{spec:?}");
        }
        let longest_name = format!("x:/etc/{}", "n".repeat(NAME_MAX));
        assert!(AddSpec::parse(&longest_name).is_ok());
        assert!(AddSpec::parse(&format!("{longest_name}n")).unwrap_err().contains("at most 255 bytes"));
        let longest_path = format!("x:/{}bc", "a/".repeat(2046));
        assert_eq!(longest_path.len() - 2, PATH_MAX - 1);
        assert!(AddSpec::parse(&longest_path).is_ok());
        assert!(AddSpec::parse(&format!("{longest_path}f")).unwrap_err().contains("at most 4095 bytes"));
        assert!(AddSpec::parse("x:/device/ok").is_ok(), "only /dev itself is the kernel's");
    }

    #[test]
    fn parents_are_created_and_clashes_refused() {
        let mut initrd = Initrd::new();
        initrd.add_file("/bin/hello", 0o755, b"x".to_vec()).unwrap();
        initrd.add_file("/usr/share/doc/readme", 0o644, b"y".to_vec()).unwrap();
        assert_eq!(
            initrd.paths(),
            ["bin", "bin/hello", "dev", "etc", "tmp", "usr", "usr/share", "usr/share/doc", "usr/share/doc/readme"]
        );
        assert!(initrd.add_file("/bin/hello", 0o755, vec![]).is_err());
        assert!(initrd.add_file("/bin", 0o755, vec![]).is_err());
        assert!(initrd.add_file("/bin/hello/x", 0o755, vec![]).is_err());
        initrd.add_directory("/data/sub", 0o700).unwrap();
        initrd.add_symlink("/data/sub/link", "../x").unwrap();
        initrd.add_directory("/data", 0o750).unwrap();
        assert!(initrd.add_symlink("/data/sub/link", "y").is_err());
        assert!(initrd.add_directory("/bin/hello", 0o755).is_err());
        assert_eq!(initrd.entries.get("data"), Some(&Entry::Dir { mode: 0o750 }));
    }

    #[test]
    fn the_archive_is_what_the_kernel_reads() {
        use kernel_core::cpio::{entries, S_IFDIR, S_IFREG};
        let mut initrd = Initrd::new();
        initrd.add_file("/bin/hello", 0o755, b"\x7fELF...".to_vec()).unwrap();
        initrd.add_file("/etc/motd", 0o100644, b"hi\n".to_vec()).unwrap();
        let archive = initrd.pack().unwrap();
        let read: Vec<(String, u32, Vec<u8>)> = entries(&archive)
            .map(|e| e.map(|e| (e.path.to_string(), e.mode, e.data.to_vec())))
            .collect::<Result<_, _>>()
            .unwrap();
        let expected: Vec<(String, u32, Vec<u8>)> = vec![
            ("bin".into(), S_IFDIR | 0o755, vec![]),
            ("bin/hello".into(), S_IFREG | 0o755, b"\x7fELF...".to_vec()),
            ("dev".into(), S_IFDIR | 0o755, vec![]),
            ("etc".into(), S_IFDIR | 0o755, vec![]),
            ("etc/motd".into(), S_IFREG | 0o644, b"hi\n".to_vec()),
            ("tmp".into(), S_IFDIR | 0o1777, vec![]),
        ];
        assert_eq!(read, expected);
    }
}
