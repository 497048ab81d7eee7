//! The `--scale` path: gigabytes of log quickly, for benchmarks.
//!
//! A pool of interactions is simulated once and rendered per site with the ordinary writer.
//! The rendered bytes become a template with the position of every value that must change
//! from copy to copy: the `@` clock, the sequence number, the time stamp, every ConnID and
//! every CallUUID / link id counter. Each copy is one `memcpy` of the template plus those
//! fixed-width patches, shifted in time by the pool's span, with fresh ids; so the output
//! parses exactly like the pool (the tests check it) at memory speed.

use std::io::Write;

use crate::config::{OutputFormat, SimConfig};
use crate::ids::{conn_counter_mask, counter_of, set_counter, LINK_PREFIX};
use crate::storage::{MemoryStorage, Storage};
use crate::writer::header_for;
use crate::SimError;

/// Settings of a scale run.
#[derive(Debug, Clone)]
pub struct ScaleConfig {
    pub sites: usize,
    /// Stop once this many bytes of log are written (whole pool copies).
    pub target_bytes: u64,
    pub seed: u64,
    pub segment_bytes: u64,
    /// Interactions simulated for the pool that is copied.
    pub pool_interactions: u64,
}

impl Default for ScaleConfig {
    fn default() -> Self {
        ScaleConfig {
            sites: 4,
            target_bytes: 1 << 30,
            seed: 1,
            segment_bytes: 256 << 20,
            pool_interactions: 2_000,
        }
    }
}

/// What a scale run wrote.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ScaleSummary {
    pub bytes: u64,
    pub events: u64,
    pub interactions: u64,
    pub copies: u64,
    pub files: Vec<String>,
}

/// A value to rewrite in each copy, at a byte offset of the template.
#[derive(Debug, Clone, Copy)]
enum Patch {
    /// `HH:MM:SS.ffff`: local microseconds of the day.
    Clock(i64),
    /// 16 hex digits of the sequence number.
    Seq(u64),
    /// 16 hex digits: seconds then microseconds, UTC.
    Stamp(i64),
    /// 16 hex digits of a ConnID.
    Conn(u64),
    /// The 10-character base-32 counter at the end of a CallUUID or link id.
    Counter(u64),
}

/// One site's template: the pool's event blocks and what to patch in them.
struct Template {
    body: Vec<u8>,
    patches: Vec<(usize, Patch)>,
    events: u64,
    first_time: i64,
}

/// How far apart copies are in ids.
const ID_STRIDE: u64 = 1 << 24;
/// The common middle of every simulated CallUUID (see `ids::uuid_prefix`).
const UUID_MARK: &[u8] = b"P30KH7088L1IC08GB82";
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Writes at least `config.target_bytes` of log into `storage`.
pub fn simulate_scale(config: &ScaleConfig, storage: &mut dyn Storage) -> Result<ScaleSummary, SimError> {
    let pool_config = SimConfig {
        sites: config.sites,
        interactions: Some(config.pool_interactions.max(1)),
        seed: config.seed,
        segment_bytes: u64::MAX,
        format: OutputFormat::Log,
        // Short calls only: the pool's span sets how far apart copies are, and the scale
        // output stays what the benchmarks in docs/benchmarks.md were measured on.
        long_calls_per_mille: 0,
        ..SimConfig::default()
    };
    pool_config.validate()?;
    let mut pool = MemoryStorage::new();
    let pool_summary = crate::run::simulate(&pool_config, &mut pool)?;
    let center = crate::center::ContactCenter::for_seed(config.sites, config.seed);
    let templates: Vec<Template> = center
        .sites
        .iter()
        .map(|site| {
            let prefix = format!("{}-", site.application);
            let name = pool_summary.files.iter().find(|name| name.starts_with(&prefix));
            template(&name.and_then(|name| pool.file(name)).unwrap_or_default())
        })
        .collect();
    let period = pool_period(&templates);
    let mut writers: Vec<ScaleWriter> = center
        .sites
        .iter()
        .map(|site| ScaleWriter { site: site.clone(), out: None, written: 0, segment: 0 })
        .collect();
    let mut summary = ScaleSummary::default();
    let mut buffer = Vec::new();
    while summary.bytes < config.target_bytes {
        let copy = summary.copies;
        for (writer, template) in writers.iter_mut().zip(&templates) {
            render_copy(template, copy, period, &mut buffer);
            let shifted_start = template.first_time + copy as i64 * period;
            summary.bytes +=
                writer.write(&buffer, shifted_start, config.segment_bytes, storage, &mut summary.files)?;
            summary.events += template.events;
        }
        summary.copies += 1;
        summary.interactions += pool_summary.interactions;
    }
    for writer in &mut writers {
        if let Some(mut out) = writer.out.take() {
            out.flush()?;
        }
    }
    Ok(summary)
}

