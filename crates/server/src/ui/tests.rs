//! The pages in-process: the whole router (`api::router`, which merges the UI) over a store
//! double holding hand-made interactions, asked like a browser would. Status codes,
//! escaping, masking, aliases, 404 and 400, pagination of results and of a 500-call
//! ladder, the downloads (events.log read back by the log reader) and the cookie sign-in.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use callstitch_store::{
    Batch, Cursor, InteractionQuery, MediaPost, Page, Pruned, Recovery, Store, StoreCounts, StoreError,
    StoredCall, StoredEvent, StoredInteraction, Summary,
};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::api::{App, AppInner};
use crate::config::{Scope, Token};
use crate::state::Shared;

/// The customer's number of the hand-made interaction, masked with `mask_numbers`.
const ANI: &str = "+14155550123";
/// A DN that is markup: must never reach a page unescaped.
const EVIL_DN: &str = "<script>alert(1)</script>";
const EVIL_SITE: &str = "TS<b>1";
/// A configured site with no call stored: a search may name it.
const CONFIGURED_SITE: &str = "SIP_NEW";

/// A store double: interactions as documents, aliases, raw events per (site, CallUUID).
#[derive(Default)]
struct Fake {
    docs: Vec<Value>,
    aliases: Vec<(String, String)>,
    events: Vec<(String, String, StoredEvent)>,
    /// How long every search takes (a store under load).
    slow: std::time::Duration,
}

fn micros(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().map_or(0, |time| time.as_microsecond())
}

fn strs(value: &Value, key: &str) -> Vec<String> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

fn segments(doc: &Value) -> Vec<Value> {
    doc["segments"].as_array().cloned().unwrap_or_default()
}

fn party_dns(doc: &Value) -> Vec<String> {
    let mut dns: Vec<String> = segments(doc)
        .iter()
        .flat_map(|segment| segment["parties"].as_array().cloned().unwrap_or_default())
        .filter_map(|party| party["dn"].as_str().map(String::from))
        .collect();
    dns.sort();
    dns.dedup();
    dns
}

/// The search row the store builds (callstitch_store::record).
fn summary(doc: &Value) -> Summary {
    let text = |value: &Value| value.as_str().map(String::from);
    let time = |value: &Value| value.as_str().map(micros);
    let count = |value: &Value| value.as_array().map_or(0, Vec::len);
    Summary {
        interaction_id: text(&doc["interaction_id"]).unwrap_or_default(),
        revision: doc["revision"].as_u64().unwrap_or(0) as u32,
        replaces: strs(doc, "replaces"),
        start_us: time(&doc["start"]).unwrap_or(0),
        end_us: time(&doc["end"]),
        complete: doc["complete"].as_bool().unwrap_or(false),
        state: text(&doc["state"]).unwrap_or_default(),
        current_site: text(&doc["current_site"]),
        current_since_us: time(&doc["current_since"]),
        linking: text(&doc["linking"]).unwrap_or_default(),
        sites: strs(doc, "sites"),
        call_uuids: segments(doc).iter().filter_map(|segment| text(&segment["call_uuid"])).collect(),
        parties: party_dns(doc),
        ani: text(&doc["ani"]),
        dnis: text(&doc["dnis"]),
        outcome: text(&doc["outcome"]).unwrap_or_default(),
        released_by: text(&doc["released_by"]["who"]).unwrap_or_default(),
        released_by_dn: text(&doc["released_by"]["dn"]),
        recording_id: text(&doc["recording"]["recording_id"]).unwrap_or_default(),
        media_files: count(&doc["recording"]["media_files"]),
        findings: count(&doc["recording"]["findings"]),
    }
}

fn matches(doc: &Value, query: &InteractionQuery) -> bool {
    let segs = segments(doc);
    let any_segment =
        |key: &str, value: &str| segs.iter().any(|segment| segment[key].as_str() == Some(value));
    let dns = {
        let mut dns = party_dns(doc);
        dns.extend(["ani", "dnis"].iter().filter_map(|key| doc[*key].as_str().map(String::from)));
        dns
    };
    let released = &doc["released_by"];
    let start = micros(doc["start"].as_str().unwrap_or(""));
    let findings = doc["recording"]["findings"].as_array().map_or(0, Vec::len);
    let by_uuid = |uuid: &str| any_segment("call_uuid", uuid) || any_segment("key", uuid);
    let by_dn = |dn: &str| dns.iter().any(|d| d == dn);
    let by_islink = |link: &str| {
        doc["links"].as_array().into_iter().flatten().any(|l| l["islink"].as_str() == Some(link))
            || strs(doc, "unpaired_links").iter().any(|l| l == link)
    };
    let by_conn = |conn: &str| segs.iter().any(|segment| strs(segment, "conn_ids").iter().any(|c| c == conn));
    let by_any = |text: &str| {
        by_uuid(text)
            || by_dn(text)
            || by_islink(text)
            || callstitch_store::conn_id(text).is_some_and(|conn| by_conn(&conn))
    };
    query.call_uuid.as_deref().is_none_or(by_uuid)
        && query.any_id.as_deref().is_none_or(by_any)
        && query.state.as_deref().is_none_or(|state| doc["state"].as_str().unwrap_or("complete") == state)
        && query.complete.is_none_or(|complete| doc["complete"].as_bool() == Some(complete))
        && query.conn_id.as_deref().is_none_or(by_conn)
        && query.dn.as_deref().is_none_or(by_dn)
        && query.islink.as_deref().is_none_or(by_islink)
        && query.site.as_deref().is_none_or(|site| any_segment("site", site))
        && query.outcome.as_deref().is_none_or(|outcome| doc["outcome"].as_str() == Some(outcome))
        && query.released_by.as_deref().is_none_or(|who| released["who"] == who || released["dn"] == who)
        && query.from_us.is_none_or(|from| start >= from)
        && query.to_us.is_none_or(|to| start < to)
        && query.has_findings.is_none_or(|has| has == (findings > 0))
        && query.cursor.as_ref().is_none_or(|Cursor { start_us, id }| {
            let own = doc["interaction_id"].as_str().unwrap_or("");
            start < *start_us || (start == *start_us && own < id.as_str())
        })
}

