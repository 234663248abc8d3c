use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A point in time as Unix epoch milliseconds, the invocation envelope's timestamp encoding.
///
/// Deserializing accepts every encoding producers have been seen to use (protocol.md §1.3): a JSON
/// integer (ms), a JSON float (ms, fraction truncated), an RFC 3339 string such as
/// `2026-01-02T03:04:05.123Z` or `…+02:00`, and a numeric string. Serializing always writes integer
/// milliseconds.
///
/// Lambda API responses (`CheckpointDurableExecution`, `GetDurableExecutionState`) encode times as
/// epoch **seconds**, often fractional. Parsing such JSON with this type does not fail, but the
/// number is read as milliseconds, so the value is off by a factor of 1000. Drivers that call the
/// API through `aws-sdk-lambda` must build `Timestamp`s from its `DateTime` values with
/// [`Timestamp::from_millis`] rather than re-parsing response JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// A timestamp from Unix epoch milliseconds.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Unix epoch milliseconds.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This timestamp moved `seconds` later, saturating at the `i64` range instead of wrapping.
    pub fn plus_seconds(self, seconds: u64) -> Self {
        let delta = i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(delta))
    }

    fn from_f64_millis(value: f64) -> Option<Self> {
        // `as` would saturate NaN/inf/huge values into plausible-looking extremes; reject instead.
        // Both bounds are exact powers of two, so the comparison is exact.
        const LOWER: f64 = i64::MIN as f64;
        const UPPER: f64 = i64::MAX as f64;
        if value.is_finite() && (LOWER..UPPER).contains(&value) {
            Some(Self(value.trunc() as i64))
        } else {
            None
        }
    }

    fn from_wire_str(text: &str) -> Option<Self> {
        if let Some(millis) = parse_rfc3339(text) {
            return Some(Self(millis));
        }
        let text = text.trim();
        if let Ok(millis) = text.parse::<i64>() {
            return Some(Self(millis));
        }
        text.parse::<f64>().ok().and_then(Self::from_f64_millis)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

const EXPECTING: &str =
    "epoch milliseconds (integer, float or numeric string) or an RFC 3339 string";

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTING)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
        Ok(Timestamp(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
        i64::try_from(v)
            .map(Timestamp)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
        Timestamp::from_f64_millis(v)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Float(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
        Timestamp::from_wire_str(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

/// `deserialize_with` for `Option<Timestamp>` fields that yields `None` for null, a missing field
/// (pair it with `#[serde(default)]`) or any value that is not a parseable timestamp.
///
/// The service has changed timestamp encodings before (protocol.md §1.3); one odd timestamp must
/// cost only that timestamp, never the whole envelope.
pub(crate) mod lenient_ts {
    use super::*;

    /// Deserializes an optional timestamp, mapping anything unparseable to `None`.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        deserializer.deserialize_any(LenientVisitor)
    }

    struct LenientVisitor;

    impl<'de> Visitor<'de> for LenientVisitor {
        type Value = Option<Timestamp>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(EXPECTING)
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(Timestamp(v)))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(i64::try_from(v).ok().map(Timestamp))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Timestamp::from_f64_millis(v))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Timestamp::from_wire_str(v))
        }

        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            deserialize(d)
        }

        // Containers must still be consumed so the surrounding parse can continue.
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
}

/// Epoch milliseconds of an RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`).
/// Fractions beyond milliseconds are truncated; a leap second (`:60`) rolls into the next minute.
fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let year = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    if !matches!(b.get(10)?, b'T' | b't' | b' ') {
        return None;
    }
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b':')?;
    let minute = digits(b, 14, 2)?;
    expect(b, 16, b':')?;
    let second = digits(b, 17, 2)?;

    let mut i = 19;
    let mut millis = 0_i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            if i - start < 3 {
                millis = millis * 10 + i64::from(d - b'0');
            }
            i += 1;
        }
        let count = i - start;
        if count == 0 {
            return None;
        }
        for _ in count..3 {
            millis *= 10;
        }
    }

    let offset_seconds = match *b.get(i)? {
        b'Z' | b'z' => {
            i += 1;
            0
        }
        sign @ (b'+' | b'-') => {
            let offset_hours = digits(b, i + 1, 2)?;
            expect(b, i + 3, b':')?;
            let offset_minutes = digits(b, i + 4, 2)?;
            i += 6;
            if offset_hours > 23 || offset_minutes > 59 {
                return None;
            }
            let magnitude = offset_hours * 3600 + offset_minutes * 60;
            if sign == b'-' {
                -magnitude
            } else {
                magnitude
            }
        }
        _ => return None,
    };
    if i != b.len() {
        return None;
    }

    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour <= 23
        && minute <= 59
        && second <= 60;
    if !valid {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * 1000 + millis)
}

fn digits(b: &[u8], at: usize, len: usize) -> Option<i64> {
    let slice = b.get(at..at + len)?;
    slice.iter().try_fold(0_i64, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
    })
}

