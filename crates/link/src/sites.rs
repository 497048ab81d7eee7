//! The monitored sites, and how the location-names of Inter-Site Links name them.
//!
//! A link end says where the call went or came from as `<application>@<switch>`. A site is
//! named by `NAME=` or its log header's Application name; a location matches a site by its
//! full name or by its application part, without regard to case. A site's full name in an
//! interaction comes from that interaction's own links (crate::interaction).

use callstitch_tlib::Text;
use serde::{Deserialize, Serialize};

/// The sites callstitch reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SiteDirectory {
    /// The sites' names as given (few: a scan without allocation beats a lowercased map).
    known: Vec<Text>,
}

impl SiteDirectory {
    /// A directory of these monitored sites. An empty directory knows no site, so no link
    /// can be said to lead off the estate.
    pub fn new<'a>(sites: impl IntoIterator<Item = &'a str>) -> SiteDirectory {
        let mut directory = SiteDirectory::default();
        for site in sites {
            directory.add(site);
        }
        directory
    }

    pub fn add(&mut self, site: &str) {
        if !self.known.iter().any(|known| known.eq_ignore_ascii_case(site)) {
            self.known.push(Text::from(site));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// The monitored site a location-name names, if any.
    pub fn site_of(&self, location: &str) -> Option<&Text> {
        if let Some(site) = self.known.iter().find(|site| site.eq_ignore_ascii_case(location)) {
            return Some(site);
        }
        let application = location.split('@').next().unwrap_or(location);
        self.known.iter().find(|site| site.eq_ignore_ascii_case(application))
    }

    /// True when `location` names `site` (by full name or application name).
    pub fn names(location: &str, site: &str) -> bool {
        let application = location.split('@').next().unwrap_or(location);
        location.eq_ignore_ascii_case(site) || application.eq_ignore_ascii_case(site)
    }

    /// True when the location leads to a site callstitch does not read (ICON's rule 2).
    pub fn is_off_estate(&self, location: &str) -> bool {
        !self.known.is_empty() && self.site_of(location).is_none()
    }

    /// The monitored sites, as given.
    pub fn known(&self) -> &[Text] {
        &self.known
    }

    /// The full name of a site configured as `<application>@<switch>` (not learned).
    pub fn configured_full_name(&self, site: &str) -> Option<&Text> {
        self.known.iter().find(|known| known.as_str() == site && known.contains('@'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_match_by_full_or_application_name() {
        let directory = SiteDirectory::new(["Tserver2", "SIPServer1@SIP_Switch1"]);
        assert_eq!(directory.site_of("Tserver2@Avaya_Switch1").map(Text::as_str), Some("Tserver2"));
        assert_eq!(
            directory.site_of("sipserver1@sip_switch1").map(Text::as_str),
            Some("SIPServer1@SIP_Switch1")
        );
        assert!(directory.is_off_estate("Tserver9@Other"));
        assert!(!SiteDirectory::new([]).is_off_estate("anything"));
        assert!(SiteDirectory::names("Tserver2@Avaya_Switch1", "tserver2"));
        assert!(!SiteDirectory::names("Tserver2@Avaya_Switch1", "SIPServer1"));
    }
}
