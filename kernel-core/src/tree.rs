//! The file system's tree: the directories, files and symlinks of a newc cpio
//! archive (the initrd), plus the device nodes under /dev and `/proc/self/exe`,
//! and path resolution over it with Linux's rules. File contents are never copied:
//! nodes borrow them from the archive.
//!
//! It presents itself as one in-memory file system would on Linux: one device
//! number, inode numbers from 1 (the root), times 0 (the archive's are not kept),
//! everything owned by root. Directories report 4096 bytes in 8 blocks, as ext4's
//! small directories do, so `ls -l` and `stat` print what they print on a host.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::abi::errno::{EINVAL, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR};
use crate::abi::{dirent_type, makedev, Dirent64, Stat};
use crate::cpio::{self, CpioError, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};

/// Index of a node in the tree.
pub type NodeId = usize;

/// The longest path a system call accepts (Linux's PATH_MAX, with its NUL).
pub const PATH_MAX: usize = 4096;
/// Symlinks followed in one lookup before ELOOP (Linux's limit).
const MAX_SYMLINKS: usize = 40;
/// The longest file name in a directory (Linux's NAME_MAX).
pub const NAME_MAX: usize = 255;
/// The root directory.
pub const ROOT: NodeId = 0;
/// The device number of the tree (`st_dev`): an anonymous device, as an in-memory
/// file system has on Linux.
const TREE_DEVICE: u64 = makedev(0, 1);
/// `st_blksize`: the page size, as Linux reports for in-memory files.
pub const BLOCK_SIZE: u64 = 4096;

/// A character device node.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Device {
    Null,
    Zero,
    /// /dev/console.
    Console,
    /// /dev/tty: the console too (the only terminal), with its own device number.
    Tty,
}

impl Device {
    /// The device number Linux gives it (`st_rdev`).
    pub fn number(self) -> u64 {
        match self {
            Device::Null => makedev(1, 3),
            Device::Zero => makedev(1, 5),
            Device::Console => makedev(5, 1),
            Device::Tty => makedev(5, 0),
        }
    }
}

#[derive(Debug)]
pub enum NodeKind<'a> {
    Directory(BTreeMap<String, NodeId>),
    File(&'a [u8]),
    Symlink(String),
    Device(Device),
    /// `/proc/self/exe`: a link to the program the looking-up process runs, which
    /// lookups follow to that file itself (a "magic link"), not by a path.
    SelfExe,
}

/// The per-process facts a lookup needs: where a relative path starts, and the
/// program `/proc/self/exe` leads to (None before any program runs).
#[derive(Clone, Copy, Debug)]
pub struct Origin {
    pub start: NodeId,
    pub exe: Option<NodeId>,
}

#[derive(Debug)]
pub struct Node<'a> {
    pub kind: NodeKind<'a>,
    pub mode: u32,
    pub inode: u64,
    /// The directory holding it (the root's is itself). Always a smaller id: a
    /// node is added after its parent, so walking up always ends at the root.
    pub parent: NodeId,
}

/// The tree, borrowing file contents from the archive it was built from.
pub struct Tree<'a> {
    nodes: Vec<Node<'a>>,
}

impl<'a> Tree<'a> {
    /// Builds the tree from `archive`; returns it and the number of archive entries
    /// it holds. Paths missing their parent directories get them created; /dev gets
    /// null, zero, console and tty, /proc gets self/exe. Entries of other types
    /// (devices, FIFOs in the archive) are skipped.
    pub fn from_archive(archive: &'a [u8]) -> Result<(Tree<'a>, usize), CpioError> {
        let mut tree = Tree { nodes: Vec::new() };
        tree.nodes.push(Node {
            kind: NodeKind::Directory(BTreeMap::new()),
            mode: S_IFDIR | 0o755,
            inode: 1,
            parent: ROOT,
        });
        let mut files = 0;
        for entry in cpio::entries(archive) {
            let entry = entry?;
            if entry.path.is_empty() {
                continue;
            }
            let kind = match entry.mode & S_IFMT {
                S_IFDIR => NodeKind::Directory(BTreeMap::new()),
                S_IFLNK => NodeKind::Symlink(String::from_utf8_lossy(entry.data).into_owned()),
                S_IFREG => NodeKind::File(entry.data),
                _ => continue,
            };
            files += 1;
            tree.insert(entry.path, kind, entry.mode);
        }
        for (name, device, permissions) in [
            ("dev/null", Device::Null, 0o666),
            ("dev/zero", Device::Zero, 0o666),
            ("dev/console", Device::Console, 0o600),
            ("dev/tty", Device::Tty, 0o666),
        ] {
            tree.insert(name, NodeKind::Device(device), S_IFCHR | permissions);
        }
        tree.insert("proc/self/exe", NodeKind::SelfExe, S_IFLNK | 0o777);
        Ok((tree, files))
    }

