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
