//! Sizes as the service measures them, and fitting errors under its limits.
//!
//! The service measures an error object by its JSON encoding, where a control character
//! takes six bytes (`\u0001`), so an error is sized here the way serde_json writes it, not
//! by its raw bytes. Payloads are measured as the raw string the service stores.

use crate::wire::ErrorObject;

/// The length of `text` once written as the contents of a JSON string by serde_json.
pub(crate) fn json_escaped_len(text: &str) -> usize {
    text.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

/// The exact length of `error` as JSON (what the service compares with its limit).
pub(crate) fn error_json_len(error: &ErrorObject) -> usize {
    // Each present field is `"Name":` plus its value; fields are separated by commas.
    let strings = [
        ("ErrorType", &error.error_type),
        ("ErrorMessage", &error.error_message),
        ("ErrorData", &error.error_data),
    ];
    let mut fields = 0usize;
    let mut len = 2; // braces
    for (name, value) in strings {
        if let Some(v) = value {
            fields += 1;
            len += name.len() + 3 + json_escaped_len(v) + 2;
        }
    }
    if let Some(lines) = &error.stack_trace {
        fields += 1;
        len += "StackTrace".len() + 3 + 2; // brackets
        len += lines.iter().map(|l| json_escaped_len(l) + 2).sum::<usize>();
        len += lines.len().saturating_sub(1); // commas between lines
    }
    len + fields.saturating_sub(1)
}

/// Shrinks an error so that its JSON fits in `limit` bytes, cutting the stack trace first,
/// then the data, then the message (on character boundaries, measured escaped).
pub(crate) fn fit_error(mut error: ErrorObject, limit: usize) -> ErrorObject {
    if error_json_len(&error) <= limit {
        return error;
    }
    error.stack_trace = None;
    if let Some(t) = error.error_type.as_mut() {
        cut_escaped(t, 256);
    }
    if error_json_len(&error) > limit {
        error.error_data = None;
    }
    if error_json_len(&error) > limit {
        let rest = error_json_len(&ErrorObject {
            error_message: Some(String::new()),
            ..error.clone()
        });
        // Room for the message's escaped text, and for the ellipsis that marks the cut.
        let room = limit.saturating_sub(rest + '…'.len_utf8());
        if let Some(m) = error.error_message.as_mut() {
            cut_escaped(m, room);
        }
    }
    error
}

/// Truncates `s` so that its escaped length is at most `keep` (plus an ellipsis).
fn cut_escaped(s: &mut String, keep: usize) {
    if json_escaped_len(s) <= keep {
        return;
    }
    let mut used = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        let mut buf = [0u8; 4];
        let cost = json_escaped_len(c.encode_utf8(&mut buf));
        if used + cost > keep {
            break;
        }
        used += cost;
        end = i + c.len_utf8();
    }
    s.truncate(end);
    s.push('…');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_errors() -> Vec<ErrorObject> {
        vec![
            ErrorObject::new("T", "plain"),
            ErrorObject::new("Ctl", "\u{1}\u{2}\n\"\\ é ✓"),
            ErrorObject {
                error_type: None,
                error_message: None,
                error_data: Some("{\"a\":[1,2]}".into()),
                stack_trace: Some(vec!["at x".into(), "\u{7}".into()]),
            },
            ErrorObject::default(),
        ]
    }

    #[test]
    fn error_length_is_exactly_what_serde_json_writes() {
        for e in sample_errors() {
            assert_eq!(
                error_json_len(&e),
                serde_json::to_vec(&e).unwrap().len(),
                "{e:?}"
            );
        }
    }

    #[test]
    fn control_characters_are_fitted_by_their_escaped_size() {
        // 200 KiB of U+0001 is 1.2 MB as JSON: raw-byte fitting would let it through.
        let e = ErrorObject::new("Ctl", "\u{1}".repeat(200 * 1024));
        let fitted = fit_error(e, 256 * 1024);
        let written = serde_json::to_vec(&fitted).unwrap().len();
        assert!(written <= 256 * 1024, "{written}");
        assert!(written > 250 * 1024, "kept as much as fits: {written}");
        assert!(fitted.message().ends_with('…'));
    }
}
