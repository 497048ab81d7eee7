//! The HTTP edge of `callstitch serve` under attack (issue 15), against the real binary:
//! refused bodies are not buffered, oversize bodies are refused from their Content-Length,
//! slow and idle clients cannot exhaust the open files, a token-less service answers only
//! its own Host and Origin and JSON bodies, logins are throttled, and every response says
//! `nosniff`. Raw sockets where a client library would hide what is on the wire.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{base_config, fixture, parsed_lines, Service};

const READER: &str = "read-token-0123456789";
const WRITER: &str = "ingest-token-0123456789";

fn with_tokens(dir: &Path) -> String {
    format!(
        "{}[[token]]\nname = \"dashboard\"\nsecret = \"{READER}\"\nscopes = [\"read\"]\n\
         [[token]]\nname = \"collector\"\nsecret = \"{WRITER}\"\nscopes = [\"ingest\"]\n",
        base_config(dir)
    )
}

/// `host:port` of the service.
fn authority(service: &Service) -> String {
    service.base.trim_start_matches("http://").to_string()
}

fn connect(service: &Service) -> TcpStream {
    let stream = TcpStream::connect(authority(service)).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout set");
    stream
}

/// An answer as it came off the wire.
struct Wire {
    status: u16,
    head: String,
    body: String,
}

impl Wire {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
        })
    }
}

fn parse_wire(raw: &[u8]) -> Wire {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    Wire { status, head: head.to_string(), body: body.to_string() }
}

/// Sends `head` (request line and headers, no blank line) and `body` with `Connection:
/// close`, and reads the whole answer.
fn exchange(service: &Service, head: &str, body: &str) -> Wire {
    let mut stream = connect(service);
    let request = format!("{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    stream.write_all(request.as_bytes()).expect("request sent");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_wire(&raw)
}

fn proc_status_kb(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| {
            line.strip_prefix(key)?.trim_start_matches(':').split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no {key} in {status}"))
}

/// Starts the service under `ulimit -n <open_files>`.
fn start_with_open_files(dir: &Path, config: &str, open_files: u32) -> Service {
    let path = dir.join("service.toml");
    std::fs::write(&path, config).expect("config written");
    let script = format!("ulimit -n {open_files} && exec \"$0\" serve --config \"$1\"");
    let mut command = Command::new("sh");
    command
        .args(["-c", &script, env!("CARGO_BIN_EXE_callstitch")])
        .arg(&path)
        .stderr(Stdio::inherit())
        .env("CALLSTITCH_LOG", "warn");
    Service::spawn(command)
}

/// Item 2: 24 clients at once each send a 12 MB body with no token. Refused before the body
/// is read, the service's peak memory does not grow by their bodies (288 MB).
#[test]
fn refused_posts_are_not_read_into_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &with_tokens(dir.path()));
    service.ready();
    let pid = service.child.id();
    let peak_before = proc_status_kb(pid, "VmHWM");

    const BODY: usize = 12 << 20;
    let address = authority(&service);
    let clients: Vec<_> = (0..24)
        .map(|_| {
            let address = address.clone();
            std::thread::spawn(move || -> Option<u16> {
                let mut stream = TcpStream::connect(&address).ok()?;
                stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
                let head = format!(
                    "POST /v1/events HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-ndjson\r\n\
                     Content-Length: {BODY}\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).ok()?;
                let mut reader = stream.try_clone().ok()?;
                let answer = std::thread::spawn(move || {
                    let mut raw = Vec::new();
                    let _ = reader.read_to_end(&mut raw);
                    parse_wire(&raw).status
                });
                let chunk = vec![b' '; 64 << 10];
                for _ in 0..BODY / chunk.len() {
                    if stream.write_all(&chunk).is_err() {
                        break;
                    }
                }
                let _ = stream.shutdown(Shutdown::Write);
                answer.join().ok()
            })
        })
        .collect();
    let statuses: Vec<u16> = clients.into_iter().filter_map(|client| client.join().ok().flatten()).collect();
    for status in &statuses {
        assert!(*status == 401 || *status == 0, "a refused POST was answered {status}");
    }
    assert!(statuses.contains(&401), "some client read its 401: {statuses:?}");

    let peak_after = proc_status_kb(pid, "VmHWM");
    let grown_mb = peak_after.saturating_sub(peak_before) / 1024;
    assert!(grown_mb < 96, "the peak RSS grew by {grown_mb} MB for 288 MB of refused bodies");
    let rss_mb = proc_status_kb(pid, "VmRSS") / 1024;
    assert!(rss_mb < 400, "RSS {rss_mb} MB after refused POSTs");
    assert_eq!(service.get("/healthz").0, 200, "still serving");
}

/// Items 2 and 10: a 100 MB Content-Length is refused from the header alone; the client has
/// sent no byte of the body when the 413 comes.
#[test]
fn an_oversized_content_length_is_refused_before_the_body_is_sent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &with_tokens(dir.path()));
    let mut stream = connect(&service);
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout set");
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {WRITER}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: 104857600\r\n\r\n",
        authority(&service)
    );
    stream.write_all(head.as_bytes()).expect("headers sent");
    let mut raw = vec![0u8; 4096];
    let read = stream.read(&mut raw).expect("an answer before the body is sent");
    let answer = parse_wire(&raw[..read]);
    assert_eq!(answer.status, 413, "{}", answer.head);
    assert!(answer.body.contains("max_body_bytes"), "{}", answer.body);
}