    /// Adds the node at `path`, creating missing parent directories. An entry for a
    /// directory that already exists (created implicitly) only sets its mode; an
    /// entry whose parent is not a directory is dropped.
    fn insert(&mut self, path: &str, kind: NodeKind<'a>, mode: u32) {
        let components: Vec<&str> = path.split('/').filter(|component| !component.is_empty()).collect();
        let Some((last, parents)) = components.split_last() else { return };
        let mut directory = ROOT;
        for name in parents {
            directory = match self.child(directory, name) {
                Some(id) if matches!(self.nodes[id].kind, NodeKind::Directory(_)) => id,
                Some(_) => return,
                None => self.add_child(directory, name, NodeKind::Directory(BTreeMap::new()), S_IFDIR | 0o755),
            };
        }
        match self.child(directory, last) {
            Some(id) if matches!((&kind, &self.nodes[id].kind), (NodeKind::Directory(_), NodeKind::Directory(_))) => {
                self.nodes[id].mode = mode;
            }
            Some(id) => {
                self.nodes[id].kind = kind;
                self.nodes[id].mode = mode;
            }
            None => {
                self.add_child(directory, last, kind, mode);
            }
        }
    }

    fn child(&self, directory: NodeId, name: &str) -> Option<NodeId> {
        match &self.nodes[directory].kind {
            NodeKind::Directory(children) => children.get(name).copied(),
            _ => None,
        }
    }

    fn add_child(&mut self, directory: NodeId, name: &str, kind: NodeKind<'a>, mode: u32) -> NodeId {
        let id = self.nodes.len();
        self.nodes.push(Node { kind, mode, inode: id as u64 + 1, parent: directory });
        if let NodeKind::Directory(children) = &mut self.nodes[directory].kind {
            children.insert(name.to_string(), id);
        }
        id
    }

    /// The node `id`. Ids come from this tree (lookups, open files), so they are
    /// always in range.
    pub fn node(&self, id: NodeId) -> &Node<'a> {
        &self.nodes[id]
    }

    /// Whether `id` is a directory.
    pub fn is_directory(&self, id: NodeId) -> bool {
        matches!(self.nodes[id].kind, NodeKind::Directory(_))
    }

    /// Resolves `path` (relative to `origin.start` unless absolute), following
    /// symlinks, and the last component's too when `follow_last` (or when the path
    /// ends in `/`). Errors are Linux's: ENOENT (also for an empty path), ENOTDIR
    /// for a non-directory used as one, ELOOP after 40 links, ENAMETOOLONG for a
    /// path of PATH_MAX bytes or a name over NAME_MAX.
    pub fn resolve(&self, origin: Origin, path: &[u8], follow_last: bool) -> Result<NodeId, i64> {
        if path.is_empty() {
            return Err(ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(ENAMETOOLONG);
        }
        let mut symlinks = 0;
        self.walk(origin, path, follow_last, &mut symlinks)
    }

    fn walk(&self, origin: Origin, path: &[u8], follow_last: bool, symlinks: &mut usize) -> Result<NodeId, i64> {
        let mut current = if path.first() == Some(&b'/') { ROOT } else { origin.start };
        let components: Vec<&[u8]> =
            path.split(|&byte| byte == b'/').filter(|component| !component.is_empty()).collect();
        let trailing_slash = path.last() == Some(&b'/');
        for (index, component) in components.iter().enumerate() {
            let NodeKind::Directory(children) = &self.nodes[current].kind else { return Err(ENOTDIR) };
            if component.len() > NAME_MAX {
                return Err(ENAMETOOLONG);
            }
            let next = match *component {
                b"." => current,
                b".." => self.nodes[current].parent,
                name => *core::str::from_utf8(name).ok().and_then(|name| children.get(name)).ok_or(ENOENT)?,
            };
            let follow = index + 1 < components.len() || follow_last || trailing_slash;
            let link = matches!(self.nodes[next].kind, NodeKind::Symlink(_) | NodeKind::SelfExe);
            if link && follow {
                *symlinks += 1;
                if *symlinks > MAX_SYMLINKS {
                    return Err(ELOOP);
                }
            }
            current = match &self.nodes[next].kind {
                NodeKind::Symlink(target) if follow => {
                    self.walk(Origin { start: current, ..origin }, target.as_bytes(), true, symlinks)?
                }
                NodeKind::SelfExe if follow => origin.exe.ok_or(ENOENT)?,
                _ => next,
            };
        }
        if trailing_slash && !matches!(self.nodes[current].kind, NodeKind::Directory(_)) {
            return Err(ENOTDIR);
        }
        Ok(current)
    }

    /// The absolute path of a node (getcwd, the target of /proc/self/exe). Every
    /// node has exactly one, since the tree has no hard links.
    pub fn path_of(&self, id: NodeId) -> String {
        let mut names = Vec::new();
        let mut current = id;
        while current != ROOT {
            let parent = self.nodes[current].parent;
            if let NodeKind::Directory(children) = &self.nodes[parent].kind {
                if let Some((name, _)) = children.iter().find(|(_, &child)| child == current) {
                    names.push(name.as_str());
                }
            }
            current = parent;
        }
        if names.is_empty() {
            return "/".to_string();
        }
        names.iter().rev().fold(String::new(), |mut path, name| {
            path.push('/');
            path.push_str(name);
            path
        })
    }
}

