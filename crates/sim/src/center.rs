//! The model of the simulated contact center: its sites (T-Servers and SIP Servers, each with
//! application and switch name, time zone and clock skew), and the DNs of each site: agents,
//! ACD queues, routing points, the external routing point ISCC calls arrive at, a park DN.
//!
//! The model is fixed by the site count and the seed, so a run can be repeated exactly.

use callstitch_tlib::Text;
use serde::Serialize;

use crate::config::DEFAULT_SKEW_MAX_MICROS;
use crate::ids::uuid_prefix;
use crate::rng::Rng;

/// What kind of server a site runs; it decides how calls cross to and from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SiteKind {
    /// A T-Server on a PBX: every call it receives over ISCC gets a new CallUUID.
    TServer,
    /// A SIP Server: a call from another SIP Server keeps its CallUUID.
    SipServer,
}

/// How much release information a site's server reports (release.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseTracking {
    /// ReleasingParty on EventReleased / EventAbandoned and CtrlParty on EventCallDeleted.
    Full,
    /// ReleasingParty only.
    ReleasingPartyOnly,
    /// Neither: the engine must fall back on the ladder.
    None,
}

/// One simulated site: one T-Server or SIP Server and its DNs.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub index: usize,
    pub kind: SiteKind,
    /// The log header's `Application name`, and the first half of its location-name.
    pub application: String,
    pub switch: String,
    pub host: String,
    pub version: String,
    /// Local time minus UTC, in minutes (the header's `UTC time` / `Local time`).
    pub utc_offset_minutes: i64,
    pub time_zone_name: String,
    /// How far this server's clock is off true time, in microseconds.
    pub skew_micros: i64,
    pub release_tracking: ReleaseTracking,
    /// SIP Servers record their agents (full-time agent recording, recording.md §1.1).
    pub records_agents: bool,
    /// This SIP Server also records the customer side of calls it answers (trunk recording).
    pub records_customer: bool,
    /// The server also reports each party through call monitoring (EventCallPartyAdded,
    /// EventCallPartyState, EventCallPartyDeleted: call-models.md §17), the customer
    /// included, whom DN-based events only name as OtherDN.
    pub call_party_events: bool,
    pub agents: Vec<Text>,
    pub queues: Vec<Text>,
    pub routing_points: Vec<Text>,
    /// Where calls from other sites arrive (ISCC External Routing Point).
    pub external_routing_point: Text,
    pub park_dn: Text,
    #[serde(skip)]
    pub uuid_prefix: String,
}

impl Site {
    /// `<application>@<switch>`: how other sites name this one in ISLinkList.
    pub fn location(&self) -> String {
        format!("{}@{}", self.application, self.switch)
    }

    pub fn is_sip(&self) -> bool {
        self.kind == SiteKind::SipServer
    }
}

/// The whole simulated estate.
#[derive(Debug, Clone, Serialize)]
pub struct ContactCenter {
    pub sites: Vec<Site>,
}

/// Per catalogue entry: application, switch, host, UTC offset (minutes), zone name.
const CATALOGUE: [(&str, &str, &str, i64, &str); 8] = [
    ("SIP_LON", "SIP_Switch_LON", "gen-sip-lon-01", 0, "GMT Standard Time"),
    ("TS_NYC", "Avaya_NYC", "gen-ts-nyc-01", -300, "Eastern Standard Time"),
    ("SIP_BLR", "SIP_Switch_BLR", "gen-sip-blr-01", 330, "India Standard Time"),
    ("TS_SYD", "Alcatel_SYD", "gen-ts-syd-01", 660, "AUS Eastern Daylight Time"),
    ("SIP_FRA", "SIP_Switch_FRA", "gen-sip-fra-01", 60, "W. Europe Standard Time"),
    ("TS_CHI", "Avaya_CHI", "gen-ts-chi-01", -360, "Central Standard Time"),
    ("SIP_SAO", "SIP_Switch_SAO", "gen-sip-sao-01", -180, "E. South America Standard Time"),
    ("TS_TYO", "Avaya_TYO", "gen-ts-tyo-01", 540, "Tokyo Standard Time"),
];

/// Agents per site.
const AGENTS: usize = 40;

impl ContactCenter {
    /// `site_count` sites (at least one): SIP Servers at even indexes, T-Servers at odd ones,
    /// clocks off by up to the default ±450 ms.
    pub fn new(site_count: usize, rng: &mut Rng) -> ContactCenter {
        ContactCenter::with_skew(site_count, rng, DEFAULT_SKEW_MAX_MICROS)
    }

