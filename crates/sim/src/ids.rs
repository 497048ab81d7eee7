//! The identities the simulated servers hand out: CallUUIDs, Inter-Site Link ids and
//! ConnIDs, including ConnID reuse (a server's generator wraps, so an old ConnID comes back
//! for an unrelated call, tlib-events.md §4.1).
//!
//! Every id has a fixed width and ends in a counter, so the `--scale` path can copy a
//! rendered block and patch new ids into it (see [`crate::scale`]).

use std::collections::BTreeSet;

use callstitch_tlib::{CallUuid, ConnId, Text};

use crate::rng::Rng;

/// Digits of the base-32 alphabet Genesys CallUUIDs use.
const BASE32: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNOPQRSTUV";
/// Characters of the counter at the end of a CallUUID or link id.
pub const COUNTER_DIGITS: usize = 10;
/// A CallUUID's length.
pub const UUID_LEN: usize = 32;
/// ConnIDs keep their counter in the low 48 bits; the top 16 bits name the server.
const CONN_COUNTER_BITS: u32 = 48;
/// First value of each server's ConnID counter (looks like the seed's `009a021843038407`).
const CONN_COUNTER_BASE: u64 = 0x0218_4303_0000;
/// By default a ConnID only comes back after its call ended this long ago (simulated
/// microseconds).
pub const CONN_REUSE_AFTER: i64 = 10 * 60 * 1_000_000;

/// The id generators of one simulation run.
#[derive(Debug, Clone)]
pub struct Ids {
    next_counter: u64,
    sites: Vec<SiteConns>,
    reuse_per_mille: u64,
    reuse_after: i64,
}

#[derive(Debug, Clone, Default)]
struct SiteConns {
    next: u64,
    /// ConnIDs of ended calls: (when the call ended, order of retirement, ConnID), the one
    /// free the longest first. Ordered by end time, not by retirement: a call that lasts half
    /// an hour must not hold back the ConnIDs of calls that ended since.
    retired: BTreeSet<(i64, u64, u64)>,
    retirements: u64,
}

impl Ids {
    pub fn new(site_count: usize, reuse_per_mille: u64) -> Ids {
        Ids {
            next_counter: 1,
            sites: vec![SiteConns::default(); site_count],
            reuse_per_mille,
            reuse_after: CONN_REUSE_AFTER,
        }
    }

    /// The same generators, a ConnID coming back once its call ended `micros` ago.
    pub fn with_reuse_after(mut self, micros: i64) -> Ids {
        self.reuse_after = micros.max(0);
        self
    }

    /// A new CallUUID of the server with `prefix` (22 characters, see [`uuid_prefix`]).
    pub fn call_uuid(&mut self, prefix: &str) -> CallUuid {
        CallUuid(self.counter_text(prefix))
    }

    /// A new Inter-Site Link id (same form as a CallUUID, its own namespace).
    pub fn link_id(&mut self) -> Text {
        self.counter_text(LINK_PREFIX)
    }

    fn counter_text(&mut self, prefix: &str) -> Text {
        let counter = self.next_counter;
        self.next_counter += 1;
        let mut text = String::with_capacity(UUID_LEN);
        text.push_str(prefix);
        push_base32(&mut text, counter);
        Text::from(text)
    }

    /// A ConnID for a new call on `site` at `now`: usually fresh, sometimes (per the reuse
    /// rate) one of a call that ended long enough ago.
    pub fn conn_id(&mut self, site: usize, now: i64, rng: &mut Rng) -> ConnId {
        let reuse = rng.per_mille(self.reuse_per_mille);
        let Some(conns) = self.sites.get_mut(site) else { return ConnId(0) };
        if reuse {
            if let Some(&(ended, serial, conn)) = conns.retired.first() {
                if ended + self.reuse_after <= now {
                    conns.retired.remove(&(ended, serial, conn));
                    return ConnId(conn);
                }
            }
        }
        let counter = conns.next;
        conns.next += 1;
        ConnId(conn_site_bits(site) | (CONN_COUNTER_BASE + counter))
    }

    /// Records that `conn` on `site` is free again from `ended` on (its call on that server
    /// ended then, whatever other calls of the interaction still do).
    pub fn retire(&mut self, site: usize, conn: ConnId, ended: i64) {
        if let Some(conns) = self.sites.get_mut(site) {
            conns.retirements += 1;
            conns.retired.insert((ended, conns.retirements, conn.0));
            if conns.retired.len() > 4096 {
                conns.retired.pop_first();
            }
        }
    }
}

