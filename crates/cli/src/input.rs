//! Where events come from on the command line: `[NAME=]PATH` arguments resolved to sites and
//! files, read in order, with problems reported as they come and a progress bar on long reads.
//!
//! Each input's reader is chosen when it is opened, from its first bytes (standard input
//! included; the bytes looked at are read again, not lost): T-Library event records, the SIP
//! layer of a SIP Server log that has none, JSON lines, or nothing callstitch can read
//! (callstitch_tlib::detect). The choice and its evidence are said on stderr at the start of
//! an input when it is not the usual T-Library one, and are kept in [`ReadSummary::inputs`].
//!
//! Compressed logs (gzip `.log.gz`, zstd `.log.zst`: rotated logs are usually archived) are
//! told by their first bytes, not their name, and read decompressed; a damaged archive is an
//! error that names the file, and the other inputs are read (callstitch_tlib::compressed).
//!
//! Every command that reads events (`parse`, `check`, `trace`, ...) goes through [`read_events`],
//! so they all name sites, order rotated segments and report noise the same way.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use callstitch_tlib::compressed::{self, Compression};
use callstitch_tlib::detect::{self, Detection, InputFormat, SNIFF_BYTES};
use callstitch_tlib::file_header::{log_stem, FileHeader};
use callstitch_tlib::json::{JsonLineError, JsonLinesReader};
use callstitch_tlib::siplog::SipLogReader;
use callstitch_tlib::tlog::{LogReader, ParseStats, Problem, ReaderOptions};
use callstitch_tlib::{Event, Text, Timestamp};
use clap::ValueEnum;

use crate::progress::Progress;
use crate::style::{self, Role};

mod feed;
pub mod site_files;

use feed::{Head, Step};

/// How a file's events are written, as far as resolving the arguments tells (the start of
/// the file); opening it tells a T-Library log from a SIP-layer one ([`InputReport`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Log,
    JsonLines,
}

/// Which reader to use: chosen per input from its first bytes, or forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ReaderChoice {
    /// T-Library records, else the SIP layer, else JSON lines, per input (see docs/cli.md).
    #[default]
    Auto,
    /// The T-Library log reader.
    #[value(name = "t-library")]
    TLibrary,
    /// The SIP-layer reader (SIP Server logs without T-Library records).
    #[value(name = "sip-layer")]
    SipLayer,
    /// JSON lines (docs/event-json.md).
    #[value(name = "json")]
    JsonLines,
}

/// One input to read: a file or standard input, and the site it belongs to.
#[derive(Debug, Clone)]
pub struct Source {
    /// `None` for standard input.
    pub path: Option<PathBuf>,
    /// The site: `NAME=` if given, else the header's Application name, else the file stem.
    /// `None` only for standard input without `NAME=` (the reader takes the header's).
    pub site: Option<String>,
    /// What the start of the file looked like when the arguments were resolved: JSON lines
    /// (which may hold several sites) or a log (one site). Standard input is taken for a
    /// log until it is opened. The reader itself is chosen when the input is opened.
    pub format: Format,
    pub size: Option<u64>,
    /// The `Local time` of the file's header, to order rotated segments.
    pub started: Option<String>,
}

impl Source {
    pub fn display(&self) -> String {
        self.path.as_ref().map_or_else(|| "<stdin>".to_string(), |path| path.display().to_string())
    }
}

/// A usage error: the arguments do not name readable input. Exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Nothing readable in the inputs. Exit code 1.
#[derive(Debug)]
pub struct NothingReadable(pub String);

impl std::fmt::Display for NothingReadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NothingReadable {}

/// Splits `NAME=PATH`. A whole argument that names an existing file is a path even if it
/// holds `=`; a NAME has no path separator.
fn split_site(argument: &str) -> (Option<&str>, &str) {
    if Path::new(argument).exists() {
        return (None, argument);
    }
    match argument.split_once('=') {
        Some((name, path)) if !name.is_empty() && !name.contains(['/', '\\']) => (Some(name), path),
        _ => (None, argument),
    }
}

