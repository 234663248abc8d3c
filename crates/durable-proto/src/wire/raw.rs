//! Records as positions in the bytes they came in: what the engine reads of a history.
//!
//! Replay reads a handful of fields of each record (id, type, status, name, parent,
//! sub-type) and the payloads of the operations the code asks for. A [`RawRecord`] holds
//! those as [`Span`]s into the page's text, found in one pass by the scanner; nothing is
//! decoded until it is asked for. The owned [`Operation`](super::Operation) stays the type
//! users build and inspect; [`decode_operation`] turns a raw record into one, exactly as the
//! owned parse of the same bytes would.

use std::borrow::Cow;

use super::scan::{Declined, Scanner, Span};
use super::{ErrorObject, OperationStatus, OperationType};

/// `Type` and `Status` as small codes; `UNKNOWN` means a value this SDK does not know,
/// read back from the record's text when asked for.
pub(crate) const UNKNOWN: u8 = u8::MAX;

const TYPES: [OperationType; 6] = [
    OperationType::Execution,
    OperationType::Context,
    OperationType::Step,
    OperationType::Wait,
    OperationType::Callback,
    OperationType::ChainedInvoke,
];

const STATUSES: [OperationStatus; 8] = [
    OperationStatus::Started,
    OperationStatus::Pending,
    OperationStatus::Ready,
    OperationStatus::Succeeded,
    OperationStatus::Failed,
    OperationStatus::Cancelled,
    OperationStatus::TimedOut,
    OperationStatus::Stopped,
];

pub(crate) const EXECUTION: u8 = 0;
const CALLBACK: u8 = 4;
const CHAINED_INVOKE: u8 = 5;

fn type_code(text: &str) -> u8 {
    match text {
        "EXECUTION" => 0,
        "CONTEXT" => 1,
        "STEP" => 2,
        "WAIT" => 3,
        "CALLBACK" => 4,
        "CHAINED_INVOKE" => 5,
        _ => UNKNOWN,
    }
}

fn status_code(text: &str) -> u8 {
    match text {
        "STARTED" => 0,
        "PENDING" => 1,
        "READY" => 2,
        "SUCCEEDED" => 3,
        "FAILED" => 4,
        "CANCELLED" => 5,
        "TIMED_OUT" | "TIMEDOUT" => 6,
        "STOPPED" => 7,
        _ => UNKNOWN,
    }
}

/// The known type of a code, `None` for [`UNKNOWN`].
pub(crate) fn known_type(code: u8) -> Option<&'static OperationType> {
    TYPES.get(usize::from(code))
}

/// The known status of a code, `None` for [`UNKNOWN`].
pub(crate) fn known_status(code: u8) -> Option<&'static OperationStatus> {
    STATUSES.get(usize::from(code))
}

/// The code of a type (the inverse of [`known_type`]).
pub(crate) fn code_of_type(t: &OperationType) -> u8 {
    type_code(t.as_str())
}

/// One operation record of a page, as spans into the page's text.
///
/// `result` and `error` are the ones the engine reads for the record's type: a step's (or,
/// lacking it, a context's) for STEP, CONTEXT and unknown types, the callback's for
/// CALLBACK, the invoked function's for CHAINED_INVOKE. `aux` is the callback id, or for
/// EXECUTION the input payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawRecord {
    /// Which page (text segment) the spans point into.
    pub(crate) segment: u32,
    /// The whole record object.
    pub(crate) whole: Span,
    pub(crate) id: Span,
    pub(crate) name: Span,
    pub(crate) parent: Span,
    pub(crate) sub_type: Span,
    /// A string content span.
    pub(crate) result: Span,
    /// A whole `ErrorObject` value span.
    pub(crate) error: Span,
    pub(crate) aux: Span,
    /// `StepDetails.Attempt`.
    pub(crate) attempt: u32,
    pub(crate) op_type: u8,
    pub(crate) status: u8,
    /// `ContextDetails.ReplayChildren`.
    pub(crate) replay_children: bool,
}

/// Records in fixed-size chunks: appending never moves (and so never briefly doubles) the
/// records already read, which a long history's single vector would do at every growth.
#[derive(Debug, Default)]
pub(crate) struct RecordList {
    chunks: Vec<Vec<RawRecord>>,
    len: usize,
}

