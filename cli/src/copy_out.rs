//! `--copy-out GUEST[:HOST]`: what the program left at GUEST in the guest (a file
//! or a directory with all it holds) is written to HOST after the run. The kernel
//! sends it at power-off as `kernel_core::copyout` records; this writes them out.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use kernel_core::copyout::{Item, Record};

/// One `--copy-out GUEST[:HOST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOutSpec {
    /// An absolute path in the guest.
    pub guest: String,
    pub host: PathBuf,
}

impl CopyOutSpec {
    /// `GUEST[:HOST]`: GUEST absolute (it may not contain `:`); HOST defaults to
    /// GUEST's file name in the current directory.
    pub fn parse(spec: &str) -> Result<CopyOutSpec, String> {
        let (guest, host) = match spec.split_once(':') {
            Some((guest, host)) if !host.is_empty() => (guest, Some(host)),
            Some(_) => return Err(format!("`{spec}`: HOST is empty (expected GUEST[:HOST])")),
            None => (spec, None),
        };
        if !guest.starts_with('/') {
            return Err(format!("`{spec}`: GUEST must be an absolute path"));
        }
        let host = match host {
            Some(host) => PathBuf::from(host),
            None => PathBuf::from(
                Path::new(guest).file_name().ok_or_else(|| format!("`{spec}`: GUEST has no file name: give HOST"))?,
            ),
        };
        Ok(CopyOutSpec { guest: guest.to_string(), host })
    }
}

/// Writes what the guest sent for each of `specs` (the records in the order they
/// came); returns what could not be done, one message each: a path the guest did
/// not have, a run that ended before the guest sent anything, a host error.
pub fn write(specs: &[CopyOutSpec], records: &[Record]) -> Vec<String> {
    let mut problems = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        let items: Vec<&Item> =
            records.iter().filter(|record| record.index as usize == index).map(|record| &record.item).collect();
        let shown = format!("--copy-out {}", spec.guest);
        if items.last() != Some(&&Item::End) {
            problems.push(format!("{shown}: the guest sent nothing (the program did not end by itself)"));
        } else if items.contains(&&Item::Missing) {
            problems.push(format!("{shown}: no such file or directory in the guest"));
        } else if let Err(error) = write_items(&spec.host, &items) {
            problems.push(format!("{shown}: {error}"));
        }
    }
    problems
}

/// Writes one request's items under `host`.
fn write_items(host: &Path, items: &[&Item]) -> std::io::Result<()> {
    let target = |path: &[u8]| if path.is_empty() { host.to_path_buf() } else { host.join(OsStr::from_bytes(path)) };
    let shown =
        |path: &Path, error: std::io::Error| std::io::Error::new(error.kind(), format!("{}: {error}", path.display()));
    let mut file: Option<(PathBuf, fs::File)> = None;
    // Modes are set last: a read-only directory must still take what goes in it.
    let mut modes: Vec<(PathBuf, u32)> = Vec::new();
    for item in items {
        match item {
            Item::Directory { path, mode } => {
                let path = target(path);
                fs::create_dir_all(&path).map_err(|e| shown(&path, e))?;
                modes.push((path, *mode));
            }
            Item::File { path, mode } => {
                let path = target(path);
                let created = fs::File::create(&path).map_err(|e| shown(&path, e))?;
                modes.push((path.clone(), *mode));
                file = Some((path, created));
            }
            Item::Data(bytes) => {
                if let Some((path, file)) = &mut file {
                    std::io::Write::write_all(file, bytes).map_err(|e| shown(path, e))?;
                }
            }
            Item::Symlink { path, target: link } => {
                let path = target(path);
                let _ = fs::remove_file(&path);
                std::os::unix::fs::symlink(OsStr::from_bytes(link), &path).map_err(|e| shown(&path, e))?;
            }
            Item::Missing | Item::End => {}
        }
    }
    drop(file);
    for (path, mode) in modes.into_iter().rev() {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).map_err(|e| shown(&path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(
            CopyOutSpec::parse("/tmp/out.txt").unwrap(),
            CopyOutSpec { guest: "/tmp/out.txt".into(), host: "out.txt".into() }
        );
        assert_eq!(
            CopyOutSpec::parse("/tmp/dir:results/here").unwrap(),
            CopyOutSpec { guest: "/tmp/dir".into(), host: "results/here".into() }
        );
        for bad in ["tmp/x", "/", "/x:", ""] {
            assert!(CopyOutSpec::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn records_become_files() {
        let dir = std::env::temp_dir().join(format!("copy-out-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let specs = [
            CopyOutSpec { guest: "/d".into(), host: dir.join("d") },
            CopyOutSpec { guest: "/none".into(), host: dir.join("none") },
            CopyOutSpec { guest: "/late".into(), host: dir.join("late") },
        ];
        let record = |index, item| Record { index, item };
        let records = [
            record(0, Item::Directory { path: vec![], mode: 0o555 }),
            record(0, Item::File { path: b"f".to_vec(), mode: 0o600 }),
            record(0, Item::Data(b"hel".to_vec())),
            record(0, Item::Data(b"lo".to_vec())),
            record(0, Item::Symlink { path: b"l".to_vec(), target: b"f".to_vec() }),
            record(1, Item::Missing),
            record(1, Item::End),
            record(0, Item::End),
        ];
        let problems = write(&specs, &records);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("/none: no such file"));
        assert!(problems[1].contains("/late: the guest sent nothing"));
        assert_eq!(fs::read(dir.join("d/f")).unwrap(), b"hello");
        assert_eq!(fs::read_link(dir.join("d/l")).unwrap(), Path::new("f"));
        assert_eq!(fs::metadata(dir.join("d")).unwrap().permissions().mode() & 0o7777, 0o555);
        assert_eq!(fs::metadata(dir.join("d/f")).unwrap().permissions().mode() & 0o7777, 0o600);
        fs::set_permissions(dir.join("d"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}
