//! The history as the engine keeps it: the pages' text, and per record a few positions
//! into it (`wire/raw.rs`), found by id through an index of positions.
//!
//! Every page goes through the same path: an envelope's bytes are kept as they came
//! ([`Envelope::from_vec`] takes them without a copy) and scanned once; pages that arrive
//! as owned values (a client that parsed the API response into types, the local service)
//! are serialized once and scanned the same way. The owned parse remains the judge: bytes
//! the scanner does not vouch for go through it, so both paths give the same records and
//! the same errors.

use std::borrow::Cow;

use crate::wire::raw::{
    self, code_of_type, decode_operation, error_of, known_status, known_type, text_of, RawRecord,
    RecordList, EXECUTION,
};
use crate::wire::scan::{Scanner, Span};
use crate::wire::{
    EnvelopeError, ErrorObject, InvocationInput, Operation, OperationStatus, OperationType,
};

/// An invocation envelope read for the engine: the bytes kept, the records indexed, nothing
/// decoded that replay does not ask for.
///
/// Build it from the payload's bytes ([`from_vec`](Self::from_vec) keeps them without a
/// copy) or from an [`InvocationInput`] you built or parsed (`From`). For reading records
/// yourself, [`InvocationInput`] is the owned, inspectable form; [`to_input`](Self::to_input)
/// gives it.
///
/// ```
/// use durable_proto::Envelope;
///
/// let bytes = br#"{"DurableExecutionArn":"fn/exec-1","CheckpointToken":"t0",
///   "InitialExecutionState":{"Operations":[{"Id":"exec-1","Type":"EXECUTION",
///   "Status":"STARTED","ExecutionDetails":{"InputPayload":"{}"}}]}}"#;
/// let envelope = Envelope::from_slice(bytes).unwrap();
/// assert_eq!(envelope.arn(), "fn/exec-1");
/// assert_eq!(envelope.len(), 1);
/// let input = envelope.to_input();
/// assert_eq!(input.initial_execution_state.operations[0].id, "exec-1");
/// ```
#[derive(Debug)]
pub struct Envelope {
    arn: String,
    token: String,
    next_marker: Option<String>,
    updated_operation_ids: Vec<String>,
    pub(crate) records: Records,
}

impl Envelope {
    /// Reads an invocation payload, keeping `bytes` (no copy). Fails exactly like
    /// [`InvocationInput::from_slice`], and never panics.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Self, EnvelopeError> {
        let text = match String::from_utf8(bytes) {
            Ok(text) => text.into_boxed_str(),
            Err(not_utf8) => return Self::owned(&not_utf8.into_bytes()),
        };
        let mut records = RecordList::default();
        let Ok(top) = raw::scan_envelope(&text, &mut records) else {
            return Self::owned(text.as_bytes());
        };
        let owned = |span: Span| text_of(&text, span).map(Cow::into_owned);
        let envelope = Envelope {
            arn: owned(top.arn).unwrap_or_default(),
            token: owned(top.token).unwrap_or_default(),
            next_marker: owned(top.next_marker).filter(|m| !m.is_empty()),
            updated_operation_ids: top.updated.iter().filter_map(|s| owned(*s)).collect(),
            records: Records::default(),
        };
        envelope.validated().map(|mut e| {
            e.records = Records::first_page(text, records);
            e
        })
    }

    /// Reads an invocation payload from borrowed bytes (copied once).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        Self::from_vec(bytes.to_vec())
    }

    /// The owned parse decides: its error, or its records.
    fn owned(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        InvocationInput::from_slice(bytes).map(Self::from)
    }

    fn validated(self) -> Result<Self, EnvelopeError> {
        if self.arn.is_empty() {
            Err(EnvelopeError::EmptyField {
                field: "DurableExecutionArn",
            })
        } else if self.token.is_empty() {
            Err(EnvelopeError::EmptyField {
                field: "CheckpointToken",
            })
        } else {
            Ok(self)
        }
    }

    /// The execution's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The token for this invocation's first checkpoint.
    pub fn checkpoint_token(&self) -> &str {
        &self.token
    }

    /// Where the next page of the initial state starts, if there is one.
    pub fn next_marker(&self) -> Option<&str> {
        self.next_marker.as_deref()
    }

    /// How many records the first page holds (after keeping the last of a repeated id).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the first page holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.len() == 0
    }

    /// The owned form, decoded in full (for inspection; the engine never needs it).
    pub fn to_input(&self) -> InvocationInput {
        InvocationInput {
            durable_execution_arn: self.arn.clone(),
            checkpoint_token: self.token.clone(),
            initial_execution_state: crate::wire::ExecutionState {
                operations: self.records.iter().filter_map(|r| r.decode()).collect(),
                next_marker: self.next_marker.clone(),
            },
            updated_operation_ids: self.updated_operation_ids.clone(),
        }
    }

    pub(crate) fn into_parts(self) -> (String, String, Option<String>, Records) {
        (self.arn, self.token, self.next_marker, self.records)
    }
}

