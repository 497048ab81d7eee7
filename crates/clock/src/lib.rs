//! callstitch-clock: where the service's parts read the time and how they wait. The service
//! runs on [`SystemClock`]; a test hands a part a [`TestClock`] and moves it by hand, so that
//! what depends on time passing (the ingest loop's group commit, snapshot cadence, idle
//! ticks and retry pauses; the follower's quiet periods and file ages) is tested without a
//! real sleep.
//!
//! A crate of its own so that every crate that reads the time (the follower, the server)
//! shares one trait without depending on each other.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The time as a part of the service sees it.
pub trait Clock: Send + Sync {
    /// A monotonic instant: how long something waited, when something is due.
    fn now(&self) -> Instant;
    /// The wall clock: arrival times and the live stitching clock.
    fn wall(&self) -> SystemTime;
    /// Waits `pause` (the ingest loop's pauses between attempts at a write the store
    /// refused).
    fn sleep(&self, pause: Duration);
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, pause: Duration) {
        std::thread::sleep(pause);
    }
}

/// A clock that moves only when told: by [`TestClock::advance`], or by the length of every
/// [`Clock::sleep`], which returns at once.
#[derive(Debug)]
pub struct TestClock {
    start: Instant,
    wall_start: SystemTime,
    /// Nanoseconds moved since the start.
    moved: AtomicU64,
}

impl TestClock {
    /// A clock whose wall time starts at `wall_start`.
    pub fn starting_at(wall_start: SystemTime) -> TestClock {
        TestClock { start: Instant::now(), wall_start, moved: AtomicU64::new(0) }
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.moved.fetch_add(nanos, Ordering::SeqCst);
    }

    /// How far the clock moved since it started.
    pub fn moved(&self) -> Duration {
        Duration::from_nanos(self.moved.load(Ordering::SeqCst))
    }
}

impl Clock for TestClock {
    fn now(&self) -> Instant {
        self.start + self.moved()
    }

    fn wall(&self) -> SystemTime {
        self.wall_start + self.moved()
    }

    fn sleep(&self, pause: Duration) {
        self.advance(pause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_clock_moves_only_when_advanced_or_slept_on() {
        let wall_start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_351_521_660);
        let clock = TestClock::starting_at(wall_start);
        let (now, wall) = (clock.now(), clock.wall());
        assert_eq!((clock.now(), clock.wall()), (now, wall), "standing still");
        clock.advance(Duration::from_secs(3));
        clock.sleep(Duration::from_millis(250));
        assert_eq!(clock.now() - now, Duration::from_millis(3_250));
        assert_eq!(clock.wall(), wall_start + Duration::from_millis(3_250));
    }
}
