//! The file system: a read-only tree built at boot from the initrd (a newc cpio
//! archive the host CLI packs), plus the device nodes under /dev. File contents are
//! never copied: they stay where QEMU loaded the archive, in memory the frame
//! allocator never hands out.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use spin::Once;

use kernel_core::abi::errno::{ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR};
use kernel_core::cpio::{self, CpioError, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};

/// Index of a node in the tree.
pub type NodeId = usize;

/// The longest path a system call accepts (Linux's PATH_MAX, with its NUL).
pub const PATH_MAX: usize = 4096;
/// Symlinks followed in one lookup before ELOOP (Linux's limit).
const MAX_SYMLINKS: usize = 40;
/// The root directory.
pub const ROOT: NodeId = 0;

/// A character device node.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Device {
    Null,
    Zero,
    Console,
}

#[derive(Debug)]
pub enum NodeKind {
    Directory(BTreeMap<String, NodeId>),
    File(&'static [u8]),
    Symlink(String),
    Device(Device),
}

#[derive(Debug)]
pub struct Node {
    pub kind: NodeKind,
    pub mode: u32,
    pub inode: u64,
    pub parent: NodeId,
}

pub struct Tree {
    nodes: Vec<Node>,
}

static TREE: Once<Tree> = Once::new();

/// Builds the tree from the archive. Paths missing their parent directories get
/// them created; /dev gets null, zero, console and tty.
pub fn init(archive: &'static [u8]) -> Result<usize, CpioError> {
    let mut tree = Tree { nodes: Vec::new() };
    tree.nodes.push(Node { kind: NodeKind::Directory(BTreeMap::new()), mode: S_IFDIR | 0o755, inode: 1, parent: ROOT });
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
    for (name, device) in [("dev/null", Device::Null), ("dev/zero", Device::Zero), ("dev/console", Device::Console), ("dev/tty", Device::Console)] {
        tree.insert(name, NodeKind::Device(device), 0o020_666);
    }
    TREE.call_once(|| tree);
    Ok(files)
}

/// The tree built at boot.
pub fn tree() -> &'static Tree {
    TREE.get().expect("initrd::init ran at boot")
}

impl Tree {
    /// Adds the node at `path`, creating missing parent directories. An entry for a
    /// directory that already exists (created implicitly) only sets its mode; an
    /// entry whose parent is not a directory is dropped.
    fn insert(&mut self, path: &str, kind: NodeKind, mode: u32) {
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

    fn add_child(&mut self, directory: NodeId, name: &str, kind: NodeKind, mode: u32) -> NodeId {
        let id = self.nodes.len();
        self.nodes.push(Node { kind, mode, inode: id as u64 + 1, parent: directory });
        if let NodeKind::Directory(children) = &mut self.nodes[directory].kind {
            children.insert(name.to_string(), id);
        }
        id
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// Resolves `path` (relative to directory `start` unless absolute), following
    /// symlinks, and the last component's too when `follow_last`.
    pub fn resolve(&self, start: NodeId, path: &[u8], follow_last: bool) -> Result<NodeId, i64> {
        if path.is_empty() {
            return Err(ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(ENAMETOOLONG);
        }
        let mut symlinks = 0;
        self.walk(start, path, follow_last, &mut symlinks)
    }

    fn walk(&self, start: NodeId, path: &[u8], follow_last: bool, symlinks: &mut usize) -> Result<NodeId, i64> {
        let mut current = if path.first() == Some(&b'/') { ROOT } else { start };
        let components: Vec<&[u8]> = path.split(|&byte| byte == b'/').filter(|component| !component.is_empty()).collect();
        let trailing_slash = path.last() == Some(&b'/');
        for (index, component) in components.iter().enumerate() {
            let NodeKind::Directory(children) = &self.nodes[current].kind else { return Err(ENOTDIR) };
            if component.len() > 255 {
                return Err(ENAMETOOLONG);
            }
            let next = match *component {
                b"." => current,
                b".." => self.nodes[current].parent,
                name => *core::str::from_utf8(name).ok().and_then(|name| children.get(name)).ok_or(ENOENT)?,
            };
            let last = index + 1 == components.len();
            if let NodeKind::Symlink(target) = &self.nodes[next].kind {
                if !last || follow_last || trailing_slash {
                    *symlinks += 1;
                    if *symlinks > MAX_SYMLINKS {
                        return Err(ELOOP);
                    }
                    current = self.walk(current, target.as_bytes(), true, symlinks)?;
                    continue;
                }
            }
            current = next;
        }
        if trailing_slash && !matches!(self.nodes[current].kind, NodeKind::Directory(_)) {
            return Err(ENOTDIR);
        }
        Ok(current)
    }

    /// The absolute path of a directory (for getcwd).
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
