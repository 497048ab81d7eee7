//! The web UI in a real headless Chromium, driven over WebDriver (chromedriver): the real
//! `callstitch serve` follows the logs `callstitch simulate` writes while the search page is
//! open (live rows arrive), then a CallUUID of a multi-site interaction from the simulator's
//! truth is typed into the search box, the result opened, and the ladder must show every
//! site band and every party DN of it. Screenshots land in `<target>/ui-artifacts/`.
//!
//! A second test opens an interaction over four sites (the simulator's return trip, its
//! third call moved to a fourth site, which the linker notes as inconsistent evidence) at 1400 px and on a 390 px phone: the page never
//! scrolls sideways, no text of the ladder or the journey timeline overlaps another or is
//! cut by its picture, every media file is in the recording section, routing arrows end at
//! the ThirdPartyDN, and an event opens with every attribute on a click (in the raw events
//! and on its ladder row).
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver: `scripts/install-browser` installs
//! them (CI runs it first). Without them each test says it was SKIPPED, and why, and passes;
//! with `CALLSTITCH_REQUIRE_BROWSER=1` (CI) a missing browser fails instead. The WebDriver
//! calls are the few these tests need, over `ureq`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

mod common;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{base_config, Service};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const WAIT: Duration = Duration::from_secs(30);
/// How long a quiet estate's last interaction takes to complete live: its sites' time must
/// pass the ISCC window (60 s) with the wall clock, plus a loaded machine's margin.
const ISCC_WINDOW_AND_MARGIN: Duration = Duration::from_secs(180);

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// `<target>/ui-artifacts`, beside the binary's profile directory.
fn artifacts_dir() -> PathBuf {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_callstitch"));
    let target =
        binary.parent().and_then(Path::parent).map_or_else(|| PathBuf::from("target"), Path::to_path_buf);
    let dir = target.join("ui-artifacts");
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// chromedriver on a free port; killed when dropped.
struct Driver {
    child: Child,
    base: String,
}

/// Why the browser tests cannot run here (`Err`): which of `paths` are missing. `Ok(())`
/// when all are there; a missing browser is an error only when `required`.
fn browser_status(paths: &[&str], required: bool) -> Result<(), String> {
    let missing: Vec<&str> = paths.iter().copied().filter(|path| !Path::new(path).exists()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let why = format!(
        "{} missing: run scripts/install-browser (it installs Debian's chromium and chromium-driver)",
        missing.join(" and ")
    );
    assert!(!required, "{why}; CALLSTITCH_REQUIRE_BROWSER=1 makes that a failure");
    Err(why)
}

impl Driver {
    /// chromedriver, or `None` after saying on the terminal that `test` is SKIPPED and why
    /// (written past the test harness's capture, so a passing run still shows it).
    fn start_or_skip(test: &str) -> Option<Driver> {
        let required = std::env::var("CALLSTITCH_REQUIRE_BROWSER").is_ok_and(|value| value == "1");
        match browser_status(&[CHROMIUM, CHROMEDRIVER], required) {
            Ok(()) => Some(Driver::start()),
            Err(why) => {
                let _ = writeln!(std::io::stderr(), "\nSKIPPED {test}: {why}\n");
                None
            }
        }
    }

    fn start() -> Driver {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver { child, base: format!("http://127.0.0.1:{port}") };
        let start = Instant::now();
        loop {
            let ready = ureq::get(&format!("{}/status", driver.base))
                .call()
                .ok()
                .and_then(|response| response.into_json::<Value>().ok())
                .is_some_and(|status| status["value"]["ready"] == true);
            if ready {
                return driver;
            }
            assert!(start.elapsed() < WAIT, "chromedriver did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session; closed when dropped.
struct Browser<'a> {
    driver: &'a Driver,
    session: String,
    _profile: tempfile::TempDir,
}

impl<'a> Browser<'a> {
    fn open(driver: &'a Driver) -> Browser<'a> {
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
        ]
        .iter()
        .map(|arg| arg.to_string())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let answer = post_json(&format!("{}/session", driver.base), &capabilities);
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        Browser { driver, session, _profile: profile }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.driver.base, self.session)
    }

    fn post(&self, path: &str, body: Value) -> Value {
        post_json(&self.url(path), &body)["value"].clone()
    }

    fn get(&self, path: &str) -> Value {
        let response =
            ureq::get(&self.url(path)).call().unwrap_or_else(|error| panic!("GET {path}: {error}"));
        response.into_json::<Value>().expect("WebDriver JSON")["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url}));
    }

    /// Runs a script in the page and returns its value.
    fn eval(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": args}))
    }

    fn find(&self, css: &str) -> String {
        let found = self.post("/element", json!({"using": "css selector", "value": css}));
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {found}")).to_string()
    }

    fn type_into(&self, element: &str, text: &str) {
        self.post(&format!("/element/{element}/value"), json!({"text": text}));
    }

    fn click(&self, element: &str) {
        self.post(&format!("/element/{element}/click"), json!({}));
    }

    fn press_tab(&self) {
        let tab = "\u{E004}";
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": tab}, {"type": "keyUp", "value": tab}]}]}),
        );
    }

    fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}));
    }

    /// Waits until the script returns true.
    fn wait_until(&self, what: &str, script: &str) {
        let start = Instant::now();
        while self.eval(script, json!([])) != true {
            assert!(start.elapsed() < WAIT, "waited {WAIT:?} for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn screenshot(&self, name: &str) -> PathBuf {
        let encoded = self.get("/screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .expect("a base64 screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let path = artifacts_dir().join(name);
        std::fs::write(&path, png).expect("screenshot written");
        path
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.driver.base, self.session)).call();
    }
}

fn post_json(url: &str, body: &Value) -> Value {
    match ureq::post(url).send_json(body.clone()) {
        Ok(response) => response.into_json().expect("WebDriver JSON"),
        Err(ureq::Error::Status(status, response)) => {
            panic!("POST {url} {body}: {status} {}", response.into_string().unwrap_or_default())
        }
        Err(error) => panic!("POST {url}: {error}"),
    }
}

/// The truth's first interaction over two or more sites: its root CallUUID, sites and
/// every (site, party DN).
struct Chosen {
    call_uuid: String,
    sites: BTreeSet<String>,
    parties: BTreeSet<(String, String)>,
}

fn multi_site_interaction(truth: &str) -> Chosen {
    truth
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find_map(|interaction| {
            let segments = interaction["segments"].as_array()?;
            let sites: BTreeSet<String> =
                segments.iter().filter_map(|segment| segment["site"].as_str().map(String::from)).collect();
            if sites.len() < 2 {
                return None;
            }
            let parties = segments
                .iter()
                .flat_map(|segment| {
                    let site = segment["site"].as_str().unwrap_or_default().to_string();
                    segment["parties"].as_array().cloned().unwrap_or_default().into_iter().filter_map(
                        move |party| party["dn"].as_str().map(|dn| (site.clone(), dn.to_string())),
                    )
                })
                .collect();
            let call_uuid = segments.first()?["call_uuid"].as_str()?.to_string();
            Some(Chosen { call_uuid, sites, parties })
        })
        .expect("the simulator made a multi-site interaction")
}

fn ids_of(page: &Value) -> BTreeSet<String> {
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["interaction_id"].as_str().map(String::from))
        .collect()
}

