//! The service's configuration: a TOML file with sane defaults for everything but the sites,
//! overridden by command-line flags. docs/serve.md shows every key.
//!
//! ```toml
//! listen = "127.0.0.1:7878"
//! database = "callstitch.db"   # or "postgres://callstitch@db.example:5432/callstitch"
//!
//! [[site]]
//! name = "TS1"
//! logs = ["/var/log/genesys/tserver1/"]
//!
//! [[token]]
//! name = "collector"
//! secret = "change-me"
//! scopes = ["ingest"]
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("config: {0}")]
    Invalid(String),
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// POST /v1/events and /v1/media.
    Ingest,
    /// Every GET of the API and /metrics.
    Read,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// Who holds it (logged, never the secret).
    pub name: String,
    pub secret: String,
    pub scopes: Vec<Scope>,
}

/// One monitored T-Server: its name and where its logs are written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub name: String,
    /// Log files or directories (their *.log files, new segments picked up as they appear).
    #[serde(default)]
    pub logs: Vec<PathBuf>,
}

/// Ingest tuning.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Most events in one transaction.
    pub batch_events: usize,
    /// How often followed files are looked at, in milliseconds.
    pub poll_ms: u64,
    /// A block at the end of a file that has not grown for this long is complete.
    pub settle_ms: u64,
    /// How often the stitching state is saved, in seconds (bounds the replay after a crash).
    pub snapshot_every_s: u64,
    /// The longest an event read from a busy source waits for its transaction, in
    /// milliseconds (a drained source is committed at once).
    pub commit_ms: u64,
    /// Live interactions that changed are written at most this often, in milliseconds, each
    /// once as it stands (an interaction touched by many events in that time is written once).
    pub interactions_ms: u64,
    /// The live interactions written with one commit, at least; the others wait for the
    /// next commits, in order (bounds how long a commit holds the events behind it).
    pub interactions_per_commit: usize,
    /// How long, in milliseconds, a live interaction waits to be written at most: a commit
    /// takes every one that waited longer, however many.
    pub interactions_wait_ms: u64,
    /// The largest request body accepted by POST /v1/events and /v1/media.
    pub max_body_bytes: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            batch_events: 20_000,
            poll_ms: 10,
            settle_ms: 10,
            snapshot_every_s: 10,
            commit_ms: 20,
            interactions_ms: 250,
            interactions_per_commit: 25,
            interactions_wait_ms: 1000,
            max_body_bytes: 16 << 20,
        }
    }
}