/// Records per chunk (about 300 KB).
const CHUNK: usize = 4096;

impl RecordList {
    pub(crate) fn push(&mut self, rec: RawRecord) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(rec),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(rec);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get(&self, pos: usize) -> &RawRecord {
        &self.chunks[pos / CHUNK][pos % CHUNK]
    }

    pub(crate) fn set(&mut self, pos: usize, rec: RawRecord) {
        self.chunks[pos / CHUNK][pos % CHUNK] = rec;
    }
}

impl IntoIterator for RecordList {
    type Item = RawRecord;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<RawRecord>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.chunks.into_iter().flatten()
    }
}

/// Reads the content of a string span: borrowed unless it holds escapes.
pub(crate) fn text_of(text: &str, span: Span) -> Option<Cow<'_, str>> {
    if span.is_none() {
        return None;
    }
    let raw = &text[span.range()];
    if !span.is_escaped() {
        return Some(Cow::Borrowed(raw));
    }
    Some(Cow::Owned(unescape(raw)))
}

/// Decodes escapes the scanner has already checked (no surrogates, four hex digits after
/// `\\u`), copying the plain runs between them whole: a result that is JSON text has an
/// escape at every quote.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = &rest[at + 1..];
        let (decoded, used) = match escape.as_bytes().first() {
            Some(b'b') => ('\u{8}', 1),
            Some(b'f') => ('\u{c}', 1),
            Some(b'n') => ('\n', 1),
            Some(b'r') => ('\r', 1),
            Some(b't') => ('\t', 1),
            Some(b'u') => {
                let code = escape
                    .get(1..5)
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                (code, 5)
            }
            // `"`, `\\` and `/` stand for themselves.
            Some(&b) => (char::from(b), 1),
            None => break,
        };
        out.push(decoded);
        rest = escape.get(used..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// The `ErrorObject` at a value span.
pub(crate) fn error_of(text: &str, span: Span) -> Option<ErrorObject> {
    if span.is_none() {
        return None;
    }
    serde_json::from_str(&text[span.range()]).ok()
}

/// The owned record at `whole`, decoded by the owned parse.
pub(crate) fn decode_operation(text: &str, whole: Span) -> Option<super::Operation> {
    serde_json::from_str(&text[whole.range()]).ok()
}

/// Key bits, to refuse a repeated field as the owned parse does.
fn once(seen: &mut u32, bit: u32) -> Result<(), Declined> {
    if *seen & bit != 0 {
        return Err(Declined);
    }
    *seen |= bit;
    Ok(())
}

/// The fields of one details block.
#[derive(Clone, Copy)]
struct Block {
    result: Span,
    error: Span,
    extra: Span,
}

const NO_BLOCK: Block = Block {
    result: Span::NONE,
    error: Span::NONE,
    extra: Span::NONE,
};

/// An `ErrorObject` or `null`: its value span, checked by the owned parse of that value
/// (errors are rare, and every field of theirs is kept).
fn error_value(s: &mut Scanner<'_>, text: &str) -> Result<Span, Declined> {
    if s.null()? {
        return Ok(Span::NONE);
    }
    s.peek();
    let start = s.pos();
    s.skip_value()?;
    let span = Span::of_value(start, s.pos())?;
    serde_json::from_str::<ErrorObject>(&text[span.range()]).map_err(|_| Declined)?;
    Ok(span)
}

/// What one details block may hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Details {
    Execution,
    Context,
    Step,
    Wait,
    Callback,
    ChainedInvoke,
}