/// Copies are this many microseconds apart: the pool's span plus a minute, in whole ms.
fn pool_period(templates: &[Template]) -> i64 {
    let mut first = i64::MAX;
    let mut last = i64::MIN;
    for template in templates {
        for (_, patch) in &template.patches {
            if let Patch::Stamp(time) = patch {
                first = first.min(*time);
                last = last.max(*time);
            }
        }
    }
    let span = if last >= first { last - first } else { 0 };
    (span + 60_000_000) / 1000 * 1000
}

struct ScaleWriter {
    site: crate::center::Site,
    out: Option<Box<dyn Write>>,
    written: u64,
    segment: u32,
}

impl ScaleWriter {
    /// Writes one copy, rotating first if the segment is full; returns the bytes written.
    fn write(
        &mut self,
        bytes: &[u8],
        server_time: i64,
        segment_bytes: u64,
        storage: &mut dyn Storage,
        files: &mut Vec<String>,
    ) -> Result<u64, SimError> {
        let mut extra = 0;
        if self.out.is_none() || self.written >= segment_bytes {
            extra = self.rotate(server_time, storage, files)?;
        }
        let Some(out) = self.out.as_mut() else { return Ok(extra) };
        out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(extra + bytes.len() as u64)
    }

    fn rotate(
        &mut self,
        server_time: i64,
        storage: &mut dyn Storage,
        files: &mut Vec<String>,
    ) -> Result<u64, SimError> {
        if let Some(mut out) = self.out.take() {
            out.flush()?;
        }
        self.segment += 1;
        let local = server_time + self.site.utc_offset_minutes * 60_000_000;
        let stamp = callstitch_tlib::Timestamp(local).to_string();
        let digits: String = stamp.chars().filter(char::is_ascii_digit).take(17).collect();
        let name = format!(
            "{}-{:04}.{}_{}_{}.log",
            self.site.application,
            self.segment,
            &digits[..8.min(digits.len())],
            digits.get(8..14).unwrap_or("000000"),
            digits.get(14..17).unwrap_or("000")
        );
        let mut out = storage.open(&name)?;
        let mut header = Vec::new();
        callstitch_tlib::tlog::LogWriter::new(&mut header).write_header(&header_for(
            &self.site,
            server_time,
            &name,
            self.segment,
        ))?;
        out.write_all(&header)?;
        files.push(name);
        self.out = Some(out);
        self.written = header.len() as u64;
        Ok(header.len() as u64)
    }
}

/// Builds a site's template from its pool log: the body after the header, and every value
/// to patch with its original value.
fn template(log: &[u8]) -> Template {
    let body_start = memchr::memmem::find(log, b"\n@").map_or(log.len(), |at| at + 1);
    let body = log[body_start..].to_vec();
    let mut patches = Vec::new();
    let mut events = 0;
    let mut first_time = i64::MAX;
    let mut line_start = 0;
    for line_end in memchr::memchr_iter(b'\n', &body) {
        let line = &body[line_start..line_end];
        if line.first() == Some(&b'@') {
            events += 1;
            if let Some(clock) = read_clock(line.get(1..14).unwrap_or_default()) {
                patches.push((line_start + 1, Patch::Clock(clock)));
            }
        } else if let Some((at, patch)) = attribute_patch(line) {
            if let Patch::Stamp(time) = patch {
                first_time = first_time.min(time);
            }
            patches.push((line_start + at, patch));
        }
        line_start = line_end + 1;
    }
    for mark in [UUID_MARK, &LINK_PREFIX.as_bytes()[4..]] {
        for at in memchr::memmem::find_iter(&body, mark) {
            let id_end = at + mark.len() + crate::ids::COUNTER_DIGITS;
            if let Some(counter) = body.get(id_end - crate::ids::COUNTER_DIGITS..id_end).and_then(counter_of)
            {
                patches.push((id_end - crate::ids::COUNTER_DIGITS, Patch::Counter(counter)));
            }
        }
    }
    patches.sort_by_key(|(offset, _)| *offset);
    let first_time = if first_time == i64::MAX { 0 } else { first_time };
    Template { body, patches, events, first_time }
}

