//! Who may see the pages. Without configured tokens the UI is open (the config allows that
//! on loopback only). With tokens, a page needs a token with the read scope; browsers cannot
//! send bearer headers, so `/login` takes the token in a small form and keeps it in an
//! HttpOnly, SameSite=Strict cookie, which every page then accepts (as it accepts a bearer
//! header, for scripts).

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Form;
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
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|value| value.trim().to_string());
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

/// Only a path of this service: no scheme, no other host (`//host`), no backslash.
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if local {
        next
    } else {
        "/"
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

pub async fn login<S: Store>(
    State(app): State<App<S>>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return login_page(StatusCode::BAD_REQUEST, "/", Some("The sign-in form was not understood."));
    };
    if app.tokens.is_empty() {
        return see_other(safe_next(&form.next));
    }
    match check_secret(&app.tokens, &form.token) {
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
        for outside in ["//evil.example/", "https://evil.example/", "/\\evil", "javascript:alert(1)"] {
            assert_eq!(safe_next(outside), "/", "{outside}");
        }
    }
}
