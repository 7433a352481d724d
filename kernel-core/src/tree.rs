//! The root file system: a RAM file system as Linux's rootfs, filled at boot from
//! a newc cpio archive (the initrd), plus the device nodes under /dev and the
//! mount point /proc; path resolution with Linux's rules, and the changes Linux's
//! calls make (create, link, unlink, rmdir, rename, write, truncate, chmod...).
//!
//! /proc is a mount point: a lookup that goes on below it leaves the tree and
//! comes back as the rest of the path (`Found::Mounted`) for the kernel's procfs
//! to answer; nothing can be created there.
//!
//! Nodes live in an arena and are named by index (`NodeId`); a node is freed when
//! it has neither a name (`links`) nor a holder (`holds`: an open file, a cwd, a
//! running program), so an unlinked open file lives until its last close. Inode
//! numbers come from a counter and are never reused.
//!
//! File data is either still the archive's bytes (borrowed, never copied while
//! only read: exec of an initrd program reads it in place) or page-sized pages of
//! type `P` (frames in the kernel), taken as writes need them, at most
//! `page_limit` of them: a write that cannot get one fails with ENOSPC.
//!
//! It presents itself as one in-memory file system would on Linux: one device
//! number, directories of 4096 bytes in 8 blocks as ext4's small ones, so `ls -l`
//! and `stat` print what they print on a host.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::abi::errno::{
    EBUSY, EEXIST, EFBIG, EINVAL, EISDIR, ELOOP, ENAMETOOLONG, ENOENT, ENOMEM, ENOSPC, ENOTDIR, ENOTEMPTY, EPERM,
    ETXTBSY,
};
use crate::abi::{dirent_type, makedev, Dirent64, Stat, Timespec};
use crate::cpio::{self, CpioError, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use crate::file_pages::FilePages;

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
/// No node at all.
const NO_NODE: NodeId = usize::MAX;
/// The device number of the tree (`st_dev`): an anonymous device, as an in-memory
/// file system has on Linux.
pub const TREE_DEVICE: u64 = makedev(0, 1);
/// `st_blksize`, and the size of a page of file data.
pub const BLOCK_SIZE: u64 = 4096;
/// The largest file (Linux's MAX_LFS_FILESIZE on 64-bit): writes past it are EFBIG.
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;
/// The permission bits chmod changes (with set-id and sticky).
pub const MODE_BITS: u32 = 0o7777;

/// A page of file data: `BLOCK_SIZE` bytes, zeroed when new, given back when
/// dropped.
pub trait Page: Sized {
    /// A new page of zeros; None when memory has none left.
    fn zeroed() -> Option<Self>;
    fn bytes(&self) -> &[u8];
    fn bytes_mut(&mut self) -> &mut [u8];
}

/// A character device node.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Device {
    Null,
    Zero,
    /// /dev/full: reads zeros, writes ENOSPC.
    Full,
    Random,
    Urandom,
    /// /dev/console.
    Console,
    /// /dev/tty: the caller's controlling terminal.
    Tty,
}

impl Device {
    /// The device number Linux gives it (`st_rdev`).
    pub fn number(self) -> u64 {
        match self {
            Device::Null => makedev(1, 3),
            Device::Zero => makedev(1, 5),
            Device::Full => makedev(1, 7),
            Device::Random => makedev(1, 8),
            Device::Urandom => makedev(1, 9),
            Device::Console => makedev(5, 1),
            Device::Tty => makedev(5, 0),
        }
    }

    /// The device with number `number`, if it is one of these.
    pub fn from_number(number: u64) -> Option<Device> {
        ALL_DEVICES.iter().map(|&(_, device, _)| device).find(|device| device.number() == number)
    }
}

/// Every device: its name under /dev and its permissions.
const ALL_DEVICES: [(&str, Device, u32); 7] = [
    ("null", Device::Null, 0o666),
    ("zero", Device::Zero, 0o666),
    ("full", Device::Full, 0o666),
    ("random", Device::Random, 0o666),
    ("urandom", Device::Urandom, 0o666),
    ("console", Device::Console, 0o600),
    ("tty", Device::Tty, 0o666),
];

/// The links of /dev into /proc, as udev makes them on Linux.
const DEVICE_LINKS: [(&str, &str); 4] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

/// A regular file's bytes.
#[derive(Debug)]
pub enum Contents<'a, P> {
    /// As the archive holds them: read in place until the first change.
    Archive(&'a [u8]),
    /// `size` bytes in pages, by index (`FilePages`: a hole costs no memory); a
    /// missing page reads as zeros.
    Pages { size: u64, pages: FilePages<P> },
}

/// A directory's entries, by name, each with a cookie: the entry's place in the
/// listing, which stays put while other entries come and go, so a program that
/// unlinks entries between getdents64 calls (`rm -r`) misses none.
#[derive(Debug, Default)]
pub struct Directory {
    entries: BTreeMap<Vec<u8>, (NodeId, u64)>,
    order: BTreeMap<u64, Vec<u8>>,
    next_cookie: u64,
    subdirectories: u64,
}

impl Directory {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, name: &[u8]) -> Option<NodeId> {
        self.entries.get(name).map(|&(node, _)| node)
    }

    fn insert(&mut self, name: &[u8], node: NodeId) {
        let cookie = self.next_cookie;
        self.next_cookie += 1;
        self.entries.insert(name.to_vec(), (node, cookie));
        self.order.insert(cookie, name.to_vec());
    }

    fn remove(&mut self, name: &[u8]) -> Option<NodeId> {
        let (node, cookie) = self.entries.remove(name)?;
        self.order.remove(&cookie);
        Some(node)
    }

    /// Points the existing entry `name` at `node` (its place in the listing kept).
    fn replace(&mut self, name: &[u8], node: NodeId) {
        if let Some(entry) = self.entries.get_mut(name) {
            entry.0 = node;
        }
    }
}

#[derive(Debug)]
pub enum NodeKind<'a, P> {
    Directory(Directory),
    File(Contents<'a, P>),
    Symlink(Vec<u8>),
    Device(Device),
}

/// Where a relative path starts.
#[derive(Clone, Copy, Debug)]
pub struct Origin {
    pub start: NodeId,
}

/// What a lookup found: a node of the tree, or a path below the mount point
/// (components separated by `/`, `.` and `..` taken out; `..` at its top stays
/// there; a trailing `/` kept, as it asks for a directory), which the file
/// system mounted there resolves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    Node(NodeId),
    Mounted(Vec<u8>),
}

#[derive(Debug)]
pub struct Node<'a, P> {
    pub kind: NodeKind<'a, P>,
    /// Type and permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub inode: u64,
    /// Directory entries naming it (a directory: 1 while it has a name).
    links: u64,
    /// Open files, cwds and programs holding it.
    holds: u64,
    /// Open files that may write it (`begin_write`), and processes executing it
    /// (`begin_execution`): never both at once (ETXTBSY), as Linux's
    /// i_writecount.
    writers: u64,
    executions: u64,
    /// The directory holding it (the root's, and a removed directory's, is itself);
    /// for a file with several names, the last one it got.
    pub parent: NodeId,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
}

/// The last component of a path and the directory it is in, for the calls that
/// create, remove or rename it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parent<'p> {
    pub directory: NodeId,
    /// The name; empty for `/`, and `.` or `..` as given (the calls refuse those,
    /// each with its own errno).
    pub name: &'p [u8],
    /// The path ended in `/`: the name must be a directory.
    pub trailing_slash: bool,
}

impl Parent<'_> {
    /// The name is `.`, `..` or none at all (`/`): nothing to create or remove.
    pub fn is_special(&self) -> bool {
        matches!(self.name, b"" | b"." | b"..")
    }
}

/// RENAME_NOREPLACE and RENAME_EXCHANGE.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenameFlags {
    pub no_replace: bool,
    pub exchange: bool,
}

/// What statfs reports of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub pages_used: usize,
    pub page_limit: usize,
    pub nodes: usize,
}

/// The tree.
pub struct Tree<'a, P> {
    nodes: Vec<Option<Node<'a, P>>>,
    free_slots: Vec<NodeId>,
    next_inode: u64,
    pages_used: usize,
    page_limit: usize,
    /// /proc, once made (`NO_NODE` until then).
    mount_point: NodeId,
    /// How much more memory the kernel can spare for what the tree keeps besides
    /// pages: nodes and names (`room_for_name`). Unlimited until `set_spare_memory`.
    spare_memory: fn() -> usize,
}

/// What a new name may take of the kernel's memory besides its own bytes, at most:
/// the B-tree nodes its insertion into the directory's two maps may split (a few
/// hundred bytes per level) and the node's record.
const NAME_OVERHEAD: usize = 4096;

impl<'a, P: Page> Tree<'a, P> {
    /// An empty tree (a root directory) whose files may take `page_limit` pages.
    pub fn new(page_limit: usize, now: Timespec) -> Self {
        let mut tree = Tree {
            nodes: Vec::new(),
            free_slots: Vec::new(),
            next_inode: 1,
            pages_used: 0,
            page_limit,
            mount_point: NO_NODE,
            spare_memory: || usize::MAX,
        };
        tree.add_node(NodeKind::Directory(Directory::default()), S_IFDIR | 0o755, ROOT, now);
        tree.nodes[ROOT].as_mut().expect("the root").links = 1;
        tree
    }