/// The HTTP edge: how many connections, how long a client may take, which Host names a
/// token-less service answers (docs/serve.md, "Failure modes and limits").
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Open connections at most; more wait in the listen queue until one closes. Lowered at
    /// start to half the open-file limit when that is smaller.
    pub max_connections: usize,
    /// A request's headers must arrive within this many seconds of the connection opening or
    /// of the previous answer on it (so an idle kept-alive connection is closed after it).
    pub header_timeout_s: u64,
    /// A read or page request still unanswered after this many seconds is answered 503 (not
    /// the live streams; not an ingest request waiting for its commit).
    pub request_timeout_s: u64,
    /// A POST body that sends nothing for this many seconds is refused (408).
    pub body_timeout_s: u64,
    /// Without tokens: more `Host` values answered besides the listen address,
    /// `localhost:<port>`, `127.0.0.1:<port>` and `[::1]:<port>` (e.g. `"callstitch.lan:7878"`).
    pub allowed_hosts: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_connections: 512,
            header_timeout_s: 10,
            request_timeout_s: 60,
            body_timeout_s: 10,
            allowed_hosts: Vec::new(),
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    pub listen: SocketAddr,
    /// A SQLite file, or a PostgreSQL URL (`postgres://…`): [`ServiceConfig::location`].
    pub database: PathBuf,
    /// SQLite `synchronous = FULL`: survive power loss, not only a crash.
    pub durable: bool,
    /// Mask the customer's numbers (ANI, DNIS and wherever they appear) in API output.
    pub mask_numbers: bool,
    /// Delete whole interactions that ended more than this many days ago (0: keep forever).
    pub retention_days: u32,
    /// Seconds of event time to wait for the other end of an Inter-Site Link.
    pub link_timeout_s: u32,
    /// Seconds of event time after which a call with no event is closed as incomplete (its
    /// end was lost).
    pub call_idle_timeout_s: u32,
    /// Seconds of event time an interaction waits after its last call ended, for more
    /// evidence, before it is written.
    pub linger_s: u32,
    /// A site that sent nothing for this many seconds of wall time is idle: it stops holding
    /// back the estate's time, on which interactions settle (docs/serve.md, "Clocks").
    pub site_idle_s: u32,
    /// Every this many milliseconds of wall time, the time of each site that went quiet
    /// moves on by the wall time that passed, so that the last calls and interactions are
    /// written even when traffic stops.
    pub idle_tick_ms: u64,
    /// The deployment's "this call is recorded" user-data key (docs/recording.md).
    pub record_marker: Option<String>,
    #[serde(rename = "site")]
    pub sites: Vec<SiteConfig>,
    /// Log files or directories holding several sites' logs: each file's site is the
    /// `Application name` of its header.
    pub logs: Vec<PathBuf>,
    #[serde(rename = "token")]
    pub tokens: Vec<Token>,
    pub ingest: IngestConfig,
    pub http: HttpConfig,
    /// `[bus]`: also read the sites' JetStream streams that `callstitch collect` publishes
    /// (docs/scale.md).
    pub bus: Option<BusConfig>,
}

/// `[bus]`: where NATS JetStream is and what the collectors publish under.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    /// The NATS server, `nats://host:port`.
    pub url: String,
    /// The collectors' `--prefix`.
    pub prefix: String,
    /// How often new site streams are looked for, in seconds.
    pub discover_s: u32,
    /// The linker role (docs/scale.md): link what `callstitch worker`s read from the streams
    /// and store in the (PostgreSQL) database, instead of reading the streams.
    pub workers: bool,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            url: "nats://127.0.0.1:4222".to_string(),
            prefix: "callstitch".to_string(),
            discover_s: 5,
            workers: false,
        }
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7878)),
            database: PathBuf::from("callstitch.db"),
            durable: false,
            mask_numbers: false,
            retention_days: 0,
            link_timeout_s: 600,
            call_idle_timeout_s: 3600,
            linger_s: 120,
            site_idle_s: 60,
            idle_tick_ms: 1000,
            record_marker: None,
            sites: Vec::new(),
            logs: Vec::new(),
            tokens: Vec::new(),
            ingest: IngestConfig::default(),
            http: HttpConfig::default(),
            bus: None,
        }
    }
}

/// Where the store is: what the `database` key (or `--database`) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseLocation<'a> {
    /// A SQLite database file.
    File(&'a Path),
    /// A PostgreSQL database, by its URL (`postgres://` or `postgresql://`).
    Postgres(&'a str),
}

impl DatabaseLocation<'_> {
    /// What it is called in messages: the path, or the URL without its password.
    pub fn name(&self) -> String {
        match self {
            DatabaseLocation::File(path) => path.display().to_string(),
            DatabaseLocation::Postgres(url) => callstitch_store::postgres::redacted(url),
        }
    }
}

impl<'a> DatabaseLocation<'a> {
    /// A `database` value: a PostgreSQL URL, or a file's path.
    pub fn of(database: &'a Path) -> DatabaseLocation<'a> {
        match database.to_str() {
            Some(url) if callstitch_store::postgres::is_url(url) => DatabaseLocation::Postgres(url),
            _ => DatabaseLocation::File(database),
        }
    }
}

impl ServiceConfig {
    /// Where the store is ([`DatabaseLocation`]).
    pub fn location(&self) -> DatabaseLocation<'_> {
        DatabaseLocation::of(&self.database)
    }

