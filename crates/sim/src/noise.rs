//! Noise a real log has, injected on purpose and counted, so a test can check that the
//! reader skips and counts exactly what was put in (tlog-format.md "Real-world noise"):
//! other server output between blocks, `[BSYNC]` copies of events, CRLF line ends, and
//! blocks cut short by a crash.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// What was injected, in total; written as `noise.json` next to the logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoiseManifest {
    /// Non-blank lines of other server output (SIP messages, trace lines, `$+` markers).
    pub foreign_lines: u64,
    /// `[BSYNC]` copies of events (same sequence number as the event they copy).
    pub bsync_events: u64,
    /// Files written with CRLF line ends.
    pub crlf_files: u64,
    /// Event blocks cut inside their user data (a crash): each is read as incomplete.
    pub cut_blocks: u64,
    /// The reader's problem counts these should produce, by problem label.
    pub expected_problems: BTreeMap<String, u64>,
}

impl NoiseManifest {
    pub fn add(&mut self, other: &NoiseManifest) {
        self.foreign_lines += other.foreign_lines;
        self.bsync_events += other.bsync_events;
        self.crlf_files += other.crlf_files;
        self.cut_blocks += other.cut_blocks;
        for (kind, count) in &other.expected_problems {
            *self.expected_problems.entry(kind.clone()).or_default() += count;
        }
    }
}

/// Chances per event, per thousand.
const FOREIGN_PER_MILLE: u64 = 30;
const BSYNC_PER_MILLE: u64 = 10;
const CUT_PER_MILLE: u64 = 100;

/// One site's noise decisions and counts.
#[derive(Debug, Clone)]
pub struct SiteNoise {
    rng: Rng,
    pub crlf: bool,
    pub counts: NoiseManifest,
}

impl SiteNoise {
    /// The noise of site `index`: the second site writes CRLF.
    pub fn new(seed: u64, index: usize) -> SiteNoise {
        SiteNoise {
            rng: Rng::new(seed ^ 0x0015_E000 ^ (index as u64).wrapping_mul(0x1000_0001)),
            crlf: index == 1,
            counts: NoiseManifest::default(),
        }
    }

    pub fn wants_bsync_copy(&mut self) -> bool {
        let copy = self.rng.per_mille(BSYNC_PER_MILLE);
        self.counts.bsync_events += u64::from(copy);
        copy
    }

    /// Whether to cut this user-data block (the caller only asks for cuttable ones).
    pub fn wants_cut(&mut self) -> bool {
        let cut = self.rng.per_mille(CUT_PER_MILLE);
        if cut {
            self.counts.cut_blocks += 1;
            *self.counts.expected_problems.entry("cut-block".to_string()).or_default() += 1;
        }
        cut
    }

    /// Other server output to put after an event, if any: lines that are neither headers,
    /// events nor attributes, so the reader counts each non-blank one as foreign.
    pub fn foreign_text(&mut self, clock: &str, serial: u64) -> Option<String> {
        if !self.rng.per_mille(FOREIGN_PER_MILLE) {
            return None;
        }
        let text = match self.rng.below(3) {
            0 => sip_message(clock, serial),
            1 => format!("{clock} Trc 04110 option sip-link-timeout changed to 30\n{clock}: $+TLIB:CTI:Unknown:0:{serial}\n\n"),
            _ => format!("{clock}: SIPCONN({serial}): connection 10.10.2.{}:5060 keep-alive\n\n", serial % 250),
        };
        self.counts.foreign_lines += text.lines().filter(|line| !line.trim().is_empty()).count() as u64;
        Some(text)
    }
}

fn sip_message(clock: &str, serial: u64) -> String {
    format!(
        "{clock}: Sending  [0,UDP] 412 bytes to 10.10.2.30:5060 >>>>>\n\
         SIP/2.0 200 OK\n\
         Via: SIP/2.0/UDP 10.10.2.30:5060;branch=z9hG4bK-{serial:x}\n\
         Call-ID: {serial:016x}-sbc@10.10.2.30\n\
         CSeq: 1 INVITE\n\
         Content-Length: 0\n\n"
    )
}

/// Cuts a rendered event block inside its user data: the lines up to and including the
/// list's first pair are kept, the rest is lost, and the block ends. `None` when the block
/// has no user data list with at least two pairs.
pub fn cut_block(block: &[u8]) -> Option<Vec<u8>> {
    let start = memchr::memmem::find(block, b"\n\tAttributeUserData\t")? + 1;
    let header_end = start + memchr::memchr(b'\n', &block[start..])?;
    let first_pair_end = header_end + 1 + memchr::memchr(b'\n', &block[header_end + 1..])?;
    let rest = &block[first_pair_end + 1..];
    if !rest.starts_with(b"\t\t") {
        return None;
    }
    let mut cut = block[..=first_pair_end].to_vec();
    cut.push(b'\n');
    Some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_keeps_the_first_pair_and_ends_the_block() {
        let block = b"@10:00:00.0000 [0] 8.1 distribute_event: message EventAttachedDataChanged\n\tAttributeConnID\t0090021843030001\n\tAttributeUserData\t[40] 00 02 00 00..\n\t\t'a'\t'1'\n\t\t'b'\t'2'\n\n";
        let cut = cut_block(block).unwrap_or_default();
        let text = String::from_utf8_lossy(&cut);
        assert!(text.ends_with("'a'\t'1'\n\n"), "{text}");
        assert!(!text.contains("'b'"));
        assert_eq!(cut_block(b"@10:00:00.0000 [0] message EventRinging\n\tAttributeConnID\t01\n\n"), None);
    }
}