    /// Builds the tree from `archive`; returns it and the number of archive entries
    /// it holds. Paths missing their parent directories get them created; entries
    /// sharing an inode number are hard links of one file; /dev gets the devices
    /// and its links into /proc (fd, stdin, stdout, stderr), and /proc becomes the mount point (an archive's file there is replaced, its
    /// directory's entries hidden). Entries of other types (devices, FIFOs in the archive)
    /// are skipped. Times: atime and mtime from the archive, ctime `now`.
    pub fn from_archive(archive: &'a [u8], page_limit: usize, now: Timespec) -> Result<(Self, usize), CpioError> {
        let mut tree = Tree::new(page_limit, now);
        let mut files_by_inode: BTreeMap<u32, NodeId> = BTreeMap::new();
        let mut files = 0;
        for entry in cpio::entries(archive) {
            let entry = entry?;
            if entry.path.is_empty() {
                continue;
            }
            let kind = match entry.mode & S_IFMT {
                S_IFDIR => NodeKind::Directory(Directory::default()),
                S_IFLNK => NodeKind::Symlink(entry.data.to_vec()),
                S_IFREG => NodeKind::File(Contents::Archive(entry.data)),
                _ => continue,
            };
            files += 1;
            let linked = files_by_inode.get(&entry.inode).copied();
            let id = match (linked, &kind) {
                (Some(existing), NodeKind::File(_)) if entry.links > 1 => {
                    tree.insert_link(entry.path, existing);
                    if !entry.data.is_empty() {
                        tree.node_mut(existing).kind = kind;
                    }
                    Some(existing)
                }
                _ => tree.insert(entry.path, kind, entry.mode, now),
            };
            if let Some(id) = id {
                let mtime = Timespec { sec: i64::from(entry.mtime), nsec: 0 };
                let node = tree.node_mut(id);
                (node.uid, node.gid, node.atime, node.mtime) = (entry.uid, entry.gid, mtime, mtime);
                if entry.mode & S_IFMT == S_IFREG && entry.links > 1 {
                    files_by_inode.insert(entry.inode, id);
                }
            }
        }
        for (name, device, permissions) in ALL_DEVICES {
            tree.insert(&alloc::format!("dev/{name}"), NodeKind::Device(device), S_IFCHR | permissions, now);
        }
        for (name, target) in DEVICE_LINKS {
            tree.insert(
                &alloc::format!("dev/{name}"),
                NodeKind::Symlink(target.as_bytes().to_vec()),
                S_IFLNK | 0o777,
                now,
            );
        }
        tree.mount_point = tree.insert("proc", empty_directory(), S_IFDIR | 0o555, now).unwrap_or(NO_NODE);
        Ok((tree, files))
    }

    /// Adds the node at `path` (an archive path), creating missing parent
    /// directories; returns it. An entry for a directory that already exists
    /// (created implicitly) only sets its mode; an entry whose parent is not a
    /// directory is dropped.
    fn insert(&mut self, path: &str, kind: NodeKind<'a, P>, mode: u32, now: Timespec) -> Option<NodeId> {
        let (directory, last) = self.archive_parent(path, now)?;
        match self.child(directory, last.as_bytes()) {
            Some(id) if matches!((&kind, &self.node(id).kind), (NodeKind::Directory(_), NodeKind::Directory(_))) => {
                self.node_mut(id).mode = mode;
                Some(id)
            }
            Some(id) => {
                self.remove_entry(directory, last.as_bytes(), now);
                self.release_name(id);
                self.create(directory, last.as_bytes(), kind, mode, now).ok()
            }
            None => self.create(directory, last.as_bytes(), kind, mode, now).ok(),
        }
    }

    /// Another name, `path`, for archive file `existing`.
    fn insert_link(&mut self, path: &str, existing: NodeId) {
        let now = self.node(existing).ctime;
        if let Some((directory, last)) = self.archive_parent(path, now) {
            if self.child(directory, last.as_bytes()).is_none() {
                let _ = self.link(existing, directory, last.as_bytes(), now);
            }
        }
    }

