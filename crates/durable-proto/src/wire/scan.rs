//! A validating JSON scanner: the engine's own path from bytes to records (`raw.rs`).
//!
//! It finds where things are and decodes almost nothing: strings become [`Span`]s into the
//! bytes, skipped values are only checked. It is deliberately narrower than JSON itself: an
//! escaped key, a lone surrogate escape, deep nesting or an exponent in a timestamp make it
//! [`Declined`], and the caller hands the bytes to the owned serde parse, which then decides
//! (a record or an error). So whatever the scanner accepts, the owned parse accepts with the
//! same meaning; what it declines costs one more parse, never a different answer.

/// The scanner does not vouch for these bytes; the owned parse must decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Declined;

/// Deeper nesting than this in a skipped value declines (serde_json's own limit is 128).
const MAX_DEPTH: u32 = 100;

/// Where a string's content (between its quotes) is, and whether it holds escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    /// The length; the top bit says the content holds an escape.
    len: u32,
}

const ESCAPED: u32 = 1 << 31;

impl Span {
    /// No value (an absent or `null` field).
    pub(crate) const NONE: Span = Span {
        start: u32::MAX,
        len: 0,
    };

    fn new(start: usize, end: usize, escaped: bool) -> Result<Self, Declined> {
        let start = u32::try_from(start).map_err(|_| Declined)?;
        let len = u32::try_from(end - start as usize).map_err(|_| Declined)?;
        if len >= ESCAPED || start == u32::MAX {
            return Err(Declined);
        }
        Ok(Span {
            start,
            len: if escaped { len | ESCAPED } else { len },
        })
    }

    /// Whether this span is [`Span::NONE`].
    pub(crate) fn is_none(self) -> bool {
        self.start == u32::MAX
    }

    /// Whether the content holds an escape (so it must be decoded before use).
    pub(crate) fn is_escaped(self) -> bool {
        self.len & ESCAPED != 0
    }

    /// The content's byte range.
    pub(crate) fn range(self) -> std::ops::Range<usize> {
        let start = self.start as usize;
        start..start + (self.len & !ESCAPED) as usize
    }

    /// The span of a whole value from `start` to `end` (not a string content).
    pub(crate) fn of_value(start: usize, end: usize) -> Result<Self, Declined> {
        Span::new(start, end, false)
    }
}

