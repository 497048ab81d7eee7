//! Where a run's files go: a directory on disk, or memory (tests generate whole sets without
//! touching the disk). Files are named by the writer; storage only opens them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::SimError;

/// Opens output files by name.
pub trait Storage {
    fn open(&mut self, name: &str) -> Result<Box<dyn Write>, SimError>;
}

/// Files in a directory (created if missing).
pub struct DirStorage {
    dir: PathBuf,
}

impl DirStorage {
    pub fn new(dir: &Path) -> Result<DirStorage, SimError> {
        std::fs::create_dir_all(dir).map_err(SimError::at(dir))?;
        Ok(DirStorage { dir: dir.to_path_buf() })
    }
}

impl Storage for DirStorage {
    fn open(&mut self, name: &str) -> Result<Box<dyn Write>, SimError> {
        let path = self.dir.join(name);
        let file = File::create(&path).map_err(SimError::at(&path))?;
        Ok(Box::new(BufWriter::with_capacity(1 << 20, file)))
    }
}

/// Files kept in memory, readable after the run.
#[derive(Default)]
pub struct MemoryStorage {
    files: BTreeMap<String, Rc<RefCell<Vec<u8>>>>,
}

impl MemoryStorage {
    pub fn new() -> MemoryStorage {
        MemoryStorage::default()
    }

    /// Every file written, by name.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        self.files.iter().map(|(name, bytes)| (name.clone(), bytes.borrow().clone())).collect()
    }

    /// One file's bytes.
    pub fn file(&self, name: &str) -> Option<Vec<u8>> {
        self.files.get(name).map(|bytes| bytes.borrow().clone())
    }
}

impl Storage for MemoryStorage {
    fn open(&mut self, name: &str) -> Result<Box<dyn Write>, SimError> {
        let buffer = Rc::new(RefCell::new(Vec::new()));
        self.files.insert(name.to_string(), Rc::clone(&buffer));
        Ok(Box::new(SharedBuffer(buffer)))
    }
}

struct SharedBuffer(Rc<RefCell<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