#[test]
fn a_missing_browser_skips_the_browser_tests_unless_they_are_required() {
    let nowhere = "/nonexistent/callstitch-test/chromium";
    let skipped = browser_status(&[nowhere, "/"], false);
    assert!(skipped
        .as_ref()
        .is_err_and(|why| why.contains(nowhere) && why.contains("scripts/install-browser")));
    assert_eq!(browser_status(&["/"], true), Ok(()));
    let required = std::panic::catch_unwind(|| browser_status(&[nowhere], true));
    assert!(required.is_err(), "CALLSTITCH_REQUIRE_BROWSER=1: a missing browser fails the run");
}

#[test]
fn search_a_call_uuid_and_read_its_ladder_in_chromium() {
    let Some(driver) = Driver::start_or_skip("search_a_call_uuid_and_read_its_ladder_in_chromium") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs dir");
    // Calls whose events are minutes apart are not cut as idle before their end is read.
    let config = base_config(dir.path()).replace("call_idle_timeout_s = 2", "call_idle_timeout_s = 3600");
    let config = format!("{config}logs = [\"{}\"]\n", logs.display());
    let service = Service::start(dir.path(), &config);
    let browser = Browser::open(&driver);

    // The search page, open and listening before any log is written.
    browser.goto(&service.url("/"));
    browser.wait_until(
        "the live stream",
        "return document.querySelector('#results[data-live-connected=yes]') !== null",
    );
    browser.press_tab();
    let focused = browser.eval("return document.activeElement.textContent", json!([]));
    assert_eq!(focused, "Skip to content", "the first Tab reaches the skip link");

    let output = common::binary()
        .args(["simulate", "--sites", "3", "--interactions", "30", "--seed", "11", "--out"])
        .arg(&logs)
        .output()
        .expect("simulate runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let truth = std::fs::read_to_string(logs.join("truth.jsonl")).expect("truth");
    let expected = truth.lines().filter(|line| !line.trim().is_empty()).count();
    let stored = service
        .wait_for("/v1/interactions?limit=1000", WAIT, |page| ids_of(page).len() >= expected && expected > 0);
    let stored = ids_of(&stored);

    // Every interaction written while the page was open arrived as a live row.
    let live_ids =
        "return Array.from(document.querySelectorAll('#results tbody tr.live')).map(r => r.dataset.id)";
    let start = Instant::now();
    let live: BTreeSet<String> = loop {
        let rows = browser.eval(live_ids, json!([]));
        let rows: BTreeSet<String> =
            rows.as_array().into_iter().flatten().filter_map(|id| id.as_str().map(String::from)).collect();
        if rows.is_superset(&stored) || start.elapsed() > WAIT {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        live.is_superset(&stored),
        "every stored interaction arrived live; missing {:?}",
        stored.difference(&live)
    );
    // A row may show an id that a later revision replaced (its calls were joined to another
    // interaction after it was first written): its link must still answer, with the new one.
    for old in live.difference(&stored) {
        let (status, now) = service.get(&format!("/v1/interactions/{old}"));
        let now = now["interaction_id"].as_str().unwrap_or_default().to_string();
        assert_eq!(status, 200, "live row {old} no longer answers");
        assert!(stored.contains(&now), "live row {old} answers as {now}, not a stored interaction");
        let (status, page) = service.get(&format!("/i/{old}"));
        assert_eq!(status, 200);
        assert!(page
            .as_str()
            .unwrap_or_default()
            .contains(&format!("is now part of interaction <a href=\"/i/{now}\">")));
    }
    browser.screenshot("search-live.png");
    every_media_file_is_on_its_interaction_page(&service, &stored);

    // Search the root CallUUID of a multi-site interaction, as a person would.
    let chosen = multi_site_interaction(&truth);
    let (_, found) = service.get(&format!("/v1/interactions?call_uuid={}", chosen.call_uuid));
    let wanted: Vec<String> = ids_of(&found).into_iter().collect();
    assert_eq!(wanted.len(), 1, "the API finds it: {found}");
    let search_box = browser.find("#q");
    browser.type_into(&search_box, &chosen.call_uuid);
    let submit = browser.find("form.search button[type=submit]");
    browser.click(&submit);
    browser.wait_until(
        "the results",
        "return location.search.includes('q=') && document.readyState === 'complete'",
    );
    let rows = browser.eval(
        "return Array.from(document.querySelectorAll('#results tbody tr[data-id]')).map(r => r.dataset.id)",
        json!([]),
    );
    assert_eq!(rows, json!(wanted), "one row: the interaction of that CallUUID");
    browser.screenshot("search.png");

    // On a phone the results are cards: nothing wider than the screen.
    browser.resize(390, 844);
    browser.wait_until("the narrow layout", "return window.innerWidth <= 400");
    let overflow = browser.eval("return document.documentElement.scrollWidth - window.innerWidth", json!([]));
    assert!(
        overflow.as_i64().is_some_and(|px| px <= 0),
        "the search page scrolls sideways on a phone: {overflow}px"
    );
    browser.eval("document.getElementById('results').scrollIntoView()", json!([]));
    browser.screenshot("search-phone.png");
    browser.resize(1280, 1000);

    // Open it: the ladder shows a band per site and a lane per party DN.
    let link = browser.find("#results tbody tr[data-id] a.open");
    browser.click(&link);
    browser.wait_until("the ladder", "return document.querySelector('.ladder svg') !== null");
    assert_eq!(browser.eval("return location.pathname", json!([])), json!(format!("/i/{}", wanted[0])));
    let bands = browser.eval(
        "return Array.from(document.querySelectorAll('.ladder svg text')).map(t => t.textContent).filter(t => t.startsWith('site '))",
        json!([]),
    );
    let bands: BTreeSet<String> = bands
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|text| text.as_str().and_then(|text| text.strip_prefix("site ")).map(String::from))
        .collect();
    assert_eq!(bands, chosen.sites, "one band per site the interaction visited");
    let band_rects =
        browser.eval("return document.querySelectorAll('.ladder svg rect.band').length", json!([]));
    assert_eq!(band_rects, json!(chosen.sites.len()));
    let lanes = browser.eval(
        "return Array.from(document.querySelectorAll('.ladder svg g.lane-head > title')).map(t => t.textContent)",
        json!([]),
    );
    let lanes: Vec<String> =
        lanes.as_array().into_iter().flatten().filter_map(|t| t.as_str().map(String::from)).collect();
    assert!(!chosen.parties.is_empty());
    for (site, dn) in &chosen.parties {
        let head = format!("{dn} at {site}:");
        assert!(
            lanes.iter().any(|lane| lane.starts_with(&head)),
            "no lane for {dn} at {site}; lanes {lanes:?}"
        );
    }
    let path = browser.screenshot("interaction.png");
    assert!(std::fs::metadata(&path).map(|meta| meta.len()).unwrap_or(0) > 10_000, "a real screenshot");
    browser.resize(390, 844);
    browser.wait_until("the narrow layout", "return window.innerWidth <= 400");
    let overflow = browser.eval("return document.documentElement.scrollWidth - window.innerWidth", json!([]));
    assert!(
        overflow.as_i64().is_some_and(|px| px <= 0),
        "the interaction page scrolls sideways on a phone: {overflow}px"
    );
    browser.screenshot("interaction-phone.png");

    // The downloads answer from the page's links.
    let downloads = browser.eval(
        "return Array.from(document.querySelectorAll('.downloads a')).map(a => a.getAttribute('href'))",
        json!([]),
    );
    for href in downloads.as_array().into_iter().flatten().filter_map(Value::as_str) {
        let (status, _) = service.get(href);
        assert_eq!(status, 200, "{href}");
    }
}

/// The page section whose heading has this id (`recording-heading`, ...), up to its end.
fn section<'a>(page: &'a str, heading_id: &str) -> &'a str {
    let start = page.find(&format!("aria-labelledby=\"{heading_id}\"")).unwrap_or(page.len());
    let rest = &page[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

/// Every interaction the service recorded lists each of its media files (the stored
/// recording's `mediaFiles`) in the recording section of its page.
fn every_media_file_is_on_its_interaction_page(service: &Service, ids: &BTreeSet<String>) {
    let mut files_seen = 0;
    for id in ids {
        let (status, recording) = service.get(&format!("/v1/recordings/{id}"));
        if status != 200 {
            continue;
        }
        let media: Vec<String> = recording["mediaFiles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|file| file["mediaId"].as_str().map(String::from))
            .collect();
        let (status, page) = service.get(&format!("/i/{id}"));
        assert_eq!(status, 200, "/i/{id}");
        let recording_html = section(page.as_str().unwrap_or_default(), "recording-heading");
        for media_id in &media {
            assert!(
                recording_html.contains(media_id.as_str()),
                "/i/{id} does not list media file {media_id}:\n{recording_html}"
            );
        }
        if !media.is_empty() {
            assert!(!recording_html.contains("No media file"), "/i/{id} says it was not recorded");
        }
        files_seen += media.len();
    }
    assert!(files_seen > 0, "the simulated center recorded some calls");
}

/// A routing or diversion event as written: its site, `file:line` (how the ladder names its
/// row) and the ThirdPartyDN it sent the call to.
struct Routed {
    site: String,
    source: String,
    third_party_dn: String,
}

/// The simulator's return trip (four calls over three sites, S1 → S2 → S1 → S3) with its
/// third call moved to a fourth site, `TS_PAR`, so the customer crosses four sites. Its
/// events are written as one T-Server log per site into `logs` (each with its site's
/// header: names, UTC and local time); returns its media feed and its routing events.
fn four_site_interaction(dir: &Path, staging: &Path, followed: &Path) -> (String, Vec<Routed>) {
    use callstitch_tlib::tlog::{Header, LogReader, LogWriter, ReaderOptions};
    use callstitch_tlib::{Event, Message, Text};

    let out = dir.join("return-trip");
    let output = common::binary()
        .args(["simulate", "--sites", "4", "--interactions", "40", "--seed", "3"])
        .args(["--scenarios", "return-trip", "--out"])
        .arg(&out)
        .output()
        .expect("simulate runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let truth = std::fs::read_to_string(out.join("truth.jsonl")).expect("truth");
    let trip = truth
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|interaction| interaction["segments"].as_array().is_some_and(|segments| segments.len() == 4))
        .expect("a return trip of four calls");
    let segments = trip["segments"].as_array().cloned().unwrap_or_default();
    let uuid = |segment: &Value| segment["call_uuid"].as_str().unwrap_or_default().to_string();
    let uuids: BTreeSet<String> = segments.iter().map(uuid).collect();
    let conns: BTreeSet<String> = segments
        .iter()
        .flat_map(|segment| segment["conn_ids"].as_array().cloned().unwrap_or_default())
        .filter_map(|conn| conn.as_str().map(String::from))
        .collect();
    let moved = uuid(&segments[2]);

    // Each site's events of the trip, and each site's header.
    let mut sites: Vec<(String, Header, Vec<Event>)> = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&out)
        .expect("simulated logs")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    paths.sort();
    for path in paths {
        let mut reader = LogReader::open(&path, ReaderOptions::default()).expect("a simulated log");
        let mut events = Vec::new();
        while let Some(event) = reader.next_event().expect("readable") {
            let mine = event.call_uuid.as_ref().is_some_and(|id| uuids.contains(id.as_str()))
                || event.conn_id.is_some_and(|conn| conns.contains(&conn.to_string()));
            if mine {
                events.push(event);
            }
        }
        let header = reader.header().cloned().unwrap_or_default();
        let site = header.application_name.clone().unwrap_or_default();
        let (moving, staying): (Vec<Event>, Vec<Event>) = events
            .into_iter()
            .partition(|event| event.call_uuid.as_ref().is_some_and(|id| id.as_str() == moved));
        if !moving.is_empty() {
            let paris = Header { application_name: Some("TS_PAR".to_string()), ..header.clone() };
            let moving = moving
                .into_iter()
                .map(|mut event| {
                    event.site = Text::from("TS_PAR");
                    event
                })
                .collect();
            sites.push(("TS_PAR".to_string(), paris, moving));
        }
        sites.push((site, header, staying));
    }
    // The partners' Inter-Site Links still name the moved call's old site: the linker joins
    // the calls by the link ids and notes the inconsistency (notes with long ids, which the
    // phone layout must wrap).
    let mut routed = Vec::new();
    for (site, header, events) in sites.iter().filter(|(_, _, events)| !events.is_empty()) {
        let name = format!("{site}.log");
        let mut writer = LogWriter::new(Vec::new());
        writer.write_header(header).expect("in memory");
        for event in events {
            let line = writer.write_event(event).expect("in memory");
            let third = event.third_party_dn.as_deref().filter(|dn| !dn.is_empty());
            if let (Message::EventRouteUsed | Message::EventDiverted, Some(third)) = (&event.message, third) {
                routed.push(Routed {
                    site: site.clone(),
                    source: format!("{}:{line}", followed.join(&name).display()),
                    third_party_dn: third.to_string(),
                });
            }
        }
        std::fs::write(staging.join(&name), writer.into_inner()).expect("log written");
    }
    let media: String = std::fs::read_to_string(out.join("media.jsonl"))
        .expect("media feed")
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|file| file["call_uuid"].as_str().is_some_and(|id| uuids.contains(id)))
        .map(|mut file| {
            if file["call_uuid"].as_str() == Some(moved.as_str()) {
                file["site"] = json!("TS_PAR");
            }
            format!("{file}\n")
        })
        .collect();
    (media, routed)
}

