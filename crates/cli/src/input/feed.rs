//! The sites of a time-merged read, each read on a thread of its own and merged by time on
//! the caller's thread (issue 13): the reading (decompression, parsing, the site's clock)
//! runs beside the pipeline that takes the events, on the other core.
//!
//! A site's thread sends its stream's steps in batches through a bounded channel, with the
//! notes (problems, inputs opened and closed) that came before each step. The merge takes
//! the steps of each site in their order and takes in the notes when it comes to them, so
//! everything handed on, printed and counted comes in the same order as when the sites were
//! read in turn on one thread, whatever the threads' timing.
//!
//! The merge hands each event on by reference and gives it back to its site's thread to be
//! dropped there (in batches, through a second channel): its strings and lists were
//! allocated on that thread, and freeing them is the reading side's work, not the pipeline's.
//!
//! There is one thread per site, however many sites: a thread that is ahead of the merge
//! waits on its full channel without using the processor, so many sites cost memory (a few
//! batches each: [`BATCH_ITEMS`], [`BATCHES_QUEUED`]), not processor time. Standard input is
//! read in turn on the merge's thread, as it comes: a thread would sit on a batch while the
//! input trickles, and could not be stopped while it waits on it.

use std::any::Any;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

use anyhow::{anyhow, Result};
use callstitch_tlib::{Event, Timestamp};

use super::{Merged, Note, ReaderChoice, Replay, Source, Stream};

/// Items (steps and notes) per batch a site's thread sends. An event is about a kilobyte
/// (and its strings): with [`BATCHES_QUEUED`] queued, one being filled and one being taken,
/// a site has about half a megabyte of events in flight.
const BATCH_ITEMS: usize = 128;

/// Batches a site's thread may send ahead of the merge before it waits.
const BATCHES_QUEUED: usize = 2;

/// A site's next event, with where it puts the site in the merge.
pub(super) struct Head {
    /// Boxed on the site's thread: the merge's thread, the bottleneck of every command,
    /// then moves a pointer, not a kilobyte, at each of its steps (five copies an event).
    pub(super) event: Box<Event>,
    /// The time the merge orders the site by (its clock's belief, see [`Stream`]).
    pub(super) key: i64,
    /// The floor the event gives its site, if its stream tells floors.
    pub(super) floor: Option<Timestamp>,
}

/// What a site's stream gives next.
pub(super) enum Step {
    Event(Head),
    /// The stream has no more events; `tells_end`: the merge says the site ended.
    End {
        tells_end: bool,
    },
}

/// What a site's thread sends, in its stream's order.
enum Item {
    Note(Note),
    Step(Step),
}

/// Items from a site's thread, and the bytes its open input had given when it was sent.
struct Batch {
    items: Vec<Item>,
    bytes: u64,
}

/// How a read runs its sites (the tests compare one way with the other).
#[derive(Clone, Copy)]
struct Plan {
    /// Files read on threads of their own; else every site in turn on the caller's thread.
    threads: bool,
    batch_items: usize,
    /// What a site's thread does with its stream ([`read_site`]).
    read: for<'s> fn(Stream<'s>, Outbox),
}