impl Store for Fake {
    async fn commit(&self, _batch: std::sync::Arc<Batch>) -> Result<(), StoreError> {
        Ok(())
    }

    async fn recover(&self) -> Result<Recovery, StoreError> {
        Ok(Recovery::default())
    }

    async fn events_after(&self, _after: u64, _limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(Vec::new())
    }

    async fn media_posts_after(&self, _after: u64, _limit: usize) -> Result<Vec<MediaPost>, StoreError> {
        Ok(Vec::new())
    }

    async fn interactions(&self, query: InteractionQuery) -> Result<Page, StoreError> {
        tokio::time::sleep(self.slow).await;
        let mut found: Vec<&Value> = self.docs.iter().filter(|doc| matches(doc, &query)).collect();
        let key = |doc: &&Value| {
            (
                micros(doc["start"].as_str().unwrap_or("")),
                doc["interaction_id"].as_str().unwrap_or("").to_string(),
            )
        };
        found.sort_by_key(|doc| std::cmp::Reverse(key(doc)));
        let next_cursor = (found.len() > query.limit)
            .then(|| {
                found.get(query.limit - 1).map(|doc| Cursor { start_us: key(doc).0, id: key(doc).1 }.encode())
            })
            .flatten();
        Ok(Page { items: found.iter().take(query.limit).map(|doc| summary(doc)).collect(), next_cursor })
    }

    async fn sites(&self) -> Result<Vec<String>, StoreError> {
        let mut sites: Vec<String> = self
            .docs
            .iter()
            .flat_map(segments)
            .filter_map(|segment| segment["site"].as_str().map(String::from))
            .collect();
        sites.sort();
        sites.dedup();
        Ok(sites)
    }

    async fn interaction(&self, id: &str) -> Result<Option<StoredInteraction>, StoreError> {
        let alias = self.aliases.iter().find(|(old, _)| old == id).map(|(_, new)| new.clone());
        let live = alias.clone().unwrap_or_else(|| id.to_string());
        Ok(self.docs.iter().find(|doc| doc["interaction_id"] == live.as_str()).map(|doc| StoredInteraction {
            id: live.clone(),
            asked_as: alias.map(|_| id.to_string()),
            doc: crate::ui::interaction::test_document(doc.clone()),
            recording: doc["recording"].clone(),
        }))
    }

    async fn recording(&self, id: &str) -> Result<Option<Value>, StoreError> {
        Ok(self.interaction(id).await?.map(|stored| stored.recording))
    }

    async fn calls(&self, _site: &str, _key: &str) -> Result<Vec<StoredCall>, StoreError> {
        Ok(Vec::new())
    }

    async fn call_events(&self, site: &str, key: &str, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let events =
            self.events.iter().filter(|(s, k, _)| s == site && k == key).map(|(_, _, event)| event.clone());
        Ok(events.take(limit).collect())
    }

    async fn prune(&self, _before_us: i64) -> Result<Pruned, StoreError> {
        Ok(Pruned::default())
    }

    async fn counts(&self) -> Result<StoreCounts, StoreError> {
        Ok(StoreCounts::default())
    }
}

fn segment(site: &str, uuid: &str, conn: &str, role: &str, parties: &[(&str, &str)], start: &str) -> Value {
    let parties: Vec<Value> = parties
        .iter()
        .map(|(dn, kind)| json!({"dn": dn, "kind": kind, "role": "destination", "released_by": "self"}))
        .collect();
    json!({"site": site, "call_uuid": uuid, "key": uuid, "conn_ids": [conn], "role": role, "model": "internal-inbound",
           "conformant": true, "outcome": "answered", "parties": parties,
           "ended_by": {"who": "customer", "dn": ANI, "provenance": "releasing-party"},
           "start": start, "end": start, "ended": true})
}

fn event(
    site: &str,
    uuid: &str,
    conn: &str,
    message: &str,
    this_dn: &str,
    other_dn: &str,
    time: &str,
) -> Value {
    json!({"message": message, "site": site, "call_uuid": uuid, "conn_id": conn, "this_dn": this_dn,
           "other_dn": other_dn, "timestamp": time, "ani": ANI, "file": format!("{site}.log"), "line": 1})
}

const ID: &str = "a1a1a1a1a1a1a1a1";
const OLD_ID: &str = "0b0b0b0b0b0b0b0b";
const UUID1: &str = "00RP30KH7088L1IC08GB82LAES000317";
const UUID2: &str = "01AE904GK088LFQD2CGB02LAES0000EP";
const CONN: &str = "009a021843038407";
const ISLINK: &str = "00RP30KH7088L1IC08GB82LAES000316";