/// Texts of the SVGs matching `selector` that overlap another text or stick out of their
/// picture, at most 20, in words. Bounding boxes in the page: a text's box is its font's
/// whole line (ascent and descent), so two lines set close share up to a few pixels of empty
/// space above and below the letters; boxes must overlap by more than 3 px both ways to
/// count (letters on letters), and stick out by more than 1 px to be cut.
const TEXT_PROBLEMS: &str = r#"
var problems = [];
document.querySelectorAll(arguments[0]).forEach(function (svg) {
  var box = svg.getBoundingClientRect();
  var texts = Array.prototype.filter.call(svg.querySelectorAll('text'), function (t) {
    return t.textContent.trim() !== '' && t.getClientRects().length > 0;
  });
  var rects = texts.map(function (t) { return t.getBoundingClientRect(); });
  for (var i = 0; i < rects.length; i++) {
    var r = rects[i];
    if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) {
      problems.push('cut by its picture: "' + texts[i].textContent + '"');
    }
    for (var j = i + 1; j < rects.length; j++) {
      var q = rects[j];
      var w = Math.min(r.right, q.right) - Math.max(r.left, q.left);
      var h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
      if (w > 3 && h > 3) {
        problems.push('"' + texts[i].textContent + '" overlaps "' + texts[j].textContent + '" by ' + w.toFixed(1) + ' x ' + h.toFixed(1) + ' px (heights ' + r.height.toFixed(1) + ', ' + q.height.toFixed(1) + ')');
      }
    }
  }
});
return problems.slice(0, 20);
"#;