/// A details block (`null` or an object); `attempt` and `replay_children` are set by the
/// step and context blocks.
fn details(
    s: &mut Scanner<'_>,
    text: &str,
    kind: Details,
    attempt: &mut u32,
    replay_children: &mut bool,
) -> Result<Block, Declined> {
    let mut block = NO_BLOCK;
    if s.null()? {
        return Ok(block);
    }
    s.eat(b'{')?;
    if s.eat_if(b'}') {
        return Ok(block);
    }
    let mut seen = 0u32;
    loop {
        let key = s.key()?;
        match (kind, key) {
            (Details::Execution, b"InputPayload") | (Details::Callback, b"CallbackId") => {
                once(&mut seen, 1)?;
                block.extra = s.string_or_null()?;
            }
            (
                Details::Context | Details::Step | Details::Callback | Details::ChainedInvoke,
                b"Result",
            ) => {
                once(&mut seen, 2)?;
                block.result = s.string_or_null()?;
            }
            (
                Details::Context | Details::Step | Details::Callback | Details::ChainedInvoke,
                b"Error",
            ) => {
                once(&mut seen, 4)?;
                block.error = error_value(s, text)?;
            }
            (Details::Step, b"Attempt") => {
                once(&mut seen, 8)?;
                *attempt = s.u32_or_null()?;
            }
            (Details::Step, b"NextAttemptTimestamp")
            | (Details::Wait, b"ScheduledEndTimestamp") => {
                once(&mut seen, 16)?;
                s.timestamp_value()?;
            }
            (Details::Context, b"ReplayChildren") => {
                once(&mut seen, 32)?;
                *replay_children = s.bool_or_null()?.unwrap_or(false);
            }
            _ => s.skip_value()?,
        }
        if !s.eat_if(b',') {
            s.eat(b'}')?;
            return Ok(block);
        }
    }
}

/// An enum string (`Type`, `Status`) as its code.
fn code(s: &mut Scanner<'_>, text: &str, of: fn(&str) -> u8) -> Result<u8, Declined> {
    let span = s.string()?;
    Ok(text_of(text, span).map_or(UNKNOWN, |t| of(&t)))
}

/// One operation object.
pub(crate) fn scan_operation(
    s: &mut Scanner<'_>,
    text: &str,
    segment: u32,
) -> Result<RawRecord, Declined> {
    s.peek();
    let start = s.pos();
    s.eat(b'{')?;
    let mut rec = RawRecord {
        segment,
        whole: Span::NONE,
        id: Span::NONE,
        name: Span::NONE,
        parent: Span::NONE,
        sub_type: Span::NONE,
        result: Span::NONE,
        error: Span::NONE,
        aux: Span::NONE,
        attempt: 0,
        op_type: UNKNOWN,
        status: UNKNOWN,
        replay_children: false,
    };
    let mut blocks = [NO_BLOCK; 6];
    let mut seen = 0u32;
    if !s.eat_if(b'}') {
        loop {
            let key = s.key()?;
            let detail = |kind: Details| (kind, 1u32 << (8 + kind as u32));
            let block = match key {
                b"Id" => {
                    once(&mut seen, 1)?;
                    rec.id = s.string()?;
                    None
                }
                b"Type" => {
                    once(&mut seen, 2)?;
                    rec.op_type = code(s, text, type_code)?;
                    None
                }
                b"Status" => {
                    once(&mut seen, 4)?;
                    rec.status = code(s, text, status_code)?;
                    None
                }
                b"Name" => {
                    once(&mut seen, 8)?;
                    rec.name = s.string_or_null()?;
                    None
                }
                b"ParentId" => {
                    once(&mut seen, 16)?;
                    rec.parent = s.string_or_null()?;
                    None
                }
                b"SubType" => {
                    once(&mut seen, 32)?;
                    rec.sub_type = s.string_or_null()?;
                    None
                }
                b"StartTimestamp" | b"EndTimestamp" => {
                    once(&mut seen, if key == b"EndTimestamp" { 64 } else { 128 })?;
                    s.timestamp_value()?;
                    None
                }
                b"ExecutionDetails" => Some(detail(Details::Execution)),
                b"ContextDetails" => Some(detail(Details::Context)),
                b"StepDetails" => Some(detail(Details::Step)),
                b"WaitDetails" => Some(detail(Details::Wait)),
                b"CallbackDetails" => Some(detail(Details::Callback)),
                b"ChainedInvokeDetails" => Some(detail(Details::ChainedInvoke)),
                _ => {
                    s.skip_value()?;
                    None
                }
            };
            if let Some((kind, bit)) = block {
                once(&mut seen, bit)?;
                blocks[kind as usize] =
                    details(s, text, kind, &mut rec.attempt, &mut rec.replay_children)?;
            }
            if !s.eat_if(b',') {
                s.eat(b'}')?;
                break;
            }
        }
    }
    // Id, Type and Status are required.
    if seen & 7 != 7 {
        return Err(Declined);
    }
    rec.whole = Span::of_value(start, s.pos())?;
    let [execution, context, step, _, callback, invoke] = blocks;
    let pick = |primary: Block, fallback: Block| {
        (
            if primary.result.is_none() {
                fallback.result
            } else {
                primary.result
            },
            if primary.error.is_none() {
                fallback.error
            } else {
                primary.error
            },
        )
    };
    (rec.result, rec.error) = match rec.op_type {
        CALLBACK => (callback.result, callback.error),
        CHAINED_INVOKE => (invoke.result, invoke.error),
        // STEP, CONTEXT and types this SDK does not know.
        _ => pick(step, context),
    };
    rec.aux = if rec.op_type == EXECUTION {
        execution.extra
    } else {
        callback.extra
    };
    Ok(rec)
}