/// A two-site interaction whose DNs and site are markup, recorded with one finding.
fn two_site() -> (Value, Vec<(String, String, StoredEvent)>) {
    let start = "2012-10-29T14:41:00.495558Z";
    let doc = json!({
        "interaction_id": ID, "revision": 1, "replaces": [OLD_ID], "complete": true, "linking": "complete",
        "state": "complete", "start": start, "end": "2012-10-29T14:41:03.546558Z", "ani": ANI, "dnis": "8005551000",
        "sites": [EVIL_SITE, "SIPServer1"],
        "segments": [
            segment(EVIL_SITE, UUID1, CONN, "root", &[(ANI, "external"), ("7001", "queue")], start),
            segment("SIPServer1", UUID2, "0000000000000abc", "hop", &[(EVIL_DN, "agent")], "2012-10-29T14:41:01Z"),
        ],
        "links": [{"evidence": "islink", "islink": ISLINK, "from": {"site": EVIL_SITE, "call_uuid": UUID1},
                   "to": {"site": "SIPServer1", "call_uuid": UUID2}, "consistent": true}],
        "outcome": "answered", "released_by": {"who": "customer", "dn": ANI, "site": "SIPServer1", "provenance": "releasing-party"},
        "notes": ["a note with <markup>"],
        "recording": {"recording_id": UUID1, "media_files": [{"media_id": "m-1", "site": "SIPServer1", "call_uuid": UUID2,
            "recorded_dn": ANI, "side": "customer", "start": start, "stop": null, "provenance": "media-feed",
            "matched_by": "call-uuid",
            "heard": [{"dn": ANI, "kind": "customer", "site": "SIPServer1", "from": start, "until": start}]}],
            "findings": [{"rule": "P1", "message": "recording lost after a REFER <transfer>"}]},
    });
    let raw = [
        (EVIL_SITE, UUID1, CONN, "EventRinging", "7001", ANI, "2012-10-29T14:41:00.495558Z"),
        (EVIL_SITE, UUID1, CONN, "EventReleased", "7001", ANI, "2012-10-29T14:41:00.540480Z"),
        (
            "SIPServer1",
            UUID2,
            "0000000000000abc",
            "EventRinging",
            EVIL_DN,
            ANI,
            "2012-10-29T14:41:01.000000Z",
        ),
        (
            "SIPServer1",
            UUID2,
            "0000000000000abc",
            "EventEstablished",
            EVIL_DN,
            ANI,
            "2012-10-29T14:41:01.500000Z",
        ),
        (
            "SIPServer1",
            UUID2,
            "0000000000000abc",
            "EventReleased",
            EVIL_DN,
            ANI,
            "2012-10-29T14:41:03.546558Z",
        ),
    ];
    let events = raw
        .iter()
        .enumerate()
        .map(|(index, (site, uuid, conn, message, this_dn, other_dn, time))| {
            let doc = event(site, uuid, conn, message, this_dn, other_dn, time).to_string();
            (site.to_string(), uuid.to_string(), StoredEvent { seq: index as u64 + 1, doc, arrived_us: None })
        })
        .collect();
    (doc, events)
}

/// `count` one-call interactions a minute apart, ids `c000…`.
fn many(count: usize) -> Vec<Value> {
    (0..count)
        .map(|n| {
            let start = format!("2012-10-29T{:02}:{:02}:00Z", 10 + n / 60, n % 60);
            let uuid = format!("UUID{n:04}");
            json!({"interaction_id": format!("c{n:015}"), "start": start, "sites": ["TS1"], "complete": true,
                   "segments": [segment("TS1", &uuid, "0000000000000001", "root", &[("7001", "agent")], &start)],
                   "outcome": if n % 2 == 0 { "answered" } else { "abandoned-in-queue" },
                   "released_by": {"who": "customer"}, "recording": {"media_files": [], "findings": []}})
        })
        .collect()
}

/// One interaction of `calls` calls over three sites, each call with three events.
fn huge(calls: usize) -> Fake {
    let id = "d000000000000500";
    let mut events = Vec::new();
    let mut segs = Vec::new();
    for n in 0..calls {
        let site = format!("S{}", n % 3);
        let uuid = format!("HUGE{n:04}");
        let conn = format!("{:016x}", n + 1);
        let at = |s: usize| format!("2012-10-29T12:{:02}:{:02}.{:03}000Z", n / 60 % 60, n % 60, s * 100);
        segs.push(segment(
            &site,
            &uuid,
            &conn,
            if n == 0 { "root" } else { "hop" },
            &[("7001", "agent")],
            &at(0),
        ));
        for (s, message) in ["EventRinging", "EventEstablished", "EventReleased"].iter().enumerate() {
            let doc = event(&site, &uuid, &conn, message, "7001", "5550000", &at(s)).to_string();
            events.push((
                site.clone(),
                uuid.clone(),
                StoredEvent { seq: (n * 3 + s + 1) as u64, doc, arrived_us: None },
            ));
        }
    }
    let sites: Vec<Value> = segs.iter().map(|segment| segment["site"].clone()).collect();
    let doc = json!({"interaction_id": id, "start": "2012-10-29T12:00:00Z", "sites": sites, "segments": segs,
                     "complete": true, "outcome": "answered", "released_by": {"who": "agent"},
                     "recording": {"media_files": [], "findings": []}});
    Fake { docs: vec![doc], events, ..Fake::default() }
}

fn fixture() -> Fake {
    let (doc, events) = two_site();
    let mut docs = many(3);
    docs.push(doc);
    Fake { docs, aliases: vec![(OLD_ID.to_string(), ID.to_string())], events, ..Fake::default() }
}

fn app_with(store: Fake, tokens: Vec<Token>, mask_numbers: bool) -> Router {
    app_with_edge(store, tokens, mask_numbers, crate::api::Edge::default())
}

