//! A call's clock: its deadline, for the plugin's own code (looked at every epoch tick)
//! and for the host's work on its behalf (a [`trawl_dom::Clock`]), and its place in the
//! CPU share between owners, where it may pause.

use std::cell::Cell;
use std::time::{Duration, Instant};

use super::share::Turn;

/// How often a running call looks at its owner's CPU share.
const PACE_EVERY: Duration = Duration::from_millis(10);

/// The clock of the call a store is making (or made last).
#[derive(Debug)]
pub(crate) struct CallClock {
    started: Instant,
    timeout: Duration,
    /// Time spent paused for other owners: not counted against the call, up to its
    /// timeout (a call never runs longer than twice its timeout in all).
    paused: Cell<Duration>,
    last_pace: Cell<Instant>,
    turn: Option<Turn>,
}

impl CallClock {
    /// A call of at most `timeout` that starts now, in `turn` of the CPU share.
    pub(crate) fn new(timeout: Duration, turn: Option<Turn>) -> Self {
        let now = Instant::now();
        Self {
            started: now,
            timeout,
            paused: Cell::new(Duration::ZERO),
            last_pace: Cell::new(now),
            turn,
        }
    }

    /// The call's time limit.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// When the call must end, pauses added.
    pub(crate) fn deadline(&self) -> Instant {
        self.started + self.timeout + self.paused.get()
    }

    /// At a tick: take part in the CPU share (perhaps pausing), then whether the call may
    /// go on.
    pub(crate) fn tick(&self) -> bool {
        if let Some(turn) = &self.turn {
            let now = Instant::now();
            if now - self.last_pace.get() >= PACE_EVERY {
                let allowance = self.timeout.saturating_sub(self.paused.get());
                let paused = turn.pace(allowance);
                self.paused.set(self.paused.get() + paused);
                self.last_pace.set(Instant::now());
            }
        }
        Instant::now() < self.deadline()
    }

    /// The call is over: it leaves the CPU share.
    pub(crate) fn end(&mut self) {
        self.turn = None;
    }
}

impl trawl_dom::Clock for CallClock {
    fn check(&self) -> Result<(), trawl_dom::DomError> {
        if self.tick() {
            Ok(())
        } else {
            Err(trawl_dom::DomError::Deadline)
        }
    }
}