/// `null` or an array of operation objects, appended to `out`.
pub(crate) fn scan_operations(
    s: &mut Scanner<'_>,
    text: &str,
    segment: u32,
    out: &mut RecordList,
) -> Result<(), Declined> {
    if s.null()? {
        return Ok(());
    }
    s.eat(b'[')?;
    if s.eat_if(b']') {
        return Ok(());
    }
    loop {
        out.push(scan_operation(s, text, segment)?);
        if !s.eat_if(b',') {
            return s.eat(b']');
        }
    }
}

/// An `ExecutionState` (`null` or `{"Operations": [...], "NextMarker": ...}`): its records
/// are appended to `out`; returns the next marker's span.
pub(crate) fn scan_state(
    s: &mut Scanner<'_>,
    text: &str,
    segment: u32,
    out: &mut RecordList,
) -> Result<Span, Declined> {
    let mut marker = Span::NONE;
    if s.null()? {
        return Ok(marker);
    }
    s.eat(b'{')?;
    if s.eat_if(b'}') {
        return Ok(marker);
    }
    let mut seen = 0u32;
    loop {
        match s.key()? {
            b"Operations" => {
                once(&mut seen, 1)?;
                scan_operations(s, text, segment, out)?;
            }
            b"NextMarker" => {
                once(&mut seen, 2)?;
                marker = s.string_or_null()?;
            }
            _ => s.skip_value()?,
        }
        if !s.eat_if(b',') {
            s.eat(b'}')?;
            return Ok(marker);
        }
    }
}

/// The top level of an invocation envelope, as spans.
pub(crate) struct RawEnvelope {
    pub(crate) arn: Span,
    pub(crate) token: Span,
    pub(crate) next_marker: Span,
    pub(crate) updated: Vec<Span>,
}

/// An envelope: its records are appended to `out` (segment 0).
pub(crate) fn scan_envelope(text: &str, out: &mut RecordList) -> Result<RawEnvelope, Declined> {
    let mut s = Scanner::new(text);
    let mut envelope = RawEnvelope {
        arn: Span::NONE,
        token: Span::NONE,
        next_marker: Span::NONE,
        updated: Vec::new(),
    };
    s.eat(b'{')?;
    let mut seen = 0u32;
    if !s.eat_if(b'}') {
        loop {
            match s.key()? {
                b"DurableExecutionArn" => {
                    once(&mut seen, 1)?;
                    envelope.arn = s.string()?;
                }
                b"CheckpointToken" => {
                    once(&mut seen, 2)?;
                    envelope.token = s.string()?;
                }
                b"InitialExecutionState" => {
                    once(&mut seen, 4)?;
                    envelope.next_marker = scan_state(&mut s, text, 0, out)?;
                }
                b"UpdatedOperationIds" => {
                    once(&mut seen, 8)?;
                    if !s.null()? {
                        s.eat(b'[')?;
                        if !s.eat_if(b']') {
                            loop {
                                envelope.updated.push(s.string()?);
                                if !s.eat_if(b',') {
                                    s.eat(b']')?;
                                    break;
                                }
                            }
                        }
                    }
                }
                _ => s.skip_value()?,
            }
            if !s.eat_if(b',') {
                s.eat(b'}')?;
                break;
            }
        }
    }
    if seen & 3 != 3 || !s.at_end() {
        return Err(Declined);
    }
    Ok(envelope)
}
