//! The bytes of one event block: the raw events of one site, framed, then zstd-compressed.
//!
//! Framing (before compression), version 1:
//!
//! ```text
//! block  = version:u8 (= 1), count:varint, event{count}
//! event  = flags:u8, seq:zvarint,
//!          [time_us:zvarint]    if flags & 1
//!          [arrived_us:zvarint] if flags & 2
//!          [call_uuid:text]     if flags & 4
//!          [conn_id:text]       if flags & 8
//!          doc:text
//! text   = length:varint, UTF-8 bytes
//! ```
//!
//! `varint` is LEB128 (7 bits a byte, low first); `zvarint` is a zigzag-encoded signed
//! difference from the same field of the previous event that had one (0 before the first),
//! written as a varint: sequence numbers and times grow by small steps, so most take one or two
//! bytes. `doc` is the event's JSON line (docs/event-json.md) without its newline. Any other
//! flag bit, a short read, text that is not UTF-8 or bytes left over is an error, as is data
//! that zstd cannot decompress: a damaged block is reported, never guessed at.

use thiserror::Error;

/// The framing version written (the first byte of every block).
const VERSION: u8 = 1;

const HAS_TIME: u8 = 1;
const HAS_ARRIVED: u8 = 2;
const HAS_CALL_UUID: u8 = 4;
const HAS_CONN_ID: u8 = 8;

/// zstd's level for blocks: 3 (its default). On a 109 MB simulated set (288,632 events) the
/// framed blocks, 157 MB, compress to 14.5 MB in 0.65 s; level 6 gives 12.5 MB in 3.3 s,
/// level 9 11.4 MB in 5.2 s (time the ingest writer would spend on every commit).
pub const LEVEL: i32 = 3;

/// One raw event as a block holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEvent {
    pub seq: u64,
    pub time_us: Option<i64>,
    pub arrived_us: Option<i64>,
    pub call_uuid: Option<String>,
    pub conn_id: Option<String>,
    pub doc: String,
}

/// Why a block's bytes could not be read back.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("zstd: {0}")]
    Compression(String),
    #[error("framing version {0} is unknown")]
    Version(u8),
    #[error("the data ends inside event {0}")]
    Truncated(usize),
    #[error("event {0} has unknown flags {1:#04x}")]
    Flags(usize, u8),
    #[error("event {0} holds text that is not UTF-8")]
    Text(usize),
    #[error("event {0} has a number out of range")]
    Number(usize),
    #[error("{0} bytes follow the last event")]
    Trailing(usize),
}

/// The framed, uncompressed bytes of `events`.
pub fn encode<'a>(events: impl ExactSizeIterator<Item = EventFields<'a>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(events.len() * 512);
    out.push(VERSION);
    put_varint(&mut out, events.len() as u64);
    let mut previous = Previous::default();
    for event in events {
        let flags = [
            (event.time_us.is_some(), HAS_TIME),
            (event.arrived_us.is_some(), HAS_ARRIVED),
            (event.call_uuid.is_some(), HAS_CALL_UUID),
            (event.conn_id.is_some(), HAS_CONN_ID),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .fold(0, |flags, (_, bit)| flags | bit);
        out.push(flags);
        put_delta(&mut out, &mut previous.seq, event.seq as i64);
        if let Some(time) = event.time_us {
            put_delta(&mut out, &mut previous.time_us, time);
        }
        if let Some(arrived) = event.arrived_us {
            put_delta(&mut out, &mut previous.arrived_us, arrived);
        }
        for text in [event.call_uuid, event.conn_id].into_iter().flatten() {
            put_text(&mut out, text);
        }
        put_text(&mut out, event.doc);
    }
    out
}

/// The fields of one event to frame, borrowed from wherever they are.
#[derive(Debug, Clone, Copy)]
pub struct EventFields<'a> {
    pub seq: u64,
    pub time_us: Option<i64>,
    pub arrived_us: Option<i64>,
    pub call_uuid: Option<&'a str>,
    pub conn_id: Option<&'a str>,
    pub doc: &'a str,
}