/// Resolves the arguments into sources: directories expand to their `*.log` files (a
/// JSON-lines file is read when named); files of one site are ordered by their header's start
/// time, then by name.
pub fn resolve(arguments: &[String]) -> Result<Vec<Source>> {
    let mut sources = Vec::new();
    let mut missing = Vec::new();
    let mut empty_dirs = Vec::new();
    for argument in arguments {
        let (name, path) = split_site(argument);
        if path == "-" {
            sources.push(Source {
                path: None,
                site: name.map(str::to_string),
                format: Format::Log,
                size: None,
                started: None,
            });
            continue;
        }
        let path = PathBuf::from(path);
        if path.is_dir() {
            let files =
                log_files_in(&path).with_context(|| format!("cannot list directory {}", path.display()))?;
            if files.is_empty() {
                empty_dirs.push(path.display().to_string());
            }
            for file in files {
                sources.push(describe(file, name)?);
            }
        } else if path.is_file() {
            sources.push(describe(path, name)?);
        } else {
            missing.push(path.display().to_string());
        }
    }
    if !missing.is_empty() {
        return Err(UsageError(format!(
            "no such file or directory: {}\n  give log or JSON-lines files, directories of *.log files (*.log.gz, *.log.zst too), or - for standard input",
            missing.join(", ")
        ))
        .into());
    }
    if sources.is_empty() && !empty_dirs.is_empty() {
        return Err(NothingReadable(format!(
            "no *.log files in {} (nor compressed *.log.gz, *.log.zst): point at the folder that holds the T-Server logs, or name JSON-lines files one by one",
            empty_dirs.join(", ")
        ))
        .into());
    }
    Ok(order_by_site(sources))
}

/// The log files of a directory: `*.log`, and compressed logs (`*.log.gz`, `*.log.1.gz`,
/// `*.log.zst`, ...: [`compressed::is_log_name`]).
fn log_files_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let wanted = path.file_name().is_some_and(|name| compressed::is_log_name(&name.to_string_lossy()));
        if wanted && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Groups sources by site (sites in order of first appearance) and orders each site's files
/// as rotated segments: by header start time, then by name.
fn order_by_site(sources: Vec<Source>) -> Vec<Source> {
    let mut order: Vec<Option<String>> = Vec::new();
    let mut groups: BTreeMap<usize, Vec<Source>> = BTreeMap::new();
    for source in sources {
        let index = match order.iter().position(|site| *site == source.site && source.path.is_some()) {
            Some(index) => index,
            None => {
                order.push(source.site.clone());
                order.len() - 1
            }
        };
        groups.entry(index).or_default().push(source);
    }
    groups
        .into_values()
        .flat_map(|mut group| {
            group.sort_by(|a, b| a.started.cmp(&b.started).then_with(|| a.path.cmp(&b.path)));
            group
        })
        .collect()
}

/// Looks at the start of a file (decompressed, when it is an archive): its format, its
/// header's Application name and start time. A damaged archive is named when it is read.
fn describe(path: PathBuf, name: Option<&str>) -> Result<Source> {
    let size = std::fs::metadata(&path).ok().map(|meta| meta.len());
    let file = File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let (input, _) =
        compressed::sniff_and_decompress(file).with_context(|| format!("cannot read {}", path.display()))?;
    let mut head = Vec::with_capacity(64 << 10);
    // What a damaged archive gave before the damage is enough to name and order it.
    let _ = input.take(64 << 10).read_to_end(&mut head);
    let FileHeader { application, local_time: started } = FileHeader::read(&head);
    let format = match detect::detect(&head, false).format {
        InputFormat::JsonLines => Format::JsonLines,
        _ => Format::Log,
    };
    let site = name.map(str::to_string).or(application).or_else(|| log_stem(&path));
    Ok(Source { path: Some(path), site, format, size, started })
}

/// How one input was read, and why.
#[derive(Debug, Clone)]
pub struct InputReport {
    /// The file, or `<stdin>`.
    pub name: String,
    /// The reader used.
    pub format: InputFormat,
    /// What its first bytes showed.
    pub detection: Detection,
    /// Forced by `--reader`, not chosen from the evidence.
    pub forced: bool,
    /// Read decompressed from a gzip or zstd archive.
    pub compression: Option<Compression>,
}

