//! A generated multi-site set, shared by the tests: interactions over four sites (two
//! T-Servers, two SIP Servers), chains of one to five calls joined by Inter-Site Links or by a
//! CallUUID kept between the SIP Servers, clocks that disagree, interactions that overlap in
//! time, and ConnIDs drawn from a small pool so that they repeat across calls and sites.
#![allow(dead_code)]

use callstitch_tlib::LinkRole;

use super::{Site, SECOND, T0};

/// xorshift64*: small, fixed, reproducible.
pub struct Random(pub u64);

impl Random {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

pub const SWITCHES: [&str; 4] = ["AvayaA", "AvayaB", "SipC", "SipD"];

fn is_sip(site: usize) -> bool {
    site >= 2
}

/// Writes the interactions into the sites' streams; returns each one's calls in order.
pub fn generate(count: usize, seed: u64, sites: &mut [Site]) -> Vec<Vec<(String, String)>> {
    let mut random = Random(seed | 1);
    let mut truth = Vec::with_capacity(count);
    for interaction in 0..count {
        let hops = 1 + random.below(5) as usize;
        let mut start = T0 + interaction as i64 * 3 * SECOND;
        let mut site = random.below(4) as usize;
        let mut uuid = format!("I{interaction:05}-0");
        let mut arrived_by: Option<String> = None;
        let mut kept_last = false;
        let mut calls = Vec::new();
        for hop in 0..hops {
            let conn = 1 + random.below(400);
            let last = hop + 1 == hops;
            let next_start = start + (2 + random.below(8) as i64) * SECOND;
            let end = if last { next_start + 30 * SECOND } else { next_start + SECOND };
            let next_site = (site + 1 + random.below(3) as usize) % 4;
            let keep_uuid = !last && !kept_last && is_sip(site) && is_sip(next_site) && random.below(2) == 0;
            let link = format!("L{interaction:05}-{hop}");
            let came_from = arrived_by.as_ref().map(|_| previous_site(&calls, sites));
            let here = &mut sites[site];
            here.created(&uuid, conn, start);
            let mut known = Vec::new();
            if let (Some(arrival), Some(from)) = (&arrived_by, came_from) {
                known.push((arrival.clone(), LinkRole::Target, location_of(from)));
                here.links(&uuid, conn, start + SECOND / 10, &as_refs(&known));
            }
            if !last && !keep_uuid {
                known.push((link.clone(), LinkRole::Source, location_of(next_site)));
                here.links(&uuid, conn, next_start - SECOND / 10, &as_refs(&known));
            }
            here.deleted(&uuid, conn, end);
            calls.push((sites[site].name.to_string(), uuid.clone()));
            arrived_by = (!last && !keep_uuid).then_some(link);
            kept_last = keep_uuid;
            if !keep_uuid {
                uuid = format!("I{interaction:05}-{}", hop + 1);
            }
            site = next_site;
            start = next_start;
        }
        truth.push(calls);
    }
    truth
}

fn location_of(site: usize) -> String {
    format!("{}@{}", ["TsA", "TsB", "SipC", "SipD"][site], SWITCHES[site])
}

fn previous_site(calls: &[(String, String)], sites: &[Site]) -> usize {
    let name = &calls.last().expect("a previous call").0;
    sites.iter().position(|site| site.name == name).unwrap_or(0)
}

fn as_refs(links: &[(String, LinkRole, String)]) -> Vec<(&str, LinkRole, &str)> {
    links.iter().map(|(id, role, location)| (id.as_str(), role.clone(), location.as_str())).collect()
}

/// The four sites of the generated set, with their clock errors.
pub fn sites() -> Vec<Site> {
    let mut sites = vec![
        Site::new("TsA", SWITCHES[0]),
        Site::new("TsB", SWITCHES[1]),
        Site::new("SipC", SWITCHES[2]),
        Site::new("SipD", SWITCHES[3]),
    ];
    sites[1].skew = -400_000;
    sites[2].skew = 300_000;
    sites[3].skew = -200_000;
    sites
}
