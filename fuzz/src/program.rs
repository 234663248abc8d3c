//! The `operations` target's input: the user actions of a program, the service's answers and
//! what happens between invocations. Their `Arbitrary` layout is what `fuzz/seeds.py` writes
//! and the committed corpus holds: change it only together with both.

use arbitrary::Arbitrary;

use crate::gen::{Body, Failure, Name, Policy, WaitDuration};

/// One action of the user's program.
#[derive(Arbitrary, Debug, Clone)]
pub enum UserOp {
    Step {
        name: Name,
        at_most_once: bool,
        policy: Policy,
        /// The body's result per attempt (the last repeats; none: a small `Ok`).
        bodies: Vec<Body>,
        mode: Mode,
    },
    /// Report the outcome of a deferred step body.
    Finish { which: u8 },
    /// Drop a deferred step mid-body.
    Abandon { which: u8 },
    Wait {
        name: Name,
        duration: WaitDuration,
        branch: bool,
    },
    /// Let the service answer the request in flight.
    Pump,
    /// The handler returns.
    Return(Body),
    /// The driver asks the engine to suspend, whether or not anything waits.
    Suspend,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Run the body at once; a suspension stops the program.
    Inline,
    /// Created together with the `Deferred` steps right after it (a `join!` of step futures);
    /// awaited once the program moves on, then the body keeps running until `Finish` or
    /// `Abandon` (dropped unawaited by `Return` and `Suspend`).
    Deferred,
    /// Run the body at once; a suspension only blocks this branch (like a joined future).
    Branch,
}

/// How the service answers the next request.
#[derive(Arbitrary, Debug, Clone)]
pub enum ServiceAct {
    Ack,
    AckPaged,
    AckNoToken,
    AppliedButLost,
    Reject,
    Fail(Failure),
    BadMarker,
}

/// What happens after an invocation ended.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Between {
    pub fire_timers: bool,
    /// The service receives the request still in flight after the invocation ended.
    pub apply_in_flight: bool,
}