/// What a read gave, over all inputs.
#[derive(Debug, Default)]
pub struct ReadSummary {
    pub stats: ParseStats,
    pub files: usize,
    pub json_errors: u64,
    pub io_errors: Vec<String>,
    /// Each input opened, in order, with the reader it was given.
    pub inputs: Vec<InputReport>,
}

/// Reading options shared by the commands.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Problems printed to stderr before the rest are only counted.
    pub max_problems_shown: u64,
    pub quiet: bool,
    pub progress: bool,
    pub reader: ReaderChoice,
}

/// What every open input of a read shares: the progress bar, the problem printer and the
/// counters.
struct Reading {
    progress: Progress,
    shown: u64,
    hidden: u64,
    options: ReadOptions,
    summary: ReadSummary,
    /// Bytes of the inputs already closed.
    closed_bytes: u64,
    events: u64,
}

impl Reading {
    fn new(sources: &[Source], options: &ReadOptions) -> Reading {
        let total: u64 = sources.iter().filter_map(|source| source.size).sum();
        let progress =
            Progress::new(options.progress && io::stderr().is_terminal() && total > 64 << 20, total);
        Reading {
            progress,
            shown: 0,
            hidden: 0,
            options: options.clone(),
            summary: ReadSummary::default(),
            closed_bytes: 0,
            events: 0,
        }
    }

    fn problem(&mut self, text: impl std::fmt::Display) {
        if self.options.quiet || self.shown >= self.options.max_problems_shown {
            self.hidden += 1;
            return;
        }
        self.shown += 1;
        let label = style::err(Role::Warning, "callstitch: skipped:");
        self.progress.println(format!("{label} {text}"));
    }

    /// Takes in what reading an input did besides giving events.
    fn apply(&mut self, note: Note) {
        match note {
            Note::Opened => self.summary.files += 1,
            Note::Chosen { report, said } => {
                if said && !self.options.quiet {
                    self.progress.println(format!("callstitch: {}: {}", report.name, report.detection));
                }
                self.summary.inputs.push(report);
            }
            Note::Problem(problem) => self.problem(problem),
            Note::JsonError(error) => {
                self.summary.json_errors += 1;
                self.problem(error);
            }
            Note::IoError(message) => {
                self.progress.println(format!("{} {message}", style::err(Role::Bad, "callstitch: error:")));
                self.summary.io_errors.push(message);
            }
            Note::Closed { bytes, stats } => {
                self.closed_bytes += bytes;
                self.summary.stats.merge(&stats);
            }
        }
    }

    /// Counts an event handed on; now and then moves the bar to the bytes read so far
    /// (`open`: of the inputs still open).
    fn passed_event(&mut self, open: impl FnOnce() -> u64) {
        self.events += 1;
        if self.events.is_multiple_of(4096) {
            self.progress.set(self.closed_bytes + open());
        }
    }

    fn finish(self) -> ReadSummary {
        self.progress.finish();
        if self.hidden > 0 && !self.options.quiet {
            let more = format!("callstitch: {} more problems not shown", self.hidden);
            eprintln!("{} (see --stats, or --max-problems)", style::err(Role::Warning, &more));
        }
        self.summary
    }
}

/// What reading an input did besides giving events, in the order it happened. A site read on
/// its own thread sends its notes along with its events, and the merge takes them in
/// ([`Replay`]) when it comes to them, so the problems are printed and counted in the same
/// order whatever thread read them.
#[derive(Debug)]
enum Note {
    /// An input is about to be opened (counted whether it opens or not).
    Opened,
    /// The reader chosen for an input; `said` when the choice is to be said on stderr.
    Chosen {
        report: InputReport,
        said: bool,
    },
    Problem(Problem),
    JsonError(JsonLineError),
    /// An input that could not be read (or not to its end): `file: error`.
    IoError(String),
    /// An input closed: the bytes it gave and its counters.
    Closed {
        bytes: u64,
        stats: ParseStats,
    },
}