/// Item 4: after sign-in, `next` leads only to a path of this service.
#[test]
fn sign_in_redirects_only_to_this_service() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &with_tokens(dir.path()));
    let host = authority(&service);
    for (next, expected) in [
        ("%2F%09%2Fevil.com", "/"),
        ("%2F%0D%0A%2Fevil.com", "/"),
        ("%2F%2Fevil.com", "/"),
        ("%2F%5Cevil.com", "/"),
        ("%2F%252F%252Fevil.com", "/"),
        ("%2Fi%2Fabc%3Fpage%3D2", "/i/abc?page=2"),
    ] {
        let body = format!("token={READER}&next={next}");
        let answer = exchange(
            &service,
            &format!(
                "POST /login HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n\
                 Content-Type: application/x-www-form-urlencoded"
            ),
            &body,
        );
        assert_eq!(answer.status, 303, "{next}: {}", answer.head);
        assert_eq!(answer.header("location").as_deref(), Some(expected), "{next}");
    }
}

/// Item 5: under a 256 open-file limit, 300 connections that never send a request do not
/// keep `/healthz` from answering, and a request whose headers never end is closed after
/// the header timeout, as is an idle kept-alive connection; a live stream outlives both
/// the header and the request timeout.
#[test]
fn idle_and_half_open_connections_cannot_starve_the_service() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!("{}[http]\nheader_timeout_s = 2\nrequest_timeout_s = 1\n", base_config(dir.path()));
    let service = start_with_open_files(dir.path(), &config, 256);
    service.ready();
    let address = authority(&service);

    let idle: Vec<TcpStream> = (0..300).filter_map(|_| TcpStream::connect(&address).ok()).collect();
    assert_eq!(idle.len(), 300, "the kernel queues what the service does not take");
    let start = Instant::now();
    let mut stream = TcpStream::connect(&address).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(40))).expect("timeout set");
    stream
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .expect("request sent");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let answer = parse_wire(&raw);
    assert_eq!(answer.status, 200, "healthz behind 300 idle connections: {}", answer.head);
    assert!(start.elapsed() < Duration::from_secs(30), "healthz took {:?}", start.elapsed());
    drop(idle);

    // Half-open: the headers never end.
    let mut half = connect(&service);
    half.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n").as_bytes()).expect("sent");
    let start = Instant::now();
    let mut rest = Vec::new();
    let closed = half.read_to_end(&mut rest);
    assert!(closed.is_ok(), "the half-open request is closed, not left waiting: {closed:?}");
    assert!(start.elapsed() < Duration::from_secs(20), "closed after {:?}", start.elapsed());

    // Kept alive and idle after one answer.
    let mut kept = connect(&service);
    kept.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes()).expect("sent");
    let mut first = vec![0u8; 4096];
    let read = kept.read(&mut first).expect("the first answer");
    assert_eq!(parse_wire(&first[..read]).status, 200);
    let start = Instant::now();
    let mut rest = Vec::new();
    assert!(kept.read_to_end(&mut rest).is_ok(), "the idle connection is closed");
    assert!(start.elapsed() < Duration::from_secs(20), "closed after {:?}", start.elapsed());

    // A live stream: answered, then quiet (keep-alive comments come every 15 s) and open.
    let mut live = connect(&service);
    live.write_all(format!("GET /v1/stream HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes()).expect("sent");
    let mut head = vec![0u8; 4096];
    let read = live.read(&mut head).expect("the stream's head");
    assert_eq!(parse_wire(&head[..read]).status, 200);
    live.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout set");
    let mut more = vec![0u8; 4096];
    let after = live.read(&mut more);
    assert!(
        after.as_ref().is_err_and(|error| error.kind() == std::io::ErrorKind::WouldBlock),
        "the stream is still open after 5 s: {after:?}"
    );
}

/// Item 7: without tokens, a request naming another host (DNS rebinding) is refused, and so
/// is one from another origin; the service's own names are answered.
#[test]
fn without_tokens_only_this_services_host_and_origin_are_answered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &base_config(dir.path()));
    let host = authority(&service);
    let port = host.rsplit(':').next().expect("a port").to_string();
    for own in
        [host.clone(), format!("localhost:{port}"), format!("127.0.0.1:{port}"), format!("[::1]:{port}")]
    {
        let answer = exchange(&service, &format!("GET /v1/status HTTP/1.1\r\nHost: {own}"), "");
        assert_eq!(answer.status, 200, "Host: {own}: {}", answer.head);
    }
    for foreign in [format!("evil.example:{port}"), "evil.example".to_string(), format!("127.0.0.2:{port}")] {
        for path in ["/v1/status", "/v1/interactions", "/", "/metrics"] {
            let answer = exchange(&service, &format!("GET {path} HTTP/1.1\r\nHost: {foreign}"), "");
            assert_eq!(answer.status, 421, "Host: {foreign} {path}: {}", answer.head);
        }
    }

    let lines = parsed_lines(&[fixture("seed-islink")]);
    let post = |origin: &str, content_type: &str| {
        exchange(
            &service,
            &format!(
                "POST /v1/events HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nContent-Type: {content_type}"
            ),
            &lines,
        )
    };
    let foreign = post("http://evil.example", "application/x-ndjson");
    assert_eq!(foreign.status, 403, "{}", foreign.head);
    assert_eq!(post("null", "application/x-ndjson").status, 403);
    let read = exchange(
        &service,
        &format!("GET /v1/interactions HTTP/1.1\r\nHost: {host}\r\nOrigin: http://evil.example"),
        "",
    );
    assert_eq!(read.status, 403, "a cross-origin read: {}", read.head);
    let plain = post(&format!("http://{host}"), "text/plain");
    assert_eq!(plain.status, 415, "a no-cors text/plain body: {}", plain.head);
    assert_eq!(service.get("/v1/status").1["stored"]["events"], 0, "nothing refused was stored");
    let own = post(&format!("http://{host}"), "application/x-ndjson; charset=utf-8");
    assert_eq!(own.status, 200, "same origin, JSON lines: {}", own.body);

    // The UI's own form posts still work.
    let login = exchange(
        &service,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n\
             Content-Type: application/x-www-form-urlencoded"
        ),
        "token=&next=%2F",
    );
    assert_eq!(login.status, 303, "{}", login.head);
}

