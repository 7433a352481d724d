//! Addresses to names: an ELF's symbol table (the `object` crate), and for the
//! kernel its DWARF line table (`addr2line`), which gives file:line.

use std::path::Path;

use object::{Object, ObjectSymbol, SymbolKind};

use super::{repository, Source};

/// The code symbols of one ELF file, and its line table when it has one.
pub struct Symbols {
    /// (address, size, demangled name), by address.
    symbols: Vec<(u64, u64, String)>,
    lines: Option<addr2line::Loader>,
}

impl Symbols {
    /// Reads `path`'s symbols; with `lines`, also its DWARF line table.
    pub fn open(path: &Path, lines: bool) -> Result<Symbols, String> {
        let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file = object::File::parse(&*data).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut symbols: Vec<(u64, u64, String)> = file
            .symbols()
            .filter(|symbol| matches!(symbol.kind(), SymbolKind::Text | SymbolKind::Unknown) && symbol.address() != 0)
            .filter_map(|symbol| {
                let name = symbol.name().ok().filter(|name| !name.is_empty() && !name.starts_with('.'))?;
                Some((symbol.address(), symbol.size(), format!("{:#}", rustc_demangle::demangle(name))))
            })
            .collect();
        // Sized symbols first at an address, so that a label never hides its function.
        symbols.sort_by_key(|(address, size, _)| (*address, *size == 0));
        symbols.dedup_by_key(|(address, _, _)| *address);
        let lines = if lines { addr2line::Loader::new(path).ok() } else { None };
        Ok(Symbols { symbols, lines })
    }

    /// Knows no symbol (for a file that could not be read).
    pub fn empty() -> Symbols {
        Symbols { symbols: Vec::new(), lines: None }
    }

    /// The symbol containing `address`, and the offset into it: the last symbol at
    /// or below it, if its size (when it has one) covers the address.
    pub fn symbol(&self, address: u64) -> Option<(&str, u64)> {
        let index = self.symbols.partition_point(|(start, _, _)| *start <= address).checked_sub(1)?;
        let (start, size, name) = &self.symbols[index];
        let offset = address - start;
        (*size == 0 || offset < *size).then_some((name.as_str(), offset))
    }

    /// The address of the symbol named `name`.
    pub fn address_of(&self, name: &str) -> Option<u64> {
        self.symbols.iter().find(|(_, _, symbol)| symbol == name).map(|(address, _, _)| *address)
    }

    /// The source line of `address`, from the line table, its path relative to the
    /// repository when it lies there. For code inlined there, the line in the
    /// function the address belongs to (the outermost frame), where the call was.
    pub fn location(&self, address: u64) -> Option<Source> {
        let mut frames = self.lines.as_ref()?.find_frames(address).ok()?;
        let mut outermost = None;
        while let Ok(Some(frame)) = frames.next() {
            outermost = frame.location.or(outermost);
        }
        let location = outermost?;
        let file = location.file?;
        let root = repository();
        let path = Path::new(file).strip_prefix(root).map_or_else(|_| file.to_string(), |p| p.display().to_string());
        let what = self.symbol(address).map_or_else(|| format!("{address:#x}"), |(name, _)| name.to_string());
        Some(Source { path, line: location.line, what })
    }

    /// `address` for people: `0x401000 (_start)`, `0x... (name+0x10)`, with the
    /// source line when the line table has it.
    pub fn describe(&self, address: u64) -> String {
        let mut text = format!("{address:#x}");
        if let Some((name, offset)) = self.symbol(address) {
            text += &if offset == 0 { format!(" ({name}") } else { format!(" ({name}+{offset:#x}") };
            if let Some(source) = self.location(address).filter(|source| source.line.is_some()) {
                text += &format!(", {}:{}", source.path, source.line.unwrap_or(0));
            }
            text.push(')');
        }
        text
    }
}