/// Reads the site groups, merging them by time into `sink`; the notes go to `replay` in the
/// order the sites' reads met them, interleaved with the merge as a read in turn would.
pub(super) fn read_sites(
    groups: &[&[Source]],
    choice: ReaderChoice,
    replay: &mut impl Replay,
    sink: impl FnMut(Merged<'_>) -> Result<()>,
) -> Result<()> {
    let plan = Plan { threads: true, batch_items: BATCH_ITEMS, read: read_site };
    read_sites_with(groups, choice, replay, sink, plan)
}

fn read_sites_with(
    groups: &[&[Source]],
    choice: ReaderChoice,
    replay: &mut impl Replay,
    sink: impl FnMut(Merged<'_>) -> Result<()>,
    plan: Plan,
) -> Result<()> {
    std::thread::scope(|scope| {
        let feeds = groups.iter().map(|group| Feed::start(scope, group, choice, plan)).collect();
        merge(feeds, replay, sink)
    })
}

/// The merge: the site whose next event comes first (by its key, then by its place in the
/// arguments) goes next.
fn merge(
    mut feeds: Vec<Feed<'_, '_>>,
    replay: &mut impl Replay,
    mut sink: impl FnMut(Merged<'_>) -> Result<()>,
) -> Result<()> {
    let mut heads: BinaryHeap<Reverse<(i64, usize)>> = BinaryHeap::with_capacity(feeds.len());
    let mut waiting: Vec<Option<Box<Event>>> = Vec::with_capacity(feeds.len());
    for (index, feed) in feeds.iter_mut().enumerate() {
        let event = match feed.next(replay)? {
            Step::Event(head) => Some(take_head(head, index, &mut heads, &mut sink)?),
            Step::End { .. } => None,
        };
        waiting.push(event);
    }
    while let Some(Reverse((_, index))) = heads.pop() {
        let Some(event) = waiting[index].take() else { continue };
        replay.passed_event(|| feeds.iter().map(Feed::bytes).sum());
        sink(Merged::Event(&event))?;
        match feeds[index].next(replay)? {
            Step::Event(head) => waiting[index] = Some(take_head(head, index, &mut heads, &mut sink)?),
            Step::End { tells_end: true } => sink(Merged::Ended { site: event.site.clone() })?,
            Step::End { tells_end: false } => {}
        }
        feeds[index].spent(event);
    }
    Ok(())
}

/// Puts a site's next event in line, telling its floor first.
fn take_head(
    head: Head,
    index: usize,
    heads: &mut BinaryHeap<Reverse<(i64, usize)>>,
    sink: &mut impl FnMut(Merged<'_>) -> Result<()>,
) -> Result<Box<Event>> {
    heads.push(Reverse((head.key, index)));
    if let Some(time) = head.floor {
        sink(Merged::Floor { site: head.event.site.clone(), time })?;
    }
    Ok(head.event)
}

/// One site's stream as the merge sees it.
enum Feed<'scope, 's> {
    /// Read on the merge's thread when its next step is wanted.
    InTurn { stream: Stream<'s>, notes: Vec<Note> },
    /// Read ahead on a thread of its own.
    Thread(Receiving<'scope>),
}

impl<'scope, 's> Feed<'scope, 's> {
    /// Starts reading a site's files: on a thread unless they include standard input (or
    /// no thread can be had).
    fn start(
        scope: &'scope Scope<'scope, '_>,
        group: &'s [Source],
        choice: ReaderChoice,
        plan: Plan,
    ) -> Feed<'scope, 's>
    where
        's: 'scope,
    {
        let in_turn = || Feed::InTurn { stream: Stream::new(group, choice), notes: Vec::new() };
        if !plan.threads || group.iter().any(|source| source.path.is_none()) {
            return in_turn();
        }
        let site = group.first().and_then(|source| source.site.clone()).unwrap_or_default();
        let (sender, receiver) = mpsc::sync_channel(BATCHES_QUEUED);
        let (returns, returned) = mpsc::channel();
        let outbox = Outbox {
            sender,
            items: Vec::with_capacity(plan.batch_items),
            batch_items: plan.batch_items,
            returned,
        };
        let spawned = std::thread::Builder::new()
            .name(format!("read {site}"))
            .spawn_scoped(scope, move || (plan.read)(Stream::new(group, choice), outbox));
        match spawned {
            Ok(reader) => Feed::Thread(Receiving {
                site,
                receiver: Some(receiver),
                reader: Some(reader),
                items: Vec::new().into_iter(),
                bytes: 0,
                returns,
                spent: Vec::with_capacity(plan.batch_items),
            }),
            Err(_) => in_turn(),
        }
    }

    /// The site's next step, its notes taken in first.
    fn next(&mut self, replay: &mut impl Replay) -> Result<Step> {
        match self {
            Feed::InTurn { stream, notes } => {
                let step = stream.step(notes);
                notes.drain(..).for_each(|note| replay.apply(note));
                Ok(step)
            }
            Feed::Thread(receiving) => receiving.next(replay),
        }
    }

    /// Takes back an event the merge has handed on: a thread's are gathered and sent back to
    /// it to be dropped there; a site read in turn drops its own.
    fn spent(&mut self, event: Box<Event>) {
        if let Feed::Thread(receiving) = self {
            receiving.spent(event);
        }
    }

    /// The bytes read of the site's open input.
    fn bytes(&self) -> u64 {
        match self {
            Feed::InTurn { stream, .. } => stream.current_bytes(),
            Feed::Thread(receiving) => receiving.bytes,
        }
    }
}

/// The merge's end of a site's thread.
struct Receiving<'scope> {
    site: String,
    /// `None` once dropped, so that the thread stops before it is waited for.
    receiver: Option<Receiver<Batch>>,
    reader: Option<ScopedJoinHandle<'scope, ()>>,
    /// The rest of the last batch.
    items: std::vec::IntoIter<Item>,
    bytes: u64,
    /// Events handed on, going back to the thread to be dropped there.
    #[allow(clippy::vec_box, reason = "the events stay in the boxes they were read into")]
    returns: Sender<Vec<Box<Event>>>,
    #[allow(clippy::vec_box, reason = "the events stay in the boxes they were read into")]
    spent: Vec<Box<Event>>,
}

impl Receiving<'_> {
    fn spent(&mut self, event: Box<Event>) {
        let batch = self.spent.capacity();
        self.spent.push(event);
        if self.spent.len() >= batch {
            let full = std::mem::replace(&mut self.spent, Vec::with_capacity(batch));
            // A thread that has finished drops nothing more: the events are dropped here.
            let _ = self.returns.send(full);
        }
    }

    fn next(&mut self, replay: &mut impl Replay) -> Result<Step> {
        loop {
            match self.items.next() {
                Some(Item::Note(note)) => replay.apply(note),
                Some(Item::Step(step)) => return Ok(step),
                None => {
                    let batch = self.receiver.as_ref().and_then(|receiver| receiver.recv().ok());
                    let Some(batch) = batch else { return Err(self.failure()) };
                    self.items = batch.items.into_iter();
                    self.bytes = batch.bytes;
                }
            }
        }
    }

    /// Why the thread stopped sending before its stream's end: it panicked.
    fn failure(&mut self) -> anyhow::Error {
        let outcome = self.reader.take().map(ScopedJoinHandle::join);
        let why = match outcome {
            Some(Err(panic)) => panic_text(&*panic),
            _ => "it stopped before the end".to_string(),
        };
        anyhow!("reading site {}: the reading thread failed: {why}", self.site)
    }
}

impl Drop for Receiving<'_> {
    /// Stops the thread (a send to a dropped channel fails) and waits for it: a thread that
    /// panicked after the merge stopped (on an error of its own) is not to panic the scope.
    fn drop(&mut self) {
        self.receiver = None;
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// What a panic said.
fn panic_text(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

/// A site's thread's end of its channel: steps and notes gathered into batches.
struct Outbox {
    sender: SyncSender<Batch>,
    items: Vec<Item>,
    batch_items: usize,
    /// Events the merge has handed on, to be dropped on this thread.
    #[allow(clippy::vec_box, reason = "the events stay in the boxes they were read into")]
    returned: Receiver<Vec<Box<Event>>>,
}

/// The merge stopped listening (it met an error).
struct Gone;

impl Outbox {
    /// Adds a step and the notes before it; sends the batch when it is full or the stream
    /// ended. `bytes`: what the stream's open input has given so far.
    fn put(&mut self, notes: &mut Vec<Note>, step: Step, bytes: u64) -> Result<(), Gone> {
        let end = matches!(step, Step::End { .. });
        self.items.extend(notes.drain(..).map(Item::Note));
        self.items.push(Item::Step(step));
        if !end && self.items.len() < self.batch_items {
            return Ok(());
        }
        let items = std::mem::replace(&mut self.items, Vec::with_capacity(self.batch_items));
        self.returned.try_iter().for_each(drop);
        self.sender.send(Batch { items, bytes }).map_err(|_| Gone)
    }
}

/// A site's thread: reads the stream to its end, or until the merge stops listening.
fn read_site(mut stream: Stream<'_>, mut outbox: Outbox) {
    let mut notes = Vec::new();
    loop {
        let step = stream.step(&mut notes);
        let end = matches!(step, Step::End { .. });
        if outbox.put(&mut notes, step, stream.current_bytes()).is_err() || end {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::path::Path;
    use std::rc::Rc;
    use std::time::{Duration, Instant};

    use proptest::prelude::*;

    use super::*;
    use crate::input::Format;

    /// Everything a read gave, in order: the notes taken in and what was handed on.
    #[derive(Default, Clone)]
    struct Trail(Rc<RefCell<Vec<String>>>);

    impl Replay for Trail {
        fn apply(&mut self, note: Note) {
            self.0.borrow_mut().push(format!("{note:?}"));
        }

        fn passed_event(&mut self, _open: impl FnOnce() -> u64) {}
    }

    /// One generated event: seconds after its site's start (`None`: no time stamp), and a
    /// ConnID the reader cannot read (a problem).
    #[derive(Debug, Clone)]
    struct Generated {
        seconds: Option<u32>,
        bad_value: bool,
    }

    #[derive(Debug, Clone)]
    enum Input {
        /// A T-Library log; `clock`: its header gives the log lines a date and offset.
        Log {
            clock: bool,
            events: Vec<Generated>,
        },
        /// JSON lines; `bad`: a line that is not JSON, at the start.
        Json {
            bad: bool,
            events: Vec<Generated>,
        },
        Missing,
    }

    fn generated() -> impl Strategy<Value = Generated> {
        (prop::option::weighted(0.9, 0u32..4_000), prop::bool::weighted(0.05))
            .prop_map(|(seconds, bad_value)| Generated { seconds, bad_value })
    }

    fn input() -> impl Strategy<Value = Input> {
        prop_oneof![
            6 => (any::<bool>(), prop::collection::vec(generated(), 0..300))
                .prop_map(|(clock, events)| Input::Log { clock, events }),
            1 => (any::<bool>(), prop::collection::vec(generated(), 0..40))
                .prop_map(|(bad, events)| Input::Json { bad, events }),
            1 => Just(Input::Missing),
        ]
    }

    /// Sites, each a run of inputs.
    fn sites() -> impl Strategy<Value = Vec<Vec<Input>>> {
        prop::collection::vec(prop::collection::vec(input(), 0..4), 0..6)
    }

    const START: i64 = 1_351_521_600; // 2012-10-29T14:40:00Z

    fn log_text(site: &str, clock: bool, events: &[Generated]) -> String {
        let mut text = format!("Application name: {site}\n");
        if clock {
            text.push_str(
                "UTC time:         2012-10-29T14:40:00.000\nLocal time:       2012-10-29T09:40:00.000\n",
            );
        }
        for (index, event) in events.iter().enumerate() {
            let clock = format!("{:02}:{:02}:{:02}", 9 + index / 3600 % 10, index / 60 % 60, index % 60);
            text.push_str(&format!(
                "\n@{clock}.0000 [0] 8.1.001.05 distribute_event: message EventRinging\n"
            ));
            text.push_str(&format!("\tAttributeEventSequenceNumber\t{index:016x}\n"));
            if let Some(seconds) = event.seconds {
                let stamp = Timestamp((START + i64::from(seconds)) * 1_000_000);
                text.push_str(&format!(
                    "\tAttributeTimeStamp\t{}\n",
                    stamp.to_tlib_hex().unwrap_or_default()
                ));
            }
            if event.bad_value {
                text.push_str("\tAttributeConnID\tnot-a-conn-id\n");
            }
        }
        text
    }

    fn json_text(site: &str, bad: bool, events: &[Generated]) -> String {
        let mut text = if bad { "{not json\n".to_string() } else { String::new() };
        for event in events {
            let time = event
                .seconds
                .map(|seconds| {
                    format!(",\"timestamp\":\"{}\"", Timestamp((START + i64::from(seconds)) * 1_000_000))
                })
                .unwrap_or_default();
            text.push_str(&format!("{{\"message\":\"EventRinging\",\"site\":\"{site}\"{time}}}\n"));
        }
        text
    }

    /// Writes the sites' files into `dir`; each site's sources in order.
    fn write_sites(dir: &Path, sites: &[Vec<Input>]) -> Vec<Vec<Source>> {
        let mut groups = Vec::new();
        for (site_index, inputs) in sites.iter().enumerate() {
            let site = format!("TS{site_index}");
            let mut sources = Vec::new();
            for (file_index, input) in inputs.iter().enumerate() {
                let path = dir.join(format!("{site}-{file_index}.log"));
                let (text, format) = match input {
                    Input::Log { clock, events } => (Some(log_text(&site, *clock, events)), Format::Log),
                    Input::Json { bad, events } => (Some(json_text(&site, *bad, events)), Format::JsonLines),
                    Input::Missing => (None, Format::Log),
                };
                if let Some(text) = &text {
                    std::fs::write(&path, text).expect("a temporary file");
                }
                let size = text.map(|text| text.len() as u64);
                sources.push(Source {
                    path: Some(path),
                    site: Some(site.clone()),
                    format,
                    size,
                    started: None,
                });
            }
            groups.push(sources);
        }
        groups
    }

    /// The trail of a read of `groups` the way `plan` says.
    fn trail_of(groups: &[Vec<Source>], plan: Plan) -> (Vec<String>, Result<()>) {
        let slices: Vec<&[Source]> = groups.iter().map(Vec::as_slice).collect();
        let mut trail = Trail::default();
        let handed = trail.clone();
        let sink = |merged: Merged<'_>| {
            handed.0.borrow_mut().push(format!("{merged:?}"));
            Ok(())
        };
        let result = read_sites_with(&slices, ReaderChoice::Auto, &mut trail, sink, plan);
        let entries = trail.0.take();
        (entries, result)
    }

    fn in_turn() -> Plan {
        Plan { threads: false, batch_items: BATCH_ITEMS, read: read_site }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The read on threads hands on the same events, floors and ends, and takes in the
        /// same notes at the same points, as the read of every site in turn on one thread:
        /// whatever the batch size and the threads' timing.
        #[test]
        fn sites_read_on_threads_merge_exactly_as_sites_read_in_turn(
            sites in sites(),
            batch_items in 1usize..64,
        ) {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let groups = write_sites(dir.path(), &sites);
            let (expected, result) = trail_of(&groups, in_turn());
            prop_assert!(result.is_ok());
            let threads = Plan { threads: true, batch_items, read: read_site };
            let (threaded, result) = trail_of(&groups, threads);
            prop_assert!(result.is_ok());
            prop_assert_eq!(threaded, expected);
        }
    }

    /// The generator does give what the equivalence is about: floors, ends, problems and
    /// unreadable inputs, interleaved across sites.
    #[test]
    fn the_generated_inputs_give_floors_ends_problems_and_errors() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let events = |count: u32| -> Vec<Generated> {
            (0..count).map(|n| Generated { seconds: Some(n * 7 % 50), bad_value: n % 5 == 0 }).collect()
        };
        let sites = vec![
            vec![Input::Log { clock: true, events: events(20) }, Input::Missing],
            vec![Input::Json { bad: true, events: events(5) }],
            vec![Input::Log { clock: false, events: events(30) }],
        ];
        let (trail, result) = trail_of(&write_sites(dir.path(), &sites), in_turn());
        assert!(result.is_ok());
        let has = |what: &str| trail.iter().any(|entry| entry.starts_with(what));
        for what in ["Floor", "Ended", "Event", "Problem", "JsonError", "IoError", "Closed", "Chosen"] {
            assert!(has(what), "{what} in {trail:#?}");
        }
    }

    /// A site thread that hands out a few events, then panics.
    fn read_then_panic(mut stream: Stream<'_>, mut outbox: Outbox) {
        let mut notes = Vec::new();
        for _ in 0..3 {
            let step = stream.step(&mut notes);
            if outbox.put(&mut notes, step, 0).is_err() {
                return;
            }
        }
        let _ = outbox.sender.send(Batch { items: std::mem::take(&mut outbox.items), bytes: 0 });
        panic!("the reader broke");
    }

    #[test]
    fn a_reading_thread_that_panics_ends_the_read_with_an_error() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let events: Vec<Generated> =
            (0..50).map(|n| Generated { seconds: Some(n), bad_value: false }).collect();
        let sites = vec![vec![Input::Log { clock: true, events }]];
        let groups = write_sites(dir.path(), &sites);
        let plan = Plan { threads: true, batch_items: 2, read: read_then_panic };
        let (_, result) = trail_of(&groups, plan);
        let error = result.expect_err("the panic is an error");
        assert!(format!("{error:#}").contains("the reader broke"), "{error:#}");
    }

    /// The sink's error stops the read at once: the sites' threads, waiting on their full
    /// channels, are let go, not waited for forever.
    #[test]
    fn an_error_of_the_sink_ends_the_read_with_the_threads_still_ahead() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let events: Vec<Generated> =
            (0..2_000).map(|n| Generated { seconds: Some(n), bad_value: false }).collect();
        let sites = vec![vec![Input::Log { clock: true, events: events.clone() }]; 3];
        let groups = write_sites(dir.path(), &sites);
        let slices: Vec<&[Source]> = groups.iter().map(Vec::as_slice).collect();
        let plan = Plan { threads: true, batch_items: 4, read: read_site };
        let started = Instant::now();
        let mut taken = 0;
        let sink = |_: Merged<'_>| {
            taken += 1;
            if taken == 10 {
                anyhow::bail!("the output is gone");
            }
            Ok(())
        };
        let result = read_sites_with(&slices, ReaderChoice::Auto, &mut Trail::default(), sink, plan);
        assert_eq!(result.map_err(|error| error.to_string()), Err("the output is gone".to_string()));
        assert!(started.elapsed() < Duration::from_secs(30));
    }

    /// A thread that panics after the merge stopped on the sink's error: the read ends with
    /// the sink's error, and the panic does not take the caller down.
    #[test]
    fn a_panic_after_the_sink_failed_leaves_the_sinks_error() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let events: Vec<Generated> =
            (0..50).map(|n| Generated { seconds: Some(n), bad_value: false }).collect();
        let groups = write_sites(dir.path(), &[vec![Input::Log { clock: true, events }]]);
        let slices: Vec<&[Source]> = groups.iter().map(Vec::as_slice).collect();
        let plan = Plan { threads: true, batch_items: 1, read: read_then_panic };
        let sink = |_: Merged<'_>| anyhow::bail!("the output is gone");
        let result = read_sites_with(&slices, ReaderChoice::Auto, &mut Trail::default(), sink, plan);
        assert_eq!(result.map_err(|error| error.to_string()), Err("the output is gone".to_string()));
    }
}