/// Item 10: failed sign-ins from one address are throttled (429 with Retry-After), and while
/// throttled even the right token waits.
#[test]
fn failed_sign_ins_are_throttled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &with_tokens(dir.path()));
    let host = authority(&service);
    let sign_in = |token: &str| {
        exchange(
            &service,
            &format!(
                "POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded"
            ),
            &format!("token={token}&next=%2F"),
        )
    };
    let statuses: Vec<u16> = (0..20).map(|n| sign_in(&format!("guess-{n:016}")).status).collect();
    assert!(statuses.iter().all(|status| *status == 401 || *status == 429), "{statuses:?}");
    let throttled = statuses.iter().filter(|status| **status == 429).count();
    assert!(throttled >= 10, "20 quick guesses, {throttled} throttled: {statuses:?}");
    let answer = sign_in(READER);
    assert_eq!(answer.status, 429, "the right token waits too: {}", answer.head);
    let retry: u64 = answer.header("retry-after").and_then(|value| value.parse().ok()).unwrap_or(0);
    assert!(retry >= 1, "{}", answer.head);
}

/// Item 10: a read refused for its token is counted; the scheme is case-insensitive.
#[test]
fn read_auth_failures_are_counted_and_the_bearer_scheme_is_case_insensitive() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &with_tokens(dir.path()));
    assert_eq!(service.get("/v1/interactions").0, 401);
    assert_eq!(service.get_with("/v1/status", Some("wrong-token-0123456789")).0, 401);
    let host = authority(&service);
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let answer = exchange(
            &service,
            &format!("GET /v1/status HTTP/1.1\r\nHost: {host}\r\nAuthorization: {scheme} {READER}"),
            "",
        );
        assert_eq!(answer.status, 200, "{scheme}: {}", answer.head);
    }
    let metrics = exchange(
        &service,
        &format!("GET /metrics HTTP/1.1\r\nHost: {host}\r\nAuthorization: bearer {READER}"),
        "",
    );
    assert!(
        metrics.body.contains("callstitch_rejected_requests_total{source=\"auth-read\"} 2"),
        "{}",
        metrics.body
    );
}