impl Tree<'_> {
    /// What `stat` reports for node `id` (see the module comment for the choices).
    pub fn stat(&self, id: NodeId) -> Stat {
        let node = &self.nodes[id];
        let (nlink, size, rdev) = match &node.kind {
            NodeKind::Directory(children) => {
                let subdirectories = children.values().filter(|&&child| self.is_directory(child)).count();
                (2 + subdirectories as u64, BLOCK_SIZE, 0)
            }
            NodeKind::File(bytes) => (1, bytes.len() as u64, 0),
            NodeKind::Symlink(target) => (1, target.len() as u64, 0),
            NodeKind::Device(device) => (1, 0, device.number()),
            // Linux's /proc links report size 0.
            NodeKind::SelfExe => (1, 0, 0),
        };
        // Regular files and directories occupy whole pages; links and devices none.
        let blocks = match node.kind {
            NodeKind::Directory(_) | NodeKind::File(_) => size.div_ceil(BLOCK_SIZE) * (BLOCK_SIZE / 512),
            _ => 0,
        };
        Stat {
            dev: TREE_DEVICE,
            ino: node.inode,
            nlink,
            mode: node.mode,
            rdev,
            size: size as i64,
            blksize: BLOCK_SIZE as i64,
            blocks: blocks as i64,
            ..Stat::default()
        }
    }

    /// The entry at `position` of directory `directory` as `getdents64` lists it:
    /// `.` (0), `..` (1), then the children in name order; None past the end (or for
    /// a node that is not a directory).
    pub fn directory_entry(&self, directory: NodeId, position: u64) -> Option<Dirent64<'_>> {
        let NodeKind::Directory(children) = &self.nodes[directory].kind else { return None };
        let (name, id): (&[u8], NodeId) = match position {
            0 => (b".", directory),
            1 => (b"..", self.nodes[directory].parent),
            _ => {
                let (name, &id) = children.iter().nth(usize::try_from(position - 2).ok()?)?;
                (name.as_bytes(), id)
            }
        };
        let node = &self.nodes[id];
        Some(Dirent64 { ino: node.inode, next_offset: position as i64 + 1, kind: dirent_type(node.mode), name })
    }

    /// The target of link `id` as `readlink` reports it: EINVAL when `id` is no
    /// link. `/proc/self/exe` names the program of the process `origin` describes
    /// (ENOENT before there is one).
    pub fn link_target(&self, id: NodeId, origin: Origin) -> Result<Vec<u8>, i64> {
        match &self.nodes[id].kind {
            NodeKind::Symlink(target) => Ok(target.as_bytes().to_vec()),
            NodeKind::SelfExe => origin.exe.map(|exe| self.path_of(exe).into_bytes()).ok_or(ENOENT),
            _ => Err(EINVAL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::errno::EINVAL;
    use crate::abi::{DT_CHR, DT_DIR, DT_LNK, DT_REG};
    use crate::cpio::Writer;
    use alloc::string::ToString;
    use alloc::vec;
    use std::format;

    /// An archive with a small tree: files, nested directories and symlinks of
    /// every kind (relative, absolute, to a directory, dangling, looping).
    fn archive() -> Vec<u8> {
        let mut writer = Writer::new();
        writer.add_directory("bin", 0o755).unwrap();
        writer.add_file("bin/prog", 0o755, b"\x7fELF").unwrap();
        writer.add_directory("etc", 0o755).unwrap();
        writer.add_file("etc/motd", 0o644, b"hello\n").unwrap();
        writer.add_directory("etc/sub", 0o700).unwrap();
        writer.add_directory("etc/sub/deeper", 0o755).unwrap();
        writer.add_symlink("etc/rel", "motd").unwrap();
        writer.add_symlink("etc/abs", "/etc/motd").unwrap();
        writer.add_symlink("etc/dir", "sub").unwrap();
        writer.add_symlink("etc/up", "../bin/prog").unwrap();
        writer.add_symlink("etc/dangling", "nowhere").unwrap();
        writer.add_symlink("etc/loop", "loop").unwrap();
        writer.add_symlink("etc/ping", "pong").unwrap();
        writer.add_symlink("etc/pong", "ping").unwrap();
        writer.add_file("deep/a/b/file", 0o600, b"x").unwrap();
        writer.finish()
    }

    fn with_tree(test: impl FnOnce(&Tree)) {
        let archive = archive();
        let (tree, files) = Tree::from_archive(&archive).unwrap();
        assert_eq!(files, 15);
        test(&tree);
    }

    fn at_root() -> Origin {
        Origin { start: ROOT, exe: None }
    }

    /// Resolves from the root, following the last link; the path of the result.
    fn find(tree: &Tree, path: &str) -> Result<String, i64> {
        tree.resolve(at_root(), path.as_bytes(), true).map(|id| tree.path_of(id))
    }

    #[test]
    fn plain_paths_dots_and_slashes() {
        with_tree(|tree| {
            assert_eq!(find(tree, "/"), Ok("/".to_string()));
            assert_eq!(find(tree, "/etc/motd"), Ok("/etc/motd".to_string()));
            assert_eq!(find(tree, "etc//motd"), Ok("/etc/motd".to_string()));
            assert_eq!(find(tree, "/etc/./sub/../motd"), Ok("/etc/motd".to_string()));
            assert_eq!(find(tree, "/../../etc"), Ok("/etc".to_string()), ".. at the root stays there");
            assert_eq!(find(tree, "/etc/sub/"), Ok("/etc/sub".to_string()));
            assert_eq!(find(tree, "/deep/a/b/file"), Ok("/deep/a/b/file".to_string()), "parents created");
            let etc = tree.resolve(at_root(), b"/etc", true).unwrap();
            let from_etc = Origin { start: etc, exe: None };
            assert_eq!(tree.resolve(from_etc, b"motd", true).map(|id| tree.path_of(id)), Ok("/etc/motd".to_string()));
            assert_eq!(tree.resolve(from_etc, b"/bin", true).map(|id| tree.path_of(id)), Ok("/bin".to_string()));
        });
    }

    #[test]
    fn lookup_errors() {
        with_tree(|tree| {
            assert_eq!(find(tree, ""), Err(ENOENT));
            assert_eq!(find(tree, "/nope"), Err(ENOENT));
            assert_eq!(find(tree, "/etc/nope/motd"), Err(ENOENT));
            assert_eq!(find(tree, "/etc/motd/x"), Err(ENOTDIR));
            assert_eq!(find(tree, "/etc/motd/"), Err(ENOTDIR), "a trailing slash wants a directory");
            assert_eq!(find(tree, "/etc/motd/."), Err(ENOTDIR));
            let long_name = format!("/etc/{}", "n".repeat(256));
            assert_eq!(find(tree, &long_name), Err(ENAMETOOLONG));
            assert_eq!(find(tree, &format!("/etc/{}", "n".repeat(255))), Err(ENOENT));
            let long_path = "/".repeat(PATH_MAX);
            assert_eq!(find(tree, &long_path), Err(ENAMETOOLONG));
            assert_eq!(find(tree, &long_path[1..]), Ok("/".to_string()), "PATH_MAX - 1 bytes is fine");
            assert_eq!(tree.resolve(at_root(), b"/etc/\xff", true), Err(ENOENT), "non-UTF-8 names exist nowhere");
        });
    }

    #[test]
    fn symlinks() {
        with_tree(|tree| {
            assert_eq!(find(tree, "/etc/rel"), Ok("/etc/motd".to_string()));
            assert_eq!(find(tree, "/etc/abs"), Ok("/etc/motd".to_string()));
            assert_eq!(find(tree, "/etc/up"), Ok("/bin/prog".to_string()));
            assert_eq!(find(tree, "/etc/dir/deeper"), Ok("/etc/sub/deeper".to_string()), "a link in the middle");
            assert_eq!(find(tree, "/etc/dir/.."), Ok("/etc".to_string()), ".. of the link's target");
            assert_eq!(find(tree, "/etc/dangling"), Err(ENOENT));
            assert_eq!(find(tree, "/etc/loop"), Err(ELOOP));
            assert_eq!(find(tree, "/etc/ping"), Err(ELOOP));
            assert_eq!(find(tree, "/etc/rel/"), Err(ENOTDIR));
            let unfollowed = |path: &str| tree.resolve(at_root(), path.as_bytes(), false).map(|id| tree.path_of(id));
            assert_eq!(unfollowed("/etc/rel"), Ok("/etc/rel".to_string()));
            assert_eq!(unfollowed("/etc/loop"), Ok("/etc/loop".to_string()), "lstat of a loop works");
            assert_eq!(unfollowed("/etc/dir/"), Ok("/etc/sub".to_string()), "a trailing slash follows");
            assert_eq!(unfollowed("/etc/dir/deeper"), Ok("/etc/sub/deeper".to_string()));
        });
    }

    #[test]
    fn forty_links_resolve_and_forty_one_loop() {
        let mut writer = Writer::new();
        writer.add_file("target", 0o644, b"").unwrap();
        writer.add_symlink("l0", "target").unwrap();
        for index in 1..=40 {
            writer.add_symlink(&format!("l{index}"), &format!("l{}", index - 1)).unwrap();
        }
        let archive = writer.finish();
        let (tree, _) = Tree::from_archive(&archive).unwrap();
        assert_eq!(tree.resolve(at_root(), b"l39", true).map(|id| tree.path_of(id)), Ok("/target".to_string()));
        assert_eq!(tree.resolve(at_root(), b"l40", true), Err(ELOOP));
    }

    #[test]
    fn devices_and_proc_self_exe() {
        with_tree(|tree| {
            let prog = tree.resolve(at_root(), b"/bin/prog", true).unwrap();
            let as_prog = Origin { start: ROOT, exe: Some(prog) };
            let exe = tree.resolve(as_prog, b"/proc/self/exe", true).unwrap();
            assert_eq!(exe, prog, "a magic link leads to the program itself");
            let link = tree.resolve(as_prog, b"/proc/self/exe", false).unwrap();
            assert_eq!(tree.link_target(link, as_prog), Ok(b"/bin/prog".to_vec()));
            assert_eq!(tree.link_target(link, at_root()), Err(ENOENT), "no program yet");
            assert_eq!(tree.resolve(at_root(), b"/proc/self/exe", true), Err(ENOENT));
            assert_eq!(tree.resolve(at_root(), b"/proc/self/fd/0", true), Err(ENOENT));
            assert_eq!(tree.stat(link).mode, S_IFLNK | 0o777);
            assert_eq!(tree.stat(link).size, 0);
            let motd = tree.resolve(at_root(), b"/etc/motd", true).unwrap();
            assert_eq!(tree.link_target(motd, as_prog), Err(EINVAL));
            let rel = tree.resolve(at_root(), b"/etc/rel", false).unwrap();
            assert_eq!(tree.link_target(rel, as_prog), Ok(b"motd".to_vec()));
            for (path, rdev) in
                [("/dev/null", 0x103), ("/dev/zero", 0x105), ("/dev/console", 0x501), ("/dev/tty", 0x500)]
            {
                let device = tree.resolve(at_root(), path.as_bytes(), true).unwrap();
                let stat = tree.stat(device);
                assert_eq!((stat.mode & S_IFMT, stat.rdev), (S_IFCHR, rdev), "{path}");
            }
        });
    }

    #[test]
    fn stat_of_nodes() {
        with_tree(|tree| {
            let stat = |path: &str| tree.stat(tree.resolve(at_root(), path.as_bytes(), false).unwrap());
            let motd = stat("/etc/motd");
            assert_eq!((motd.mode, motd.size, motd.blocks, motd.nlink, motd.blksize), (S_IFREG | 0o644, 6, 8, 1, 4096));
            let etc = stat("/etc");
            // . and .. and sub: 3 links (the links to files do not count).
            assert_eq!((etc.mode, etc.size, etc.blocks, etc.nlink), (S_IFDIR | 0o755, 4096, 8, 3));
            assert_eq!(stat("/etc/sub").mode, S_IFDIR | 0o700);
            let rel = stat("/etc/rel");
            assert_eq!((rel.mode & S_IFMT, rel.size, rel.blocks), (S_IFLNK, 4, 0));
            assert_eq!(stat("/").ino, 1);
            assert_ne!(stat("/etc").ino, stat("/etc/motd").ino);
            assert_eq!(stat("/").dev, stat("/etc/motd").dev);
            assert_eq!((motd.uid, motd.gid, motd.mtime.sec), (0, 0, 0));
        });
    }

    #[test]
    fn directory_listing() {
        with_tree(|tree| {
            let sub = tree.resolve(at_root(), b"/etc/sub", true).unwrap();
            let etc = tree.resolve(at_root(), b"/etc", true).unwrap();
            let names: Vec<(Vec<u8>, u8, i64)> = (0..)
                .map_while(|position| tree.directory_entry(sub, position))
                .map(|entry| (entry.name.to_vec(), entry.kind, entry.next_offset))
                .collect();
            assert_eq!(
                names,
                vec![(b".".to_vec(), DT_DIR, 1), (b"..".to_vec(), DT_DIR, 2), (b"deeper".to_vec(), DT_DIR, 3)]
            );
            assert_eq!(tree.directory_entry(sub, 1).unwrap().ino, tree.stat(etc).ino, ".. is the parent");
            assert_eq!(tree.directory_entry(ROOT, 1).unwrap().ino, 1, "the root is its own parent");
            let kinds: Vec<(Vec<u8>, u8)> = (2..)
                .map_while(|position| tree.directory_entry(etc, position))
                .map(|entry| (entry.name.to_vec(), entry.kind))
                .collect();
            assert_eq!(kinds.first(), Some(&(b"abs".to_vec(), DT_LNK)), "sorted by name");
            assert!(kinds.contains(&(b"motd".to_vec(), DT_REG)));
            let dev = tree.resolve(at_root(), b"/dev", true).unwrap();
            assert_eq!(tree.directory_entry(dev, 2).map(|entry| entry.kind), Some(DT_CHR));
            assert_eq!(tree.directory_entry(etc, u64::MAX), None);
            let motd = tree.resolve(at_root(), b"/etc/motd", true).unwrap();
            assert_eq!(tree.directory_entry(motd, 0), None, "a file is no directory");
        });
    }

    #[test]
    fn odd_archives_do_not_confuse_the_tree() {
        let mut writer = Writer::new();
        writer.add_file("a", 0o644, b"file").unwrap();
        writer.add_file("a/b", 0o644, b"under a file: dropped").unwrap();
        writer.add_directory("d", 0o700).unwrap();
        writer.add_directory("d", 0o755).unwrap();
        writer.add_file("proc", 0o644, b"where /proc would go").unwrap();
        writer.add_symlink("dev/null", "/a").unwrap();
        let archive = writer.finish();
        let (tree, _) = Tree::from_archive(&archive).unwrap();
        assert_eq!(tree.resolve(at_root(), b"/a/b", true), Err(ENOTDIR));
        assert_eq!(tree.stat(tree.resolve(at_root(), b"/d", true).unwrap()).mode, S_IFDIR | 0o755);
        assert_eq!(tree.resolve(at_root(), b"/proc/self/exe", false), Err(ENOTDIR));
        let null = tree.resolve(at_root(), b"/dev/null", false).unwrap();
        assert_eq!(tree.stat(null).mode & S_IFMT, S_IFCHR, "the device replaces what the archive put there");
        assert!(Tree::from_archive(b"not an archive").is_err());
    }
}