/// A cursor over JSON text.
pub(crate) struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Scanner {
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The next byte after whitespace, not consumed.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes.get(self.pos) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                return Some(b);
            }
        }
        None
    }

    /// Consumes `byte` (after whitespace).
    pub(crate) fn eat(&mut self, byte: u8) -> Result<(), Declined> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Declined)
        }
    }

    /// Consumes `byte` if it comes next.
    pub(crate) fn eat_if(&mut self, byte: u8) -> bool {
        let next = self.peek() == Some(byte);
        if next {
            self.pos += 1;
        }
        next
    }

    /// Whether only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// A string: its content's span.
    pub(crate) fn string(&mut self) -> Result<Span, Declined> {
        self.eat(b'"')?;
        let start = self.pos;
        let mut escaped = false;
        loop {
            self.skip_plain();
            match *self.bytes.get(self.pos).ok_or(Declined)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                // A control character: the owned parse refuses it.
                _ => return Err(Declined),
            }
        }
        let span = Span::new(start, self.pos, escaped)?;
        self.pos += 1;
        Ok(span)
    }

    /// Moves to the next `"`, `\\` or control character (or the end), eight bytes at a time.
    fn skip_plain(&mut self) {
        while let Some(chunk) = self.bytes.get(self.pos..self.pos + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let mask = special_bytes(u64::from_le_bytes(word));
            if mask != 0 {
                // The lowest flagged byte is always a true one (see `special_bytes`).
                self.pos += (mask.trailing_zeros() / 8) as usize;
                return;
            }
            self.pos += 8;
        }
        while let Some(&b) = self.bytes.get(self.pos) {
            if b == b'"' || b == b'\\' || b < 0x20 {
                return;
            }
            self.pos += 1;
        }
    }

    /// An object key, which must be plain (an escaped key might spell a known one).
    pub(crate) fn key(&mut self) -> Result<&'a [u8], Declined> {
        let span = self.string()?;
        if span.is_escaped() {
            return Err(Declined);
        }
        self.eat(b':')?;
        Ok(&self.bytes[span.range()])
    }

    fn escape(&mut self) -> Result<(), Declined> {
        match self.bytes.get(self.pos + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.pos += 2,
            Some(b'u') => {
                let hex = self.bytes.get(self.pos + 2..self.pos + 6).ok_or(Declined)?;
                let mut code = 0u32;
                for &h in hex {
                    code = code * 16 + char::from(h).to_digit(16).ok_or(Declined)?;
                }
                // Surrogates need pairing rules; leave them to the owned parse.
                if (0xD800..=0xDFFF).contains(&code) {
                    return Err(Declined);
                }
                self.pos += 6;
            }
            _ => return Err(Declined),
        }
        Ok(())
    }

    /// `null`, consumed, if it comes next.
    pub(crate) fn null(&mut self) -> Result<bool, Declined> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            return Ok(true);
        }
        Ok(false)
    }

    /// A string or `null`.
    pub(crate) fn string_or_null(&mut self) -> Result<Span, Declined> {
        if self.null()? {
            Ok(Span::NONE)
        } else {
            self.string()
        }
    }

    /// `true`, `false` or `null`.
    pub(crate) fn bool_or_null(&mut self) -> Result<Option<bool>, Declined> {
        match self.peek() {
            Some(b't') => self.literal(b"true").map(|()| Some(true)),
            Some(b'f') => self.literal(b"false").map(|()| Some(false)),
            _ => self.literal(b"null").map(|()| None),
        }
    }

    /// A non-negative integer that fits `u32`, or `null` (read as 0).
    pub(crate) fn u32_or_null(&mut self) -> Result<u32, Declined> {
        if self.null()? {
            return Ok(0);
        }
        let (start, int_end, end) = self.number()?;
        if int_end != end || self.bytes[start] == b'-' {
            return Err(Declined);
        }
        let mut value = 0u32;
        for &d in &self.bytes[start..end] {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u32::from(d - b'0')))
                .ok_or(Declined)?;
        }
        Ok(value)
    }

    /// A value a lenient timestamp reader takes without fail: `null`, a boolean, a string,
    /// or a number without an exponent and of at most 20 integer digits (so it is never out
    /// of range for the owned parse either).
    pub(crate) fn timestamp_value(&mut self) -> Result<(), Declined> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'n' | b't' | b'f') => self.bool_or_null().map(drop),
            _ => {
                let (start, int_end, end) = self.number()?;
                let digits = int_end - start - usize::from(self.bytes[start] == b'-');
                let exponent = self.bytes[int_end..end]
                    .iter()
                    .any(|b| matches!(b, b'e' | b'E'));
                if digits > 20 || exponent {
                    return Err(Declined);
                }
                Ok(())
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Declined> {
        self.peek();
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Declined)
        }
    }

    /// A number in JSON's grammar: (start, end of the integer part, end).
    fn number(&mut self) -> Result<(usize, usize, usize), Declined> {
        self.peek();
        let start = self.pos;
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(Declined),
        }
        let int_end = self.pos;
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            self.required_digits()?;
        }
        if matches!(self.bytes.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.bytes.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.required_digits()?;
        }
        Ok((start, int_end, self.pos))
    }

    fn digits(&mut self) {
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
    }

    fn required_digits(&mut self) -> Result<(), Declined> {
        let before = self.pos;
        self.digits();
        if self.pos == before {
            return Err(Declined);
        }
        Ok(())
    }

    /// Skips any value, checking its grammar.
    pub(crate) fn skip_value(&mut self) -> Result<(), Declined> {
        // One bit per open container (1: object); iterative, so nesting costs no stack.
        let mut stack: u128 = 0;
        let mut depth = 0u32;
        loop {
            // A value.
            match self.peek().ok_or(Declined)? {
                b'"' => drop(self.string()?),
                b'{' | b'[' => {
                    let object = self.bytes[self.pos] == b'{';
                    self.pos += 1;
                    let close = if object { b'}' } else { b']' };
                    if !self.eat_if(close) {
                        depth += 1;
                        if depth > MAX_DEPTH {
                            return Err(Declined);
                        }
                        stack = (stack << 1) | u128::from(object);
                        if object {
                            self.key_any()?;
                        }
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => drop(self.number()?),
            }
            // What follows a value: a comma, or the end of containers.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                let object = stack & 1 == 1;
                if self.eat_if(b',') {
                    if object {
                        self.key_any()?;
                    }
                    break;
                }
                self.eat(if object { b'}' } else { b']' })?;
                stack >>= 1;
                depth -= 1;
            }
        }
    }

    /// A key of a skipped object: any string (escaped or not), then the colon.
    fn key_any(&mut self) -> Result<(), Declined> {
        self.string()?;
        self.eat(b':')
    }
}

