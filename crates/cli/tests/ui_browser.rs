//! The web UI in a real headless Chromium, driven over WebDriver (chromedriver): the real
//! `callstitch serve` follows the logs `callstitch simulate` writes while the search page is
//! open (live rows arrive), then a CallUUID of a multi-site interaction from the simulator's
//! truth is typed into the search box, the result opened, and the ladder must show every
//! site band and every party DN of it. Screenshots land in `<target>/ui-artifacts/`.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver: `scripts/install-browser` installs
//! them (CI runs it first). The WebDriver calls are the few this test needs, over `ureq`.

mod common;

use std::collections::BTreeSet;
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

impl Driver {
    fn start() -> Driver {
        for path in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: run scripts/install-browser (it installs Debian's chromium and chromium-driver)"
            );
        }
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
fn search_a_call_uuid_and_read_its_ladder_in_chromium() {
    let driver = Driver::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs dir");
    let config = format!("{}logs = [\"{}\"]\n", base_config(dir.path()), logs.display());
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
    let driver = Driver::start();
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
