//! Tests for [`RetryPolicy`](super::RetryPolicy).

use super::*;
use crate::{delay_to_wire_seconds, SeededRng};

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn err(type_name: &str, message: &str) -> ErrorObject {
    ErrorObject::new(type_name, message)
}

/// Panics if any randomness is drawn.
struct NoRng;

impl RngCore for NoRng {
    fn next_u32(&mut self) -> u32 {
        panic!("drew randomness")
    }
    fn next_u64(&mut self) -> u64 {
        panic!("drew randomness")
    }
    fn fill_bytes(&mut self, _: &mut [u8]) {
        panic!("drew randomness")
    }
}

/// Delays for attempts `1..` until the policy stops.
fn delays(policy: &RetryPolicy, error: &ErrorObject) -> Vec<Duration> {
    let mut rng = SeededRng::new(0);
    (1..)
        .map_while(|attempt| match policy.decide(error, attempt, &mut rng) {
            RetryDecision::Retry { delay } => Some(delay),
            RetryDecision::Stop => None,
        })
        .collect()
}

#[test]
fn presets_have_the_documented_numbers() {
    let d = RetryPolicy::default();
    assert_eq!(d.max_attempts(), 6);
    assert_eq!(d.initial_delay(), s(5));
    assert_eq!(d.max_delay(), s(60));
    assert_eq!(d.backoff(), Backoff::Exponential { rate: 2.0 });
    assert_eq!(d.jitter(), Jitter::Full);

    let t = RetryPolicy::transient();
    assert_eq!(t.max_attempts(), 3);
    assert_eq!(t.initial_delay(), s(1));
    assert_eq!(t.max_delay(), s(5));
    assert_eq!(t.backoff(), Backoff::Exponential { rate: 2.0 });
    assert_eq!(t.jitter(), Jitter::Half);

    let n = RetryPolicy::none();
    assert_eq!(n.max_attempts(), 1);
    assert_eq!(n.decide(&err("E", "m"), 1, &mut NoRng), RetryDecision::Stop);
}

#[test]
fn exponential_doubles_and_caps() {
    let policy = RetryPolicy::default().with_jitter(Jitter::None);
    assert_eq!(
        delays(&policy, &err("E", "m")),
        [s(5), s(10), s(20), s(40), s(60)]
    );
    assert_eq!(policy.base_delay(0), s(5));
    assert_eq!(policy.base_delay(100), s(60));
    assert_eq!(policy.base_delay(u32::MAX), s(60));
}

#[test]
fn exponential_fractional_rates_and_sub_second_delays() {
    let policy = RetryPolicy::try_exponential(10, s(1), s(60), 1.5).unwrap();
    let got: Vec<_> = (1..=4).map(|a| policy.base_delay(a)).collect();
    assert_eq!(
        got,
        [
            s(1),
            Duration::from_millis(1500),
            Duration::from_millis(2250),
            Duration::from_millis(3375)
        ]
    );

    let ms = Duration::from_millis;
    let policy = RetryPolicy::try_exponential(9, ms(100), s(1), 3.0).unwrap();
    let got: Vec<_> = (1..=4).map(|a| policy.base_delay(a)).collect();
    assert_eq!(got, [ms(100), ms(300), ms(900), s(1)]);
    assert_eq!(delay_to_wire_seconds(policy.base_delay(1)), 1);

    let flat = RetryPolicy::try_exponential(9, s(7), s(7), 1.0).unwrap();
    assert_eq!(flat.base_delay(u32::MAX), s(7));
    let zero = RetryPolicy::try_exponential(9, Duration::ZERO, s(7), 2.0).unwrap();
    assert_eq!(zero.base_delay(u32::MAX), Duration::ZERO);
}

#[test]
fn linear_adds_and_caps() {
    let policy = RetryPolicy::try_linear(6, s(1), s(1), s(300))
        .unwrap()
        .with_jitter(Jitter::None);
    assert_eq!(
        delays(&policy, &err("E", "m")),
        [s(1), s(2), s(3), s(4), s(5)]
    );

    let capped = RetryPolicy::try_linear(10, s(1), s(2), s(6)).unwrap();
    let got: Vec<_> = (1..=5).map(|a| capped.base_delay(a)).collect();
    assert_eq!(got, [s(1), s(3), s(5), s(6), s(6)]);
    assert_eq!(capped.base_delay(u32::MAX), s(6));

    let fixed = RetryPolicy::try_linear(4, s(3), Duration::ZERO, s(3))
        .unwrap()
        .with_jitter(Jitter::None);
    assert_eq!(delays(&fixed, &err("E", "m")), [s(3), s(3), s(3)]);
    assert_eq!(
        fixed.backoff(),
        Backoff::Linear {
            increment: Duration::ZERO
        }
    );
}

