//! One site's output: what its server would write. Each event gets the server's next
//! sequence number, its time stamp on the server's (skewed) clock and the local `@` clock;
//! events go to log segments that rotate by size and repeat the header, or to JSON lines.
//! Noise is injected here, and counted.

use std::io::Write;

use callstitch_tlib::json::write_json_line;
use callstitch_tlib::tlog::{Header, LogWriter};
use callstitch_tlib::{Event, LocalTime, LogDate, Message, Text, Timestamp};

use crate::center::{Site, SiteKind};
use crate::config::OutputFormat;
use crate::noise::{cut_block, SiteNoise};
use crate::storage::Storage;
use crate::SimError;

const MICROS_PER_DAY: i64 = 86_400_000_000;
const MICROS_PER_MINUTE: i64 = 60_000_000;

/// A site's writer.
pub struct SiteWriter {
    site: Site,
    format: OutputFormat,
    segment_bytes: u64,
    seq: u64,
    segment: u32,
    out: Option<Box<dyn Write>>,
    written: u64,
    noise: Option<SiteNoise>,
    flush_each: bool,
    scratch: Vec<u8>,
    pub events: u64,
    pub bytes: u64,
    pub files: Vec<String>,
}

impl SiteWriter {
    pub fn new(
        site: Site,
        format: OutputFormat,
        segment_bytes: u64,
        noise: Option<SiteNoise>,
        flush_each: bool,
    ) -> SiteWriter {
        let seq = 0x1_0000 * (site.index as u64 + 1) + 0x7726;
        SiteWriter {
            site,
            format,
            segment_bytes,
            seq,
            segment: 0,
            out: None,
            written: 0,
            noise,
            flush_each,
            scratch: Vec::with_capacity(4096),
            events: 0,
            bytes: 0,
            files: Vec::new(),
        }
    }

    pub fn noise(&self) -> Option<&SiteNoise> {
        self.noise.as_ref()
    }

    /// Stamps `event` as this server would (sequence number, time stamp, clock) for true
    /// time `time`, and writes it.
    pub fn write(&mut self, mut event: Event, time: i64, storage: &mut dyn Storage) -> Result<(), SimError> {
        let server_time = time + self.site.skew_micros;
        self.stamp(&mut event, server_time);
        if self.out.is_none() || self.written >= self.segment_bytes {
            self.rotate(server_time, storage)?;
        }
        match self.format {
            OutputFormat::Log => self.write_log_event(&event)?,
            OutputFormat::JsonLines => {
                self.scratch.clear();
                write_json_line(&mut self.scratch, &event)?;
                self.emit_scratch()?;
            }
        }
        self.events += 1;
        if self.flush_each {
            if let Some(out) = self.out.as_mut() {
                out.flush()?;
            }
        }
        Ok(())
    }

    fn stamp(&mut self, event: &mut Event, server_time: i64) {
        event.seq = Some(self.seq);
        self.seq += 1;
        event.timestamp = Some(Timestamp(server_time));
        let local = server_time + self.site.utc_offset_minutes * MICROS_PER_MINUTE;
        let clock = (local - local.rem_euclid(100)).rem_euclid(MICROS_PER_DAY);
        event.clock = Some(LocalTime { date: None, micros_of_day: clock });
        event.server_version = Some(Text::from(self.site.version.as_str()));
    }

    fn write_log_event(&mut self, event: &Event) -> Result<(), SimError> {
        self.scratch.clear();
        LogWriter::new(&mut self.scratch).write_event(event)?;
        let cuttable = event.message == Message::EventAttachedDataChanged
            && event.user_data.as_ref().is_some_and(|data| data.len() >= 2);
        if cuttable && self.noise.as_mut().is_some_and(SiteNoise::wants_cut) {
            if let Some(cut) = cut_block(&self.scratch) {
                self.scratch = cut;
            }
        }
        self.emit_scratch()?;
        if self.noise.as_mut().is_some_and(SiteNoise::wants_bsync_copy) {
            let mut copy = event.clone();
            copy.bsync = true;
            self.scratch.clear();
            LogWriter::new(&mut self.scratch).write_event(&copy)?;
            self.emit_scratch()?;
        }
        let clock = event.clock.map(|clock| clock.clock_text()).unwrap_or_default();
        let serial = self.seq;
        if let Some(text) = self.noise.as_mut().and_then(|noise| noise.foreign_text(&clock, serial)) {
            self.scratch.clear();
            self.scratch.extend_from_slice(text.as_bytes());
            self.emit_scratch()?;
        }
        Ok(())
    }