fn app_with_edge(store: Fake, tokens: Vec<Token>, mask_numbers: bool, edge: crate::api::Edge) -> Router {
    let (ingress, _requests) = crate::ingest::queue(1);
    let app = App::new(AppInner {
        store,
        ingress,
        shared: Arc::new(Shared::new()),
        tokens,
        mask_numbers,
        max_body_bytes: 1 << 20,
        edge,
        sign_ins: Default::default(),
        sites: vec![CONFIGURED_SITE.to_string()],
    });
    crate::api::router(app)
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.expect("the router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await.expect("a body");
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

async fn get(router: &Router, path: &str) -> Answer {
    send(router, Request::get(path).body(Body::empty()).expect("request")).await
}

/// The result rows' interaction ids, in page order.
fn row_ids(body: &str) -> Vec<String> {
    body.split("<tr id=\"row-").skip(1).filter_map(|rest| rest.split('"').next()).map(String::from).collect()
}

fn assert_no_markup_leak(body: &str) {
    assert!(!body.contains("<script>alert"), "a DN became markup");
    assert!(!body.contains("<b>1"), "a site became markup");
    assert!(!body.contains("<markup>") && !body.contains("<transfer>"), "a note or finding became markup");
}

#[tokio::test]
async fn the_search_page_lists_interactions_newest_first_and_escapes_them() {
    let router = app_with(fixture(), Vec::new(), false);
    let answer = get(&router, "/").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(answer.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap_or("")
        .contains("script-src 'self'"));
    assert_eq!(row_ids(&answer.body), vec![ID, "c000000000000002", "c000000000000001", "c000000000000000"]);
    assert!(answer.body.contains(&format!("href=\"/i/{ID}\"")));
    assert!(answer.body.contains("TS&lt;b&gt;1 → SIPServer1"), "sites visited, escaped");
    assert!(answer.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the DN is shown, escaped");
    assert!(answer.body.contains("⚠ 1 finding") && answer.body.contains("yes, 1 file"));
    assert!(answer.body.contains("<label for=\"q\">"), "the search box is labelled");
    assert!(answer.body.contains("data-live=\"on\""), "the first page takes live rows");
    assert_no_markup_leak(&answer.body);
}

#[tokio::test]
async fn the_search_box_finds_by_every_kind_of_id() {
    let router = app_with(fixture(), Vec::new(), false);
    let short_conn = CONN.trim_start_matches('0').to_ascii_uppercase();
    let hits = [
        format!("q={UUID2}"),
        format!("q={short_conn}"),
        format!("q={short_conn}&kind=conn_id"),
        "q=%2B14155550123".to_string(),
        "q=8005551000&kind=dn".to_string(),
        format!("q={ISLINK}"),
        format!("q={ISLINK}&kind=islink"),
        format!(
            "q={UUID1}&kind=call_uuid&site=SIPServer1&findings=yes&outcome=answered&released_by=customer"
        ),
        format!("q={UUID1}&from=2012-10-29T14:41:00Z&to=2012-10-29T14:42"),
    ];
    for query in hits {
        let answer = get(&router, &format!("/?{query}")).await;
        assert_eq!((answer.status, row_ids(&answer.body)), (StatusCode::OK, vec![ID.to_string()]), "{query}");
    }
    for miss in
        [format!("q={UUID1}&kind=dn"), format!("q={UUID1}&findings=no"), "q=nothing-like-it".to_string()]
    {
        let answer = get(&router, &format!("/?{miss}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{miss}");
        assert!(row_ids(&answer.body).is_empty(), "{miss}");
        assert!(answer.body.contains("No interaction matches."), "{miss}");
    }
    let filtered = get(&router, "/?outcome=abandoned-in-queue").await;
    assert_eq!(row_ids(&filtered.body), vec!["c000000000000001"]);
}

#[tokio::test]
async fn a_malformed_search_is_the_search_page_with_a_message_and_400() {
    let router = app_with(fixture(), Vec::new(), false);
    for (query, says) in [
        ("from=yesterday", "is not a time"),
        ("to=2012-13-45", "is not a time"),
        ("q=xyz&kind=conn_id", "is not a ConnID"),
        ("q=00112233445566778899&kind=conn_id", "is not a ConnID"),
        ("cursor=nonsense", "cursor"),
        ("findings=maybe", "findings"),
        ("kind=colour&q=1", "search kind"),
    ] {
        let answer = get(&router, &format!("/?{query}")).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(answer.body.contains("role=\"alert\""), "{query}");
        assert!(answer.body.contains(says), "{query}: {says}");
        assert!(
            answer.body.contains("<form method=\"get\" action=\"/\" class=\"search\""),
            "{query}: the form again"
        );
    }
    let echoed = get(&router, "/?from=%3Cscript%3E").await;
    assert_eq!(echoed.status, StatusCode::BAD_REQUEST);
    assert!(!echoed.body.contains("<script>"), "the bad value is echoed escaped");
}

#[tokio::test]
async fn older_pages_follow_the_cursor_without_repeats() {
    let router = app_with(Fake { docs: many(73), ..Fake::default() }, Vec::new(), false);
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/?site=TS1".to_string();
    let mut pages = 0;
    loop {
        let answer = get(&router, &path).await;
        assert_eq!(answer.status, StatusCode::OK);
        let ids = row_ids(&answer.body);
        assert!(ids.len() <= crate::ui::search::PAGE_SIZE);
        seen.extend(ids);
        pages += 1;
        let Some(older) = answer.body.split("class=\"older\" href=\"").nth(1) else { break };
        let href = older.split('"').next().unwrap_or("").replace("&amp;", "&");
        assert!(href.contains("site=TS1"), "the filters are kept: {href}");
        if pages > 1 {
            assert!(answer.body.contains("data-live=\"off\""), "older pages take no live rows");
        }
        path = href;
    }
    let mut expected: Vec<String> = (0..73).rev().map(|n| format!("c{n:015}")).collect();
    assert_eq!(pages, 2);
    assert_eq!(seen, expected);
    expected.dedup();
    assert_eq!(expected.len(), 73);
}

#[tokio::test]
async fn a_free_text_search_finds_every_kind_of_id_in_store_order() {
    let mut fake = Fake { docs: many(5), ..Fake::default() };
    // c…1 has DN "UUID0003": found by DN, while c…3 is found by its CallUUID UUID0003.
    fake.docs[1]["segments"][0]["parties"] = json!([{"dn": "UUID0003", "kind": "agent"}]);
    let router = app_with(fake, Vec::new(), false);
    let answer = get(&router, "/?q=UUID0003").await;
    assert_eq!(row_ids(&answer.body), vec!["c000000000000003", "c000000000000001"]);
    assert!(!answer.body.contains("class=\"older\""), "one page");
    let api = get(&router, "/v1/interactions?q=UUID0003").await;
    let page: Value = serde_json::from_str(&api.body).expect("JSON");
    let ids: Vec<&str> =
        page["items"].as_array().into_iter().flatten().filter_map(|i| i["interaction_id"].as_str()).collect();
    assert_eq!(ids, ["c000000000000003", "c000000000000001"], "the API takes the same q");
}

#[tokio::test]
async fn the_interaction_page_shows_ladder_calls_recording_and_events() {
    let router = app_with(fixture(), Vec::new(), false);
    let answer = get(&router, &format!("/i/{ID}")).await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = &answer.body;
    assert!(body.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""), "the ladder is inline");
    assert!(body.contains("site TS&lt;b&gt;1") && body.contains("site SIPServer1"), "a band per site");
    assert!(body.contains("aria-label=\"Ladder diagram, page 1 of 1\""));
    for (label, text) in [
        ("calls table", UUID2),
        ("link", ISLINK),
        ("media file", "m-1"),
        ("finding", "<strong>P1</strong> recording lost after a REFER &lt;transfer&gt;"),
        ("raw events", "<details id=\"call-2\"><summary>Call #2 at SIPServer1"),
        ("events count", "3 event(s)"),
        ("download json", &format!("href=\"/i/{ID}.json\" download")),
        ("download recording", &format!("href=\"/i/{ID}/recording.json\" download")),
        ("download log", &format!("href=\"/i/{ID}/events.log\" download")),
        ("note", "a note with &lt;markup&gt;"),
        ("ANI unmasked", ANI),
    ] {
        assert!(body.contains(text), "{label}: {text}");
    }
    assert!(!body.contains("is now part of"), "asked by its own id");
    assert_no_markup_leak(body);
}

#[tokio::test]
async fn a_replaced_id_still_answers_and_says_where_it_went() {
    let router = app_with(fixture(), Vec::new(), false);
    let answer = get(&router, &format!("/i/{OLD_ID}")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer
        .body
        .contains(&format!("Interaction {OLD_ID} is now part of interaction <a href=\"/i/{ID}\">{ID}</a>")));
    let json = get(&router, &format!("/i/{OLD_ID}.json")).await;
    assert_eq!(json.status, StatusCode::OK);
    let doc: Value = serde_json::from_str(&json.body).expect("JSON");
    assert_eq!(doc["interaction_id"], ID);
}

#[tokio::test]
async fn unknown_ids_and_pages_are_html_404_with_a_search_box() {
    let router = app_with(fixture(), Vec::new(), false);
    for path in [
        "/i/ffffffffffffffff",
        "/i/%3Cb%3E.json",
        "/i/nope/recording.json",
        "/i/nope/events.log",
        &format!("/i/{ID}?page=2"),
    ] {
        let answer = get(&router, path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.headers[header::CONTENT_TYPE], "text/html; charset=utf-8", "{path}");
        assert!(answer.body.contains("id=\"again-q\""), "{path}: a search box");
        assert!(!answer.body.contains("<b>"), "{path}: the id is escaped");
    }
    for page in ["0", "two", "-1"] {
        let answer = get(&router, &format!("/i/{ID}?page={page}")).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "page={page}");
    }
    let api = get(&router, "/v1/nothing").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(api.body.contains("\"not-found\""), "the API's own 404 is untouched");
}

#[tokio::test]
async fn downloads_are_the_documents_and_a_log_the_reader_reads_back() {
    let router = app_with(fixture(), Vec::new(), false);
    let json = get(&router, &format!("/i/{ID}.json")).await;
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(json.headers[header::CONTENT_DISPOSITION], format!("attachment; filename=\"{ID}.json\""));
    let doc: Value = serde_json::from_str(&json.body).expect("JSON");
    let stored = crate::ui::interaction::test_document(two_site().0).to_value().expect("JSON");
    assert_eq!(doc, stored, "the stored interaction, unchanged");

    let recording = get(&router, &format!("/i/{ID}/recording.json")).await;
    let recording: Value = serde_json::from_str(&recording.body).expect("JSON");
    assert_eq!(recording, two_site().0["recording"]);

    let log = get(&router, &format!("/i/{ID}/events.log")).await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(log.body.starts_with("Application name: TS<b>1\n"), "{}", log.body);
    let reader = callstitch_tlib::tlog::LogReader::new(
        log.body.as_bytes(),
        callstitch_tlib::tlog::ReaderOptions::default(),
    );
    let read: Vec<callstitch_tlib::Event> = reader.filter_map(Result::ok).collect();
    let messages: Vec<&str> = read.iter().map(|event| event.message.name()).collect();
    assert_eq!(
        messages,
        ["EventRinging", "EventReleased", "EventRinging", "EventEstablished", "EventReleased"]
    );
    let sites: Vec<&str> = read.iter().map(|event| event.site.as_str()).collect();
    assert_eq!(sites, [EVIL_SITE, EVIL_SITE, "SIPServer1", "SIPServer1", "SIPServer1"]);
    assert_eq!(read[2].this_dn.as_deref(), Some(EVIL_DN));
}

/// A stored line that is not JSON, or is JSON but not an event, is still listed among the
/// call's raw events (under its JSON names, or as `unreadable`), counted under the ladder as
/// not drawn, and left out of events.log.
#[tokio::test]
async fn stored_lines_that_are_not_events_are_listed_and_counted_but_not_drawn_nor_logged() {
    let mut store = fixture();
    for (seq, doc) in [(90, "not json <at all>"), (91, "{\"message\": 7, \"mystery\": \"m<1>\"}")] {
        let stored = StoredEvent { seq, doc: doc.to_string(), arrived_us: None };
        store.events.push((EVIL_SITE.to_string(), UUID1.to_string(), stored));
    }
    let router = app_with(store, Vec::new(), false);
    let page = get(&router, &format!("/i/{ID}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for (label, text) in [
        ("the count under the ladder", "2 stored event(s) could not be read back and are not drawn."),
        ("the call's count", "4 event(s)"),
        ("the line that is not JSON", "<dt>unreadable</dt><dd class=\"mono\">not json &lt;at all&gt;</dd>"),
        ("the JSON that is not an event", "<dt>mystery</dt><dd class=\"mono\">m&lt;1&gt;</dd>"),
        ("its message as it is", "<dt>Message</dt><dd class=\"mono\">7</dd>"),
    ] {
        assert!(page.body.contains(text), "{label}: {text}");
    }
    let log = get(&router, &format!("/i/{ID}/events.log")).await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(!log.body.contains("not json") && !log.body.contains("mystery"), "{}", log.body);
    let read = callstitch_tlib::tlog::LogReader::new(log.body.as_bytes(), Default::default());
    assert_eq!(read.filter_map(Result::ok).count(), 5, "the five events, and nothing for the two lines");
}

#[tokio::test]
async fn masking_covers_every_page_and_download() {
    let router = app_with(fixture(), Vec::new(), true);
    let masked = "********0123";
    for path in [
        "/".to_string(),
        format!("/?q={UUID1}"),
        format!("/i/{ID}"),
        format!("/i/{ID}.json"),
        format!("/i/{ID}/recording.json"),
        format!("/i/{ID}/events.log"),
    ] {
        let answer = get(&router, &path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert!(!answer.body.contains("4155550123"), "{path} shows the customer's number");
        assert!(!answer.body.contains("8005551000"), "{path} shows the DNIS");
        assert!(answer.body.contains(masked), "{path} shows the masked number");
    }
}

#[tokio::test]
async fn a_huge_interaction_has_a_paginated_legible_ladder() {
    let router = app_with(huge(500), Vec::new(), false);
    let first = get(&router, "/i/d000000000000500").await;
    assert_eq!(first.status, StatusCode::OK);
    let pages: usize = first
        .body
        .split("aria-label=\"Ladder diagram, page 1 of ")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|pages| pages.parse().ok())
        .expect("page 1 of N");
    assert_eq!(pages, 10, "1500 events, 150 a page");
    assert!(first.body.contains("rel=\"next\""));
    assert!(first.body.contains("<details id=\"call-500\">"), "every call's events");
    let last = get(&router, &format!("/i/d000000000000500?page={pages}")).await;
    assert_eq!(last.status, StatusCode::OK);
    assert!(last.body.contains(&format!("Page {pages} of {pages}")));
    for body in [&first.body, &last.body] {
        let height: i64 = body
            .split("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"")
            .nth(1)
            .and_then(|rest| rest.split("height=\"").nth(1))
            .and_then(|rest| rest.split('"').next())
            .and_then(|height| height.parse().ok())
            .expect("an SVG height");
        assert!(height <= callstitch_ladder::MAX_HEIGHT, "height {height}");
    }
    let beyond = get(&router, &format!("/i/d000000000000500?page={}", pages + 1)).await;
    assert_eq!(beyond.status, StatusCode::NOT_FOUND);
}

fn tokens() -> Vec<Token> {
    vec![
        Token { name: "reader".into(), secret: "read-secret".into(), scopes: vec![Scope::Read] },
        Token { name: "collector".into(), secret: "ingest-secret".into(), scopes: vec![Scope::Ingest] },
    ]
}

async fn login(router: &Router, token: &str, next: &str) -> Answer {
    let body = format!("token={token}&next={}", crate::ui::html::url_encode(next));
    let request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    send(router, request).await
}

#[tokio::test]
async fn with_tokens_the_pages_need_the_read_cookie() {
    let router = app_with(fixture(), tokens(), false);
    let anonymous = get(&router, &format!("/i/{ID}?page=1")).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers[header::LOCATION], format!("/login?next=%2Fi%2F{ID}%3Fpage%3D1"));
    for path in ["/", "/ui/stream", &format!("/i/{ID}/events.log")] {
        assert_eq!(get(&router, path).await.status, StatusCode::SEE_OTHER, "{path}");
    }
    let form = get(&router, "/login?next=%2F").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<label for=\"token\">") && form.body.contains("type=\"password\""));

    assert_eq!(login(&router, "wrong", "/").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(login(&router, "ingest-secret", "/").await.status, StatusCode::FORBIDDEN);
    let signed = login(&router, "read-secret", &format!("/i/{ID}")).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(signed.headers[header::LOCATION], format!("/i/{ID}"));
    let cookie = signed.headers[header::SET_COOKIE].to_str().expect("ascii").to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap_or_default().to_string();
    assert!(!pair.contains("read-secret"), "the cookie is encoded");

    let with_cookie =
        |path: &str| Request::get(path).header(header::COOKIE, &pair).body(Body::empty()).expect("request");
    let page = send(&router, with_cookie(&format!("/i/{ID}"))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sign out"));
    assert_eq!(send(&router, with_cookie("/")).await.status, StatusCode::OK);
    let bearer = Request::get("/")
        .header(header::AUTHORIZATION, "Bearer read-secret")
        .body(Body::empty())
        .expect("request");
    assert_eq!(send(&router, bearer).await.status, StatusCode::OK, "scripts may use the bearer header");
    let ingest_only = format!(
        "callstitch_token={}",
        "ingest-secret".bytes().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let refused = Request::get("/").header(header::COOKIE, ingest_only).body(Body::empty()).expect("request");
    assert_eq!(send(&router, refused).await.status, StatusCode::FORBIDDEN);

    let offsite = login(&router, "read-secret", "//evil.example/").await;
    assert_eq!(offsite.headers[header::LOCATION], "/", "no open redirect");
    assert_eq!(get(&router, "/ui/assets/ui.css").await.status, StatusCode::OK, "assets need no sign-in");
    let api = get(&router, "/v1/interactions").await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED, "the API keeps its bearer tokens");
}

#[tokio::test]
async fn without_tokens_the_pages_are_open() {
    let router = app_with(fixture(), Vec::new(), false);
    assert_eq!(get(&router, "/").await.status, StatusCode::OK);
    let login = get(&router, "/login").await;
    assert!(login.body.contains("no tokens configured"));
    assert!(!get(&router, "/").await.body.contains("Sign out"));
}

#[tokio::test]
async fn a_live_interaction_shows_where_the_customer_is_now_on_the_list_and_its_page() {
    let (mut doc, events) = two_site();
    doc["state"] = json!("live");
    doc["current_site"] = json!("SIPServer1");
    doc["current_since"] = json!("2012-10-29T14:41:01.000000Z");
    doc["segments"][1]["live"] = json!(true);
    let router = app_with(Fake { docs: vec![doc], events, ..Fake::default() }, Vec::new(), false);
    let list = get(&router, "/").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("now-live\">live</span> at SIPServer1"), "{}", list.body);
    assert!(
        list.body.contains("<time class=\"since\" datetime=\"2012-10-29T14:41:01.000000Z\""),
        "{}",
        list.body
    );
    let page = get(&router, &format!("/i/{ID}")).await;
    assert!(page.body.contains("the customer is at SIPServer1"), "{}", page.body);
    let bad = get(&router, "/?state=gone").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("state &quot;gone&quot; is not live, settling, complete"), "{}", bad.body);
}

#[tokio::test]
async fn a_call_read_from_the_sip_layer_says_so_and_shows_the_sip_signal_that_ended_it() {
    let (mut doc, events) = two_site();
    doc["segments"][1]["provenance"] = json!("sip-layer");
    doc["segments"][1]["sip_end"] =
        json!({"kind": "rejected", "by": "1002", "detail": "403 Forbidden", "reason": "Q.850;cause=21"});
    let router = app_with(Fake { docs: vec![doc], events, ..Fake::default() }, Vec::new(), false);
    let page = get(&router, &format!("/i/{ID}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(">SIP layer</span>"), "{}", page.body);
    assert!(page.body.contains("SIP: REJECTED from 1002, 403 Forbidden, Q.850;cause=21"), "{}", page.body);
}

/// Item 5 of issue 15: a slow read or page is cut at the request timeout with its error
/// shape; the live streams are not cut; an ingest body that stalls is refused 408.
#[tokio::test]
async fn slow_requests_are_cut_but_live_streams_and_stalled_bodies_are_told_apart() {
    use std::time::Duration;
    let edge = crate::api::Edge {
        request_timeout: Duration::from_millis(100),
        body_timeout: Duration::from_millis(100),
        ..crate::api::Edge::default()
    };
    let slow = Fake { slow: Duration::from_secs(30), ..fixture() };
    let router = app_with_edge(slow, Vec::new(), false, edge);

    let api = get(&router, "/v1/interactions").await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE, "{}", api.body);
    assert!(api.body.contains("request_timeout_s"), "{}", api.body);
    let page = get(&router, "/").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.body.contains("request_timeout_s") && page.body.contains("<!DOCTYPE html>"),
        "{}",
        page.body
    );

    for stream in ["/v1/stream", "/ui/stream"] {
        let response = router
            .clone()
            .oneshot(Request::get(stream).body(Body::empty()).expect("request"))
            .await
            .expect("the router answers");
        assert_eq!(response.status(), StatusCode::OK, "{stream}");
        let mut body = response.into_body().into_data_stream();
        let next =
            tokio::time::timeout(Duration::from_millis(400), tokio_stream::StreamExt::next(&mut body)).await;
        assert!(next.is_err(), "{stream} still open, quiet, after four request timeouts: {next:?}");
    }

    let stalled = Body::from_stream(tokio_stream::pending::<Result<axum::body::Bytes, std::io::Error>>());
    let request = Request::post("/v1/events")
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(stalled)
        .expect("request");
    let answer = send(&router, request).await;
    assert_eq!(answer.status, StatusCode::REQUEST_TIMEOUT, "{}", answer.body);
}

async fn get_json(router: &Router, path: &str) -> (StatusCode, Value) {
    let answer = get(router, path).await;
    (answer.status, serde_json::from_str(&answer.body).unwrap_or(Value::Null))
}

/// Item 6 of issue 16: `outcome=bogus` was an empty 200 while every other filter is strict.
#[tokio::test]
async fn an_unknown_outcome_is_a_400_that_lists_the_outcomes() {
    let router = app_with(fixture(), Vec::new(), false);
    let (status, body) = get_json(&router, "/v1/interactions?outcome=bogus").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let reason = body["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("\"bogus\"") && reason.contains("abandoned-in-queue"), "{reason}");
    let page = get(&router, "/?outcome=bogus").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("outcome &quot;bogus&quot; is not an outcome"), "{}", page.body);
    let (status, _) = get_json(&router, "/v1/interactions?outcome=abandoned-in-queue").await;
    assert_eq!(status, StatusCode::OK, "a real outcome still answers");
}