impl From<InvocationInput> for Envelope {
    /// Serializes the records once and indexes them like received bytes.
    fn from(input: InvocationInput) -> Self {
        let mut records = Records::default();
        records.add_operations(input.initial_execution_state.operations);
        Envelope {
            arn: input.durable_execution_arn,
            token: input.checkpoint_token,
            next_marker: input.initial_execution_state.next_marker,
            updated_operation_ids: input.updated_operation_ids,
            records,
        }
    }
}

/// The pages' text and the records in them, found by id.
#[derive(Debug, Default)]
pub(crate) struct Records {
    pages: Vec<Box<str>>,
    records: RecordList,
    index: IdIndex,
}

impl Records {
    /// The first page: its records are kept in order and indexed (the last of a repeated
    /// id wins, which the service never sends).
    fn first_page(text: Box<str>, records: RecordList) -> Self {
        let mut store = Records {
            pages: vec![text],
            records,
            index: IdIndex::default(),
        };
        if !store.reindex() {
            let records = std::mem::take(&mut store.records);
            store.index = IdIndex::default();
            for rec in records {
                store.upsert(rec);
            }
        }
        store
    }

    /// Inserts or replaces the records of owned operations (later pages carry newer state).
    pub(crate) fn add_operations(&mut self, operations: Vec<Operation>) {
        if operations.is_empty() {
            return;
        }
        // Serializing owned records gives JSON the scanner always accepts: escaped keys,
        // surrogate escapes, exponents and deep nesting never come out of serde_json.
        let text = serde_json::to_string(&operations)
            .expect("operations always serialize")
            .into_boxed_str();
        drop(operations);
        let segment = u32::try_from(self.pages.len()).expect("fewer than 2^32 pages");
        let mut scanned = RecordList::default();
        raw::scan_operations(&mut Scanner::new(&text), &text, segment, &mut scanned)
            .expect("the scanner accepts serde_json's own output");
        if self.pages.is_empty() {
            *self = Self::first_page(text, scanned);
            return;
        }
        self.pages.push(text);
        for rec in scanned {
            self.upsert(rec);
        }
    }

    fn upsert(&mut self, rec: RawRecord) {
        let id = text_of(&self.pages[rec.segment as usize], rec.id).unwrap_or_default();
        match self.index.find(self, &id) {
            Some(pos) => self.records.set(pos, rec),
            None => {
                let hash = IdIndex::hash(&id);
                self.records.push(rec);
                let pos = self.records.len() - 1;
                self.index.insert(hash, pos, &self.records, &self.pages);
            }
        }
    }

    /// Indexes every record; `false` if an id occurs twice.
    fn reindex(&mut self) -> bool {
        self.index = IdIndex::default();
        self.index.reserve(self.records.len());
        for pos in 0..self.records.len() {
            let id = self.record(pos).id();
            if self.index.find(self, &id).is_some() {
                return false;
            }
            let hash = IdIndex::hash(&id);
            self.index.insert(hash, pos, &self.records, &self.pages);
        }
        true
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    fn record(&self, pos: usize) -> Record<'_> {
        let raw = self.records.get(pos);
        Record {
            text: &self.pages[raw.segment as usize],
            raw,
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<Record<'_>> {
        self.index.find(self, id).map(|pos| self.record(pos))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Record<'_>> {
        (0..self.records.len()).map(|pos| self.record(pos))
    }
}

/// One record, read through its spans.
#[derive(Clone, Copy)]
pub(crate) struct Record<'r> {
    text: &'r str,
    raw: &'r RawRecord,
}