#[test]
fn builders_default_to_full_jitter() {
    let policy = RetryPolicy::try_exponential(3, s(1), s(2), 2.0).unwrap();
    assert_eq!(policy.jitter(), Jitter::Full);
    let policy = RetryPolicy::try_linear(3, s(1), s(1), s(2)).unwrap();
    assert_eq!(policy.jitter(), Jitter::Full);
}

#[test]
fn stops_when_attempt_reaches_max() {
    let policy = RetryPolicy::try_exponential(3, s(1), s(10), 2.0)
        .unwrap()
        .with_jitter(Jitter::None);
    let e = err("E", "m");
    assert_eq!(
        policy.decide(&e, 0, &mut NoRng),
        RetryDecision::Retry { delay: s(1) }
    );
    assert_eq!(
        policy.decide(&e, 1, &mut NoRng),
        RetryDecision::Retry { delay: s(1) }
    );
    assert_eq!(
        policy.decide(&e, 2, &mut NoRng),
        RetryDecision::Retry { delay: s(2) }
    );
    assert_eq!(policy.decide(&e, 3, &mut NoRng), RetryDecision::Stop);
    assert_eq!(policy.decide(&e, 4, &mut NoRng), RetryDecision::Stop);
    assert_eq!(policy.decide(&e, u32::MAX, &mut NoRng), RetryDecision::Stop);
    let once = RetryPolicy::try_exponential(1, s(1), s(1), 2.0).unwrap();
    assert_eq!(once.decide(&e, 1, &mut NoRng), RetryDecision::Stop);
}

#[test]
fn stop_consumes_no_randomness() {
    // Exhausted attempts and filtered-out errors with Full jitter.
    let policy = RetryPolicy::default().retry_if_error_type("Net");
    assert_eq!(
        policy.decide(&err("Net", "x"), 6, &mut NoRng),
        RetryDecision::Stop
    );
    assert_eq!(
        policy.decide(&err("Disk", "x"), 1, &mut NoRng),
        RetryDecision::Stop
    );
    // A retry with jitter draws exactly one word.
    let mut rng = SeededRng::new(3);
    let mut reference = rng.clone();
    assert!(matches!(
        policy.decide(&err("Net", "x"), 1, &mut rng),
        RetryDecision::Retry { .. }
    ));
    reference.next_u64();
    assert_eq!(rng.next_u64(), reference.next_u64());
}

#[test]
fn type_filter_matches_exact_and_path_suffix() {
    let policy = RetryPolicy::transient().retry_if_error_type("PaymentError");
    assert!(policy.is_retryable(&err("PaymentError", "")));
    assert!(policy.is_retryable(&err("my_crate::PaymentError", "")));
    assert!(policy.is_retryable(&err("a::b::PaymentError", "")));
    assert!(!policy.is_retryable(&err("NotPaymentError", "")));
    assert!(!policy.is_retryable(&err("my_crate::NotPaymentError", "")));
    assert!(!policy.is_retryable(&err("PaymentError2", "")));
    // A generic user type (finding 7 of the reliability probe).
    assert!(policy.is_retryable(&err("PaymentError<alloc::string::String>", "")));
    assert!(policy.is_retryable(&err("a::{{closure}}::PaymentError<u8>", "")));
    assert!(!policy.is_retryable(&err("NotPaymentError<u8>", "")));
    assert!(!policy.is_retryable(&ErrorObject::default()));
    assert_eq!(
        policy.decide(&err("Timeout", "PaymentError"), 1, &mut NoRng),
        RetryDecision::Stop
    );
    let mut rng = SeededRng::new(0);
    assert!(matches!(
        policy.decide(&err("billing::PaymentError", "x"), 1, &mut rng),
        RetryDecision::Retry { .. }
    ));
}

#[test]
fn message_filters_substring_and_regex() {
    let contains = RetryPolicy::transient().retry_if_message_contains("throttl");
    assert!(contains.is_retryable(&err("E", "request throttled")));
    assert!(!contains.is_retryable(&err("E", "Throttled"))); // case-sensitive
    assert!(!contains.is_retryable(&err("throttle", "no")));

    let regex = RetryPolicy::transient()
        .retry_if_message_matches(r"(?i)status (429|5\d\d)")
        .unwrap();
    assert!(regex.is_retryable(&err("Http", "got Status 503 from upstream")));
    assert!(regex.is_retryable(&err("Http", "status 429")));
    assert!(!regex.is_retryable(&err("Http", "status 404")));
    assert!(!regex.is_retryable(&ErrorObject::default()));
}