/// The events framed in `bytes` (uncompressed).
pub fn decode(bytes: &[u8]) -> Result<Vec<BlockEvent>, FrameError> {
    let mut reader = Reader { bytes, at: 0, event: 0 };
    let version = reader.byte()?;
    if version != VERSION {
        return Err(FrameError::Version(version));
    }
    let count = reader.varint()?;
    // Every event takes at least 3 bytes: a count beyond that is damage, not an allocation.
    let mut events = Vec::with_capacity((count as usize).min(bytes.len() / 3));
    let mut previous = Previous::default();
    for index in 0..count as usize {
        reader.event = index;
        events.push(reader.event(&mut previous)?);
    }
    match bytes.len() - reader.at {
        0 => Ok(events),
        left => Err(FrameError::Trailing(left)),
    }
}

/// A compressor for blocks: [`LEVEL`], with zstd's checksum of the content, so that damage to
/// the stored bytes is found on reading rather than read as other text.
pub fn compressor() -> Result<zstd::bulk::Compressor<'static>, FrameError> {
    let error = |error: std::io::Error| FrameError::Compression(error.to_string());
    let mut compressor = zstd::bulk::Compressor::new(LEVEL).map_err(error)?;
    compressor.include_checksum(true).map_err(error)?;
    Ok(compressor)
}

/// `framed` compressed as a block's data.
pub fn compress(compressor: &mut zstd::bulk::Compressor<'_>, framed: &[u8]) -> Result<Vec<u8>, FrameError> {
    compressor.compress(framed).map_err(|error| FrameError::Compression(error.to_string()))
}

/// The events of a block's data.
pub fn decompress(data: &[u8]) -> Result<Vec<BlockEvent>, FrameError> {
    let framed =
        zstd::stream::decode_all(data).map_err(|error| FrameError::Compression(error.to_string()))?;
    decode(&framed)
}

