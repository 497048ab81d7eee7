//! Who may see the pages. Without configured tokens the UI is open (the config allows that
//! on loopback only). With tokens, a page needs a token with the read scope; browsers cannot
//! send bearer headers, so `/login` takes the token in a small form and keeps it in an
//! HttpOnly, SameSite=Strict cookie, which every page then accepts (as it accepts a bearer
//! header, for scripts). Failed sign-ins are throttled per client address
//! ([`SignInThrottle`]), and after signing in the browser goes back only to a path of this
//! service ([`safe_next`]).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use callstitch_store::Store;
use serde::Deserialize;

use super::html::{esc, html, secure, url_encode, Page};
use crate::api::App;
use crate::config::{Scope, Token};

/// The cookie holding the read token (hex-encoded, so any secret is a valid cookie value).
pub const COOKIE: &str = "callstitch_token";

/// Why a request may not see a page.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// No token presented, or one that is not configured: sign in.
    SignIn,
    /// A configured token without the read scope (its name).
    NoReadScope(String),
}

/// Compares secrets without an early exit that would tell how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex_encode(secret: &str) -> String {
    secret.bytes().map(|byte| format!("{byte:02x}")).collect()
}

fn hex_decode(text: &str) -> Option<String> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..text.len()).step_by(2).map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok()).collect();
    String::from_utf8(bytes?).ok()
}

/// The token a request presents: its bearer header, else the cookie.
fn presented(headers: &HeaderMap) -> Option<String> {
    let bearer = crate::api::bearer(headers).map(str::to_string);
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .and_then(|(_, value)| hex_decode(value.trim()))
    })
}

/// Checks a secret against the configured tokens for the read scope.
pub fn check_secret(tokens: &[Token], secret: &str) -> Result<(), Denied> {
    let token = tokens
        .iter()
        .find(|token| constant_time_eq(token.secret.as_bytes(), secret.as_bytes()))
        .ok_or(Denied::SignIn)?;
    if token.scopes.contains(&Scope::Read) {
        Ok(())
    } else {
        Err(Denied::NoReadScope(token.name.clone()))
    }
}

/// Whether a request may see the pages.
pub fn check(tokens: &[Token], headers: &HeaderMap) -> Result<(), Denied> {
    if tokens.is_empty() {
        return Ok(());
    }
    let secret = presented(headers).ok_or(Denied::SignIn)?;
    check_secret(tokens, &secret)
}

/// A path of this service: one `/` first, no `/` or `\` right after it (`//host` and `/\host`
/// are other hosts to a browser), no backslash, whitespace or control character anywhere
/// (browsers drop tab, CR and LF, so `/<TAB>/host` is `//host`).
fn is_local_path(path: &str) -> bool {
    let mut chars = path.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !path.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control())
}

/// Where to go after signing in: `next` if it is a path of this service, as written and
/// once percent-decoded; otherwise `/`.
pub fn safe_next(next: &str) -> &str {
    let decoded = percent_decode(next);
    if is_local_path(next) && is_local_path(&decoded) {
        next
    } else {
        "/"
    }
}

/// `%XX` escapes decoded (a malformed one is kept as written; bytes that are not UTF-8
/// become U+FFFD).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| text.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                at += 3;
            }
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Failed sign-ins per client address: the first [`FREE_FAILURES`] cost nothing, then each
/// failure locks the address out for twice as long as the one before (1 s, 2 s, 4 s … up to
/// [`LONGEST_LOCK`]); while locked out every try is answered 429 unchecked, the right token
/// too. An address with no failure for [`FORGET_AFTER`] starts afresh, and at most
/// [`MAX_CLIENTS`] addresses are remembered (IPv6 by /64: one host holds a whole prefix).
#[derive(Debug, Default)]
pub struct SignInThrottle {
    clients: Mutex<HashMap<IpAddr, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Failures before the first lock-out.
pub const FREE_FAILURES: u32 = 5;
/// The longest lock-out.
pub const LONGEST_LOCK: Duration = Duration::from_secs(300);
/// An address with no failure for this long is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(900);
/// The most addresses remembered.
pub const MAX_CLIENTS: usize = 4096;

impl Failures {
    fn locked_until(self) -> Instant {
        let Some(over) = self.count.checked_sub(FREE_FAILURES) else { return self.last };
        let lock = Duration::from_secs(1u64.checked_shl(over).unwrap_or(u64::MAX)).min(LONGEST_LOCK);
        self.last + lock
    }
}

/// The address a client is throttled by: IPv4 as it is, IPv6 by its /64.
fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !u128::from(u64::MAX);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
        v4 => v4,
    }
}

impl SignInThrottle {
    /// How long `client` must still wait before it may try again, if it must.
    pub fn wait(&self, client: IpAddr, now: Instant) -> Option<Duration> {
        let clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let until = clients.get(&client_key(client))?.locked_until();
        (until > now).then(|| until - now)
    }

