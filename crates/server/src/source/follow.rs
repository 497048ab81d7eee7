//! The followed log files as a [`Source`]: the [`Follower`] reads every site's files, the
//! [`SiteMerge`] puts the sites in time order and holds back what may not go yet, and the
//! checkpoint is every file's position, stopped before the oldest event held back.

use std::sync::Arc;

use callstitch_clock::Clock;
use callstitch_follow::{FollowConfig, FollowProblem, FollowedEvent, Follower};
use callstitch_tlib::Event;

use super::{FollowCheckpoint, Source, SourceProblem};
use crate::merge::SiteMerge;

/// See the module documentation.
pub struct FollowSource {
    follower: Follower,
    /// The sites merged by time; what it holds back is not committed yet.
    merge: SiteMerge,
    /// Reused buffer of what a poll read.
    read: Vec<FollowedEvent>,
    /// Reused buffer of what the merge released.
    released: Vec<FollowedEvent>,
}

impl FollowSource {
    /// Follows `config`'s inputs from `checkpoint` (files it does not name: from their
    /// start), holding at most `per_site` events of a site back, quiet periods and file ages
    /// measured on `clock`.
    pub fn open(
        config: FollowConfig,
        checkpoint: FollowCheckpoint,
        per_site: usize,
        clock: Arc<dyn Clock>,
    ) -> FollowSource {
        FollowSource {
            follower: Follower::with_clock(config, checkpoint.0, clock),
            merge: SiteMerge::new(per_site),
            read: Vec::new(),
            released: Vec::new(),
        }
    }
}

impl Source for FollowSource {
    type Checkpoint = FollowCheckpoint;

    fn poll(&mut self, most: usize, out: &mut Vec<Event>) {
        let merge = &mut self.merge;
        let reports = self.follower.poll_sites(&|site| merge.budget(site), &mut self.read);
        merge.take(&mut self.read, &reports);
        merge.release_at_most(&mut self.released, most);
        self.follower.hold(merge.held().into_keys());
        out.extend(self.released.drain(..).map(|followed| followed.event));
    }

    fn checkpoint(&self) -> FollowCheckpoint {
        FollowCheckpoint(self.follower.positions_holding(&self.merge.held()))
    }

    fn catching_up(&self) -> bool {
        self.merge.catching_up()
    }

    fn take_problems(&mut self) -> Vec<SourceProblem> {
        let problems = self.follower.take_problems().into_iter();
        problems
            .map(|problem| SourceProblem {
                source: "log input",
                kind: problem_kind(&problem),
                message: problem.to_string(),
            })
            .collect()
    }
}

/// The metric label of a follow problem.
fn problem_kind(problem: &FollowProblem) -> &'static str {
    match problem {
        FollowProblem::Parse(problem) => problem.kind.label(),
        FollowProblem::Unreadable { .. } => "unreadable",
        FollowProblem::Vanished { .. } => "vanished",
        FollowProblem::Truncated { .. } => "truncated",
        FollowProblem::PositionLost { .. } => "position-lost",
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    use callstitch_clock::TestClock;
    use callstitch_follow::FollowInput;

    use super::*;
    use crate::source::{AnySource, Checkpoints};

    /// The seed's two sites' logs, copied into `dir`.
    fn seed_logs(dir: &Path) -> Vec<FollowInput> {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed-islink");
        ["SIPServer1", "Tserver2"]
            .into_iter()
            .map(|site| {
                let copy = dir.join(format!("{site}.log"));
                std::fs::copy(fixtures.join(format!("{site}.log")), &copy).expect("fixture copied");
                FollowInput { site: Some(site.to_string()), path: copy }
            })
            .collect()
    }

    fn open(logs: &[FollowInput], checkpoint: FollowCheckpoint, clock: &Arc<TestClock>) -> FollowSource {
        let config = FollowConfig::new(logs.to_vec());
        let source = FollowSource::open(config, checkpoint, 100, clock.clone());
        // Quiet for longer than `settle`: the block at the end of the file is complete.
        clock.advance(Duration::from_secs(1));
        source
    }

    /// Polls `source` a few rounds, at most `most` events each, the clock moving on between
    /// them.
    fn poll_rounds(source: &mut FollowSource, most: usize, clock: &TestClock, out: &mut Vec<Event>) {
        for _ in 0..4 {
            Source::poll(source, most, out);
            clock.advance(Duration::from_secs(1));
        }
    }

    fn texts(events: &[Event]) -> Vec<String> {
        events.iter().map(|event| serde_json::to_string(event).expect("JSON")).collect()
    }

    /// The events the merge holds back are not in the checkpoint: a source restored from it
    /// hands out exactly the events after those handed out, none lost and none twice.
    #[test]
    fn a_source_restored_from_its_checkpoint_goes_on_after_the_last_event_handed_out() {
        let dir = tempfile::tempdir().expect("temp dir");
        let logs = seed_logs(dir.path());
        let clock = Arc::new(TestClock::starting_at(SystemTime::now()));
        let mut whole = Vec::new();
        poll_rounds(&mut open(&logs, FollowCheckpoint::default(), &clock), usize::MAX, &clock, &mut whole);
        assert_eq!(whole.len(), 4, "the seed's events, both sites");

        let mut first = open(&logs, FollowCheckpoint::default(), &clock);
        let mut handed_out = Vec::new();
        poll_rounds(&mut first, 0, &clock, &mut handed_out);
        assert!(handed_out.is_empty() && Source::catching_up(&first), "read, and held back");
        Source::poll(&mut first, 2, &mut handed_out);
        assert_eq!(handed_out.len(), 2);
        let mut stored = Checkpoints::default();
        first.checkpoint_into(&mut stored).expect("written");
        let stored = stored.to_text().expect("the stored form");

        let restored = Checkpoints::restore(Some(&stored)).get::<FollowCheckpoint>();
        let mut again = open(&logs, restored, &clock);
        poll_rounds(&mut again, usize::MAX, &clock, &mut handed_out);
        assert_eq!(texts(&handed_out), texts(&whole), "every event once, in order");
    }
}
