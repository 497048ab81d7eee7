//! A small, fast, deterministic hasher for the engine's lookup tables.
//!
//! The engine hashes short keys (ConnIDs, CallUUIDs, sequence numbers) once or twice per
//! event; SipHash's DoS protection buys nothing here, because the tables are never iterated
//! into output (lookups only) and the input is a log the user already trusts. This is the
//! well-known "Fx" multiply-rotate mix, written out plainly.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The multiply-rotate hasher.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

/// Longer keys are hashed on their length and last 16 bytes: the engine's long keys are
/// CallUUIDs, whose generator changes the tail (`...LAES000317`, `...LAES00031D`) and keeps
/// the head per server. Keys that differ only early still compare unequal; they share a
/// bucket chain, nothing worse.
const TAIL: usize = 16;

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let bytes = if bytes.len() > TAIL {
            self.add(bytes.len() as u64);
            &bytes[bytes.len() - TAIL..]
        } else {
            bytes
        };
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = HashMap<K, V, FxBuild>;