/// Item 6 of issue 16: an unknown site name was an empty 200; a configured site with no
/// call stored yet, and a site only stored calls name, are searched as before.
#[tokio::test]
async fn an_unknown_site_is_a_400_naming_the_known_sites() {
    let router = app_with(fixture(), Vec::new(), false);
    let (status, body) = get_json(&router, "/v1/interactions?site=TS9").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let reason = body["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("site \"TS9\" is unknown"), "{reason}");
    assert!(reason.contains("SIPServer1") && reason.contains(CONFIGURED_SITE), "the known sites: {reason}");
    let page = get(&router, "/?site=TS9").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("site &quot;TS9&quot; is unknown"), "{}", page.body);
    let (status, body) = get_json(&router, &format!("/v1/interactions?site={CONFIGURED_SITE}")).await;
    assert_eq!((status, body["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
    let (status, body) = get_json(&router, "/v1/interactions?site=SIPServer1").await;
    assert_eq!((status, body["items"][0]["interaction_id"].as_str()), (StatusCode::OK, Some(ID)));
}

/// Item 6 of issue 16: a mistyped address of a page showed the API's raw JSON.
#[tokio::test]
async fn a_mistyped_page_address_is_an_html_404_and_the_api_keeps_its_json() {
    let router = app_with(fixture(), Vec::new(), false);
    for path in ["/serch", "/i", "/interactions/%3Cscript%3E", "/nonexistent%3Cscript%3E"] {
        let answer = get(&router, path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.headers[header::CONTENT_TYPE], "text/html; charset=utf-8", "{path}");
        assert!(answer.body.contains("id=\"again-q\""), "{path}: a search box");
        assert!(!answer.body.contains("<script>"), "{path}");
    }
    for path in ["/v1/nothing", "/v1"] {
        let (status, body) = get_json(&router, path).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("not-found")), "{path}");
    }
    let asks_json = Request::get("/nothing")
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .expect("request");
    let answer = send(&router, asks_json).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.body.contains("\"not-found\""), "a client asking for JSON gets JSON: {}", answer.body);
}