/// Item 10: a cursor whose id is not hex is a 400, not an empty page.
#[test]
fn a_cursor_with_a_non_hex_id_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &base_config(dir.path()));
    assert_eq!(service.get("/v1/interactions?cursor=1351521660540480.8800f70a5c563897").0, 200);
    for bad in ["1351521660540480.zzzz", "1351521660540480.8800f70a5c56389G", "1.XYZ"] {
        let (status, body) = service.get(&format!("/v1/interactions?cursor={bad}"));
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

/// Item 10: every answer, JSON or not, error or not, says `nosniff`; pages forbid framing.
#[test]
fn every_response_says_nosniff() {
    let dir = tempfile::tempdir().expect("temp dir");
    let service = Service::start(dir.path(), &with_tokens(dir.path()));
    service.ready();
    let host = authority(&service);
    for (request, status) in [
        ("GET /healthz HTTP/1.1".to_string(), 200),
        ("GET /openapi.json HTTP/1.1".to_string(), 200),
        ("GET /v1/status HTTP/1.1".to_string(), 401),
        (format!("GET /v1/status HTTP/1.1\r\nAuthorization: Bearer {READER}"), 200),
        (format!("GET /metrics HTTP/1.1\r\nAuthorization: Bearer {READER}"), 200),
        ("GET /no/such/thing HTTP/1.1".to_string(), 404),
        ("GET /v1/events HTTP/1.1".to_string(), 401),
        (format!("POST /v1/events HTTP/1.1\r\nAuthorization: Bearer {WRITER}\r\nContent-Type: application/json"), 400),
        ("GET /login HTTP/1.1".to_string(), 200),
    ] {
        let answer = exchange(&service, &format!("{request}\r\nHost: {host}"), "");
        assert_eq!(answer.status, status, "{request}: {}", answer.head);
        assert_eq!(answer.header("x-content-type-options").as_deref(), Some("nosniff"), "{request}");
    }
    let page = exchange(&service, &format!("GET /login HTTP/1.1\r\nHost: {host}"), "");
    assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"), "{}", page.head);
}