    /// Writes the scratch buffer to the open segment (CRLF-converted on a CRLF site).
    fn emit_scratch(&mut self) -> Result<(), SimError> {
        let crlf = self.noise.as_ref().is_some_and(|noise| noise.crlf);
        let Some(out) = self.out.as_mut() else { return Ok(()) };
        if crlf {
            let mut converted = Vec::with_capacity(self.scratch.len() + 64);
            for byte in &self.scratch {
                if *byte == b'\n' {
                    converted.push(b'\r');
                }
                converted.push(*byte);
            }
            out.write_all(&converted)?;
            self.written += converted.len() as u64;
            self.bytes += converted.len() as u64;
        } else {
            out.write_all(&self.scratch)?;
            self.written += self.scratch.len() as u64;
            self.bytes += self.scratch.len() as u64;
        }
        Ok(())
    }

    /// Closes the current segment and opens the next one (with its header, for logs).
    fn rotate(&mut self, server_time: i64, storage: &mut dyn Storage) -> Result<(), SimError> {
        if let Some(mut out) = self.out.take() {
            out.flush()?;
        }
        self.segment += 1;
        self.written = 0;
        let name = self.segment_name(server_time);
        self.out = Some(storage.open(&name)?);
        self.files.push(name.clone());
        if let Some(noise) = self.noise.as_mut() {
            noise.counts.crlf_files += u64::from(noise.crlf);
        }
        if self.format == OutputFormat::Log {
            self.scratch.clear();
            LogWriter::new(&mut self.scratch).write_header(&header_for(
                &self.site,
                server_time,
                &name,
                self.segment,
            ))?;
            self.emit_scratch()?;
        }
        Ok(())
    }

    fn segment_name(&self, server_time: i64) -> String {
        let app = &self.site.application;
        match self.format {
            OutputFormat::JsonLines => format!("{app}-{:04}.jsonl", self.segment),
            OutputFormat::Log => {
                let local = server_time + self.site.utc_offset_minutes * MICROS_PER_MINUTE;
                format!("{app}-{:04}.{}.log", self.segment, file_stamp(local))
            }
        }
    }

    /// Flushes and closes the open segment.
    pub fn close(&mut self) -> Result<(), SimError> {
        if let Some(mut out) = self.out.take() {
            out.flush()?;
        }
        Ok(())
    }
}

/// The header a server writes at the top of each segment: its name and the UTC and local
/// time of the segment's start on its own clock.
pub fn header_for(site: &Site, server_time: i64, name: &str, segment: u32) -> Header {
    let utc = server_time - server_time.rem_euclid(1000);
    let local = utc + site.utc_offset_minutes * MICROS_PER_MINUTE;
    let application_type = match site.kind {
        SiteKind::TServer => "TServer (1)",
        SiteKind::SipServer => "SIPServer (1)",
    };
    let seconds_west = -site.utc_offset_minutes * 60;
    Header {
        application_name: Some(site.application.clone()),
        application_type: Some(application_type.to_string()),
        host_name: Some(site.host.clone()),
        time_zone: Some(format!("{seconds_west}, {zone}, {zone}", zone = site.time_zone_name)),
        utc_time: Some(dated(utc)),
        local_time: Some(dated(local)),
        file: Some(format!("({segment}) /gcti_logs/{}/{name}", site.application)),
    }
}

fn dated(micros: i64) -> LocalTime {
    LocalTime {
        date: LogDate::from_midnight_micros(micros - micros.rem_euclid(MICROS_PER_DAY)),
        micros_of_day: micros.rem_euclid(MICROS_PER_DAY),
    }
}

/// `YYYYMMDD_HHMMSS_mmm` of a local time, as rotated Genesys log names carry.
fn file_stamp(local: i64) -> String {
    let text = Timestamp(local).to_string();
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    match (digits.get(..8), digits.get(8..14), digits.get(14..17)) {
        (Some(date), Some(time), Some(millis)) => format!("{date}_{time}_{millis}"),
        _ => "00000000_000000_000".to_string(),
    }
}
