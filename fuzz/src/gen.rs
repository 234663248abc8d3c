//! Small `Arbitrary` descriptions of engine inputs and what they turn into.
//!
//! Fuzz inputs pick from short lists of interesting values (limits, escapes, wire strings)
//! plus a free-form escape hatch, so libFuzzer reaches the edges quickly.

use std::time::Duration;

use arbitrary::Arbitrary;
use durable_proto::{
    retry_fn, ApiFailure, ErrorObject, ExecutionConfig, Jitter, RetryDecision, RetryPolicy,
    RetryStrategy, StepOutcome,
};

/// Longest wait the service accepts, in seconds (366 days).
pub const MAX_WAIT_SECONDS: u64 = 31_622_400;

/// Whether the service accepts `name`: absent, or 1..=256 printable ASCII characters.
pub fn valid_name(name: Option<&str>) -> bool {
    name.is_none_or(|n| {
        !n.is_empty() && n.len() <= 256 && n.bytes().all(|b| (0x20..=0x7e).contains(&b))
    })
}

/// The whole seconds a wait of `d` lasts on the wire (rounded up), or `None` if the engine
/// must refuse it (zero, or above 366 days).
pub fn wait_seconds(d: Duration) -> Option<u32> {
    let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
    (1..=MAX_WAIT_SECONDS)
        .contains(&secs)
        .then(|| u32::try_from(secs).expect("at most 366 days"))
}

/// An operation name (valid, empty, or invalid).
#[derive(Arbitrary, Debug, Clone)]
pub enum Name {
    None,
    Empty,
    A,
    B,
    Spaces,
    /// 256 printable characters: the longest valid name.
    Longest,
    /// 257 characters: one too many.
    TooLong,
    NonAscii,
    Control,
    Text(String),
}

impl Name {
    pub fn get(&self) -> Option<String> {
        Some(match self {
            Name::None => return None,
            Name::Empty => String::new(),
            Name::A => "a".into(),
            Name::B => "b".into(),
            Name::Spaces => "  a name with spaces & \"quotes\" \\ ".into(),
            Name::Longest => "n".repeat(256),
            Name::TooLong => "n".repeat(257),
            Name::NonAscii => "naïve".into(),
            Name::Control => "tab\there".into(),
            Name::Text(t) => t.clone(),
        })
    }
}

/// What a string payload is made of; escapes change the JSON size.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Fill {
    Ascii,
    Quotes,
    Control,
    Unicode,
    Json,
}

/// A payload of a chosen size class and content.
#[derive(Arbitrary, Debug, Clone)]
pub struct Payload {
    pub size: u8,
    pub fill: Fill,
}

impl Payload {
    /// The byte length: small (0..192), kilobytes, just around `limit`, around 256 KiB, or
    /// around 300 KiB.
    pub fn len(&self, limit: usize) -> usize {
        let s = self.size as usize;
        match self.size {
            0..=191 => s,
            192..=223 => (s - 191) * 128,
            224..=239 => (limit + s).saturating_sub(232),
            240..=247 => 256 * 1024 + s - 244,
            _ => 300 * 1024 + s,
        }
    }

    pub fn render(&self, limit: usize) -> String {
        fill(self.len(limit), self.fill)
    }
}

/// A string of exactly `len` bytes.
pub fn fill(len: usize, fill: Fill) -> String {
    let pattern: &str = match fill {
        Fill::Ascii => "abcdefghij",
        Fill::Quotes => "\"\\\"q",
        Fill::Control => "\u{0}\u{1}\n\t\u{1f}x",
        Fill::Unicode => "é✓日🦀",
        Fill::Json => "{\"k\":[1,2.5,null,\"v\"]}",
    };
    let mut out = String::with_capacity(len);
    'outer: loop {
        for c in pattern.chars() {
            if out.len() + c.len_utf8() > len {
                break 'outer;
            }
            out.push(c);
        }
    }
    while out.len() < len {
        out.push('a');
    }
    out
}

