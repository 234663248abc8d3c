//! Operation-sequence fuzzer: a program of user actions (steps with any name, semantics and
//! retry policy; outcomes of any size; abandoned steps; waits; handler results; suspension)
//! is replayed against the service (durable-service's `LocalService`, behind the fault
//! wrapper in `model`), invocation after invocation, while the service acknowledges, fails,
//! withholds tokens or sends bad page markers. The harness is `driver`, the input `program`.
//!
//! Checks: no panic; every batch respects the protocol limits and the engine's own limits
//! (`checks::check_batch`); the service accepts every request (its validation, status rules,
//! tokens and markers) and takes every output as the engine meant it (no PENDING while nothing
//! is pending, no result or error where none belongs); tokens are never reused; at most one
//! request is outstanding and none after the outcome; PENDING only while the service records
//! every blocked operation and one of them still pends; `CheckpointLost` / `ResumeRequired`
//! only when true of the service's records; operation ids follow the root counter; replayed
//! attempts and results match the history; waits go on the wire rounded up to whole seconds;
//! the engine's operation states and `should_suspend` match what its answers imply (`ops`); an
//! operation is refused with `TimingDependentId` exactly when the concurrency contract says so
//! (the check is on for even seeds, off for odd ones); the last `InvocationEnding` event
//! matches the outcome.

#![no_main]

use arbitrary::Arbitrary;
use durable_proto_fuzz::driver::Driver;
use durable_proto_fuzz::gen::{self, Limits};
use durable_proto_fuzz::model::Model;
use durable_proto_fuzz::program::{Between, ServiceAct, UserOp};
use libfuzzer_sys::fuzz_target;

const MAX_INVOCATIONS: usize = 8;
const MAX_PROGRAM: usize = 64;
const INPUT: &str = "{\"n\":1}";

#[derive(Arbitrary, Debug)]
struct Input {
    limits: Limits,
    page_size: u8,
    seed: u64,
    program: Vec<UserOp>,
    /// From the second invocation on, this op replaces `program[index % len]` (changed code).
    drift: Option<(u8, UserOp)>,
    between: Vec<Between>,
    service: Vec<ServiceAct>,
}

fuzz_target!(|input: Input| {
    gen::debug(&input);
    let mut config = input.limits.build();
    // Even seeds keep the concurrency contract on (and the oracle predicts each refusal); odd
    // ones turn it off, so that long interleavings of deferred steps run too.
    config.check_concurrent_begins = input.seed & 1 == 0;
    let mut model = Model::new(INPUT, usize::from(input.page_size % 5));
    let mut cursor = 0usize;
    let mut program: Vec<UserOp> = input.program.iter().take(MAX_PROGRAM).cloned().collect();
    for invocation in 0..MAX_INVOCATIONS {
        if model.finished() {
            break;
        }
        if invocation == 1 && !program.is_empty() {
            if let Some((index, op)) = &input.drift {
                let i = *index as usize % program.len();
                program[i] = op.clone();
            }
        }
        let mut config = config.clone();
        // The engine's retry-jitter RNG: seeded, or (bit 1) derived from the ARN and token.
        config.seed = (input.seed & 2 == 0).then_some(input.seed ^ invocation as u64);
        let mut d = Driver::new(&mut model, config, &input.service, &mut cursor);
        d.invoke(&program, INPUT);
        gen::debug(&(invocation, d.outcome()));
        let between = input.between.get(invocation).copied().unwrap_or(Between {
            fire_timers: true,
            apply_in_flight: false,
        });
        d.end(between.apply_in_flight);
        if between.fire_timers {
            model.fire_timers();
        }
    }
});