/// The prefix of every Inter-Site Link id (22 characters).
pub const LINK_PREFIX: &str = "00EBGH4GK488LFQD2CGB02";

/// The fixed 22-character start of a server's CallUUIDs.
pub fn uuid_prefix(site: usize) -> String {
    let mut prefix = String::with_capacity(22);
    prefix.push('0');
    prefix.push(char::from(BASE32[site % 32]));
    prefix.push(char::from(BASE32[(site / 32) % 32]));
    prefix.push_str("P30KH7088L1IC08GB82");
    prefix
}

fn conn_site_bits(site: usize) -> u64 {
    (0x0090 + site as u64 % 0x100) << CONN_COUNTER_BITS
}

fn push_base32(text: &mut String, mut value: u64) {
    let mut digits = [b'0'; COUNTER_DIGITS];
    for slot in digits.iter_mut().rev() {
        *slot = BASE32[(value % 32) as usize];
        value /= 32;
    }
    text.extend(digits.iter().map(|digit| char::from(*digit)));
}

/// Reads the base-32 counter at the end of an id; `None` if it is not one.
pub fn counter_of(id: &[u8]) -> Option<u64> {
    let digits = id.get(id.len().checked_sub(COUNTER_DIGITS)?..)?;
    let mut value = 0_u64;
    for digit in digits {
        let index = BASE32.iter().position(|candidate| candidate == digit)?;
        value = value * 32 + index as u64;
    }
    Some(value)
}

/// Writes `value` as the base-32 counter into the last digits of `id`.
pub fn set_counter(id: &mut [u8], mut value: u64) {
    let start = id.len().saturating_sub(COUNTER_DIGITS);
    for slot in id[start..].iter_mut().rev() {
        *slot = BASE32[(value % 32) as usize];
        value /= 32;
    }
}

/// The counter part of a ConnID (the low 48 bits).
pub fn conn_counter_mask() -> u64 {
    (1_u64 << CONN_COUNTER_BITS) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_uuids_have_the_genesys_shape_and_a_readable_counter() {
        let mut ids = Ids::new(2, 0);
        let first = ids.call_uuid(&uuid_prefix(1));
        let second = ids.call_uuid(&uuid_prefix(1));
        assert_eq!(first.as_str().len(), UUID_LEN);
        assert_ne!(first, second);
        assert_eq!(counter_of(second.as_str().as_bytes()), Some(2));
        let mut bytes = second.as_str().as_bytes().to_vec();
        set_counter(&mut bytes, 12_345);
        assert_eq!(counter_of(&bytes), Some(12_345));
        assert_eq!(ids.link_id().len(), UUID_LEN);
    }

    #[test]
    fn conn_ids_come_back_only_after_their_call_ended_long_ago() {
        let mut ids = Ids::new(1, 1000);
        let mut rng = Rng::new(1);
        let first = ids.conn_id(0, 0, &mut rng);
        ids.retire(0, first, 1_000_000);
        let soon = ids.conn_id(0, 2_000_000, &mut rng);
        assert_ne!(soon, first, "too early to reuse");
        let later = ids.conn_id(0, 1_000_000 + CONN_REUSE_AFTER, &mut rng);
        assert_eq!(later, first);
        assert_eq!(first.to_string().len(), 16);
    }

    #[test]
    fn the_conn_id_free_the_longest_comes_back_first() {
        let mut ids = Ids::new(1, 1000).with_reuse_after(0);
        let mut rng = Rng::new(1);
        let long = ids.conn_id(0, 0, &mut rng);
        let short = ids.conn_id(0, 0, &mut rng);
        ids.retire(0, long, 1_800_000_000);
        ids.retire(0, short, 60_000_000);
        assert_eq!(ids.conn_id(0, 120_000_000, &mut rng), short, "a long call does not hold the list back");
        assert_ne!(ids.conn_id(0, 120_000_000, &mut rng), long, "not free yet");
    }

    #[test]
    fn a_shorter_reuse_gap_brings_a_conn_id_back_sooner() {
        let mut ids = Ids::new(1, 1000).with_reuse_after(5_000_000);
        let mut rng = Rng::new(1);
        let first = ids.conn_id(0, 0, &mut rng);
        ids.retire(0, first, 1_000_000);
        assert_ne!(ids.conn_id(0, 5_999_999, &mut rng), first, "too early to reuse");
        assert_eq!(ids.conn_id(0, 6_000_000, &mut rng), first);
    }
}