impl<'r> Record<'r> {
    pub(crate) fn id(&self) -> Cow<'r, str> {
        text_of(self.text, self.raw.id).unwrap_or_default()
    }

    fn id_is(&self, id: &str) -> bool {
        if self.raw.id.is_escaped() {
            self.id() == id
        } else {
            &self.text[self.raw.id.range()] == id
        }
    }

    pub(crate) fn name(&self) -> Option<Cow<'r, str>> {
        text_of(self.text, self.raw.name)
    }

    pub(crate) fn parent_id(&self) -> Option<Cow<'r, str>> {
        text_of(self.text, self.raw.parent)
    }

    pub(crate) fn sub_type(&self) -> Option<Cow<'r, str>> {
        text_of(self.text, self.raw.sub_type)
    }

    pub(crate) fn operation_type(&self) -> Cow<'r, OperationType> {
        match known_type(self.raw.op_type) {
            Some(t) => Cow::Borrowed(t),
            None => Cow::Owned(
                self.decode()
                    .map_or(OperationType::Unknown(String::new()), |o| o.operation_type),
            ),
        }
    }

    pub(crate) fn is_type(&self, t: &OperationType) -> bool {
        match known_type(self.raw.op_type) {
            Some(known) => known == t,
            None => code_of_type(t) == raw::UNKNOWN && *self.operation_type() == *t,
        }
    }

    pub(crate) fn is_execution(&self) -> bool {
        self.raw.op_type == EXECUTION
    }

    pub(crate) fn status(&self) -> Cow<'r, OperationStatus> {
        match known_status(self.raw.status) {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(
                self.decode()
                    .map_or(OperationStatus::Unknown(String::new()), |o| o.status),
            ),
        }
    }

    pub(crate) fn is_terminal(&self) -> bool {
        known_status(self.raw.status).is_some_and(OperationStatus::is_terminal)
    }

    /// `StepDetails.Attempt`.
    pub(crate) fn attempt(&self) -> u32 {
        self.raw.attempt
    }

    /// The result the engine reads for this record's type (see [`RawRecord`]).
    pub(crate) fn result(&self) -> Option<Cow<'r, str>> {
        text_of(self.text, self.raw.result)
    }

    /// The error the engine reads for this record's type.
    pub(crate) fn error(&self) -> Option<ErrorObject> {
        error_of(self.text, self.raw.error)
    }

    /// `ContextDetails.ReplayChildren`.
    pub(crate) fn replay_children(&self) -> bool {
        self.raw.replay_children
    }

    /// `CallbackDetails.CallbackId`.
    pub(crate) fn callback_id(&self) -> Option<Cow<'r, str>> {
        if self.is_execution() {
            return None;
        }
        text_of(self.text, self.raw.aux)
    }

    /// `ExecutionDetails.InputPayload` of an EXECUTION record.
    pub(crate) fn input_payload(&self) -> Option<Cow<'r, str>> {
        if !self.is_execution() {
            return None;
        }
        text_of(self.text, self.raw.aux)
    }

    /// The owned record, decoded in full.
    pub(crate) fn decode(&self) -> Option<Operation> {
        decode_operation(self.text, self.raw.whole)
    }
}

/// An open-addressing table from operation id to position in `Records::records`. It stores
/// positions only (no copies of the ids), and is never iterated, so hashing order cannot
/// reach the output. FNV-1a is plenty for short, non-adversarial ids; a hostile history can
/// at worst make lookups slower.
#[derive(Debug, Default)]
struct IdIndex {
    /// `0` is empty; otherwise position + 1.
    slots: Vec<u32>,
    len: usize,
}

impl IdIndex {
    fn hash(id: &str) -> usize {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in id.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h as usize
    }

    fn reserve(&mut self, records: usize) {
        let capacity = (records * 2).next_power_of_two().max(16);
        if capacity > self.slots.len() {
            self.slots = vec![0; capacity];
        }
    }

    fn find(&self, store: &Records, id: &str) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = Self::hash(id) & mask;
        loop {
            match self.slots[i] {
                0 => return None,
                slot => {
                    let pos = slot as usize - 1;
                    if store.record(pos).id_is(id) {
                        return Some(pos);
                    }
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds `pos` (whose id hashes to `hash` and is not in the table yet).
    fn insert(&mut self, hash: usize, pos: usize, records: &RecordList, pages: &[Box<str>]) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow(records, pages);
        }
        let mask = self.slots.len() - 1;
        let mut i = hash & mask;
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = u32::try_from(pos + 1).expect("fewer than 2^32 records");
        self.len += 1;
    }

    fn grow(&mut self, records: &RecordList, pages: &[Box<str>]) {
        let capacity = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![0; capacity]);
        let mask = capacity - 1;
        for slot in old.into_iter().filter(|&s| s != 0) {
            let raw = records.get(slot as usize - 1);
            let id = text_of(&pages[raw.segment as usize], raw.id).unwrap_or_default();
            let mut i = Self::hash(&id) & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }
}

#[cfg(test)]
#[path = "records_tests.rs"]
pub(crate) mod tests;