/// Item 6 of issue 16: the page said `findings=yes` and took dates, the API said
/// `has_findings=true` and took RFC 3339 only. Now both read both.
#[tokio::test]
async fn the_page_and_the_api_read_the_same_parameters() {
    let router = app_with(fixture(), Vec::new(), false);
    for query in [
        "findings=yes",
        "has_findings=true",
        "has_findings=yes",
        "from=2012-10-29T14:41&to=2012-10-30",
        "from=2012-10-29T14:41:00Z&to=2012-10-30T00:00:00Z",
        "q=%2B14155550123",
        "q=8005551000&kind=dn",
        "dn=8005551000",
        &format!("islink={ISLINK}"),
        &format!("call_uuid={UUID2}&state=ended&complete=yes"),
    ] {
        let (status, body) = get_json(&router, &format!("/v1/interactions?{query}")).await;
        let ids: Vec<&str> = body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["interaction_id"].as_str())
            .collect();
        let page = get(&router, &format!("/?{query}")).await;
        if query.contains("state=ended") {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{query}");
            continue;
        }
        assert_eq!((status, ids), (StatusCode::OK, vec![ID]), "API {query}: {body}");
        assert_eq!(
            (page.status, row_ids(&page.body)),
            (StatusCode::OK, vec![ID.to_string()]),
            "page {query}"
        );
    }
    let (status, body) = get_json(&router, "/v1/interactions?colour=red").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["reason"].as_str().unwrap_or_default().contains("colour"), "{body}");
    assert_eq!(get(&router, "/?colour=red").await.status, StatusCode::BAD_REQUEST, "the page is as strict");
}