/// The high bit of each byte of `word` (little-endian: the first byte is the lowest) that is
/// `"`, `\\` or a control character (below 0x20). A borrow can also flag a byte *above* a
/// flagged one, never below it, so the lowest flag is always a true one.
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    // Bytes below 0x20: subtracting 0x20 borrows into the high bit (for bytes < 0x80).
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    quote | backslash | control
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip(text: &str) -> Result<usize, Declined> {
        let mut s = Scanner::new(text);
        s.skip_value()?;
        if !s.at_end() {
            return Err(Declined);
        }
        Ok(s.pos())
    }

    #[test]
    fn skips_what_json_allows() {
        for ok in [
            r#"{"a":[1,-2.5e+3,0,true,false,null,"x\n\u00e9"],"b":{},"c":[]}"#,
            " [ [ [ ] ] , { \"k\" : { } } ] ",
            r#""\"quoted\" text that is long enough for the word loop""#,
            "-0.0e0",
        ] {
            assert!(skip(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn declines_what_json_forbids_or_the_owned_parse_should_judge() {
        for bad in [
            "01",
            "1.",
            "-",
            "[1,]",
            "{\"a\"}",
            "{\"a\":1,}",
            "tru",
            "\"\u{1}\"",
            r#""\ud800""#,
            r#""\x""#,
            "\"unterminated",
            "[1 2]",
        ] {
            assert_eq!(skip(bad), Err(Declined), "{bad:?}");
        }
        // The innermost empty array opens no level of its own.
        let deep = "[".repeat(102) + &"]".repeat(102);
        assert_eq!(skip(&deep), Err(Declined));
        let fine = "[".repeat(101) + &"]".repeat(101);
        assert!(skip(&fine).is_ok());
    }

    #[test]
    fn strings_report_their_content_and_escapes() {
        let text = r#""plain" "with \"escape\"""#;
        let mut s = Scanner::new(text);
        let a = s.string().unwrap();
        assert_eq!(&text[a.range()], "plain");
        assert!(!a.is_escaped());
        let b = s.string().unwrap();
        assert_eq!(&text[b.range()], r#"with \"escape\""#);
        assert!(b.is_escaped());
    }

    #[test]
    fn the_word_test_finds_the_first_special_byte() {
        for special in [b'"', b'\\', 0, 0x1f] {
            for at in 0..8 {
                let mut bytes = *b"abcdefgh";
                bytes[at] = special;
                // Every byte after it special too: the first must still be found.
                let mask = special_bytes(u64::from_le_bytes(bytes));
                assert_eq!(mask.trailing_zeros() / 8, at as u32, "{special} at {at}");
                for b in &mut bytes[at..] {
                    *b = special;
                }
                let mask = special_bytes(u64::from_le_bytes(bytes));
                assert_eq!(
                    mask.trailing_zeros() / 8,
                    at as u32,
                    "{special}.. from {at}"
                );
            }
        }
        for plain in [
            *b"abcdefgh",
            *b"        ",
            [0x7f; 8],
            [0xc3, 0xa9, 0x20, 0x21, 0x23, 0x5b, 0x5d, 0xff],
        ] {
            assert_eq!(special_bytes(u64::from_le_bytes(plain)), 0, "{plain:?}");
        }
    }

    #[test]
    fn strings_of_every_length_end_at_their_quote() {
        for len in 0..40 {
            let content = "x".repeat(len);
            let text = format!("\"{content}\" ");
            let mut s = Scanner::new(&text);
            let span = s.string().unwrap();
            assert_eq!(&text[span.range()], content);
            assert!(s.at_end());
        }
    }

    #[test]
    fn integers_and_timestamps() {
        let mut s = Scanner::new("7 null 4294967296 -1 1.0");
        assert_eq!(s.u32_or_null(), Ok(7));
        assert_eq!(s.u32_or_null(), Ok(0));
        assert_eq!(s.u32_or_null(), Err(Declined));
        let mut s = Scanner::new(r#"1795872240.106981 "2026-01-01T00:00:00Z" true 1e3"#);
        assert!(s.timestamp_value().is_ok());
        assert!(s.timestamp_value().is_ok());
        assert!(s.timestamp_value().is_ok());
        assert_eq!(s.timestamp_value(), Err(Declined));
    }
}
