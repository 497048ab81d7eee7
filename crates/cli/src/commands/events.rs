//! `callstitch events`: the raw events a database holds, as JSON lines.
//!
//! The store keeps raw events in compressed blocks (docs/serve.md, "Storage"), which plain
//! SQL cannot read; this prints them in the order they were stored, each as the JSON line
//! `callstitch parse` prints (docs/event-json.md), so that they can be read again:
//! `callstitch events --database callstitch.db | callstitch trace -`; a PostgreSQL database
//! by its URL. The database must not be in use by a running service (exit 3, as for
//! `import`).

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Result;
use callstitch_server::config::DatabaseLocation;
use callstitch_store::{SqliteOptions, SqliteStore, Store};
use clap::Args;

use crate::commands::serve::runtime;

/// Events read from the store at a time.
const PAGE: usize = 10_000;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// The SQLite database file (the one `callstitch serve` and `import` write), or a
    /// PostgreSQL database's URL (postgres://USER@HOST:PORT/DATABASE).
    #[arg(long, default_value = "callstitch.db", value_name = "PATH|URL")]
    pub database: PathBuf,

    /// Only the events stored after this number (the store numbers events from 1).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub after: u64,

    /// Only the events of this site.
    #[arg(long, value_name = "NAME")]
    pub site: Option<String>,
}

pub fn run(args: &EventsArgs) -> Result<()> {
    let path = match DatabaseLocation::of(&args.database) {
        DatabaseLocation::Postgres(url) => {
            let runtime = runtime()?;
            let store = runtime.block_on(callstitch_server::open_postgres(url))?;
            return print_events(&runtime, &store, args);
        }
        DatabaseLocation::File(path) => path,
    };
    if !path.exists() {
        anyhow::bail!("{} does not exist: give the database with --database", path.display());
    }
    let runtime = runtime()?;
    let store =
        SqliteStore::open(path, SqliteOptions { checkpoint_every: None, ..SqliteOptions::default() })?;
    print_events(&runtime, &store, args)
}

/// Prints the events of `store`, whichever backend it is, and closes it.
fn print_events<S: Store>(runtime: &tokio::runtime::Runtime, store: &S, args: &EventsArgs) -> Result<()> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut after = args.after;
    loop {
        let page = runtime.block_on(store.events_after(after, PAGE))?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for event in &page {
            if let Some(site) = &args.site {
                if !of_site(&event.doc, site) {
                    continue;
                }
            }
            writeln!(out, "{}", event.doc)?;
        }
    }
    out.flush()?;
    let _ = runtime.block_on(store.close());
    Ok(())
}

/// Whether the event's JSON line names `site`.
fn of_site(doc: &str, site: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(doc)
        .ok()
        .is_some_and(|event| event.get("site").and_then(|value| value.as_str()) == Some(site))
}