/// Where the notes of a read go, and what counts the events it hands on: the printer and
/// counters of a command's read ([`Reading`]).
trait Replay {
    fn apply(&mut self, note: Note);
    /// One more event handed on; `open`: the bytes read of the inputs still open.
    fn passed_event(&mut self, open: impl FnOnce() -> u64);
}

impl Replay for Reading {
    fn apply(&mut self, note: Note) {
        Reading::apply(self, note);
    }

    fn passed_event(&mut self, open: impl FnOnce() -> u64) {
        Reading::passed_event(self, open);
    }
}

/// The reader for an input: forced by `--reader`, else the detected one, and the note that
/// records it (said on stderr when it is not T-Library events or JSON lines).
fn choose(
    source: &Source,
    detection: Detection,
    compression: Option<Compression>,
    choice: ReaderChoice,
) -> (InputFormat, Note) {
    let forced = match choice {
        ReaderChoice::Auto => None,
        ReaderChoice::TLibrary => Some(InputFormat::TLibrary),
        ReaderChoice::SipLayer => Some(InputFormat::SipLayer),
        ReaderChoice::JsonLines => Some(InputFormat::JsonLines),
    };
    let format = forced.unwrap_or(detection.format);
    let unusual = matches!(format, InputFormat::SipLayer | InputFormat::Unreadable);
    let said = forced.is_none() && unusual;
    let report =
        InputReport { name: source.display(), format, detection, forced: forced.is_some(), compression };
    (format, Note::Chosen { report, said })
}

/// One open input.
enum SourceReader {
    Log(Box<LogReader<Box<dyn Read>>>),
    Sip(Box<SipLogReader<Box<dyn Read>>>),
    /// JSON lines; `stats` counts its events (the log readers count their own).
    Json {
        reader: JsonLinesReader<Box<dyn BufRead>>,
        site: Option<String>,
        stats: Box<ParseStats>,
    },
}

impl SourceReader {
    /// Opens an input, looks at its first bytes to choose its reader, notes the choice, and
    /// gives the reader every byte, the ones looked at included.
    fn open(source: &Source, choice: ReaderChoice, notes: &mut Vec<Note>) -> Result<SourceReader> {
        let raw: Box<dyn Read + Send> = match &source.path {
            Some(path) => {
                Box::new(File::open(path).with_context(|| format!("cannot open {}", path.display()))?)
            }
            None => Box::new(io::stdin()),
        };
        let (mut input, compression) = compressed::sniff_and_decompress(raw)
            .with_context(|| format!("cannot read {}", source.display()))?;
        let (head, detection) =
            look_ahead(&mut input).with_context(|| format!("cannot read {}", source.display()))?;
        if let (None, Some(kind)) = (compression, compressed::unsupported_archive(&head)) {
            bail!("{kind}: callstitch reads gzip (.gz) and zstd (.zst) archives and plain logs; decompress it first");
        }
        let input: Box<dyn Read> = Box::new(Cursor::new(head).chain(input));
        let (format, note) = choose(source, detection, compression, choice);
        notes.push(note);
        let options = ReaderOptions {
            site: source.site.as_deref().map(Text::from),
            file: Some(Arc::from(source.display())),
            ..ReaderOptions::default()
        };
        Ok(match format {
            InputFormat::TLibrary | InputFormat::Unreadable => {
                SourceReader::Log(Box::new(LogReader::new(input, options)))
            }
            InputFormat::SipLayer => SourceReader::Sip(Box::new(SipLogReader::new(input, options))),
            InputFormat::JsonLines => {
                let buffered: Box<dyn BufRead> = Box::new(BufReader::with_capacity(1 << 20, input));
                let reader = JsonLinesReader::new(buffered, Some(Arc::from(source.display())));
                SourceReader::Json { reader, site: source.site.clone(), stats: Box::default() }
            }
        })
    }

    /// JSON lines may hold several sites; a log file is one site.
    fn is_json(&self) -> bool {
        matches!(self, SourceReader::Json { .. })
    }