/// The arrow of the ladder row named by its `file:line` and site: where it ends (`data-to`),
/// its end x, and the x of the lane of that DN at that site.
const ROUTING_ARROW: &str = r#"
var source = arguments[0], site = arguments[1];
var row = Array.prototype.find.call(document.querySelectorAll('.ladder g.event'), function (g) {
  return g.getAttribute('data-source') === source && g.getAttribute('data-site') === site;
});
if (!row) { return null; }
var line = row.querySelector('line[data-to]');
if (!line) { return {to: null}; }
var to = line.getAttribute('data-to');
var lane = Array.prototype.find.call(document.querySelectorAll('.ladder line.lane'), function (l) {
  return l.getAttribute('data-site') === site && l.getAttribute('data-dn') === to;
});
return {to: to, x2: Number(line.getAttribute('x2')), lane: lane ? Number(lane.getAttribute('x1')) : null};
"#;

fn no_sideways_scroll(browser: &Browser<'_>, what: &str) {
    let overflow =
        browser.eval("return document.scrollingElement.scrollWidth - window.innerWidth", json!([]));
    assert!(overflow.as_i64().is_some_and(|px| px <= 0), "{what} scrolls sideways: {overflow}px");
}

#[test]
fn a_four_site_interaction_reads_at_1400_px_and_on_a_phone() {
    let test = "a_four_site_interaction_reads_at_1400_px_and_on_a_phone";
    let Some(driver) = Driver::start_or_skip(test) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs dir");
    // Calls of minutes whose events arrive at once: no idle or link timeout cuts them.
    let config = base_config(dir.path())
        .replace("link_timeout_s = 2", "link_timeout_s = 600")
        .replace("call_idle_timeout_s = 2", "call_idle_timeout_s = 3600");
    let config = format!("{config}logs = [\"{}\"]\n", logs.display());
    let service = Service::start(dir.path(), &config);
    service.ready();
    // The media feed first, then the logs: the recording has its files when the calls end.
    let staging = dir.path().join("staging");
    std::fs::create_dir_all(&staging).expect("staging dir");
    let (media, routed) = four_site_interaction(dir.path(), &staging, &logs);
    let (status, answer) = service.post("/v1/media", &media, None);
    assert_eq!(status, 200, "{answer}");
    for entry in std::fs::read_dir(&staging).expect("staged logs").filter_map(Result::ok) {
        std::fs::rename(entry.path(), logs.join(entry.file_name())).expect("log moved into the followed dir");
    }
    assert!(!routed.is_empty(), "the trip is routed");
    // Live, the last interaction of an estate that went quiet completes once its sites'
    // time has moved on past the ISCC window (60 s) with the wall clock: a minute at least.
    let found = service.wait_for("/v1/interactions?limit=10", ISCC_WINDOW_AND_MARGIN, |page| {
        page["items"].as_array().is_some_and(|items| {
            items.iter().any(|item| {
                item["sites"].as_array().is_some_and(|sites| sites.len() == 4) && item["state"] == "complete"
            })
        })
    });
    let id = found["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|item| item["sites"].as_array().is_some_and(|sites| sites.len() == 4))
        .and_then(|item| item["interaction_id"].as_str())
        .expect("the four-site interaction")
        .to_string();

    let browser = Browser::open(&driver);
    browser.resize(1400, 1000);
    browser.goto(&service.url(&format!("/i/{id}")));
    browser.wait_until("the ladder", "return document.querySelector('.ladder svg') !== null");
    browser.wait_until("the wide layout", "return window.innerWidth >= 1380");
    browser.screenshot("interaction-4-sites.png");
    no_sideways_scroll(&browser, "the page at 1400 px");
    let bands = browser.eval("return document.querySelectorAll('.ladder svg rect.band').length", json!([]));
    assert_eq!(bands, json!(4), "a band per site");
    let problems = browser.eval(TEXT_PROBLEMS, json!([".ladder svg, .timeline svg"]));
    assert_eq!(problems, json!([]), "texts of the ladder and timeline");
    for (what, selector) in [("ladder", ".ladder"), ("timeline", ".timeline")] {
        let fits = browser.eval(
            "var box = document.querySelector(arguments[0]); return box === null || box.scrollWidth <= box.clientWidth + 1",
            json!([selector]),
        );
        assert_eq!(fits, json!(true), "the {what} of four sites fits 1400 px without scrolling");
    }

    // Routing and diversion arrows end at the ThirdPartyDN: the destination, not the caller.
    for routed in &routed {
        let arrow = browser.eval(ROUTING_ARROW, json!([routed.source, routed.site]));
        assert!(!arrow.is_null(), "no ladder row for the routing event at {}: {arrow}", routed.source);
        assert_eq!(
            arrow["to"],
            json!(routed.third_party_dn),
            "the arrow of {} ends at ThirdPartyDN",
            routed.source
        );
        if let (Some(x2), Some(lane)) = (arrow["x2"].as_f64(), arrow["lane"].as_f64()) {
            assert!(
                (x2 - lane).abs() <= 8.0,
                "the arrow of {} stops at x {x2}, its lane is at {lane}",
                routed.source
            );
        }
    }

    // A click on a ladder row opens that event, with every attribute, in the raw events.
    let row = browser.find(".ladder g.event[data-site=TS_PAR][data-source]");
    browser.eval("arguments[0].scrollIntoView({block: 'center'})", json!([{ELEMENT: row}]));
    browser.click(&row);
    let opened = browser.eval(
        "var row = arguments[0]; var ev = Array.from(document.querySelectorAll('details.ev')).find(d => d.dataset.source === row.dataset.source && d.dataset.site === row.dataset.site); \
         var box = ev && ev.getBoundingClientRect(); \
         return ev ? [ev.open, location.hash === '#' + ev.id, box.top < innerHeight && box.bottom > 0, ev.querySelector('.ev-body').textContent.includes('AttributeCallUUID')] : null",
        json!([{ELEMENT: row}]),
    );
    assert_eq!(opened, json!([true, true, true, true]), "the ladder row opened its event");
    browser.screenshot("interaction-4-sites-ladder-click.png");

    // Every media file of its recording is listed.
    let (_, recording) = service.get(&format!("/v1/recordings/{id}"));
    let media_ids: Vec<String> = recording["mediaFiles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|file| file["mediaId"].as_str().map(String::from))
        .collect();
    assert!(!media_ids.is_empty(), "the trip was recorded: {recording}");
    let listed = browser.eval(
        "return Array.from(document.querySelectorAll('#recording-heading ~ .table-wrap table.media tbody tr td:nth-of-type(1)')).map(td => td.textContent)",
        json!([]),
    );
    assert_eq!(listed, json!(media_ids), "the recording section lists every media file");

    // An event opens on a click, with every attribute.
    browser.eval("document.getElementById('call-1').open = true", json!([]));
    let summary = browser.find("#call-1 details.ev > summary");
    browser.click(&summary);
    let opened = browser.eval(
        "var ev = document.querySelector('#call-1 details.ev'); return [ev.open, ev.querySelector('.ev-body').getBoundingClientRect().height > 0, ev.querySelector('.ev-body').textContent.includes('AttributeConnID')]",
        json!([]),
    );
    assert_eq!(opened, json!([true, true, true]), "the first event of call 1 opened with its attributes");
    browser.screenshot("interaction-4-sites-event.png");

    // A phone; the linker's notes (long ids) wrap too.
    let notes = browser.eval("return document.querySelectorAll('section.notes li').length", json!([]));
    assert!(notes.as_u64().is_some_and(|notes| notes > 0), "the moved call's links are noted: {notes}");
    browser.resize(390, 844);
    browser.wait_until("the narrow layout", "return window.innerWidth <= 400");
    no_sideways_scroll(&browser, "the page on a 390 px phone");
    browser.screenshot("interaction-4-sites-phone.png");
    browser.eval("document.getElementById('events-heading').scrollIntoView()", json!([]));
    browser.screenshot("interaction-4-sites-phone-events.png");
}

/// One call of one DN at site TS1 that starts ringing at `time` and stays up: an
/// interaction of its own, written live as soon as it is posted.
fn ringing(seq: u32, uuid: &str, time: &str) -> String {
    json!({"message": "EventRinging", "site": "TS1", "seq": seq, "timestamp": time,
           "conn_id": format!("{seq:016x}"), "call_uuid": uuid, "this_dn": "7001",
           "other_dn": format!("555000{seq}"), "call_type": "Inbound"})
    .to_string()
}

/// Issue 16, item 6: a live row was put at the top of the results whatever its start; the
/// results are newest start first, so a row that started between two shown rows must land
/// between them, and one older than every row (no older page) at the bottom.
#[test]
fn a_live_row_lands_at_its_start_time_place_among_the_results() {
    let Some(driver) = Driver::start_or_skip("a_live_row_lands_at_its_start_time_place_among_the_results")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    // The calls stay up (live) while the test looks.
    let config = base_config(dir.path()).replace("call_idle_timeout_s = 2", "call_idle_timeout_s = 600");
    let service = Service::start(dir.path(), &config);
    let id_of = |uuid: &str| {
        let page = service
            .wait_for(&format!("/v1/interactions?call_uuid={uuid}"), WAIT, |page| !ids_of(page).is_empty());
        ids_of(&page).into_iter().next().expect("its interaction")
    };
    let post = |lines: &[String]| {
        let (status, body) = service.post("/v1/events", &lines.join("\n"), None);
        assert_eq!(status, 200, "{body}");
    };
    post(&[ringing(1, "LIVE-T1", "2026-02-02T10:00:00Z"), ringing(3, "LIVE-T3", "2026-02-02T10:00:20Z")]);
    let (t1, t3) = (id_of("LIVE-T1"), id_of("LIVE-T3"));

    let browser = Browser::open(&driver);
    browser.goto(&service.url("/"));
    browser.wait_until(
        "the live stream",
        "return document.querySelector('#results[data-live-connected=yes]') !== null",
    );
    let order =
        "return Array.from(document.querySelectorAll('#results tbody tr[data-id]')).map(r => r.dataset.id)";
    assert_eq!(browser.eval(order, json!([])), json!([t3, t1]), "newest start first");

    post(&[ringing(2, "LIVE-T2", "2026-02-02T10:00:10Z"), ringing(4, "LIVE-T0", "2026-02-02T09:59:50Z")]);
    let (t2, t0) = (id_of("LIVE-T2"), id_of("LIVE-T0"));
    browser.wait_until(
        "the live rows",
        "return document.querySelectorAll('#results tbody tr[data-id]').length >= 4",
    );
    assert_eq!(
        browser.eval(order, json!([])),
        json!([t3, t2, t1, t0]),
        "each live row at its start-time place"
    );
    let duration = browser
        .eval("return document.querySelector('#results tbody tr.live td.duration').textContent", json!([]));
    assert!(duration.as_str().is_some_and(|text| text.ends_with(" so far")), "a live duration: {duration}");
    browser.screenshot("search-live-order.png");
}