    /// Reads a config file; every error names the file and, from TOML, the line and key.
    pub fn load(path: &Path) -> Result<ServiceConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        ServiceConfig::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, path: &str) -> Result<ServiceConfig, ConfigError> {
        let config: ServiceConfig = toml::from_str(text)
            .map_err(|error| ConfigError::Parse { path: path.to_string(), message: error.to_string() })?;
        config.validate()?;
        Ok(config)
    }

    /// What cannot work, said before anything starts.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tokens.is_empty() && !self.listen.ip().is_loopback() {
            return Err(ConfigError::Invalid(format!(
                "listen = {} is not a loopback address and no [[token]] is configured: the API would be open \
                 to the network. Add tokens (docs/serve.md) or listen on 127.0.0.1",
                self.listen
            )));
        }
        self.validate_tokens()?;
        let mut names: Vec<&str> = self.sites.iter().map(|site| site.name.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(ConfigError::Invalid(format!("site {:?} is configured twice", pair[0])));
        }
        if let Some(bus) = self.bus.as_ref().filter(|bus| bus.workers) {
            if !matches!(self.location(), DatabaseLocation::Postgres(_)) {
                return Err(ConfigError::Invalid(format!(
                    "[bus] workers = true links what callstitch workers store in PostgreSQL, and database is {}: \
                     give database = \"postgres://…\" (the workers' database)",
                    self.location().name()
                )));
            }
            if !self.logs.is_empty() || self.sites.iter().any(|site| !site.logs.is_empty()) {
                return Err(ConfigError::Invalid(format!(
                    "[bus] workers = true links what the workers read from {}; the service reads no logs \
                     itself: remove the logs (collect them with callstitch collect)",
                    bus.url
                )));
            }
        }
        if self.ingest.batch_events == 0 {
            return Err(ConfigError::Invalid("ingest.batch_events must be at least 1".to_string()));
        }
        if self.ingest.interactions_per_commit == 0 {
            return Err(ConfigError::Invalid(
                "ingest.interactions_per_commit must be at least 1".to_string(),
            ));
        }
        self.validate_http()
    }

    /// Every secret long enough, presentable in an `Authorization` header (no blank, no
    /// surrounding whitespace, no control character), and used by one token only.
    fn validate_tokens(&self) -> Result<(), ConfigError> {
        for token in &self.tokens {
            let secret = token.secret.as_str();
            let invalid = |why: &str| Err(ConfigError::Invalid(format!("token {:?}: {why}", token.name)));
            if secret.len() < 16 {
                return invalid("the secret must be at least 16 characters");
            }
            if secret.trim().is_empty() {
                return invalid("the secret is only whitespace");
            }
            if secret.trim() != secret {
                return invalid("the secret starts or ends with whitespace, which no client can send");
            }
            if secret.chars().any(char::is_control) {
                return invalid("the secret holds a control character");
            }
            if token.scopes.is_empty() {
                return invalid("no scopes (ingest, read)");
            }
        }
        for (index, token) in self.tokens.iter().enumerate() {
            if let Some(other) = self.tokens[..index].iter().find(|other| other.secret == token.secret) {
                return Err(ConfigError::Invalid(format!(
                    "tokens {:?} and {:?} have the same secret: give each its own",
                    other.name, token.name
                )));
            }
        }
        Ok(())
    }

    fn validate_http(&self) -> Result<(), ConfigError> {
        let http = &self.http;
        if http.max_connections == 0 {
            return Err(ConfigError::Invalid("http.max_connections must be at least 1".to_string()));
        }
        for (key, value) in [
            ("header_timeout_s", http.header_timeout_s),
            ("request_timeout_s", http.request_timeout_s),
            ("body_timeout_s", http.body_timeout_s),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid(format!("http.{key} must be at least 1")));
            }
        }
        if let Some(host) =
            http.allowed_hosts.iter().find(|host| host.is_empty() || host.contains(['/', ' ']))
        {
            return Err(ConfigError::Invalid(format!(
                "http.allowed_hosts: {host:?} is not a Host value (name or name:port)"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_the_defaults() {
        let config = ServiceConfig::parse("", "x.toml").map_err(|e| e.to_string());
        assert_eq!(config, Ok(ServiceConfig::default()));
    }

    #[test]
    fn sites_and_tokens_are_read() {
        let text = r#"
            listen = "0.0.0.0:9000"
            retention_days = 30
            [[site]]
            name = "TS1"
            logs = ["/logs/ts1"]
            [[token]]
            name = "ops"
            secret = "0123456789abcdef"
            scopes = ["read", "ingest"]
            [ingest]
            poll_ms = 5
        "#;
        let config = ServiceConfig::parse(text, "x.toml").map_err(|e| e.to_string());
        let config = config.as_ref().expect("valid config");
        assert_eq!(config.sites[0].logs, vec![PathBuf::from("/logs/ts1")]);
        assert_eq!(config.tokens[0].scopes, vec![Scope::Read, Scope::Ingest]);
        assert_eq!(config.ingest.poll_ms, 5);
        assert_eq!(config.ingest.batch_events, IngestConfig::default().batch_events);
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let error = ServiceConfig::parse("listen = \"127.0.0.1:1\"\nretention = 3\n", "svc.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("svc.toml") && error.contains("retention") && error.contains("line 2"),
            "{error}"
        );
    }

    fn with_secrets(secrets: &[&str]) -> String {
        secrets
            .iter()
            .enumerate()
            .map(|(n, secret)| {
                format!("[[token]]\nname = \"t{n}\"\nsecret = \"{secret}\"\nscopes = [\"read\"]\n")
            })
            .collect()
    }

    #[test]
    fn blank_padded_and_duplicate_secrets_are_refused() {
        let refused = [
            (with_secrets(&["                "]), "whitespace"),
            (with_secrets(&["\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t"]), "whitespace"),
            (with_secrets(&[" 0123456789abcdef"]), "whitespace"),
            (with_secrets(&["0123456789abcdef\\u0000"]), "control"),
            (with_secrets(&["0123456789abcdef", "0123456789abcdef"]), "same secret"),
        ];
        for (text, why) in refused {
            let error = ServiceConfig::parse(&text, "x").err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains(why), "{text:?}: {error:?}");
        }
        let fine = with_secrets(&["0123456789abcdef", "0123456789abcdeF"]);
        assert!(ServiceConfig::parse(&fine, "x").is_ok());
    }

    #[test]
    fn the_http_section_is_read_and_checked() {
        let text = "[http]\nmax_connections = 64\nheader_timeout_s = 2\nallowed_hosts = [\"cs.lan:7878\"]\n";
        let config = ServiceConfig::parse(text, "x").map_err(|e| e.to_string());
        let http = config.map(|config| config.http);
        assert_eq!(
            http.as_ref().map(|http| (http.max_connections, http.header_timeout_s, http.request_timeout_s)),
            Ok((64, 2, HttpConfig::default().request_timeout_s))
        );
        for bad in [
            "[http]\nmax_connections = 0",
            "[http]\nheader_timeout_s = 0",
            "[http]\nallowed_hosts = [\"a/b\"]",
        ] {
            assert!(ServiceConfig::parse(bad, "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn ingest_counts_of_zero_are_refused_by_name() {
        for key in ["batch_events", "interactions_per_commit"] {
            let text = format!("[ingest]\n{key} = 0\n");
            let error = ServiceConfig::parse(&text, "x").err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains(&format!("ingest.{key} must be at least 1")), "{error}");
        }
        let config =
            ServiceConfig::parse("[ingest]\ninteractions_per_commit = 5\ninteractions_wait_ms = 0\n", "x");
        let ingest =
            config.map(|config| (config.ingest.interactions_per_commit, config.ingest.interactions_wait_ms));
        assert_eq!(ingest.ok(), Some((5, 0)));
    }

    #[test]
    fn open_network_without_tokens_is_refused() {
        let error = ServiceConfig::parse("listen = \"0.0.0.0:7878\"", "x").err().map(|e| e.to_string());
        assert!(error.unwrap_or_default().contains("no [[token]]"));
    }
}