    fn bytes_read(&self) -> u64 {
        match self {
            SourceReader::Log(reader) => reader.bytes_read(),
            SourceReader::Sip(reader) => reader.bytes_read(),
            SourceReader::Json { reader, .. } => reader.bytes_read,
        }
    }

    /// The next event; problems are noted.
    fn next(&mut self, notes: &mut Vec<Note>) -> Result<Option<Event>> {
        match self {
            SourceReader::Log(reader) => {
                let event = reader.next_event()?;
                notes.extend(reader.take_problems().into_iter().map(Note::Problem));
                Ok(event)
            }
            SourceReader::Sip(reader) => {
                let event = reader.next_event()?;
                notes.extend(reader.take_problems().into_iter().map(Note::Problem));
                Ok(event)
            }
            SourceReader::Json { reader, site, stats } => loop {
                match reader.next_line()? {
                    None => return Ok(None),
                    Some(Err(error)) => notes.push(Note::JsonError(error)),
                    Some(Ok(mut event)) => {
                        if let (Some(site), true) = (site.as_deref(), event.site.is_empty()) {
                            event.site = Text::from(site);
                        }
                        stats.count_event(&event);
                        return Ok(Some(event));
                    }
                }
            },
        }
    }

    fn close(self, notes: &mut Vec<Note>) {
        let bytes = self.bytes_read();
        let stats = match self {
            SourceReader::Log(mut reader) => {
                notes.extend(reader.take_problems().into_iter().map(Note::Problem));
                reader.stats().clone()
            }
            SourceReader::Sip(mut reader) => {
                notes.extend(reader.take_problems().into_iter().map(Note::Problem));
                reader.stats().clone()
            }
            SourceReader::Json { mut stats, .. } => {
                stats.bytes += bytes;
                *stats
            }
        };
        notes.push(Note::Closed { bytes, stats });
    }
}

/// Reads the head of an input until its format is certain (a T-Library record, a JSON
/// object) or [`SNIFF_BYTES`] are in, or the input ends; pipes are read as their data comes.
/// An input that fails after some bytes (a truncated archive) is judged on those: the reader
/// meets the error again after them, and reports it.
fn look_ahead(input: &mut dyn Read) -> io::Result<(Vec<u8>, Detection)> {
    let mut head = Vec::with_capacity(64 << 10);
    let mut chunk = vec![0; 64 << 10];
    loop {
        let room = SNIFF_BYTES - head.len();
        let count = match input.read(&mut chunk[..room.min(64 << 10)]) {
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) if !head.is_empty() => return Ok((head.clone(), detect::detect(&head, false))),
            Err(error) => return Err(error),
        };
        head.extend_from_slice(&chunk[..count]);
        let whole = count == 0;
        let detection = detect::detect(&head, whole);
        let certain = detection.tlib_records > 0 || detection.format == InputFormat::JsonLines;
        if whole || certain || head.len() >= SNIFF_BYTES {
            return Ok((head, detection));
        }
    }
}

/// Inputs read one after the other (the rotated segments of one site, or everything).
struct Stream<'s> {
    pending: std::slice::Iter<'s, Source>,
    current: Option<(SourceReader, &'s Source)>,
    choice: ReaderChoice,
    /// Where the stream stands in the merge: its next event's time as its site's clock
    /// believes it (the last believed time for events with none, or with one far off).
    key: i64,
    clock: callstitch_engine::SiteClock,
}