/// An error a step body or handler returns.
#[derive(Arbitrary, Debug, Clone)]
pub struct ErrorSpec {
    pub error_type: ErrorType,
    pub message: Payload,
    pub data: Option<Payload>,
    pub stack_lines: u8,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum ErrorType {
    None,
    Boom,
    Transient,
    Long,
    Text(String),
}

impl ErrorSpec {
    pub fn build(&self, limit: usize) -> ErrorObject {
        ErrorObject {
            error_type: match &self.error_type {
                ErrorType::None => None,
                ErrorType::Boom => Some("Boom".into()),
                ErrorType::Transient => Some("my_crate::Transient".into()),
                ErrorType::Long => Some("T".repeat(300)),
                ErrorType::Text(t) => Some(t.clone()),
            },
            error_message: Some(self.message.render(limit)),
            error_data: self.data.as_ref().map(|d| d.render(limit)),
            stack_trace: (self.stack_lines > 0).then(|| {
                (0..self.stack_lines % 64)
                    .map(|i| format!("  at frame {i} \"file.rs\":{i}"))
                    .collect()
            }),
        }
    }
}

/// What a step body (or the handler) ends with.
#[derive(Arbitrary, Debug, Clone)]
pub enum Body {
    Ok(Payload),
    Err(ErrorSpec),
}

impl Body {
    pub fn build(&self, limit: usize) -> Result<String, ErrorObject> {
        match self {
            Body::Ok(p) => Ok(p.render(limit)),
            Body::Err(e) => Err(e.build(limit)),
        }
    }