#[test]
fn filters_combine_with_or() {
    let policy = RetryPolicy::transient()
        .retry_if_error_type("Timeout")
        .retry_if_error_type("Throttled")
        .retry_if_message_contains("reset by peer")
        .retry_if_message_matches("^retry me$")
        .unwrap();
    assert!(policy.is_retryable(&err("io::Timeout", "")));
    assert!(policy.is_retryable(&err("Throttled", "")));
    assert!(policy.is_retryable(&err("Io", "connection reset by peer")));
    assert!(policy.is_retryable(&err("Io", "retry me")));
    assert!(!policy.is_retryable(&err("Io", "please retry me")));
    assert!(!policy.is_retryable(&err("Validation", "bad input")));
}

#[test]
fn no_filters_retry_everything() {
    let policy = RetryPolicy::default();
    assert!(policy.is_retryable(&ErrorObject::default()));
    assert!(policy.is_retryable(&err("Anything", "at all")));
}

#[test]
fn invalid_regex_is_a_typed_error() {
    let e = RetryPolicy::default()
        .retry_if_message_matches("(unclosed")
        .unwrap_err();
    assert_eq!(e.code(), "DP-R005");
    match e {
        RetryConfigError::InvalidPattern { pattern, reason } => {
            assert_eq!(pattern, "(unclosed");
            assert!(!reason.is_empty());
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn validation_rejects_bad_settings() {
    let day = s(86_400);
    let zero = RetryPolicy::try_exponential(0, s(1), s(2), 2.0).unwrap_err();
    assert_eq!(zero, RetryConfigError::ZeroMaxAttempts);
    let long = RetryPolicy::try_exponential(3, s(1), day * 367, 2.0).unwrap_err();
    assert_eq!(
        long,
        RetryConfigError::DelayTooLong {
            parameter: "max_delay",
            value: day * 367
        }
    );
    let long = RetryPolicy::try_linear(3, day * 400, s(1), day * 400).unwrap_err();
    assert_eq!(
        long,
        RetryConfigError::DelayTooLong {
            parameter: "initial_delay",
            value: day * 400
        }
    );
    let long = RetryPolicy::try_linear(3, s(1), day * 367, s(2)).unwrap_err();
    assert_eq!(
        long,
        RetryConfigError::DelayTooLong {
            parameter: "increment",
            value: day * 367
        }
    );
    let below = RetryPolicy::try_linear(3, s(5), s(1), s(2)).unwrap_err();
    assert_eq!(
        below,
        RetryConfigError::MaxDelayBelowInitial {
            initial_delay: s(5),
            max_delay: s(2)
        }
    );
    for rate in [0.99, 0.0, -2.0, f64::INFINITY] {
        let bad = RetryPolicy::try_exponential(3, s(1), s(2), rate).unwrap_err();
        assert_eq!(bad, RetryConfigError::InvalidBackoffRate { rate });
    }
    let nan = RetryPolicy::try_exponential(3, s(1), s(2), f64::NAN).unwrap_err();
    assert_eq!(nan.code(), "DP-R004");
    // Boundaries are accepted.
    assert!(RetryPolicy::try_exponential(1, Duration::ZERO, day * 366, 1.0).is_ok());
    assert!(RetryPolicy::try_linear(1, day * 366, day * 366, day * 366).is_ok());
}

#[test]
fn conformance_default_preset_first_two_wire_delays() {
    // step/1-13: first retry within 5 s, second within 10 s.
    let policy = RetryPolicy::default();
    let e = err("E", "boom");
    let (mut first_seen, mut second_seen) = ([false; 6], [false; 11]);
    for seed in 0..2_000 {
        let mut rng = SeededRng::new(seed);
        let wire = |d: RetryDecision| match d {
            RetryDecision::Retry { delay } => delay_to_wire_seconds(delay),
            RetryDecision::Stop => panic!("default preset stopped early"),
        };
        let first = wire(policy.decide(&e, 1, &mut rng));
        let second = wire(policy.decide(&e, 2, &mut rng));
        assert!((1..=5).contains(&first), "first {first}");
        assert!((1..=10).contains(&second), "second {second}");
        first_seen[first as usize] = true;
        second_seen[second as usize] = true;
    }
    assert!(first_seen[1..].iter().all(|&b| b));
    assert!(second_seen[1..].iter().all(|&b| b));
}

#[test]
fn conformance_custom_exponential_without_jitter() {
    // step/1-14: 5 attempts, 2 s initial, ×3, no jitter ⇒ 2 s then 6 s.
    let policy = RetryPolicy::try_exponential(5, s(2), s(300), 3.0)
        .unwrap()
        .with_jitter(Jitter::None);
    let got = delays(&policy, &err("E", "boom"));
    assert_eq!(got, [s(2), s(6), s(18), s(54)]);
    let wire: Vec<_> = got
        .iter()
        .take(2)
        .map(|d| delay_to_wire_seconds(*d))
        .collect();
    assert_eq!(wire, [2, 6]);
}
