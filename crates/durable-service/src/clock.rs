//! Time: a virtual clock that only moves when the runner jumps to the next due timer, or the
//! system clock; and the timers the service keeps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use durable_proto::Timestamp;
use serde::{Deserialize, Serialize};

/// Where virtual time starts by default: 2026-01-01T00:00:00Z.
pub const DEFAULT_VIRTUAL_EPOCH: Timestamp = Timestamp::from_millis(1_767_225_600_000);

/// Whether the service runs on virtual or real time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimeMode {
    /// Time stands still while handlers run and jumps straight to the next due timer when
    /// nothing else can happen: a 24-hour wait takes no wall time. The default.
    #[default]
    Virtual,
    /// The system clock: waits and retry delays really elapse.
    Real,
}

/// The service's clock.
///
/// Virtual clocks start at a fixed instant ([`DEFAULT_VIRTUAL_EPOCH`] unless configured) and
/// move only through [`advance_to`](Clock::advance_to) / [`advance_by`](Clock::advance_by);
/// they never move backwards. Real clocks read [`SystemTime`] and ignore both calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    mode: TimeMode,
    now: Timestamp,
}

impl Default for Clock {
    fn default() -> Self {
        Self::virtual_at(DEFAULT_VIRTUAL_EPOCH)
    }
}

impl Clock {
    /// A virtual clock standing at `start`.
    pub fn virtual_at(start: Timestamp) -> Self {
        Self {
            mode: TimeMode::Virtual,
            now: start,
        }
    }

    /// A clock reading the system time.
    pub fn real() -> Self {
        Self {
            mode: TimeMode::Real,
            now: Timestamp::from_millis(0),
        }
    }

    /// A clock of `mode`; `start` only matters for virtual clocks.
    pub fn new(mode: TimeMode, start: Timestamp) -> Self {
        match mode {
            TimeMode::Virtual => Self::virtual_at(start),
            TimeMode::Real => Self::real(),
        }
    }

    /// Virtual or real.
    pub fn mode(&self) -> TimeMode {
        self.mode
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        match self.mode {
            TimeMode::Virtual => self.now,
            TimeMode::Real => system_now(),
        }
    }

    /// Moves a virtual clock forward to `at` (never backwards). Returns whether it moved;
    /// real clocks never do.
    pub fn advance_to(&mut self, at: Timestamp) -> bool {
        if self.mode == TimeMode::Virtual && at > self.now {
            self.now = at;
            true
        } else {
            false
        }
    }

    /// Moves a virtual clock forward by `by` (saturating). Real clocks ignore it.
    pub fn advance_by(&mut self, by: Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let at = Timestamp::from_millis(self.now.as_millis().saturating_add(millis));
        self.advance_to(at);
    }

    /// How long from now until `at` (zero if it has passed).
    pub fn until(&self, at: Timestamp) -> Duration {
        let millis = at.as_millis().saturating_sub(self.now().as_millis());
        Duration::from_millis(u64::try_from(millis).unwrap_or(0))
    }
}

fn system_now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp::from_millis(millis)
}

/// What a timer does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimerKind {
    /// A PENDING step becomes READY (its retry delay elapsed).
    StepRetry,
    /// A STARTED wait SUCCEEDS (its `ScheduledEndTimestamp` passed).
    WaitEnd,
    /// A STARTED callback times out (`Callback.Timeout`).
    CallbackTimeout,
    /// A STARTED callback missed its heartbeat (`Callback.Heartbeat`).
    CallbackHeartbeat,
    /// The whole execution times out.
    ExecutionTimeout,
}

/// A timer the service will fire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    /// When it is due.
    pub due: Timestamp,
    /// What it does.
    pub kind: TimerKind,
    /// The operation it belongs to (the EXECUTION operation's id for the execution timeout).
    pub operation_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_time_only_moves_forward_when_told() {
        let mut clock = Clock::default();
        let start = clock.now();
        assert_eq!(start, DEFAULT_VIRTUAL_EPOCH);
        assert_eq!(clock.now(), start);
        assert!(clock.advance_to(start.plus_seconds(60)));
        assert!(!clock.advance_to(start), "never backwards");
        clock.advance_by(Duration::from_millis(500));
        assert_eq!(clock.now().as_millis(), start.as_millis() + 60_500);
        assert_eq!(
            clock.until(start.plus_seconds(61)),
            Duration::from_millis(500)
        );
        assert_eq!(clock.until(start), Duration::ZERO);
    }

    #[test]
    fn real_time_reads_the_system_clock() {
        let mut clock = Clock::new(TimeMode::Real, DEFAULT_VIRTUAL_EPOCH);
        assert_eq!(clock.mode(), TimeMode::Real);
        assert!(clock.now() > DEFAULT_VIRTUAL_EPOCH);
        assert!(!clock.advance_to(Timestamp::from_millis(i64::MAX)));
    }
}