    /// What a step body reports: the value, or the error.
    pub fn outcome(&self, limit: usize) -> StepOutcome {
        match self.build(limit) {
            Ok(value) => StepOutcome::Value(value),
            Err(error) => StepOutcome::Error(error),
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum JitterChoice {
    None,
    Half,
    Full,
}

impl JitterChoice {
    fn get(self) -> Jitter {
        match self {
            JitterChoice::None => Jitter::None,
            JitterChoice::Half => Jitter::Half,
            JitterChoice::Full => Jitter::Full,
        }
    }
}

/// A retry strategy: the presets, configured policies (invalid configurations fall back to
/// "never retry"), and closures returning any `Duration` at all.
#[derive(Arbitrary, Debug, Clone)]
pub enum Policy {
    Default,
    Transient,
    Never,
    Exponential {
        attempts: u8,
        initial_ms: u32,
        max_secs: u32,
        rate_tenths: u16,
        jitter: JitterChoice,
        only_boom: bool,
    },
    Linear {
        attempts: u8,
        initial_ms: u32,
        increment_ms: u32,
        max_secs: u32,
        jitter: JitterChoice,
    },
    /// Retries `attempts - 1` times after exactly this delay (any value, clamped on the wire).
    Fixed {
        attempts: u8,
        secs: u64,
        nanos: u32,
    },
}

impl Policy {
    pub fn build(&self) -> Box<dyn RetryStrategy> {
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        let secs = |v: u32| Duration::from_secs(u64::from(v));
        match self.clone() {
            Policy::Default => Box::new(RetryPolicy::default()),
            Policy::Transient => Box::new(RetryPolicy::transient()),
            Policy::Never => Box::new(RetryPolicy::none()),
            Policy::Exponential {
                attempts,
                initial_ms,
                max_secs,
                rate_tenths,
                jitter,
                only_boom,
            } => {
                let rate = f64::from(rate_tenths) / 10.0;
                match RetryPolicy::try_exponential(
                    u32::from(attempts),
                    ms(initial_ms),
                    secs(max_secs),
                    rate,
                ) {
                    Ok(p) => {
                        let p = p.with_jitter(jitter.get());
                        Box::new(if only_boom {
                            p.retry_if_error_type("Boom")
                        } else {
                            p
                        })
                    }
                    Err(_) => Box::new(RetryPolicy::none()),
                }
            }
            Policy::Linear {
                attempts,
                initial_ms,
                increment_ms,
                max_secs,
                jitter,
            } => match RetryPolicy::try_linear(
                u32::from(attempts),
                ms(initial_ms),
                ms(increment_ms),
                secs(max_secs),
            ) {
                Ok(p) => Box::new(p.with_jitter(jitter.get())),
                Err(_) => Box::new(RetryPolicy::none()),
            },
            Policy::Fixed {
                attempts,
                secs,
                nanos,
            } => {
                let delay = Duration::new(secs, nanos % 1_000_000_000);
                Box::new(retry_fn(move |_e: &ErrorObject, attempt| {
                    if attempt < u32::from(attempts) {
                        RetryDecision::Retry { delay }
                    } else {
                        RetryDecision::Stop
                    }
                }))
            }
        }
    }
}

/// A wait duration, valid or not.
#[derive(Arbitrary, Debug, Clone)]
pub enum WaitDuration {
    Secs(u16),
    Millis(u32),
    Zero,
    SubSecond(u32),
    /// 366 days, the longest valid wait.
    Longest,
    /// 366 days and one nanosecond.
    TooLong,
    Any {
        secs: u64,
        nanos: u32,
    },
}

impl WaitDuration {
    pub fn get(&self) -> Duration {
        match *self {
            WaitDuration::Secs(s) => Duration::from_secs(u64::from(s)),
            WaitDuration::Millis(m) => Duration::from_millis(u64::from(m)),
            WaitDuration::Zero => Duration::ZERO,
            WaitDuration::SubSecond(n) => Duration::from_nanos(u64::from(n % 1_000_000_000)),
            WaitDuration::Longest => Duration::from_secs(31_622_400),
            WaitDuration::TooLong => Duration::new(31_622_400, 1),
            WaitDuration::Any { secs, nanos } => Duration::new(secs, nanos % 1_000_000_000),
        }
    }
}

/// How a service call fails, as the driver would report it.
#[derive(Arbitrary, Debug, Clone)]
pub struct Failure {
    pub status: Status,
    pub code: Code,
    pub message: Message,
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Status {
    NoResponse,
    S400,
    S404,
    S413,
    S429,
    S500,
    S502,
    S503,
    Any(u16),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Code {
    None,
    InvalidParameterValue,
    TooManyRequests,
    Service,
    KmsDisabled,
    ResourceNotFound,
    Text(String),
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Message {
    Empty,
    StaleToken,
    StaleTokenCapitalized,
    StaleTokenPadded,
    TooLarge,
    Text(String),
}

impl Failure {
    pub fn build(&self) -> ApiFailure {
        let status = match self.status {
            Status::NoResponse => None,
            Status::S400 => Some(400),
            Status::S404 => Some(404),
            Status::S413 => Some(413),
            Status::S429 => Some(429),
            Status::S500 => Some(500),
            Status::S502 => Some(502),
            Status::S503 => Some(503),
            Status::Any(s) => Some(s),
        };
        let code = match &self.code {
            Code::None => None,
            Code::InvalidParameterValue => Some("InvalidParameterValueException".to_owned()),
            Code::TooManyRequests => Some("TooManyRequestsException".to_owned()),
            Code::Service => Some("ServiceException".to_owned()),
            Code::KmsDisabled => Some("KMSDisabledException".to_owned()),
            Code::ResourceNotFound => Some("ResourceNotFoundException".to_owned()),
            Code::Text(t) => Some(t.clone()),
        };
        let message = match &self.message {
            Message::Empty => String::new(),
            Message::StaleToken => "Invalid checkpoint token".into(),
            Message::StaleTokenCapitalized => "Invalid Checkpoint Token: already used".into(),
            Message::StaleTokenPadded => "  INVALID CHECKPOINT TOKEN".into(),
            Message::TooLarge => "Request payload too large".into(),
            Message::Text(t) => t.clone(),
        };
        ApiFailure {
            http_status: status,
            error_code: code,
            message,
        }
    }
}

/// Engine limits: the defaults, or small ones so that batch splitting, payload limits and the
/// unacknowledged-work bound are reached by short programs.
#[derive(Arbitrary, Debug, Clone)]
pub enum Limits {
    Default,
    Small {
        batch_updates: u8,
        batch_bytes: u16,
        payload: u16,
        inline_result: u16,
        execution_result: u16,
        unacknowledged: u8,
    },
}

impl Limits {
    pub fn build(&self) -> ExecutionConfig {
        let mut c = ExecutionConfig::default();
        if let Limits::Small {
            batch_updates,
            batch_bytes,
            payload,
            inline_result,
            execution_result,
            unacknowledged,
        } = *self
        {
            c.max_batch_updates = 1 + usize::from(batch_updates % 16);
            c.max_batch_bytes = 256 + usize::from(batch_bytes % 8192);
            // Below ~300 bytes an error type alone (cut to 256 bytes) cannot fit; the engine
            // documents no smaller limit, so stay above it.
            c.max_operation_payload_bytes = 512 + usize::from(payload % 4096);
            c.max_inline_result_bytes = usize::from(inline_result % 2048);
            c.max_execution_result_bytes =
                c.max_inline_result_bytes + usize::from(execution_result % 4096);
            c.max_unacknowledged_updates = usize::from(unacknowledged % 8);
        }
        c
    }
}

/// Whether `FUZZ_STRICT=1`: inputs that hit known, reported engine bugs fail instead of being
/// skipped (`scripts/fuzz.sh`).
pub fn strict() -> bool {
    std::env::var_os("FUZZ_STRICT").is_some_and(|v| v == "1")
}

/// Prints the decoded input when `FUZZ_DEBUG` is set (for reading seeds and crashes).
pub fn debug<T: std::fmt::Debug>(input: &T) {
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        eprintln!("{input:#?}");
    }
}