#[derive(Default)]
struct Previous {
    seq: i64,
    time_us: i64,
    arrived_us: i64,
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_delta(out: &mut Vec<u8>, previous: &mut i64, value: i64) {
    let delta = value.wrapping_sub(*previous);
    *previous = value;
    put_varint(out, ((delta << 1) ^ (delta >> 63)) as u64);
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// The event being read, for errors.
    event: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, FrameError> {
        let byte = *self.bytes.get(self.at).ok_or(FrameError::Truncated(self.event))?;
        self.at += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64, FrameError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(FrameError::Number(self.event));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(FrameError::Number(self.event))
    }

    fn delta(&mut self, previous: &mut i64) -> Result<i64, FrameError> {
        let zigzag = self.varint()?;
        let delta = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
        *previous = previous.wrapping_add(delta);
        Ok(*previous)
    }

    fn text(&mut self) -> Result<String, FrameError> {
        let length = self.varint()?;
        let end = usize::try_from(length)
            .ok()
            .and_then(|length| self.at.checked_add(length))
            .filter(|end| *end <= self.bytes.len())
            .ok_or(FrameError::Truncated(self.event))?;
        let text =
            std::str::from_utf8(&self.bytes[self.at..end]).map_err(|_| FrameError::Text(self.event))?;
        self.at = end;
        Ok(text.to_string())
    }

    fn event(&mut self, previous: &mut Previous) -> Result<BlockEvent, FrameError> {
        let flags = self.byte()?;
        if flags & !(HAS_TIME | HAS_ARRIVED | HAS_CALL_UUID | HAS_CONN_ID) != 0 {
            return Err(FrameError::Flags(self.event, flags));
        }
        let seq = self.delta(&mut previous.seq)?;
        let seq = u64::try_from(seq).map_err(|_| FrameError::Number(self.event))?;
        let time_us = if flags & HAS_TIME != 0 { Some(self.delta(&mut previous.time_us)?) } else { None };
        let arrived_us =
            if flags & HAS_ARRIVED != 0 { Some(self.delta(&mut previous.arrived_us)?) } else { None };
        let call_uuid = if flags & HAS_CALL_UUID != 0 { Some(self.text()?) } else { None };
        let conn_id = if flags & HAS_CONN_ID != 0 { Some(self.text()?) } else { None };
        let doc = self.text()?;
        Ok(BlockEvent { seq, time_us, arrived_us, call_uuid, conn_id, doc })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fields(event: &BlockEvent) -> EventFields<'_> {
        EventFields {
            seq: event.seq,
            time_us: event.time_us,
            arrived_us: event.arrived_us,
            call_uuid: event.call_uuid.as_deref(),
            conn_id: event.conn_id.as_deref(),
            doc: &event.doc,
        }
    }

    fn sample() -> Vec<BlockEvent> {
        (0..50u64)
            .map(|n| BlockEvent {
                seq: 1000 + n * 3,
                time_us: (n % 7 != 0).then_some(1_700_000_000_000_000 + n as i64 * 1000),
                arrived_us: (n % 2 == 0).then_some(-(n as i64)),
                call_uuid: (n % 3 != 0).then(|| format!("UUID{}", n / 4)),
                conn_id: (n % 5 != 0).then(|| format!("{:016x}", n / 2)),
                doc: format!(r#"{{"message":"EventRinging","n":{n},"é":"ü"}}"#),
            })
            .collect()
    }

    fn block_data(events: &[BlockEvent]) -> Vec<u8> {
        let mut compressor = compressor().expect("compressor");
        compress(&mut compressor, &encode(events.iter().map(fields))).expect("compressed")
    }

    #[test]
    fn a_block_reads_back_as_the_events_written() {
        let events = sample();
        assert_eq!(decompress(&block_data(&events)), Ok(events));
    }

    /// Damage anywhere in a block's data (a flipped bit, a cut, bytes added) is an error,
    /// never a panic nor other events.
    #[test]
    fn damaged_block_data_is_an_error_never_a_panic() {
        let events = sample();
        let data = block_data(&events);
        for at in 0..data.len() {
            for bit in [0x01u8, 0x10, 0x80] {
                let mut damaged = data.clone();
                damaged[at] ^= bit;
                let read = decompress(&damaged);
                assert!(read.is_err() || read == Ok(events.clone()), "bit {bit:#x} of byte {at}: {read:?}");
            }
            assert!(decompress(&data[..at]).is_err(), "cut at {at}");
        }
        let mut longer = data.clone();
        longer.extend_from_slice(b"garbage");
        assert!(decompress(&longer).is_err());
        assert!(matches!(decompress(b"not zstd at all"), Err(FrameError::Compression(_))));
    }

    #[test]
    fn damaged_framing_is_named() {
        let events = sample();
        let framed = encode(events.iter().map(fields));
        assert_eq!(decode(&[2, 0]), Err(FrameError::Version(2)));
        assert_eq!(decode(&framed[..framed.len() - 1]), Err(FrameError::Truncated(49)));
        let mut flagged = framed.clone();
        flagged[2] |= 0x40;
        assert_eq!(decode(&flagged), Err(FrameError::Flags(0, flagged[2])));
        let mut longer = framed.clone();
        longer.push(0);
        assert_eq!(decode(&longer), Err(FrameError::Trailing(1)));
        assert_eq!(
            decode(&[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
            Err(FrameError::Number(0))
        );
        assert_eq!(decode(&[1, 1, 0, 2, 2, 0xc3, 0x28]), Err(FrameError::Text(0)));
    }

    proptest! {
        /// Whatever the bytes, decoding answers (events or an error) without panicking.
        #[test]
        fn any_bytes_decode_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
            let _ = decompress(&bytes);
        }

        #[test]
        fn any_events_frame_and_read_back(
            events in proptest::collection::vec(
                (any::<u64>(), any::<Option<i64>>(), any::<Option<i64>>(),
                 any::<Option<String>>(), any::<Option<String>>(), any::<String>()),
                0..20,
            )
        ) {
            let events: Vec<BlockEvent> = events
                .into_iter()
                .map(|(seq, time_us, arrived_us, call_uuid, conn_id, doc)| {
                    BlockEvent { seq: seq >> 1, time_us, arrived_us, call_uuid, conn_id, doc }
                })
                .collect();
            prop_assert_eq!(decode(&encode(events.iter().map(fields))), Ok(events));
        }
    }
}