    /// The directory an archive path's last component goes in (created as
    /// needed), and that component.
    fn archive_parent<'p>(&mut self, path: &'p str, now: Timespec) -> Option<(NodeId, &'p str)> {
        let components: Vec<&str> = path.split('/').filter(|component| !component.is_empty()).collect();
        let (last, parents) = components.split_last()?;
        let mut directory = ROOT;
        for name in parents {
            directory = match self.child(directory, name.as_bytes()) {
                Some(id) if self.is_directory(id) => id,
                Some(_) => return None,
                None => self
                    .create(directory, name.as_bytes(), NodeKind::Directory(Directory::default()), S_IFDIR | 0o755, now)
                    .ok()?,
            };
        }
        Some((directory, last))
    }

    /// Bounds what programs can make the tree keep by the memory the kernel can
    /// spare (`spare` answers how much more, now): past it, a new name fails with
    /// ENOSPC, as on Linux's tmpfs out of inodes, and a rename with ENOMEM, rather
    /// than exhausting the kernel's memory with names, nodes and symlink targets,
    /// which unlike file pages take no frames the page limit would count.
    pub fn set_spare_memory(&mut self, spare: fn() -> usize) {
        self.spare_memory = spare;
    }

    /// Whether the kernel can spare what a new entry `name` takes (`extra` bytes
    /// more: a symlink's target), with a new node if `new_node`: its name twice (a
    /// directory keeps it by name and by place in its listing), `NAME_OVERHEAD`, and
    /// for a new node the growth of the node arena and of its free list when they
    /// are full (each doubles, the old one still held during the move).
    fn room_for_name(&self, name: &[u8], new_node: bool, extra: usize) -> bool {
        let mut needed = 2 * name.len() + extra + NAME_OVERHEAD;
        if new_node && self.free_slots.is_empty() && self.nodes.len() == self.nodes.capacity() {
            let slots = self.nodes.capacity().max(4) * 3;
            needed += slots * (size_of::<Option<Node<'a, P>>>() + size_of::<NodeId>());
        }
        (self.spare_memory)() >= needed
    }

    fn add_node(&mut self, kind: NodeKind<'a, P>, mode: u32, parent: NodeId, now: Timespec) -> NodeId {
        let inode = self.next_inode;
        self.next_inode += 1;
        let node = Node {
            kind,
            mode,
            uid: 0,
            gid: 0,
            inode,
            links: 0,
            holds: 0,
            writers: 0,
            executions: 0,
            parent,
            atime: now,
            mtime: now,
            ctime: now,
        };
        match self.free_slots.pop() {
            Some(id) => {
                self.nodes[id] = Some(node);
                id
            }
            None => {
                self.nodes.push(Some(node));
                // Room on the free list for every slot, so that freeing a node (an
                // unlink, which must not fail) never allocates.
                self.free_slots.reserve(self.nodes.len() - self.free_slots.len());
                self.nodes.len() - 1
            }
        }
    }

    /// The node `id`. Ids come from this tree (lookups, held nodes), so they
    /// always name a live node.
    pub fn node(&self, id: NodeId) -> &Node<'a, P> {
        self.nodes[id].as_ref().expect("a live node")
    }

    fn node_mut(&mut self, id: NodeId) -> &mut Node<'a, P> {
        self.nodes[id].as_mut().expect("a live node")
    }

    fn directory(&self, id: NodeId) -> Option<&Directory> {
        match &self.node(id).kind {
            NodeKind::Directory(directory) => Some(directory),
            _ => None,
        }
    }

    fn directory_mut(&mut self, id: NodeId) -> Option<&mut Directory> {
        match &mut self.node_mut(id).kind {
            NodeKind::Directory(directory) => Some(directory),
            _ => None,
        }
    }

    /// Whether `id` is a directory.
    pub fn is_directory(&self, id: NodeId) -> bool {
        matches!(self.node(id).kind, NodeKind::Directory(_))
    }

    /// Whether `id` has lost its last name (a removed directory, an unlinked file).
    pub fn is_removed(&self, id: NodeId) -> bool {
        self.node(id).links == 0
    }

    /// The entry `name` of directory `directory`.
    pub fn child(&self, directory: NodeId, name: &[u8]) -> Option<NodeId> {
        self.directory(directory)?.get(name)
    }

    /// One more holder of `id` (an open file, a cwd, a program): the node stays
    /// until `release`, names or not.
    pub fn hold(&mut self, id: NodeId) {
        self.node_mut(id).holds += 1;
    }

    /// Ends a `hold`; frees the node if it was the last thing keeping it.
    pub fn release(&mut self, id: NodeId) {
        let node = self.node_mut(id);
        node.holds -= 1;
        self.free_if_unused(id);
    }

    /// Where O_CREAT through the symlink `name` of `directory` creates its file,
    /// when the chain of links it starts ends at a name that does not exist
    /// (Linux creates that): the directory holding that name, and the name.
    /// ENOENT when the chain ends at no link, ELOOP past `MAX_SYMLINKS`, EISDIR for
    /// a target ending in `/`, and the errors of looking up a target's directory.
    pub fn dangling_link_end(&self, directory: NodeId, name: &[u8]) -> Result<(NodeId, Vec<u8>), i64> {
        let (mut directory, mut name) = (directory, name.to_vec());
        for _ in 0..MAX_SYMLINKS {
            let link = self.child(directory, &name).ok_or(ENOENT)?;
            let NodeKind::Symlink(target) = &self.node(link).kind else { return Err(ENOENT) };
            let parent = self.resolve_parent(Origin { start: directory }, target)?;
            if parent.trailing_slash || parent.is_special() {
                return Err(EISDIR);
            }
            if self.child(parent.directory, parent.name).is_none() {
                return Ok((parent.directory, parent.name.to_vec()));
            }
            (directory, name) = (parent.directory, parent.name.to_vec());
        }
        Err(ELOOP)
    }

    /// One more writer of `id` (a file opened for writing, a truncate by path):
    /// ETXTBSY while a process executes it.
    pub fn begin_write(&mut self, id: NodeId) -> Result<(), i64> {
        let node = self.node_mut(id);
        if node.executions > 0 {
            return Err(ETXTBSY);
        }
        node.writers += 1;
        Ok(())
    }

    /// Ends a `begin_write`.
    pub fn end_write(&mut self, id: NodeId) {
        let node = self.node_mut(id);
        node.writers -= 1;
    }

    /// One more process executing `id` (execve, and fork of a process that
    /// does): ETXTBSY while it is open for writing.
    pub fn begin_execution(&mut self, id: NodeId) -> Result<(), i64> {
        let node = self.node_mut(id);
        if node.writers > 0 {
            return Err(ETXTBSY);
        }
        node.executions += 1;
        Ok(())
    }

    /// Ends a `begin_execution`.
    pub fn end_execution(&mut self, id: NodeId) {
        let node = self.node_mut(id);
        node.executions -= 1;
    }

    fn release_name(&mut self, id: NodeId) {
        let node = self.node_mut(id);
        node.links = node.links.saturating_sub(1);
        self.free_if_unused(id);
    }

    fn free_if_unused(&mut self, id: NodeId) {
        let node = self.node(id);
        if node.links > 0 || node.holds > 0 || id == ROOT {
            return;
        }
        if let Some(Node { kind: NodeKind::File(Contents::Pages { pages, .. }), .. }) = self.nodes[id].take() {
            self.pages_used -= pages.len();
        }
        self.free_slots.push(id);
    }

    /// Resolves `path` (relative to `origin.start` unless absolute), following
    /// symlinks, and the last component's too when `follow_last` (or when the path
    /// ends in `/`). Errors are Linux's: ENOENT (also for an empty path), ENOTDIR
    /// for a non-directory used as one, ELOOP after 40 links, ENAMETOOLONG for a
    /// path of PATH_MAX bytes or a name over NAME_MAX. A path below the mount
    /// point is ENOENT here: callers that reach into /proc use `lookup`.
    #[inline]
    pub fn resolve(&self, origin: Origin, path: &[u8], follow_last: bool) -> Result<NodeId, i64> {
        match self.resolve_or_below(origin, path, follow_last, &mut Vec::new()) {
            Err(CROSSES_MOUNT) => Err(ENOENT),
            result => result,
        }
    }

    /// `resolve`, but a path that goes on below the mount point comes back as the
    /// rest of it (`Found::Mounted`) instead of ENOENT.
    #[inline]
    pub fn lookup(&self, origin: Origin, path: &[u8], follow_last: bool) -> Result<Found, i64> {
        let mut below = Vec::new();
        match self.resolve_or_below(origin, path, follow_last, &mut below) {
            Ok(id) => Ok(Found::Node(id)),
            Err(CROSSES_MOUNT) => Ok(Found::Mounted(below)),
            Err(errno) => Err(errno),
        }
    }

    /// `lookup` for the callers that must not pay for a richer result: a path
    /// that goes on below the mount point fails with `CROSSES_MOUNT`, the rest of
    /// it in `below`.
    #[inline]
    pub fn resolve_or_below(
        &self,
        origin: Origin,
        path: &[u8],
        follow_last: bool,
        below: &mut Vec<u8>,
    ) -> Result<NodeId, i64> {
        if path.is_empty() {
            return Err(ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(ENAMETOOLONG);
        }
        let mut symlinks = 0;
        self.walk(origin, path, follow_last, &mut symlinks, below)
    }

    /// Whether `id` is the mount point, /proc.
    #[inline]
    pub fn is_mount_point(&self, id: NodeId) -> bool {
        self.mount_point == id
    }

    /// Resolves all of `path` but its last component, which it returns with the
    /// directory it would be in: ENOENT for an empty path, the directory part's
    /// errors, ENOTDIR if that is not a directory, ENAMETOOLONG for a long name;
    /// ENOENT below the mount point, where nothing is made or removed.
    pub fn resolve_parent<'p>(&self, origin: Origin, path: &'p [u8]) -> Result<Parent<'p>, i64> {
        if path.is_empty() {
            return Err(ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(ENAMETOOLONG);
        }
        let trimmed = match path.iter().rposition(|&byte| byte != b'/') {
            Some(last) => &path[..=last],
            None => return Ok(Parent { directory: ROOT, name: b"", trailing_slash: true }),
        };
        let (directory, name) = match trimmed.iter().rposition(|&byte| byte == b'/') {
            Some(slash) => {
                let directory_path = &trimmed[..=slash];
                let mut symlinks = 0;
                match self.walk(origin, directory_path, true, &mut symlinks, &mut Vec::new()) {
                    Ok(directory) => (directory, &trimmed[slash + 1..]),
                    Err(CROSSES_MOUNT) => return Err(ENOENT),
                    Err(errno) => return Err(errno),
                }
            }
            None => (origin.start, trimmed),
        };
        if !self.is_directory(directory) {
            return Err(ENOTDIR);
        }
        if name.len() > NAME_MAX {
            return Err(ENAMETOOLONG);
        }
        Ok(Parent { directory, name, trailing_slash: trimmed.len() < path.len() })
    }

    /// Follows `path` from `origin`; a path that goes on below the mount point
    /// fails with `CROSSES_MOUNT`, the rest of it in `below` (an out-parameter,
    /// not a richer result: the lookups that stay in the tree, nearly all, pass
    /// back a bare node id).
    fn walk(
        &self,
        origin: Origin,
        path: &[u8],
        follow_last: bool,
        symlinks: &mut usize,
        below: &mut Vec<u8>,
    ) -> Result<NodeId, i64> {
        let mut current = if path.first() == Some(&b'/') { ROOT } else { origin.start };
        let trailing_slash = path.last() == Some(&b'/');
        let mut components = path.split(|&byte| byte == b'/').filter(|component| !component.is_empty()).peekable();
        while let Some(component) = components.next() {
            if self.is_mount_point(current) && component != b".." {
                below_mount(below, core::iter::once(component).chain(components));
                if trailing_slash {
                    below.push(b'/');
                }
                return Err(CROSSES_MOUNT);
            }
            let Some(directory) = self.directory(current) else { return Err(ENOTDIR) };
            if component.len() > NAME_MAX {
                return Err(ENAMETOOLONG);
            }
            let next = match component {
                b"." => current,
                b".." => self.node(current).parent,
                name => directory.get(name).ok_or(ENOENT)?,
            };
            let follow = components.peek().is_some() || follow_last || trailing_slash;
            current = match &self.node(next).kind {
                NodeKind::Symlink(target) if follow => {
                    *symlinks += 1;
                    if *symlinks > MAX_SYMLINKS {
                        return Err(ELOOP);
                    }
                    if target.is_empty() {
                        return Err(ENOENT);
                    }
                    match self.walk(Origin { start: current }, target, true, symlinks, below) {
                        Ok(id) => id,
                        Err(CROSSES_MOUNT) => {
                            below_mount(below, components);
                            if trailing_slash {
                                below.push(b'/');
                            }
                            return Err(CROSSES_MOUNT);
                        }
                        Err(errno) => return Err(errno),
                    }
                }
                _ => next,
            };
        }
        if trailing_slash && !self.is_directory(current) {
            return Err(ENOTDIR);
        }
        Ok(current)
    }

    /// Creates `name` in `directory` (mkdir, open's O_CREAT, symlink, mknod):
    /// EEXIST if the name is taken (or is `.`, `..`), ENOENT in a removed
    /// directory, ENAMETOOLONG past NAME_MAX; ENOENT in the mount point, as in
    /// Linux's /proc; ENOSPC when the kernel cannot spare the memory
    /// (`set_spare_memory`). The directory's mtime and ctime become `now`.
    pub fn create(
        &mut self,
        directory: NodeId,
        name: &[u8],
        kind: NodeKind<'a, P>,
        mode: u32,
        now: Timespec,
    ) -> Result<NodeId, i64> {
        if matches!(name, b"" | b"." | b"..") || self.child(directory, name).is_some() {
            return Err(EEXIST);
        }
        if name.len() > NAME_MAX {
            return Err(ENAMETOOLONG);
        }
        if self.is_removed(directory) || self.is_mount_point(directory) {
            return Err(ENOENT);
        }
        let target = match &kind {
            NodeKind::Symlink(target) => target.len(),
            _ => 0,
        };
        if !self.room_for_name(name, true, target) {
            return Err(ENOSPC);
        }
        let is_directory = matches!(kind, NodeKind::Directory(_));
        let id = self.add_node(kind, mode, directory, now);
        self.node_mut(id).links = 1;
        self.add_entry(directory, name, id, is_directory, now);
        Ok(id)
    }

    fn add_entry(&mut self, directory: NodeId, name: &[u8], id: NodeId, is_directory: bool, now: Timespec) {
        let entries = self.directory_mut(directory).expect("a directory");
        entries.insert(name, id);
        if is_directory {
            entries.subdirectories += 1;
        }
        let parent = self.node_mut(directory);
        (parent.mtime, parent.ctime) = (now, now);
    }

    /// Removes entry `name` of `directory` (which exists), without touching the
    /// node's link count; returns the node.
    fn remove_entry(&mut self, directory: NodeId, name: &[u8], now: Timespec) -> NodeId {
        let entries = self.directory_mut(directory).expect("a directory");
        let id = entries.remove(name).expect("an existing entry");
        let is_directory = self.is_directory(id);
        let entries = self.directory_mut(directory).expect("a directory");
        if is_directory {
            entries.subdirectories -= 1;
        }
        let parent = self.node_mut(directory);
        (parent.mtime, parent.ctime) = (now, now);
        id
    }

    /// unlink: removes a name of a non-directory. EISDIR for `.`, `..` or a
    /// directory; ENOTDIR for a file named with a trailing slash; ENOENT.
    pub fn unlink(&mut self, parent: Parent, now: Timespec) -> Result<(), i64> {
        if parent.is_special() {
            return Err(EISDIR);
        }
        let id = self.child(parent.directory, parent.name).ok_or(ENOENT)?;
        if self.is_directory(id) {
            return Err(EISDIR);
        }
        if parent.trailing_slash {
            return Err(ENOTDIR);
        }
        self.remove_entry(parent.directory, parent.name, now);
        self.node_mut(id).ctime = now;
        self.release_name(id);
        Ok(())
    }

    /// rmdir: EINVAL for `.`, ENOTEMPTY for `..`, EBUSY for the root; ENOENT,
    /// ENOTDIR, ENOTEMPTY.
    pub fn rmdir(&mut self, parent: Parent, now: Timespec) -> Result<(), i64> {
        match parent.name {
            b"." => return Err(EINVAL),
            b".." => return Err(ENOTEMPTY),
            b"" => return Err(EBUSY),
            _ => {}
        }
        let id = self.child(parent.directory, parent.name).ok_or(ENOENT)?;
        let directory = self.directory(id).ok_or(ENOTDIR)?;
        if !directory.is_empty() {
            return Err(ENOTEMPTY);
        }
        self.remove_entry(parent.directory, parent.name, now);
        self.remove_directory(id, now);
        Ok(())
    }

    /// A directory lost its name: `..` in it leads nowhere else any more.
    fn remove_directory(&mut self, id: NodeId, now: Timespec) {
        let node = self.node_mut(id);
        node.parent = id;
        node.ctime = now;
        self.release_name(id);
    }

    /// link: another name for `id`. EPERM for a directory, EEXIST for a taken
    /// name, ENOENT for a file that has lost its last name, ENOSPC as `create`.
    pub fn link(&mut self, id: NodeId, directory: NodeId, name: &[u8], now: Timespec) -> Result<(), i64> {
        if self.is_directory(id) {
            return Err(EPERM);
        }
        if matches!(name, b"" | b"." | b"..") || self.child(directory, name).is_some() {
            return Err(EEXIST);
        }
        if self.is_removed(id) || self.is_removed(directory) {
            return Err(ENOENT);
        }
        if !self.room_for_name(name, false, 0) {
            return Err(ENOSPC);
        }
        self.add_entry(directory, name, id, false, now);
        let node = self.node_mut(id);
        node.links += 1;
        node.ctime = now;
        node.parent = directory;
        Ok(())
    }

    /// Whether `ancestor` is `id` or one of the directories above it.
    fn is_ancestor(&self, ancestor: NodeId, mut id: NodeId) -> bool {
        loop {
            if id == ancestor {
                return true;
            }
            let parent = self.node(id).parent;
            if parent == id {
                return false;
            }
            id = parent;
        }
    }

    /// rename/renameat2, in one step (no one sees the new name missing), with
    /// Linux's checks: EBUSY for `.`/`..`, ENOENT, EEXIST (no-replace), ENOTDIR
    /// and EISDIR for a directory against a non-directory, EINVAL for a directory
    /// into its own subtree, ENOTEMPTY for a non-empty directory replaced, ENOMEM
    /// when the kernel cannot spare the new entry's memory (`set_spare_memory`). A
    /// file renamed onto another name of itself is left alone.
    pub fn rename(&mut self, from: Parent, to: Parent, flags: RenameFlags, now: Timespec) -> Result<(), i64> {
        if from.is_special() || to.is_special() {
            return Err(if flags.no_replace && !to.is_special() { EEXIST } else { EBUSY });
        }
        let source = self.child(from.directory, from.name).ok_or(ENOENT)?;
        let target = self.child(to.directory, to.name);
        if flags.no_replace && target.is_some() {
            return Err(EEXIST);
        }
        if flags.exchange && target.is_none() {
            return Err(ENOENT);
        }
        let source_is_directory = self.is_directory(source);
        let target_is_directory = target.is_some_and(|target| self.is_directory(target));
        if (!source_is_directory && (from.trailing_slash || (to.trailing_slash && !flags.exchange)))
            || (flags.exchange && to.trailing_slash && !target_is_directory)
        {
            return Err(ENOTDIR);
        }
        if self.is_ancestor(source, to.directory) {
            return Err(EINVAL);
        }
        if let Some(target) = target {
            if self.is_ancestor(target, from.directory) {
                return Err(if flags.exchange { EINVAL } else { ENOTEMPTY });
            }
        }
        if target == Some(source) {
            return Ok(());
        }
        if !flags.exchange && !self.room_for_name(to.name, false, 0) {
            return Err(ENOMEM);
        }
        if let (Some(target), false) = (target, flags.exchange) {
            match (source_is_directory, self.directory(target)) {
                (true, None) => return Err(ENOTDIR),
                (false, Some(_)) => return Err(EISDIR),
                (true, Some(directory)) if !directory.is_empty() => return Err(ENOTEMPTY),
                _ => {}
            }
        }
        match target {
            Some(target) if flags.exchange => {
                self.directory_mut(from.directory).expect("a directory").replace(from.name, target);
                self.directory_mut(to.directory).expect("a directory").replace(to.name, source);
                if source_is_directory != target_is_directory {
                    let change = |tree: &mut Self, directory: NodeId, gained: bool| {
                        let entries = tree.directory_mut(directory).expect("a directory");
                        if gained {
                            entries.subdirectories += 1;
                        } else {
                            entries.subdirectories -= 1;
                        }
                    };
                    change(self, from.directory, target_is_directory);
                    change(self, to.directory, source_is_directory);
                }
                self.node_mut(target).parent = from.directory;
                self.node_mut(target).ctime = now;
                for directory in [from.directory, to.directory] {
                    let node = self.node_mut(directory);
                    (node.mtime, node.ctime) = (now, now);
                }
            }
            _ => {
                if let Some(target) = target {
                    self.remove_entry(to.directory, to.name, now);
                    self.node_mut(target).ctime = now;
                    if target_is_directory {
                        self.remove_directory(target, now);
                    } else {
                        self.release_name(target);
                    }
                }
                self.remove_entry(from.directory, from.name, now);
                self.add_entry(to.directory, to.name, source, source_is_directory, now);
            }
        }
        let node = self.node_mut(source);
        node.parent = to.directory;
        node.ctime = now;
        Ok(())
    }

    /// The size of a regular file (0 for anything else).
    pub fn size(&self, id: NodeId) -> u64 {
        match &self.node(id).kind {
            NodeKind::File(Contents::Archive(bytes)) => bytes.len() as u64,
            NodeKind::File(Contents::Pages { size, .. }) => *size,
            _ => 0,
        }
    }

    /// The archive's bytes of a file not changed since boot (exec reads those in
    /// place); None for any other node.
    pub fn archive_bytes(&self, id: NodeId) -> Option<&'a [u8]> {
        match self.node(id).kind {
            NodeKind::File(Contents::Archive(bytes)) => Some(bytes),
            _ => None,
        }
    }

    /// Reads regular file `id` from `offset` into `buffer`; returns the count (0
    /// at or past the end). Access time as Linux's relatime: moved when it is
    /// older than the last change.
    pub fn read(&mut self, id: NodeId, offset: u64, buffer: &mut [u8], now: Timespec) -> usize {
        self.read_with(id, offset, buffer.len(), now, |done, bytes| {
            buffer[done..done + bytes.len()].copy_from_slice(bytes);
            bytes.len()
        })
    }

    /// Reads up to `length` bytes of regular file `id` from `offset`, handing them
    /// to `sink` a page's piece at a time (with the count handed so far), as long
    /// as it takes all of each (it returns how many it took: user memory may
    /// refuse); returns the count taken. A hole reads as zeros.
    pub fn read_with(
        &mut self,
        id: NodeId,
        offset: u64,
        length: usize,
        now: Timespec,
        mut sink: impl FnMut(usize, &[u8]) -> usize,
    ) -> usize {
        const ZEROS: [u8; BLOCK_SIZE as usize] = [0; BLOCK_SIZE as usize];
        let node = self.node_mut(id);
        if node.atime.as_nanos() <= node.mtime.as_nanos().max(node.ctime.as_nanos()) {
            node.atime = now;
        }
        match &node.kind {
            NodeKind::File(Contents::Archive(bytes)) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
                let count = length.min(bytes.len() - start);
                sink(0, &bytes[start..start + count])
            }
            NodeKind::File(Contents::Pages { size, pages, .. }) => {
                let count = size.saturating_sub(offset).min(length as u64) as usize;
                let mut done = 0;
                while done < count {
                    let at = offset + done as u64;
                    let (index, within) = ((at / BLOCK_SIZE) as usize, (at % BLOCK_SIZE) as usize);
                    let piece = (BLOCK_SIZE as usize - within).min(count - done);
                    let bytes = match pages.get(index) {
                        Some(page) => &page.bytes()[within..within + piece],
                        None => &ZEROS[..piece],
                    };
                    let taken = sink(done, bytes);
                    done += taken;
                    if taken < piece {
                        break;
                    }
                }
                done
            }
            _ => 0,
        }
    }

    /// Hands `visit` pages `first..first + count` of regular file `id` in order,
    /// for a memory mapping, which shares them, as long as it returns true; the
    /// pages stop at the file's end. Archive contents are turned into pages first
    /// and holes get pages of zeros (ENOSPC when there are not enough).
    pub fn pages_for_mapping(
        &mut self,
        id: NodeId,
        first: u64,
        count: u64,
        mut visit: impl FnMut(&P) -> bool,
    ) -> Result<(), i64> {
        let end = first.saturating_add(count).min(self.size(id).div_ceil(BLOCK_SIZE));
        if first >= end {
            return Ok(());
        }
        self.materialize(id)?;
        let (first, end) = (first as usize, end as usize);
        let complete = matches!(&self.node(id).kind, NodeKind::File(Contents::Pages { pages, .. })
            if pages.range(first, end).count() == end - first);
        for index in (first..end).filter(|_| !complete) {
            let hole = match &self.node(id).kind {
                NodeKind::File(Contents::Pages { pages, .. }) => !pages.contains(index),
                _ => return Ok(()),
            };
            if !hole {
                continue;
            }
            let page = self.new_page().ok_or(ENOSPC)?;
            if let NodeKind::File(Contents::Pages { pages, .. }) = &mut self.node_mut(id).kind {
                pages.insert(index, page);
            }
        }
        if let NodeKind::File(Contents::Pages { pages, .. }) = &self.node(id).kind {
            for page in pages.range(first, end) {
                if !visit(page) {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Turns archive contents into pages, before a change: ENOSPC if there are not
    /// enough.
    fn materialize(&mut self, id: NodeId) -> Result<(), i64> {
        let Some(bytes) = self.archive_bytes(id) else { return Ok(()) };
        let mut pages = FilePages::default();
        for (index, chunk) in bytes.chunks(BLOCK_SIZE as usize).enumerate() {
            let mut page = self.new_page().ok_or(ENOSPC)?;
            page.bytes_mut()[..chunk.len()].copy_from_slice(chunk);
            pages.insert(index, page);
        }
        self.node_mut(id).kind = NodeKind::File(Contents::Pages { size: bytes.len() as u64, pages });
        Ok(())
    }

    /// A page for file data, within the limit; counted as used.
    fn new_page(&mut self) -> Option<P> {
        if self.pages_used >= self.page_limit {
            return None;
        }
        let page = P::zeroed()?;
        self.pages_used += 1;
        Some(page)
    }

    /// Writes `bytes` into regular file `id` at `offset`, growing it as needed;
    /// returns the count, short when the pages run out part-way (ENOSPC if not
    /// one byte fits), EFBIG at or past `MAX_FILE_SIZE`. mtime and ctime become
    /// `now`.
    pub fn write(&mut self, id: NodeId, offset: u64, bytes: &[u8], now: Timespec) -> Result<usize, i64> {
        self.write_with(id, offset, bytes.len(), now, |done, page| {
            page.copy_from_slice(&bytes[done..done + page.len()]);
            page.len()
        })
    }

    /// Writes up to `length` bytes into regular file `id` at `offset`, which
    /// `source` copies into the file a page's piece at a time (given the count so
    /// far; it returns how many it gave: user memory may refuse). As `write`: short
    /// when pages or `source` run out, ENOSPC if no page could be had for the
    /// first byte, EFBIG at or past `MAX_FILE_SIZE`.
    pub fn write_with(
        &mut self,
        id: NodeId,
        offset: u64,
        length: usize,
        now: Timespec,
        mut source: impl FnMut(usize, &mut [u8]) -> usize,
    ) -> Result<usize, i64> {
        if offset >= MAX_FILE_SIZE {
            return Err(EFBIG);
        }
        let count = (length as u64).min(MAX_FILE_SIZE - offset) as usize;
        self.materialize(id)?;
        let mut done = 0;
        let mut out_of_pages = false;
        while done < count {
            let at = offset + done as u64;
            let (index, within) = ((at / BLOCK_SIZE) as usize, (at % BLOCK_SIZE) as usize);
            let piece = (BLOCK_SIZE as usize - within).min(count - done);
            let missing = match &self.node(id).kind {
                NodeKind::File(Contents::Pages { pages, .. }) => !pages.contains(index),
                _ => return Err(EINVAL),
            };
            let new_page = if missing {
                match self.new_page() {
                    Some(page) => Some(page),
                    None => {
                        out_of_pages = true;
                        break;
                    }
                }
            } else {
                None
            };
            let NodeKind::File(Contents::Pages { size, pages }) = &mut self.node_mut(id).kind else {
                return Err(EINVAL);
            };
            let page = match new_page {
                Some(page) => pages.insert(index, page),
                None => pages.get_mut(index).expect("a page, present or just added"),
            };
            let given = source(done, &mut page.bytes_mut()[within..within + piece]);
            done += given;
            *size = (*size).max(at + given as u64);
            if given < piece {
                break;
            }
        }
        if done == 0 && out_of_pages {
            return Err(ENOSPC);
        }
        if done > 0 {
            let node = self.node_mut(id);
            (node.mtime, node.ctime) = (now, now);
        }
        Ok(done)
    }

    /// Sets regular file `id`'s size (truncate): pages past the end go back, the
    /// tail of the last one is zeroed, growth leaves a hole. EFBIG past
    /// `MAX_FILE_SIZE`; ENOSPC if archive contents cannot be copied into pages.
    pub fn truncate(&mut self, id: NodeId, length: u64, now: Timespec) -> Result<(), i64> {
        if length > MAX_FILE_SIZE {
            return Err(EFBIG);
        }
        if self.archive_bytes(id).is_some_and(|bytes| bytes.len() as u64 == length) {
            let node = self.node_mut(id);
            (node.mtime, node.ctime) = (now, now);
            return Ok(());
        }
        self.materialize(id)?;
        let NodeKind::File(Contents::Pages { size, pages }) = &mut self.node_mut(id).kind else {
            return Err(EINVAL);
        };
        let kept = length.div_ceil(BLOCK_SIZE) as usize;
        let freed = pages.truncate(kept);
        if let Some(page) = pages.get_mut(kept.wrapping_sub(1)) {
            let within = (length % BLOCK_SIZE) as usize;
            if within > 0 {
                page.bytes_mut()[within..].fill(0);
            }
        }
        *size = length;
        self.pages_used -= freed;
        let node = self.node_mut(id);
        (node.mtime, node.ctime) = (now, now);
        Ok(())
    }

    /// chmod: the permission bits become `mode`'s; ctime `now`.
    pub fn set_mode(&mut self, id: NodeId, mode: u32, now: Timespec) {
        let node = self.node_mut(id);
        node.mode = (node.mode & !MODE_BITS) | (mode & MODE_BITS);
        node.ctime = now;
    }

    /// chown: each of `uid` and `gid` changes unless None; ctime `now`.
    pub fn set_owner(&mut self, id: NodeId, uid: Option<u32>, gid: Option<u32>, now: Timespec) {
        let node = self.node_mut(id);
        node.uid = uid.unwrap_or(node.uid);
        node.gid = gid.unwrap_or(node.gid);
        node.ctime = now;
    }

    /// utimensat: each of the times changes unless None; ctime `now`.
    pub fn set_times(&mut self, id: NodeId, atime: Option<Timespec>, mtime: Option<Timespec>, now: Timespec) {
        let node = self.node_mut(id);
        node.atime = atime.unwrap_or(node.atime);
        node.mtime = mtime.unwrap_or(node.mtime);
        node.ctime = now;
    }

    /// Pages in use, the limit, and live nodes (statfs).
    pub fn usage(&self) -> Usage {
        Usage {
            pages_used: self.pages_used,
            page_limit: self.page_limit,
            nodes: self.nodes.len() - self.free_slots.len(),
        }
    }

    /// The absolute path of a node (getcwd, the target of /proc/self/exe): by
    /// its last name for a file with several, `(deleted)` added once it has none.
    pub fn path_of(&self, id: NodeId) -> String {
        let mut names: Vec<&[u8]> = Vec::new();
        let mut current = id;
        while current != ROOT {
            let parent = self.node(current).parent;
            let name = self
                .directory(parent)
                .and_then(|directory| directory.entries.iter().find(|(_, &(child, _))| child == current));
            match name {
                Some((name, _)) if parent != current => names.push(name),
                _ => {
                    let mut path = if names.is_empty() { String::from("/") } else { String::new() };
                    for name in names.iter().rev() {
                        path.push('/');
                        path.push_str(&String::from_utf8_lossy(name));
                    }
                    path.push_str(" (deleted)");
                    return path;
                }
            }
            current = parent;
        }
        if names.is_empty() {
            return String::from("/");
        }
        names.iter().rev().fold(String::new(), |mut path, name| {
            path.push('/');
            path.push_str(&String::from_utf8_lossy(name));
            path
        })
    }

    /// What `stat` reports for node `id` (see the module comment for the choices).
    /// Inlined: fstat makes the words it copies out straight from the node's
    /// fields, with no `Stat` between.
    #[inline]
    pub fn stat(&self, id: NodeId) -> Stat {
        let node = self.node(id);
        let (nlink, size, rdev, blocks) = match &node.kind {
            NodeKind::Directory(directory) => {
                let links = if node.links == 0 { 0 } else { 2 + directory.subdirectories };
                (links, BLOCK_SIZE, 0, BLOCK_SIZE / 512)
            }
            NodeKind::File(Contents::Archive(bytes)) => {
                (node.links, bytes.len() as u64, 0, (bytes.len() as u64).div_ceil(BLOCK_SIZE) * (BLOCK_SIZE / 512))
            }
            NodeKind::File(Contents::Pages { size, pages }) => {
                (node.links, *size, 0, pages.len() as u64 * (BLOCK_SIZE / 512))
            }
            NodeKind::Symlink(target) => (node.links, target.len() as u64, 0, 0),
            NodeKind::Device(device) => (node.links, 0, device.number(), 0),
        };
        Stat {
            dev: TREE_DEVICE,
            ino: node.inode,
            nlink,
            mode: node.mode,
            uid: node.uid,
            gid: node.gid,
            rdev,
            size: size as i64,
            blksize: BLOCK_SIZE as i64,
            blocks: blocks as i64,
            atime: node.atime,
            mtime: node.mtime,
            ctime: node.ctime,
        }
    }

    /// The entry at `position` of directory `directory` as `getdents64` lists it:
    /// `.` (0), `..` (1), then the entries in the order they were made (position
    /// 2 + cookie); None past the end (or for a node that is not a directory). The
    /// record's `next_offset` is where the listing goes on.
    pub fn directory_entry(&self, directory: NodeId, position: u64) -> Option<Dirent64<'_>> {
        let entries = self.directory(directory)?;
        let (name, id, next): (&[u8], NodeId, u64) = match position {
            0 => (b".", directory, 1),
            1 => (b"..", self.node(directory).parent, 2),
            _ => {
                let (&cookie, name) = entries.order.range(position - 2..).next()?;
                (name, entries.get(name)?, cookie + 3)
            }
        };
        let node = self.node(id);
        Some(Dirent64 { ino: node.inode, next_offset: next as i64, kind: dirent_type(node.mode), name })
    }

    /// The target of link `id` as `readlink` reports it: EINVAL when `id` is no
    /// link.
    pub fn link_target(&self, id: NodeId) -> Result<Vec<u8>, i64> {
        match &self.node(id).kind {
            NodeKind::Symlink(target) => Ok(target.clone()),
            _ => Err(EINVAL),
        }
    }
}

/// `resolve_or_below`'s failure for a path that goes on below the mount point
/// (no errno is this).
pub const CROSSES_MOUNT: i64 = i64::MIN;

/// Adds `components` to `path` (a path below the mount point): `.` left out,
/// `..` taking the last one off (none at the top: it stays there). Out of line:
/// `walk` rarely comes here.
#[cold]
#[inline(never)]
fn below_mount<'c>(path: &mut Vec<u8>, components: impl Iterator<Item = &'c [u8]>) {
    for component in components {
        match component {
            b"." => {}
            b".." => {
                let cut = path.iter().rposition(|&byte| byte == b'/').unwrap_or(0);
                path.truncate(cut);
            }
            name => {
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(name);
            }
        }
    }
}

/// A new, empty regular file's contents.
pub fn empty_file<'a, P>() -> NodeKind<'a, P> {
    NodeKind::File(Contents::Pages { size: 0, pages: FilePages::default() })
}

/// A new, empty directory.
pub fn empty_directory<'a, P>() -> NodeKind<'a, P> {
    NodeKind::Directory(Directory::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::errno::EINVAL;
    use crate::abi::{DT_CHR, DT_DIR, DT_LNK, DT_REG};
    use crate::cpio::{Header, Writer};
    use alloc::boxed::Box;
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

    /// A page of the host's heap; `PAGES_LEFT` bounds how many may exist.
    struct TestPage(Box<[u8; 4096]>);

    std::thread_local! {
        static PAGES_LEFT: core::cell::Cell<usize> = const { core::cell::Cell::new(usize::MAX) };
    }

    impl Page for TestPage {
        fn zeroed() -> Option<Self> {
            let left = PAGES_LEFT.get();
            if left == 0 {
                return None;
            }
            PAGES_LEFT.set(left - 1);
            Some(TestPage(Box::new([0; 4096])))
        }

        fn bytes(&self) -> &[u8] {
            &self.0[..]
        }

        fn bytes_mut(&mut self) -> &mut [u8] {
            &mut self.0[..]
        }
    }

    impl Drop for TestPage {
        fn drop(&mut self) {
            PAGES_LEFT.set(PAGES_LEFT.get().saturating_add(1));
        }
    }

    type Tree<'a> = super::Tree<'a, TestPage>;

    const BOOT: Timespec = Timespec { sec: 1000, nsec: 0 };
    const LATER: Timespec = Timespec { sec: 2000, nsec: 5 };

    fn from_archive(archive: &[u8]) -> Result<(Tree<'_>, usize), CpioError> {
        Tree::from_archive(archive, 64, BOOT)
    }

    fn with_tree(test: impl FnOnce(&mut Tree)) {
        let archive = archive();
        let (mut tree, files) = from_archive(&archive).unwrap();
        assert_eq!(files, 15);
        test(&mut tree);
    }

    fn at_root() -> Origin {
        Origin { start: ROOT }
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
            let from_etc = Origin { start: etc };
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
        let (tree, _) = from_archive(&archive).unwrap();
        assert_eq!(tree.resolve(at_root(), b"l39", true).map(|id| tree.path_of(id)), Ok("/target".to_string()));
        assert_eq!(tree.resolve(at_root(), b"l40", true), Err(ELOOP));
    }

    #[test]
    fn devices_and_the_proc_mount_point() {
        with_tree(|tree| {
            let mounted = |path: &str| Ok(Found::Mounted(path.as_bytes().to_vec()));
            assert_eq!(tree.lookup(at_root(), b"/proc/self/exe", true), mounted("self/exe"));
            assert_eq!(tree.lookup(at_root(), b"/proc/./1/../2/./fd/", false), mounted("2/fd/"));
            assert_eq!(tree.lookup(at_root(), b"/proc/./1/../2/./fd", false), mounted("2/fd"));
            assert_eq!(tree.lookup(at_root(), b"/proc/1/../..", true), mounted(""), ".. stays at the top");
            assert_eq!(tree.resolve(at_root(), b"/proc/self/exe", true), Err(ENOENT));
            let proc = tree.resolve(at_root(), b"/proc", true).unwrap();
            assert!(tree.is_mount_point(proc) && tree.is_directory(proc));
            assert_eq!(tree.lookup(Origin { start: proc }, b"1/stat", true), mounted("1/stat"), "relative to /proc");
            assert_eq!(
                tree.lookup(Origin { start: proc }, b"../etc/motd", true),
                tree.lookup(at_root(), b"/etc/motd", true)
            );
            assert_eq!(tree.resolve_parent(at_root(), b"/proc/1/new"), Err(ENOENT));
            let now = Timespec::default();
            assert_eq!(tree.create(proc, b"new", empty_file(), S_IFREG | 0o644, now), Err(ENOENT));
            assert_eq!(tree.create(proc, b"new", empty_directory(), S_IFDIR | 0o755, now), Err(ENOENT));
            let motd = tree.resolve(at_root(), b"/etc/motd", true).unwrap();
            tree.create(ROOT, b"fd", NodeKind::Symlink(b"/proc/self/fd".to_vec()), S_IFLNK | 0o777, now).unwrap();
            assert_eq!(tree.lookup(at_root(), b"/fd/3", true), mounted("self/fd/3"), "a link into /proc");
            assert_eq!(tree.lookup(at_root(), b"/dev/stderr", true), mounted("self/fd/2"));
            assert_eq!(tree.lookup(at_root(), b"/dev/fd/5", true), mounted("self/fd/5"));
            let stdin = tree.resolve(at_root(), b"/dev/stdin", false).unwrap();
            assert_eq!(tree.link_target(stdin), Ok(b"/proc/self/fd/0".to_vec()));
            let rel = tree.resolve(at_root(), b"/etc/rel", false).unwrap();
            assert_eq!(tree.link_target(rel), Ok(b"motd".to_vec()));
            assert_eq!(tree.link_target(motd), Err(EINVAL));
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
            assert_eq!(kinds.first(), Some(&(b"motd".to_vec(), DT_REG)), "in the order they were made");
            assert!(kinds.contains(&(b"abs".to_vec(), DT_LNK)));
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
        let (tree, _) = from_archive(&archive).unwrap();
        assert_eq!(tree.resolve(at_root(), b"/a/b", true), Err(ENOTDIR));
        assert_eq!(tree.stat(tree.resolve(at_root(), b"/d", true).unwrap()).mode, S_IFDIR | 0o755);
        let proc = tree.resolve(at_root(), b"/proc", false).unwrap();
        assert!(tree.is_mount_point(proc), "the mount point replaces the archive's file");
        let null = tree.resolve(at_root(), b"/dev/null", false).unwrap();
        assert_eq!(tree.stat(null).mode & S_IFMT, S_IFCHR, "the device replaces what the archive put there");
        assert!(from_archive(b"not an archive").is_err());
    }

    fn parent<'p>(tree: &Tree, path: &'p str) -> Parent<'p> {
        tree.resolve_parent(at_root(), path.as_bytes()).unwrap()
    }

    fn create_file(tree: &mut Tree, path: &str) -> NodeId {
        let parent = parent(tree, path);
        tree.create(parent.directory, parent.name, empty_file(), S_IFREG | 0o644, LATER).unwrap()
    }

    fn mkdir(tree: &mut Tree, path: &str) -> NodeId {
        let parent = parent(tree, path);
        tree.create(parent.directory, parent.name, empty_directory(), S_IFDIR | 0o755, LATER).unwrap()
    }

    fn contents(tree: &mut Tree, id: NodeId) -> Vec<u8> {
        let mut buffer = vec![0; tree.size(id) as usize + 10];
        let count = tree.read(id, 0, &mut buffer, LATER);
        buffer.truncate(count);
        buffer
    }

    #[test]
    fn resolve_parent_splits_the_last_name() {
        with_tree(|tree| {
            let etc = tree.resolve(at_root(), b"/etc", true).unwrap();
            let found = parent(tree, "/etc/new/");
            assert_eq!((found.directory, found.name, found.trailing_slash), (etc, &b"new"[..], true));
            assert_eq!(parent(tree, "/").name, b"");
            assert_eq!(parent(tree, "etc/dir/x").directory, tree.resolve(at_root(), b"/etc/sub", true).unwrap());
            assert_eq!(tree.resolve_parent(at_root(), b"/etc/motd/x").err(), Some(ENOTDIR));
            assert_eq!(tree.resolve_parent(at_root(), b"/nope/x").err(), Some(ENOENT));
            assert_eq!(tree.resolve_parent(at_root(), b"").err(), Some(ENOENT));
            let long = format!("/etc/{}", "n".repeat(256));
            assert_eq!(tree.resolve_parent(at_root(), long.as_bytes()).err(), Some(ENAMETOOLONG));
        });
    }

    #[test]
    fn files_are_written_read_truncated_and_use_pages() {
        with_tree(|tree| {
            let file = create_file(tree, "/etc/new");
            assert_eq!(tree.write(file, 0, b"hello", LATER), Ok(5));
            assert_eq!(tree.write(file, 8192 + 10, b"far", LATER), Ok(3));
            assert_eq!(tree.size(file), 8192 + 13);
            assert_eq!(tree.usage().pages_used, 2, "the hole in between takes no page");
            let data = contents(tree, file);
            assert_eq!(&data[..5], b"hello");
            assert!(data[5..8202].iter().all(|&byte| byte == 0));
            assert_eq!(tree.stat(file).blocks, 16);
            tree.truncate(file, 3, LATER).unwrap();
            assert_eq!(contents(tree, file), b"hel");
            assert_eq!(tree.usage().pages_used, 1);
            tree.truncate(file, 6, LATER).unwrap();
            assert_eq!(contents(tree, file), b"hel\0\0\0", "bytes past a shrink read as zeros after growing");
            assert_eq!(tree.write(file, MAX_FILE_SIZE, b"x", LATER), Err(EFBIG));
            let motd = tree.resolve(at_root(), b"/etc/motd", true).unwrap();
            assert!(tree.archive_bytes(motd).is_some());
            assert_eq!(tree.write(motd, 5, b"!", LATER), Ok(1));
            assert_eq!(tree.archive_bytes(motd), None, "changed: in pages now");
            assert_eq!(contents(tree, motd), b"hello!");
            assert_eq!(tree.stat(motd).mtime, LATER);
        });
    }

    #[test]
    fn a_dangling_link_chain_ends_where_o_creat_creates() {
        with_tree(|tree| {
            let dir = mkdir(tree, "/d");
            let link = |tree: &mut Tree, at: &str, target: &[u8]| {
                let parent = parent(tree, at);
                tree.create(parent.directory, parent.name, NodeKind::Symlink(target.to_vec()), 0o120777, LATER)
                    .unwrap();
            };
            link(tree, "/d/one", b"two");
            link(tree, "/d/two", b"/new");
            assert_eq!(tree.dangling_link_end(dir, b"one"), Ok((ROOT, b"new".to_vec())));
            link(tree, "/d/rel", b"../d/made");
            assert_eq!(tree.dangling_link_end(dir, b"rel"), Ok((dir, b"made".to_vec())));
            link(tree, "/d/slash", b"x/");
            assert_eq!(tree.dangling_link_end(dir, b"slash"), Err(EISDIR));
            link(tree, "/d/nodir", b"missing/x");
            assert_eq!(tree.dangling_link_end(dir, b"nodir"), Err(ENOENT));
            link(tree, "/d/loop", b"loop");
            assert_eq!(tree.dangling_link_end(dir, b"loop"), Err(ELOOP));
            create_file(tree, "/d/file");
            assert_eq!(tree.dangling_link_end(dir, b"file"), Err(ENOENT));
        });
    }

    #[test]
    fn a_file_is_written_or_executed_never_both() {
        with_tree(|tree| {
            let id = create_file(tree, "/prog");
            tree.begin_write(id).unwrap();
            tree.begin_write(id).unwrap();
            assert_eq!(tree.begin_execution(id), Err(ETXTBSY));
            tree.end_write(id);
            assert_eq!(tree.begin_execution(id), Err(ETXTBSY));
            tree.end_write(id);
            tree.begin_execution(id).unwrap();
            tree.begin_execution(id).unwrap();
            assert_eq!(tree.begin_write(id), Err(ETXTBSY));
            tree.end_execution(id);
            assert_eq!(tree.begin_write(id), Err(ETXTBSY));
            tree.end_execution(id);
            assert_eq!(tree.begin_write(id), Ok(()));
        });
    }

    #[test]
    fn pages_for_mappings_fill_holes_and_stop_at_the_end() {
        with_tree(|tree| {
            let id = create_file(tree, "/f");
            tree.write(id, 2 * BLOCK_SIZE + 5, b"end", LATER).unwrap();
            let used = tree.usage().pages_used;
            let mut seen = Vec::new();
            tree.pages_for_mapping(id, 0, 10, |page| {
                seen.push((page.bytes()[0], page.bytes()[5]));
                true
            })
            .unwrap();
            assert_eq!(seen, [(0, 0), (0, 0), (0, b'e')]);
            assert_eq!(tree.usage().pages_used, used + 2, "the holes got pages");
            seen.clear();
            tree.pages_for_mapping(id, 2, 1, |page| {
                seen.push((page.bytes()[0], page.bytes()[5]));
                false
            })
            .unwrap();
            assert_eq!(seen, [(0, b'e')]);
            tree.pages_for_mapping(id, 3, 1, |_| panic!("past the end")).unwrap();
            assert_eq!(contents(tree, id).len() as u64, 2 * BLOCK_SIZE + 8);
        });
    }

    #[test]
    fn a_write_far_into_a_file_takes_one_page() {
        with_tree(|tree| {
            let id = create_file(tree, "/sparse");
            let used = tree.usage().pages_used;
            // A TiB in, and just below the largest size: one page each, the hole
            // before them nothing (a page-indexed vector would take 2 GiB, 16 EiB).
            for offset in [1u64 << 40, MAX_FILE_SIZE - 3] {
                assert_eq!(tree.write(id, offset, b"far", LATER), Ok(3));
                assert_eq!(tree.size(id), offset + 3);
                let mut buffer = [1u8; 5];
                assert_eq!(tree.read(id, offset - 2, &mut buffer, LATER), 5);
                assert_eq!(&buffer, b"\0\0far");
            }
            assert_eq!(tree.usage().pages_used, used + 2);
            assert_eq!(tree.stat(id).blocks, 2 * (BLOCK_SIZE as i64 / 512));
            assert_eq!(tree.write(id, MAX_FILE_SIZE, b"x", LATER), Err(EFBIG));
            // A mapping of the far page finds it; truncating below it gives it back.
            let mut seen = Vec::new();
            tree.pages_for_mapping(id, (1 << 40) / BLOCK_SIZE, 1, |page| {
                seen.push(page.bytes()[0]);
                true
            })
            .unwrap();
            assert_eq!(seen, [b'f']);
            tree.truncate(id, (1 << 40) + 1, LATER).unwrap();
            assert_eq!(tree.usage().pages_used, used + 1);
            let mut buffer = [1u8; 3];
            assert_eq!(tree.read(id, 1 << 40, &mut buffer, LATER), 1);
            assert_eq!(buffer[0], b'f');
            tree.truncate(id, 0, LATER).unwrap();
            assert_eq!(tree.usage().pages_used, used);
        });
    }

    std::thread_local! {
        static SPARE_MEMORY: core::cell::Cell<usize> = const { core::cell::Cell::new(usize::MAX) };
    }

    #[test]
    fn names_stop_at_the_memory_the_kernel_can_spare() {
        with_tree(|tree| {
            tree.set_spare_memory(|| SPARE_MEMORY.get());
            let file = create_file(tree, "/file");
            let nodes = tree.usage().nodes;
            SPARE_MEMORY.set(0);
            let name = parent(tree, "/new");
            assert_eq!(tree.create(name.directory, name.name, empty_file(), S_IFREG, LATER), Err(ENOSPC));
            assert_eq!(tree.create(name.directory, name.name, empty_directory(), S_IFDIR, LATER), Err(ENOSPC));
            assert_eq!(tree.link(file, name.directory, name.name, LATER), Err(ENOSPC));
            let renamed = tree.rename(parent(tree, "/file"), parent(tree, "/new"), RenameFlags::default(), LATER);
            assert_eq!(renamed, Err(ENOMEM));
            assert_eq!(tree.usage().nodes, nodes, "nothing made");
            // A symlink's target counts: room for a name is not room for 4 KiB more.
            SPARE_MEMORY.set(NAME_OVERHEAD + 2 * name.name.len() + 100);
            let target = vec![b't'; 4000];
            assert_eq!(tree.create(name.directory, name.name, NodeKind::Symlink(target), S_IFLNK, LATER), Err(ENOSPC));
            tree.create(name.directory, name.name, NodeKind::Symlink(b"file".to_vec()), S_IFLNK, LATER).unwrap();
            // Taking names away needs no memory.
            SPARE_MEMORY.set(0);
            tree.unlink(parent(tree, "/new"), LATER).unwrap();
            tree.unlink(parent(tree, "/file"), LATER).unwrap();
            assert_eq!(tree.usage().nodes, nodes - 1);
            SPARE_MEMORY.set(usize::MAX);
            create_file(tree, "/again");
        });
    }

    #[test]
    fn pages_run_out_with_enospc_and_come_back() {
        let archive = archive();
        let (mut tree, _) = Tree::from_archive(&archive, 3, BOOT).unwrap();
        let file = create_file(&mut tree, "/big");
        let block = vec![7u8; 4096 * 2 + 100];
        assert_eq!(tree.write(file, 0, &block, LATER), Ok(4096 * 2 + 100));
        assert_eq!(tree.write(file, 3 * 4096, b"more", LATER), Err(ENOSPC), "the limit");
        let other = create_file(&mut tree, "/other");
        PAGES_LEFT.set(0);
        assert_eq!(tree.write(other, 0, b"x", LATER), Err(ENOSPC), "memory itself");
        PAGES_LEFT.set(usize::MAX);
        tree.unlink(parent(&tree, "/big"), LATER).unwrap();
        assert_eq!(tree.usage().pages_used, 0, "an unlinked file no one holds gives its pages back");
        assert_eq!(tree.write(other, 0, b"x", LATER), Ok(1));
    }

    #[test]
    fn an_unlinked_file_lives_while_held() {
        with_tree(|tree| {
            let file = create_file(tree, "/f");
            tree.write(file, 0, b"data", LATER).unwrap();
            tree.hold(file);
            tree.unlink(parent(tree, "/f"), LATER).unwrap();
            assert_eq!(tree.resolve(at_root(), b"/f", true), Err(ENOENT));
            assert_eq!(contents(tree, file), b"data");
            assert_eq!(tree.stat(file).nlink, 0);
            assert_eq!(tree.usage().pages_used, 1);
            let nodes = tree.usage().nodes;
            tree.release(file);
            assert_eq!((tree.usage().pages_used, tree.usage().nodes), (0, nodes - 1));
            let again = create_file(tree, "/g");
            assert_eq!(again, file, "the slot is reused");
            assert_ne!(tree.stat(again).ino, tree.stat(ROOT).ino);
        });
    }

    #[test]
    fn unlink_rmdir_and_link_errors() {
        with_tree(|tree| {
            let etc = parent(tree, "/etc");
            assert_eq!(tree.unlink(etc, LATER), Err(EISDIR));
            assert_eq!(tree.unlink(parent(tree, "/etc/."), LATER), Err(EISDIR));
            assert_eq!(tree.unlink(parent(tree, "/etc/motd/"), LATER), Err(ENOTDIR));
            assert_eq!(tree.unlink(parent(tree, "/etc/none"), LATER), Err(ENOENT));
            assert_eq!(tree.rmdir(etc, LATER), Err(ENOTEMPTY));
            assert_eq!(tree.rmdir(parent(tree, "/etc/."), LATER), Err(EINVAL));
            assert_eq!(tree.rmdir(parent(tree, "/etc/.."), LATER), Err(ENOTEMPTY));
            assert_eq!(tree.rmdir(parent(tree, "/"), LATER), Err(EBUSY));
            assert_eq!(tree.rmdir(parent(tree, "/etc/motd"), LATER), Err(ENOTDIR));
            let etc_id = tree.resolve(at_root(), b"/etc", true).unwrap();
            let before = tree.stat(etc_id).nlink;
            let sub2 = mkdir(tree, "/etc/sub2");
            assert_eq!(tree.stat(etc_id).nlink, before + 1, "2 + subdirectories");
            assert_eq!(tree.stat(etc_id).mtime, LATER, "a new entry changes the directory");
            tree.hold(sub2);
            tree.rmdir(parent(tree, "/etc/sub2/"), LATER).unwrap();
            assert_eq!(tree.stat(etc_id).nlink, before);
            assert_eq!(tree.stat(sub2).nlink, 0);
            let inside = Origin { start: sub2 };
            assert_eq!(tree.resolve(inside, b"..", true), Ok(sub2), "a removed directory has no parent");
            assert_eq!(tree.create(sub2, b"x", empty_file(), S_IFREG, LATER), Err(ENOENT));
            tree.release(sub2);
            let motd = tree.resolve(at_root(), b"/etc/motd", true).unwrap();
            tree.link(motd, ROOT, b"motd2", LATER).unwrap();
            assert_eq!(tree.stat(motd).nlink, 2);
            assert_eq!(tree.resolve(at_root(), b"/motd2", true), Ok(motd));
            assert_eq!(tree.link(motd, ROOT, b"motd2", LATER), Err(EEXIST));
            assert_eq!(tree.link(etc_id, ROOT, b"etc2", LATER), Err(EPERM));
            let name = "n".repeat(256);
            assert_eq!(tree.create(ROOT, name.as_bytes(), empty_file(), S_IFREG, LATER), Err(ENAMETOOLONG));
            assert_eq!(tree.create(ROOT, b"etc", empty_directory(), S_IFDIR, LATER), Err(EEXIST));
        });
    }

    #[test]
    fn rename_cases() {
        with_tree(|tree| {
            let plain = RenameFlags::default();
            let a = create_file(tree, "/a");
            let b = create_file(tree, "/b");
            tree.hold(b);
            tree.rename(parent(tree, "/a"), parent(tree, "/b"), plain, LATER).unwrap();
            assert_eq!(tree.resolve(at_root(), b"/b", true), Ok(a), "replaced in one step");
            assert_eq!(tree.resolve(at_root(), b"/a", true), Err(ENOENT));
            assert_eq!(tree.stat(b).nlink, 0, "the replaced file lives on while held");
            tree.release(b);
            let c = create_file(tree, "/c");
            let no_replace = RenameFlags { no_replace: true, exchange: false };
            assert_eq!(tree.rename(parent(tree, "/b"), parent(tree, "/c"), no_replace, LATER), Err(EEXIST));
            let exchange = RenameFlags { no_replace: false, exchange: true };
            tree.rename(parent(tree, "/b"), parent(tree, "/c"), exchange, LATER).unwrap();
            assert_eq!((tree.resolve(at_root(), b"/b", true), tree.resolve(at_root(), b"/c", true)), (Ok(c), Ok(a)));
            assert_eq!(tree.rename(parent(tree, "/b"), parent(tree, "/none"), exchange, LATER), Err(ENOENT));
            assert_eq!(tree.rename(parent(tree, "/etc"), parent(tree, "/etc/sub/x"), plain, LATER), Err(EINVAL));
            assert_eq!(tree.rename(parent(tree, "/etc"), parent(tree, "/etc"), plain, LATER), Ok(()), "onto itself");
            assert_eq!(tree.rename(parent(tree, "/etc"), parent(tree, "/b"), plain, LATER), Err(ENOTDIR));
            assert_eq!(tree.rename(parent(tree, "/b"), parent(tree, "/etc"), plain, LATER), Err(EISDIR));
            assert_eq!(tree.rename(parent(tree, "/bin"), parent(tree, "/etc"), plain, LATER), Err(ENOTEMPTY));
            assert_eq!(tree.rename(parent(tree, "/b"), parent(tree, "/x/"), plain, LATER), Err(ENOTDIR));
            assert_eq!(tree.rename(parent(tree, "/etc/."), parent(tree, "/y"), plain, LATER), Err(EBUSY));
            assert_eq!(tree.rename(parent(tree, "/none"), parent(tree, "/y"), plain, LATER), Err(ENOENT));
            let sub = tree.resolve(at_root(), b"/etc/sub", true).unwrap();
            let etc = tree.resolve(at_root(), b"/etc", true).unwrap();
            let links = (tree.stat(ROOT).nlink, tree.stat(etc).nlink);
            tree.rename(parent(tree, "/etc/sub"), parent(tree, "/moved"), plain, LATER).unwrap();
            assert_eq!((tree.stat(ROOT).nlink, tree.stat(etc).nlink), (links.0 + 1, links.1 - 1));
            assert_eq!(tree.resolve(Origin { start: sub }, b"..", true), Ok(ROOT));
            assert_eq!(tree.path_of(sub), "/moved");
            let empty = mkdir(tree, "/empty");
            tree.rename(parent(tree, "/moved"), parent(tree, "/empty"), plain, LATER).unwrap();
            assert_eq!(
                tree.resolve(at_root(), b"/empty/deeper", true).map(|id| tree.path_of(id)),
                Ok("/empty/deeper".to_string())
            );
            assert!(tree.nodes.get(empty).is_none_or(Option::is_none), "the empty directory replaced is gone");
            let prog = tree.resolve(at_root(), b"/bin/prog", true).unwrap();
            tree.link(prog, ROOT, b"prog2", LATER).unwrap();
            tree.rename(parent(tree, "/bin/prog"), parent(tree, "/prog2"), plain, LATER).unwrap();
            assert_eq!(tree.stat(prog).nlink, 2, "renaming onto another name of itself does nothing");
        });
    }

    #[test]
    fn listing_survives_removals() {
        with_tree(|tree| {
            let dir = mkdir(tree, "/d");
            for index in 0..10 {
                create_file(tree, &format!("/d/f{index}"));
            }
            let mut position = 0;
            let mut seen = Vec::new();
            while let Some(entry) = tree.directory_entry(dir, position) {
                let name = entry.name.to_vec();
                position = entry.next_offset as u64;
                if name.starts_with(b"f") {
                    tree.unlink(parent(tree, &format!("/d/{}", String::from_utf8(name.clone()).unwrap())), LATER)
                        .unwrap();
                }
                seen.push(name);
            }
            assert_eq!(seen.len(), 12, "every entry once, though each was removed as it was listed");
            assert_eq!(tree.directory_entry(dir, 2), None);
        });
    }

    #[test]
    fn times_owners_and_modes() {
        with_tree(|tree| {
            let file = create_file(tree, "/t");
            assert_eq!(tree.stat(file).ctime, LATER);
            let then = Timespec { sec: 3000, nsec: 0 };
            tree.set_mode(file, 0o4755 | S_IFDIR, then);
            assert_eq!(tree.stat(file).mode, S_IFREG | 0o4755, "the type never changes");
            tree.set_owner(file, Some(5), None, then);
            assert_eq!((tree.stat(file).uid, tree.stat(file).gid), (5, 0));
            let old = Timespec { sec: 10, nsec: 1 };
            tree.set_times(file, None, Some(old), then);
            assert_eq!((tree.stat(file).mtime, tree.stat(file).atime, tree.stat(file).ctime), (old, LATER, then));
        });
    }

    #[test]
    fn archive_metadata_and_hard_links() {
        let mut writer = Writer::new();
        let header = Header { inode: 5, mode: S_IFREG | 0o640, uid: 7, gid: 8, links: 2, mtime: 1234 };
        writer.add_entry("one", header, b"").unwrap();
        writer.add_entry("two", header, b"shared").unwrap();
        let archive = writer.finish();
        let (mut tree, files) = from_archive(&archive).unwrap();
        assert_eq!(files, 2);
        let one = tree.resolve(at_root(), b"/one", true).unwrap();
        assert_eq!(tree.resolve(at_root(), b"/two", true), Ok(one));
        let stat = tree.stat(one);
        assert_eq!((stat.nlink, stat.uid, stat.gid, stat.mtime.sec, stat.ctime), (2, 7, 8, 1234, BOOT));
        assert_eq!(contents(&mut tree, one), b"shared");
    }
}
