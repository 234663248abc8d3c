#!/usr/bin/env python3
"""Writes the hand-made seeds of the `arbitrary`-based targets (operations, responses,
ids_and_payloads) into corpus/<target>/seed-*, and the hand-made reproducers of reported
engine bugs into corpus/<target>/bug-*.

The byte layout is that of arbitrary 1.5 (see fuzz/Cargo.lock): integers little-endian,
enum variant = (u32 * variants) >> 32, bool = low bit of one byte, Option = bool then value,
Vec = (true, element)* then false. The seeds avoid `String` fields, whose lengths are read from
the end of the input. If an input type changes, update the encoders below and re-run:
    python3 fuzz/seeds.py
Decode a seed with: FUZZ_DEBUG=1 fuzz/target/x86_64-unknown-linux-gnu/release/<target> <file>
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def variant(index, count):
    v = -(-(index << 32) // count)  # ceil(index * 2^32 / count)
    assert (v * count) >> 32 == index
    return struct.pack("<I", v)


def u8(v): return struct.pack("<B", v)
def u16(v): return struct.pack("<H", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)
def boolean(v): return b"\x01" if v else b"\x00"
def option(v): return b"\x00" if v is None else b"\x01" + v
def vec(items): return b"".join(b"\x01" + i for i in items) + b"\x00"


# Shared pieces (src/gen.rs).
NAMES = ["None", "Empty", "A", "B", "Spaces", "Longest", "TooLong", "NonAscii", "Control", "Text"]
def name(n): return variant(NAMES.index(n), len(NAMES))
def fill(i): return variant(i, 5)  # Ascii, Quotes, Control, Unicode, Json
def payload(size, f=0): return u8(size) + fill(f)
def ok(size, f=0): return variant(0, 2) + payload(size, f)
def err(error_type=1, msg=16, stack=0): return variant(1, 2) + variant(error_type, 5) + payload(msg) + option(None) + u8(stack)
def policy_default(): return variant(0, 6)
def policy_transient(): return variant(1, 6)
def policy_never(): return variant(2, 6)
def policy_fixed(attempts, secs, nanos): return variant(5, 6) + u8(attempts) + u64(secs) + u32(nanos)
def policy_exponential(attempts, initial_ms, max_secs, rate_tenths, jitter=2, only_boom=False):
    return variant(3, 6) + u8(attempts) + u32(initial_ms) + u32(max_secs) + u16(rate_tenths) + variant(jitter, 3) + boolean(only_boom)
def wait_secs(s): return variant(0, 7) + u16(s)
def wait_longest(): return variant(4, 7)
def wait_zero(): return variant(2, 7)
def wait_millis(ms): return variant(1, 7) + u32(ms)
def wait_subsecond(nanos): return variant(3, 7) + u32(nanos)
STATUSES = ["NoResponse", "S400", "S404", "S413", "S429", "S500", "S502", "S503", "Any"]
CODES = ["None", "InvalidParameterValue", "TooManyRequests", "Service", "KmsDisabled", "ResourceNotFound", "Text"]
MESSAGES = ["Empty", "StaleToken", "StaleTokenCapitalized", "StaleTokenPadded", "TooLarge", "Text"]
def failure(status, code="None", message="Empty"):
    return variant(STATUSES.index(status), 9) + variant(CODES.index(code), 7) + variant(MESSAGES.index(message), 6)


# operations (fuzz_targets/operations.rs).
def limits_default(): return variant(0, 2)
def limits_small(updates, batch_bytes, payload_limit, inline, execution, unacked):
    return variant(1, 2) + u8(updates) + u16(batch_bytes) + u16(payload_limit) + u16(inline) + u16(execution) + u8(unacked)
MODES = ["Inline", "Deferred", "Branch"]
def step(nm="None", at_most_once=False, policy=None, bodies=(), mode="Inline"):
    return variant(0, 7) + name(nm) + boolean(at_most_once) + (policy or policy_default()) + vec(bodies) + variant(MODES.index(mode), 3)
def finish(which=0): return variant(1, 7) + u8(which)
def abandon(which=0): return variant(2, 7) + u8(which)
def wait(nm="None", duration=None, branch=False): return variant(3, 7) + name(nm) + (duration or wait_secs(5)) + boolean(branch)
def pump(): return variant(4, 7)
def ret(body): return variant(5, 7) + body
def suspend(): return variant(6, 7)
ACTS = ["Ack", "AckPaged", "AckNoToken", "AppliedButLost", "Reject", "Fail", "BadMarker"]
def act(a, f=b""): return variant(ACTS.index(a), 7) + f
def between(fire=True, apply_in_flight=False): return boolean(fire) + boolean(apply_in_flight)

def operations(limits, page_size, seed, program, drift=None, betweens=(), service=()):
    return (limits + u8(page_size) + u64(seed) + vec(program) + option(drift)
            + vec(betweens) + b"".join(b"\x01" + s for s in service) + b"\x00")

OPERATIONS = {
    # Two steps, the second fails once then succeeds; a 5 s wait; the handler returns a value.
    "retry-then-wait": operations(limits_default(), 0, 7, [
        step("A", bodies=[ok(8, 4)]),
        step("B", policy=policy_fixed(3, 2, 500_000_000), bodies=[err(), ok(3)]),
        wait("None", wait_secs(5)),
        ret(ok(12, 4)),
    ]),
    # Small limits and paging: many small at-most-once steps split into batches, results near
    # the payload limit, a large handler result checkpointed on the EXECUTION operation.
    "small-limits-paging": operations(limits_small(2, 600, 700, 64, 512, 3), 2, 1, [
        step("A", True, bodies=[ok(230, 1)]),
        step("None", bodies=[ok(225, 2)]),
        step("B", True, bodies=[ok(240, 3)]),
        step("Spaces", bodies=[err(3, 235)], policy=policy_never()),
        wait("Longest", wait_longest(), branch=True),
        ret(ok(100, 0)),
    ], betweens=[between(True)], service=[act("AckPaged"), act("Ack"), act("Ack")]),
    # Concurrent (deferred) steps, pumping while they run, an abandoned one, then suspension.
    "concurrent-abandon-suspend": operations(limits_default(), 1, 3, [
        step("A", mode="Deferred", bodies=[ok(2)]),
        step("B", True, mode="Deferred", bodies=[err()], policy=policy_transient()),
        pump(),
        step("None", mode="Deferred"),
        abandon(2),
        finish(1),
        finish(0),
        wait("A", wait_secs(60), branch=True),
        suspend(),
    ]),
    # The service misbehaves: a stale-token failure, a lost response, no token, a bad marker;
    # the second invocation runs changed code (drift).
    "service-faults-and-drift": operations(limits_default(), 0, 9, [
        step("A", bodies=[ok(4)]),
        step("B", policy=policy_exponential(4, 1500, 30, 20), bodies=[err(2, 40, 3)]),
        wait("None", wait_zero()),
        step("None", True),
        ret(err(1, 20)),
    ], drift=u8(1) + wait("B", wait_secs(1)), betweens=[between(True, True), between(True)],
        service=[act("Fail", failure("S400", "InvalidParameterValue", "StaleToken")),
                 act("AppliedButLost"), act("AckNoToken"), act("BadMarker"),
                 act("Fail", failure("S413", "None", "TooLarge"))]),
    # The concurrency contract (even seed: the check is on): B is begun while A runs, so it is
    # refused with TimingDependentId and the execution fails.
    "concurrent-begin-refused": operations(limits_default(), 0, 4, [
        step("A", mode="Deferred"),
        step("B"),
        step("None"),
    ]),
    # Steps created together (a join) are not in progress for each other: A and the
    # at-most-once B are begun, then awaited and run; once both finished, C may begin.
    "joined-steps-checked": operations(limits_default(), 0, 8, [
        step("A", mode="Deferred"),
        step("B", True, mode="Deferred"),
        finish(0),
        finish(0),
        step("None"),
        ret(ok(2)),
    ]),
    # The same program with the check off (odd seed), then waits of 0.5 s and 1.5 s that go on
    # the wire as 1 s and 2 s; the next invocation finds them elapsed.
    "concurrent-begin-unchecked-rounded-waits": operations(limits_default(), 0, 5, [
        step("A", mode="Deferred"),
        step("B"),
        step("None"),
        finish(0),
        wait("None", wait_subsecond(500_000_000), branch=True),
        wait("B", wait_millis(1500), branch=True),
    ]),
}

# Reproducers of reported, unfixed engine bugs (skipped by the targets unless FUZZ_STRICT=1).
OPERATIONS_BUGS = {
    # F4: the checkpoint response for [B START, wait START] comes paged and leaves the wait off;
    # the next response (no further pages) replaces the marker of the unread page, and at
    # suspension the engine ends the invocation with CheckpointLost although the service
    # recorded the wait.
    "f4-checkpoint-lost-after-unread-page": operations(limits_default(), 0, 1, [
        step("A", mode="Deferred"),
        step("B", mode="Deferred"),
        wait("None", wait_secs(5), branch=True),
        pump(),
        pump(),
        finish(1),
        pump(),
        finish(0),
    ], service=[act("Ack"), act("AckPaged"), act("Ack"), act("Ack"), act("Ack")]),
}


# responses (fuzz_targets/responses.rs).
RSTATUS = ["Started", "Pending", "Ready", "Succeeded", "Failed", "Cancelled", "TimedOut", "Stopped", "Unknown"]
def rstatus(s): return variant(RSTATUS.index(s), 9)
TYPES = ["Step", "Wait", "Execution", "Context", "Callback", "Unknown"]
def op(n, t="Step", s="Succeeded", nm="None", sub=0, attempt=None):
    return (variant(0, 3) + u8(n) + variant(TYPES.index(t), 6) + rstatus(s) + name(nm) + variant(sub, 3)
            + option(None) + option(None if attempt is None else variant(0, 2) + u8(attempt))
            + option(None) + option(None) + option(u64(1_795_872_239_083)))
def marker(i): return variant(i, 4)  # M1, M2, Empty, Text
def r_step(nm="None", at_most_once=False, policy=None): return variant(0, 7) + name(nm) + boolean(at_most_once) + (policy or policy_default())
def r_outcome(which, body): return variant(1, 7) + u8(which) + body
def r_wait(nm="None", duration=None): return variant(3, 7) + name(nm) + (duration or wait_secs(3))
def r_handler(body): return variant(4, 7) + body
def r_suspend(): return variant(5, 7)
def r_checkpoint(token=0, ops=(), next_marker=None): return variant(6, 7) + variant(0, 3) + variant(token, 4) + vec(ops) + option(next_marker)
def r_page(ops=(), next_marker=None): return variant(6, 7) + variant(1, 3) + vec(ops) + option(next_marker)
def r_failure(f): return variant(6, 7) + variant(2, 3) + f

def responses(arn, execution, ops, next_marker, seed, actions):
    return arn + execution + vec(ops) + option(next_marker) + u64(seed) + b"".join(b"\x01" + a for a in actions) + b"\x00"

MATCHING_STARTED = variant(0, 3) + rstatus("Started") + option(None)
RESPONSES = {
    # Replay of a finished and a PENDING step, then a new step acknowledged with a new token.
    "replay-then-checkpoint": responses(variant(0, 4), MATCHING_STARTED,
        [op(1, attempt=1), op(2, s="Pending", attempt=1), op(3, s="Ready", attempt=2)], None, 5,
        [r_step(), r_step(), r_step(), r_outcome(0, ok(5)), r_checkpoint(0, [op(3, s="Succeeded", attempt=3)]),
         r_handler(ok(2))]),
    # A paged envelope (emulator ARN): pages arrive, one unrequested checkpoint response is
    # refused, then a wait and suspension; the checkpoint response carries no token.
    "paged-envelope-no-token": responses(variant(1, 4), variant(2, 3), [], marker(0), 2,
        [r_checkpoint(), r_page([op(1, t="Wait", s="Started")], marker(1)),
         r_page([op(9, t="Execution", s="Started")]), r_wait(), r_wait("A"), r_suspend(), r_checkpoint(1)]),
    # A transient failure while an at-most-once START is in flight, then a late reply.
    "failure-in-flight": responses(variant(2, 4), MATCHING_STARTED, [], None, 11,
        [r_step("A", True, policy_fixed(2, 1, 0)), r_failure(failure("S429", "TooManyRequests")),
         r_outcome(0, err()), r_handler(ok(1))]),
    # The concurrency contract (seed 4: the check is on, steps awaited when their outcome
    # comes): A (at-most-once) and B are created together; A waits for its START, then both
    # finish and C may begin; a wait is awaited at once, so D is refused while it blocks.
    "concurrent-begin-refused": responses(variant(0, 4), MATCHING_STARTED, [], None, 4,
        [r_step("A", True), r_step("B"), r_outcome(0, ok(3)), r_checkpoint(0), r_outcome(0, ok(3)),
         r_outcome(0, ok(1)), r_step(), r_checkpoint(0), r_outcome(0, ok(1)), r_wait(),
         r_step("B")]),
}


# ids_and_payloads: any bytes are meaningful; a few shapes.
IDS = {
    "zeros": bytes(64),
    "ones": b"\xff" * 64,
    "ramp": bytes(range(256)),
}


def write(target, seeds, prefix="seed"):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for label, data in seeds.items():
        with open(os.path.join(d, f"{prefix}-{label}"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("operations", OPERATIONS)
    write("operations", OPERATIONS_BUGS, "bug")
    write("responses", RESPONSES)
    write("ids_and_payloads", IDS)