#[tokio::test]
async fn the_search_page_shows_durations_and_the_counts_of_its_filter() {
    let router = app_with(fixture(), Vec::new(), false);
    let answer = get(&router, "/").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.contains("<th scope=\"col\">Duration</th>"));
    assert!(
        answer.body.contains("<td data-label=\"Duration\" class=\"duration\">3.1 s</td>"),
        "{}",
        answer.body
    );
    assert!(answer.body.contains("4 interactions matched"), "{}", answer.body);
    // many(3): answered, abandoned-in-queue, answered, all at TS1; the two-site one answered.
    assert!(answer.body.contains("href=\"/?outcome=answered\">3</a>"), "{}", answer.body);
    assert!(answer
        .body
        .contains("href=\"/?site=TS1&amp;outcome=abandoned-in-queue\">1 abandoned-in-queue</a>"));
    assert!(answer.body.contains("href=\"/?format=csv\" download"), "the CSV of the filter");
    let narrowed = get(&router, "/?site=TS1&outcome=abandoned-in-queue").await;
    assert_eq!(row_ids(&narrowed.body), vec!["c000000000000001"]);
    assert!(narrowed.body.contains("1 interaction matched"));

    let (status, counts) = get_json(&router, "/v1/counts?site=TS1").await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(counts["interactions"], 3);
    assert_eq!(
        counts["by_site"],
        json!([{"site": "TS1", "interactions": 3,
                                          "by_outcome": {"abandoned-in-queue": 1, "answered": 2}}])
    );
    let (status, _) = get_json(&router, "/v1/counts?outcome=bogus").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the counts read the same parameters");
}