impl<'s> Stream<'s> {
    fn new(sources: &'s [Source], choice: ReaderChoice) -> Stream<'s> {
        Stream {
            pending: sources.iter(),
            current: None,
            choice,
            key: i64::MIN,
            clock: callstitch_engine::SiteClock::default(),
        }
    }

    /// T-Server log files (T-Library or SIP layer): one site each (JSON lines may mix sites).
    fn single_site(&self) -> bool {
        self.current.as_ref().is_none_or(|(reader, _)| !reader.is_json())
            && self.pending.as_slice().iter().all(|source| source.format == Format::Log)
    }

    /// The floor the stream's next event gives its site: no event of it comes before.
    fn floor(&self) -> Option<Timestamp> {
        (self.single_site() && self.key != i64::MIN).then_some(Timestamp(self.key))
    }

    fn current_bytes(&self) -> u64 {
        self.current.as_ref().map_or(0, |(reader, _)| reader.bytes_read())
    }

    /// The next event of the stream; an input that cannot be read is noted and passed.
    fn next(&mut self, notes: &mut Vec<Note>) -> Option<Event> {
        loop {
            if self.current.is_none() {
                let source = self.pending.next()?;
                notes.push(Note::Opened);
                match SourceReader::open(source, self.choice, notes) {
                    Ok(reader) => self.current = Some((reader, source)),
                    Err(error) => {
                        notes.push(io_error(source, &error));
                        continue;
                    }
                }
            }
            let (reader, source) = self.current.as_mut()?;
            match reader.next(notes) {
                Ok(Some(event)) => {
                    if let Some(time) = event.time() {
                        let config = callstitch_engine::ClockConfig::default();
                        self.clock.observe(time.0, config, None);
                        self.key = self.clock.now().unwrap_or(time.0);
                    }
                    return Some(event);
                }
                Ok(None) => {}
                Err(error) => notes.push(io_error(source, &error)),
            }
            if let Some((reader, _)) = self.current.take() {
                reader.close(notes);
            }
        }
    }

    /// The next step of the stream for the merge: an event with where it puts the stream,
    /// or the end.
    fn step(&mut self, notes: &mut Vec<Note>) -> Step {
        match self.next(notes) {
            Some(event) => Step::Event(Head { floor: self.floor(), key: self.key, event: Box::new(event) }),
            None => Step::End { tells_end: self.single_site() },
        }
    }
}

fn io_error(source: &Source, error: &anyhow::Error) -> Note {
    Note::IoError(format!("{}: {error:#}", source.display()))
}

/// Reads every source in order and hands each event to `sink`.
pub fn read_events(
    sources: &[Source],
    options: &ReadOptions,
    mut sink: impl FnMut(Event) -> Result<()>,
) -> Result<ReadSummary> {
    let mut reading = Reading::new(sources, options);
    let mut stream = Stream::new(sources, options.reader);
    let mut notes = Vec::new();
    loop {
        let event = stream.next(&mut notes);
        notes.drain(..).for_each(|note| reading.apply(note));
        let Some(event) = event else { break };
        reading.passed_event(|| stream.current_bytes());
        sink(event)?;
    }
    Ok(reading.finish())
}

/// What the time-merged reading hands on: events, and what it knows of each site's input.
/// An event is lent: the merge's thread (which runs the pipeline) moves a pointer to it, not
/// a kilobyte, and gives it back to its site's reading thread to be dropped there.
#[derive(Debug)]
pub enum Merged<'a> {
    Event(&'a Event),
    /// No event of `site` will come before this time (its log's next event is there).
    Floor {
        site: Text,
        time: Timestamp,
    },
    /// The site's log ended.
    Ended {
        site: Text,
    },
}

/// Reads every source, merging the sites by time: each site's files stay in their order
/// (rotated segments by start), and the site whose next event is earliest goes next.
pub fn read_events_by_time(
    sources: &[Source],
    options: &ReadOptions,
    mut sink: impl FnMut(&Event) -> Result<()>,
) -> Result<ReadSummary> {
    read_merged(sources, options, |merged| match merged {
        Merged::Event(event) => sink(event),
        Merged::Floor { .. } | Merged::Ended { .. } => Ok(()),
    })
}

/// [`read_events_by_time`], also telling how far each site's log has come. A site's next
/// event time counts through the same per-site clock the engine keeps
/// (`callstitch_engine::clock`): one event dated far from its neighbours neither holds its
/// log back nor moves its site's time. Only T-Server log files (one site each) tell floors
/// and ends; a JSON-lines stream may hold several sites and tells none.
///
/// Each site's files are read on a thread of their own ([`feed`]), standard input on this
/// one; what is handed to `sink`, and the problems printed, come in the same order whatever
/// the threads' timing.
pub fn read_merged(
    sources: &[Source],
    options: &ReadOptions,
    sink: impl FnMut(Merged<'_>) -> Result<()>,
) -> Result<ReadSummary> {
    let mut reading = Reading::new(sources, options);
    feed::read_sites(&site_groups(sources), options.reader, &mut reading, sink)?;
    Ok(reading.finish())
}

/// The sources split into runs of one site (resolve() keeps each site's files together).
fn site_groups(sources: &[Source]) -> Vec<&[Source]> {
    let mut groups = Vec::new();
    let mut start = 0;
    for index in 1..=sources.len() {
        let boundary = index == sources.len()
            || sources[index].site != sources[start].site
            || sources[index].path.is_none();
        if boundary {
            groups.push(&sources[start..index]);
            start = index;
        }
    }
    groups
}

/// Fails with exit code 1 when the inputs held no events at all, saying what each kind of
/// input showed.
pub fn require_events(summary: &ReadSummary) -> Result<()> {
    if summary.stats.events > 0 {
        return Ok(());
    }
    let stats = &summary.stats;
    let mut message = format!(
        "no events found in {} file(s): {} lines read, {} of them other server output",
        summary.files, stats.lines, stats.foreign_lines
    );
    let count = |format: InputFormat| summary.inputs.iter().filter(|input| input.format == format).count();
    let unreadable = count(InputFormat::Unreadable);
    if unreadable > 0 {
        message.push_str(&format!(
            "\n  {unreadable} input(s) had no T-Library event records and no SIP Server call markers \
             (no `message EventX` blocks, no `$*:SIP:CTI:` lines): nothing callstitch can read"
        ));
    }
    let sip = count(InputFormat::SipLayer);
    if sip > 0 {
        message.push_str(&format!(
            "\n  {sip} input(s) were read as SIP layer only ({} SIP Server CTI markers, {} SIP messages) \
             but no call was created in them",
            stats.cti_markers, stats.sip_messages
        ));
    }
    let forced = summary.inputs.iter().filter(|input| input.forced).count();
    if forced > 0 {
        message.push_str(&format!(
            "\n  {forced} input(s) were read with the reader --reader asked for; without it each input's first bytes choose"
        ));
    } else if count(InputFormat::TLibrary) > 0 {
        message.push_str("\n  the T-Library inputs had event records, but none could be read as an event");
    }
    if !summary.io_errors.is_empty() {
        message.push_str(&format!("\n  {} input(s) could not be read", summary.io_errors.len()));
    }
    bail!(NothingReadable(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_prefix_names_the_site_unless_the_whole_argument_is_a_file() {
        assert_eq!(split_site("TS2=logs/a.log"), (Some("TS2"), "logs/a.log"));
        assert_eq!(split_site("logs/a=b.log"), (None, "logs/a=b.log"));
        assert_eq!(split_site("plain.log"), (None, "plain.log"));
        assert_eq!(split_site("=x"), (None, "=x"));
    }

    /// A reader that hands out its data in small pieces, as a pipe does.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let count = self.0.len().min(buf.len()).min(7);
            buf[..count].copy_from_slice(&self.0[..count]);
            self.0 = &self.0[count..];
            Ok(count)
        }
    }

    #[test]
    fn looking_ahead_stops_as_soon_as_the_format_is_certain_and_loses_nothing() {
        let log =
            b"@10:00:00.0000 [0] 8.1 distribute_event: message EventRinging\n\tAttributeThisDN\t'7001'\n";
        let mut input = Trickle(log);
        let (head, detection) = look_ahead(&mut input).unwrap();
        assert_eq!(detection.format, InputFormat::TLibrary);
        assert!(head.len() < log.len(), "stopped at the first record line");
        let mut all = head;
        input.read_to_end(&mut all).unwrap();
        assert_eq!(all, log);

        let json = b"{\"message\":\"EventRinging\",\"site\":\"S\"}\n";
        let (head, detection) = look_ahead(&mut Trickle(json)).unwrap();
        assert_eq!((detection.format, head.len()), (InputFormat::JsonLines, 7));
    }
}