    /// Like [`ContactCenter::new`], each clock but the first off by up to `skew_max` µs.
    fn with_skew(site_count: usize, rng: &mut Rng, skew_max: i64) -> ContactCenter {
        let sites = (0..site_count.max(1)).map(|index| build_site(index, rng, skew_max)).collect();
        ContactCenter { sites }
    }

    /// The estate a run with `seed` simulates (default skew).
    pub fn for_seed(site_count: usize, seed: u64) -> ContactCenter {
        ContactCenter::for_config(site_count, seed, DEFAULT_SKEW_MAX_MICROS)
    }

    /// The estate a run with `seed` and a largest clock error of `skew_max` µs simulates.
    /// The default skew draws the same numbers as always, so its estate is unchanged.
    pub fn for_config(site_count: usize, seed: u64, skew_max: i64) -> ContactCenter {
        ContactCenter::with_skew(site_count, &mut Rng::new(seed ^ 0x5EED_CE17), skew_max)
    }

    pub fn sip_sites(&self) -> Vec<usize> {
        self.sites.iter().filter(|site| site.is_sip()).map(|site| site.index).collect()
    }

    pub fn tserver_sites(&self) -> Vec<usize> {
        self.sites.iter().filter(|site| !site.is_sip()).map(|site| site.index).collect()
    }
}

fn build_site(index: usize, rng: &mut Rng, skew_max: i64) -> Site {
    let kind = if index.is_multiple_of(2) { SiteKind::SipServer } else { SiteKind::TServer };
    let (application, switch, host, offset, zone) = match CATALOGUE.get(index) {
        Some((application, switch, host, offset, zone)) => {
            (application.to_string(), switch.to_string(), host.to_string(), *offset, zone.to_string())
        }
        None => {
            let tag = if kind == SiteKind::SipServer { "SIP" } else { "TS" };
            (format!("{tag}_S{index}"), format!("Switch_S{index}"), format!("gen-s{index}"), 0, "UTC".into())
        }
    };
    let digit = index % 9 + 1;
    let dn = |number: usize| Text::from(format!("{digit}{number:03}"));
    let release_tracking = match index % 4 {
        0 | 1 => ReleaseTracking::Full,
        2 => ReleaseTracking::ReleasingPartyOnly,
        _ => ReleaseTracking::None,
    };
    let is_sip = kind == SiteKind::SipServer;
    Site {
        index,
        kind,
        application,
        switch,
        host,
        version: if is_sip { "8.1.103.95".to_string() } else { "8.1.001.05".to_string() },
        utc_offset_minutes: offset,
        time_zone_name: zone,
        skew_micros: if index == 0 { 0 } else { rng.between(-skew_max, skew_max) },
        release_tracking,
        records_agents: is_sip,
        records_customer: is_sip && index == 0,
        call_party_events: matches!(index % 4, 1 | 2),
        agents: (1..=AGENTS).map(dn).collect(),
        queues: (801..=804).map(dn).collect(),
        routing_points: (501..=502).map(dn).collect(),
        external_routing_point: dn(601),
        park_dn: dn(701),
        uuid_prefix: uuid_prefix(index),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_alternate_kinds_and_have_distinct_names() {
        let center = ContactCenter::new(4, &mut Rng::new(3));
        assert_eq!(center.sip_sites(), vec![0, 2]);
        assert_eq!(center.tserver_sites(), vec![1, 3]);
        assert_eq!(center.sites[1].location(), "TS_NYC@Avaya_NYC");
        assert_eq!(center.sites[2].agents[0], "3001");
        assert!(center.sites.iter().all(|site| site.skew_micros.abs() <= 450_000));
        let many = ContactCenter::new(11, &mut Rng::new(3));
        assert_eq!(many.sites[10].application, "SIP_S10");
    }

    #[test]
    fn a_larger_skew_bound_gives_larger_clock_errors_and_the_default_is_unchanged() {
        let default = ContactCenter::for_seed(8, 5);
        let same = ContactCenter::for_config(8, 5, DEFAULT_SKEW_MAX_MICROS);
        let skews =
            |center: &ContactCenter| center.sites.iter().map(|site| site.skew_micros).collect::<Vec<_>>();
        assert_eq!(skews(&default), skews(&same));
        let wide = ContactCenter::for_config(8, 5, 30_000_000);
        assert_eq!(wide.sites[0].skew_micros, 0, "site 0 keeps true time");
        assert!(wide.sites.iter().all(|site| site.skew_micros.abs() <= 30_000_000));
        assert!(wide.sites.iter().any(|site| site.skew_micros.abs() > 450_000), "{:?}", skews(&wide));
        let none = ContactCenter::for_config(8, 5, 0);
        assert!(none.sites.iter().all(|site| site.skew_micros == 0));
    }
}