/// `count` one-call interactions a second apart, the ANI of every third a formula.
fn spread(count: usize) -> Vec<Value> {
    (0..count)
        .map(|n| {
            let start = format!("2012-10-29T10:{:02}:{:02}Z", n / 60, n % 60);
            let end = format!("2012-10-29T10:{:02}:{:02}.500Z", n / 60, n % 60);
            let ani = if n % 3 == 0 { "=HYPERLINK(\"x\")".to_string() } else { format!("+1555{n:07}") };
            json!({"interaction_id": format!("e{n:015}"), "start": start, "end": end, "sites": ["TS1"], "complete": true,
                   "ani": ani, "segments": [segment("TS1", &format!("U{n}"), "0000000000000001", "root", &[("7001", "agent")], &start)],
                   "outcome": "answered", "released_by": {"who": "customer"}, "recording": {"media_files": [], "findings": []}})
        })
        .collect()
}

/// Issue 16, point 2: the search as CSV, every row of the filter over several store pages,
/// in the order of the search, RFC 4180 with formulas defused; the page, the API's
/// `format=csv` and `/v1/interactions.csv` are one answer.
#[tokio::test]
async fn a_search_exports_every_row_of_its_filter_as_csv() {
    let count = 2_345;
    let router = app_with(Fake { docs: spread(count), ..Fake::default() }, Vec::new(), false);
    let answer = get(&router, "/v1/interactions.csv?site=TS1").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8; header=present");
    let lines: Vec<&str> = answer.body.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), count + 1, "a header and every row");
    assert!(lines[0].starts_with("interaction_id,start,end,duration_s,"));
    let ids: Vec<&str> = lines[1..].iter().map(|line| line.split(',').next().unwrap_or_default()).collect();
    let expected: Vec<String> = (0..count).rev().map(|n| format!("e{n:015}")).collect();
    assert_eq!(ids, expected, "newest start first, no row twice");
    assert!(answer.body.contains(",0.500,"), "the duration in seconds");
    assert!(answer.body.contains(",\"'=HYPERLINK(\"\"x\"\")\","), "a formula is quoted and defused");
    assert!(answer.body.contains(",+15550000001,"), "a phone number is left as it is");
    for other in ["/v1/interactions?site=TS1&format=csv", "/?site=TS1&format=csv"] {
        let same = get(&router, other).await;
        assert_eq!((same.status, same.body == answer.body), (StatusCode::OK, true), "{other}");
    }
    let capped = get(&router, "/v1/interactions.csv?limit=10").await;
    assert_eq!(capped.body.split_terminator("\r\n").count(), 11, "a limit caps the rows");
    let bad = get(&router, "/v1/interactions.csv?outcome=bogus").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn masked_numbers_stay_masked_in_the_csv() {
    let router = app_with(fixture(), Vec::new(), true);
    let answer = get(&router, "/v1/interactions.csv").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(!answer.body.contains("4155550123") && answer.body.contains("********0123"), "{}", answer.body);
}

/// Live rows are placed by start time: every row carries its start for the script.
#[tokio::test]
async fn result_rows_carry_their_start_for_the_live_script() {
    let router = app_with(fixture(), Vec::new(), false);
    let answer = get(&router, "/").await;
    assert!(
        answer.body.contains(&format!("data-id=\"{ID}\" data-start=\"1351521660495558\"")),
        "{}",
        answer.body
    );
    assert!(answer.body.contains("data-more=\"no\""));
}