fn expect(b: &[u8], at: usize, byte: u8) -> Option<()> {
    (b.get(at) == Some(&byte)).then_some(())
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date, counted in 400-year eras (146 097 days
/// each) with years starting in March so the leap day falls at the end of the year.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719 468 = days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Holder {
        #[serde(default, deserialize_with = "lenient_ts::deserialize")]
        at: Option<Timestamp>,
    }

    fn strict(json: &str) -> Option<i64> {
        serde_json::from_str::<Timestamp>(json)
            .ok()
            .map(Timestamp::as_millis)
    }

    fn lenient(json: &str) -> Option<i64> {
        let holder: Holder = serde_json::from_str(&format!("{{\"at\":{json}}}")).unwrap();
        holder.at.map(Timestamp::as_millis)
    }

    #[test]
    fn numbers_are_milliseconds() {
        assert_eq!(strict("1795872239083"), Some(1_795_872_239_083));
        assert_eq!(strict("-5"), Some(-5));
        assert_eq!(strict("1795872239.102954"), Some(1_795_872_239));
        assert_eq!(strict("-1.9"), Some(-1));
        assert_eq!(strict("1e3"), Some(1000));
        assert_eq!(strict("18446744073709551615"), None);
        assert_eq!(strict("1e300"), None);
    }

    #[test]
    fn numeric_strings() {
        assert_eq!(strict("\"1795872239083\""), Some(1_795_872_239_083));
        assert_eq!(strict("\" 42 \""), Some(42));
        assert_eq!(strict("\"12.9\""), Some(12));
        assert_eq!(strict("\"NaN\""), None);
        assert_eq!(strict("\"inf\""), None);
        assert_eq!(strict("\"\""), None);
    }

    #[test]
    fn rfc3339_strings() {
        assert_eq!(strict("\"1970-01-01T00:00:00Z\""), Some(0));
        assert_eq!(
            strict("\"2026-01-02T03:04:05.123Z\""),
            Some(1_767_323_045_123)
        );
        assert_eq!(
            strict("\"2026-01-02T05:04:05.123+02:00\""),
            Some(1_767_323_045_123)
        );
        assert_eq!(
            strict("\"2026-01-01T21:34:05.123-05:30\""),
            Some(1_767_323_045_123)
        );
        assert_eq!(
            strict("\"2026-01-02t03:04:05.1z\""),
            Some(1_767_323_045_100)
        );
        assert_eq!(
            strict("\"2026-01-02 03:04:05.123456789Z\""),
            Some(1_767_323_045_123)
        );
        assert_eq!(strict("\"2000-02-29T00:00:00Z\""), Some(951_782_400_000));
        assert_eq!(strict("\"1969-12-31T23:59:59.5Z\""), Some(-500));
        assert_eq!(
            strict("\"1600-03-01T00:00:00Z\""),
            Some(-11_670_912_000_000)
        );
        assert_eq!(strict("\"2016-12-31T23:59:60Z\""), Some(1_483_228_800_000));
        assert_eq!(
            strict("\"9999-12-31T23:59:59.999Z\""),
            Some(253_402_300_799_999)
        );
    }

    #[test]
    fn bad_rfc3339_is_rejected() {
        for bad in [
            "2026-01-02T03:04:05",
            "2026-01-02T03:04:05.Z",
            "2026-13-02T03:04:05Z",
            "2026-02-29T03:04:05Z",
            "1900-02-29T00:00:00Z",
            "2026-01-02T24:00:00Z",
            "2026-01-02T03:04:05+24:00",
            "2026-01-02T03:04:05+0200",
            "2026-01-02T03:04:05Zjunk",
            "2026-1-02T03:04:05Z",
            "２０２６-01-02T03:04:05Z",
            "yesterday",
        ] {
            assert_eq!(strict(&format!("\"{bad}\"")), None, "{bad}");
        }
    }

    #[test]
    fn lenient_maps_garbage_to_none() {
        assert_eq!(lenient("1795872239083"), Some(1_795_872_239_083));
        assert_eq!(
            lenient("\"2026-01-02T03:04:05.123Z\""),
            Some(1_767_323_045_123)
        );
        for garbage in [
            "null",
            "true",
            "\"soon\"",
            "[1,[2]]",
            "{\"a\":{}}",
            "-1e300",
        ] {
            assert_eq!(lenient(garbage), None, "{garbage}");
        }
        let missing: Holder = serde_json::from_str("{}").unwrap();
        assert_eq!(missing.at, None);
        // Broken JSON is still an error: leniency is about values, not syntax. (serde_json also
        // rejects numbers beyond f64, such as `1e400`, as a syntax error before any visitor runs.)
        assert!(serde_json::from_str::<Holder>("{\"at\":[1,}").is_err());
    }

    #[test]
    fn serializes_as_integer_millis() {
        assert_eq!(
            serde_json::to_string(&Timestamp(1_767_323_045_123)).unwrap(),
            "1767323045123"
        );
        assert_eq!(serde_json::to_string(&Timestamp(-1)).unwrap(), "-1");
    }

    #[test]
    fn plus_seconds_saturates() {
        assert_eq!(
            Timestamp::from_millis(1_000).plus_seconds(2).as_millis(),
            3_000
        );
        assert_eq!(Timestamp(0).plus_seconds(u64::MAX), Timestamp(i64::MAX));
        assert_eq!(
            Timestamp(i64::MAX - 10).plus_seconds(1),
            Timestamp(i64::MAX)
        );
        assert_eq!(Timestamp(i64::MIN).plus_seconds(u64::MAX).as_millis(), -1);
    }
}