/// The patch for an attribute line holding a sequence number, time stamp or ConnID.
fn attribute_patch(line: &[u8]) -> Option<(usize, Patch)> {
    let rest = line.strip_prefix(b"\tAttribute")?;
    let tab = memchr::memchr(b'\t', rest)?;
    let name = &rest[..tab];
    let value_at = b"\tAttribute".len() + tab + 1;
    let value = line.get(value_at..value_at + 16)?;
    if line.len() != value_at + 16 {
        return None;
    }
    let number = u64::from_str_radix(std::str::from_utf8(value).ok()?, 16).ok()?;
    let patch = match name {
        b"EventSequenceNumber" => Patch::Seq(number),
        b"TimeStamp" => Patch::Stamp(((number >> 32) * 1_000_000 + (number & 0xFFFF_FFFF)) as i64),
        name if name.ends_with(b"ConnID") => Patch::Conn(number),
        _ => return None,
    };
    Some((value_at, patch))
}

fn read_clock(text: &[u8]) -> Option<i64> {
    callstitch_tlib::LocalTime::parse_clock(text)
}

/// Renders copy `copy` of `template` into `out`.
fn render_copy(template: &Template, copy: u64, period: i64, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&template.body);
    let shift = copy as i64 * period;
    let seq_shift = copy * template.events;
    for (offset, patch) in &template.patches {
        let Some(slot) = out.get_mut(*offset..) else { continue };
        match *patch {
            Patch::Clock(micros) => write_clock(slot, (micros + shift).rem_euclid(MICROS_PER_DAY)),
            Patch::Seq(seq) => write_hex(slot, seq + seq_shift),
            Patch::Stamp(time) => {
                let time = time + shift;
                write_hex(slot, ((time / 1_000_000) as u64) << 32 | (time % 1_000_000) as u64);
            }
            Patch::Conn(conn) => {
                let counter = (conn & conn_counter_mask()) + copy * ID_STRIDE;
                write_hex(slot, (conn & !conn_counter_mask()) | (counter & conn_counter_mask()));
            }
            Patch::Counter(counter) => {
                let digits = crate::ids::COUNTER_DIGITS.min(slot.len());
                set_counter(&mut slot[..digits], counter + copy * ID_STRIDE);
            }
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn write_hex(slot: &mut [u8], mut value: u64) {
    for index in (0..16.min(slot.len())).rev() {
        slot[index] = HEX[(value & 0xF) as usize];
        value >>= 4;
    }
}

/// `HH:MM:SS.ffff` (four fraction digits: the writer rounds clocks to 100 µs).
fn write_clock(slot: &mut [u8], micros: i64) {
    if slot.len() < 13 {
        return;
    }
    let seconds = micros / 1_000_000;
    let fraction = (micros % 1_000_000) / 100;
    let digits = [
        seconds / 36_000 % 10,
        seconds / 3600 % 10,
        seconds / 600 % 6,
        seconds / 60 % 10,
        seconds % 60 / 10,
        seconds % 10,
        fraction / 1000,
        fraction / 100 % 10,
        fraction / 10 % 10,
        fraction % 10,
    ];
    let positions = [0, 1, 3, 4, 6, 7, 9, 10, 11, 12];
    for (position, digit) in positions.iter().zip(digits) {
        slot[*position] = b'0' + digit as u8;
    }
}