    /// Counts a failed sign-in of `client`.
    pub fn failed(&self, client: IpAddr, now: Instant) {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let key = client_key(client);
        if !clients.contains_key(&key) && clients.len() >= MAX_CLIENTS {
            clients.retain(|_, failures| now.saturating_duration_since(failures.last) < FORGET_AFTER);
            if clients.len() >= MAX_CLIENTS {
                let oldest = clients.iter().min_by_key(|(_, failures)| failures.last).map(|(key, _)| *key);
                if let Some(oldest) = oldest {
                    clients.remove(&oldest);
                }
            }
        }
        let failures = clients.entry(key).or_insert(Failures { count: 0, last: now });
        if now.saturating_duration_since(failures.last) >= FORGET_AFTER {
            failures.count = 0;
        }
        failures.count = failures.count.saturating_add(1);
        failures.last = now;
    }

    /// Forgets `client`'s failures after it signed in.
    pub fn succeeded(&self, client: IpAddr) {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner).remove(&client_key(client));
    }

    /// How many addresses are remembered.
    pub fn remembered(&self) -> usize {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    secure(response)
}

/// The middleware of every page and download: signed in with the read scope, or sent to
/// `/login` (a token without the read scope gets 403).
pub async fn require_read<S: Store>(State(app): State<App<S>>, request: Request, next: Next) -> Response {
    match check(&app.tokens, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(Denied::SignIn) => {
            let wanted = request.uri().path_and_query().map_or("/", |path| path.as_str());
            see_other(&format!("/login?next={}", url_encode(wanted)))
        }
        Err(Denied::NoReadScope(name)) => super::html::error_page(
            StatusCode::FORBIDDEN,
            "Not allowed",
            &format!("The token {name:?} lacks the read scope the pages need. Sign in with a read token at /login."),
            true,
        ),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginQuery {
    next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    token: String,
    next: String,
}

fn login_page(status: StatusCode, next: &str, message: Option<&str>) -> Response {
    let mut page = Page::new("Sign in");
    page.push("<h1>Sign in</h1>\n");
    if let Some(message) = message {
        page.push(&format!("<p class=\"message error\" role=\"alert\">{}</p>\n", esc(message)));
    }
    page.push(&format!(
        "<p>This service needs a token with the <strong>read</strong> scope (a <code>[[token]]</code> of its \
         configuration). It is kept in an HttpOnly cookie for this site only.</p>\n\
         <form method=\"post\" action=\"/login\" class=\"login\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <label for=\"token\">Read token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>\n",
        esc(safe_next(next))
    ));
    html(status, page.finish())
}

pub async fn form<S: Store>(
    State(app): State<App<S>>,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Response {
    let next = query.map(|Query(query)| query.next).unwrap_or_default();
    if app.tokens.is_empty() {
        let mut page = Page::new("Sign in");
        page.push(
            "<h1>Sign in</h1>\n<p>This service has no tokens configured: the pages are open. \
                   <a href=\"/\">Search interactions</a>.</p>\n",
        );
        return html(StatusCode::OK, page.finish());
    }
    login_page(StatusCode::OK, &next, None)
}

/// The sign-in page saying how long to wait, 429 with `Retry-After`.
fn throttled(next: &str, wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let message = format!("Too many failed sign-ins from your address: try again in {seconds} s.");
    let mut response = login_page(StatusCode::TOO_MANY_REQUESTS, next, Some(&message));
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

pub async fn login<S: Store>(
    State(app): State<App<S>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return login_page(StatusCode::BAD_REQUEST, "/", Some("The sign-in form was not understood."));
    };
    if app.tokens.is_empty() {
        return see_other(safe_next(&form.next));
    }
    // In-process callers (tests) have no peer address: they count as one client.
    let client = peer.map_or(IpAddr::from([0, 0, 0, 0]), |Extension(ConnectInfo(peer))| peer.ip());
    let now = Instant::now();
    if let Some(wait) = app.sign_ins.wait(client, now) {
        return throttled(&form.next, wait);
    }
    let checked = check_secret(&app.tokens, &form.token);
    match &checked {
        Ok(()) => app.sign_ins.succeeded(client),
        Err(_) => app.sign_ins.failed(client, now),
    }
    match checked {
        Ok(()) => {
            let mut response = see_other(safe_next(&form.next));
            let cookie = format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", hex_encode(&form.token));
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(Denied::SignIn) => login_page(
            StatusCode::UNAUTHORIZED,
            &form.next,
            Some("That token is not one of the configured tokens."),
        ),
        Err(Denied::NoReadScope(name)) => login_page(
            StatusCode::FORBIDDEN,
            &form.next,
            Some(&format!("The token {name:?} lacks the read scope.")),
        ),
    }
}

pub async fn logout() -> Response {
    let mut response = see_other("/login");
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Vec<Token> {
        vec![
            Token { name: "reader".into(), secret: "r; s=3".into(), scopes: vec![Scope::Read] },
            Token { name: "collector".into(), secret: "ingest-only".into(), scopes: vec![Scope::Ingest] },
        ]
    }

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(value).expect("ascii"));
        headers
    }

    #[test]
    fn the_cookie_carries_any_secret_and_needs_the_read_scope() {
        let tokens = tokens();
        let reader = format!("theme=dark; {COOKIE}={}", hex_encode("r; s=3"));
        assert_eq!(check(&tokens, &with_cookie(&reader)), Ok(()));
        let collector = format!("{COOKIE}={}", hex_encode("ingest-only"));
        assert_eq!(check(&tokens, &with_cookie(&collector)), Err(Denied::NoReadScope("collector".into())));
        assert_eq!(check(&tokens, &with_cookie(&format!("{COOKIE}=zz"))), Err(Denied::SignIn));
        assert_eq!(check(&tokens, &HeaderMap::new()), Err(Denied::SignIn));
        assert_eq!(check(&[], &HeaderMap::new()), Ok(()), "no tokens: open");
    }

    #[test]
    fn next_stays_on_this_service() {
        assert_eq!(safe_next("/i/abc?page=2"), "/i/abc?page=2");
        assert_eq!(safe_next("/?q=%2B14155550123&kind=dn"), "/?q=%2B14155550123&kind=dn");
        for outside in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "javascript:alert(1)",
            "/\t/evil.com",
            "/\r\n/evil.com",
            "/%09/evil.com",
            "/%2F/evil.com",
            "/%5Cevil.com",
            " /evil.com",
            "/ok\u{a0}",
            "",
        ] {
            assert_eq!(safe_next(outside), "/", "{outside:?}");
        }
    }

    /// What a browser does to a `Location` it is sent: drops leading and trailing C0
    /// controls and spaces and every tab, CR and LF, turns `\` into `/`.
    fn as_a_browser_reads_it(location: &str) -> String {
        location
            .trim_matches(|c: char| c <= ' ')
            .chars()
            .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
            .map(|c| if c == '\\' { '/' } else { c })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn next_never_leaves_this_origin(
            head in proptest::sample::select(vec![
                "/", "//", "/\\", "\\", "/\t/", "/\r\n/", "/%09/", "/%2F", "/%2f/", "/%5C", " /", "\t/",
                "/\u{0}/", "https:", "/%0d%0a/", "/%252F/", "%2F%2F", "/%E2%80%A8/",
            ]),
            tail in "[ -~\t\r\n\u{0}\u{85}\u{a0}\u{2028}%/\\\\]{0,12}",
            host in proptest::sample::select(vec!["evil.com", "/evil.com", "%2Fevil.com", "\\evil.com"]),
        ) {
            for next in [format!("{head}{host}{tail}"), format!("{head}{tail}{host}"), format!("{head}{tail}")] {
                let chosen = safe_next(&next);
                for seen in [as_a_browser_reads_it(chosen), as_a_browser_reads_it(&percent_decode(chosen))] {
                    proptest::prop_assert!(seen.starts_with('/'), "{next:?} -> {chosen:?}");
                    proptest::prop_assert!(!seen.starts_with("//"), "{next:?} -> {chosen:?}");
                }
                proptest::prop_assert!(
                    !chosen.chars().any(|c| c.is_whitespace() || c.is_control()),
                    "{next:?} -> {chosen:?}"
                );
                proptest::prop_assert!(chosen == "/" || chosen == next);
            }
        }
    }

    #[test]
    fn failed_sign_ins_lock_an_address_out_for_longer_each_time() {
        let throttle = SignInThrottle::default();
        let client = IpAddr::from([192, 0, 2, 7]);
        let start = Instant::now();
        for n in 0..FREE_FAILURES {
            assert_eq!(throttle.wait(client, start), None, "failure {n} is free");
            throttle.failed(client, start);
        }
        assert_eq!(throttle.wait(client, start), Some(Duration::from_secs(1)));
        assert_eq!(throttle.wait(IpAddr::from([192, 0, 2, 8]), start), None, "another address");
        let later = start + Duration::from_secs(1);
        assert_eq!(throttle.wait(client, later), None);
        throttle.failed(client, later);
        assert_eq!(throttle.wait(client, later), Some(Duration::from_secs(2)));
        for _ in 0..40 {
            throttle.failed(client, later);
        }
        assert_eq!(throttle.wait(client, later), Some(LONGEST_LOCK));
        assert_eq!(throttle.wait(client, later + FORGET_AFTER), None);
        throttle.succeeded(client);
        assert_eq!(throttle.wait(client, later), None, "signed in: forgotten");
    }

    #[test]
    fn the_throttle_remembers_a_bounded_number_of_addresses() {
        let throttle = SignInThrottle::default();
        let now = Instant::now();
        for n in 0..(MAX_CLIENTS as u32 + 100) {
            throttle.failed(IpAddr::from(n.to_be_bytes()), now);
        }
        assert_eq!(throttle.remembered(), MAX_CLIENTS);
        let v6 = |last: u16| IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, last]);
        let throttle = SignInThrottle::default();
        for n in 0..10 {
            throttle.failed(v6(n), now);
        }
        assert!(throttle.wait(v6(99), now).is_some(), "one /64 is one client");
    }
}
