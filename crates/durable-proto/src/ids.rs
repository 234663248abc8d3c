//! Operation ids: deterministic, readable, valid on the wire, stable across releases.
//!
//! The scheme (pinned by the test vectors below; changing it breaks in-flight executions):
//!
//! * every context (the root, and each child context) counts the durable operations it
//!   starts, in call order, from 1;
//! * the *path* of the n-th operation is `n` at the root and `<parent id>-<n>` inside a
//!   child context whose own id is `<parent id>`;
//! * the wire `Id` is the path itself when it is at most 64 characters long, and otherwise
//!   `x` followed by the first 40 hex digits of SHA-256 of the path.
//!
//! Paths only contain digits and `-` and never start with `x`, while hashed ids are exactly 41
//! characters of `x` + hex with no `-`, so the two forms cannot collide. A child of a hashed
//! parent has a path of the form `x<40 hex>-<n>`, which again cannot equal a hashed id.
//! Readable ids make histories, timelines and logs easy to follow (`3-2` is the second
//! operation inside the third one), and building one costs an integer format, not a hash.

use sha2::{Digest, Sha256};

/// Longest operation id the service accepts.
pub(crate) const MAX_ID_LEN: usize = 64;

/// The wire id of the `n`-th operation (1-based) of the context whose own id is `parent`
/// (`None` at the root).
pub(crate) fn operation_id(parent: Option<&str>, n: u32) -> String {
    let mut path = String::with_capacity(parent.map_or(0, |p| p.len() + 1) + 10);
    if let Some(p) = parent {
        path.push_str(p);
        path.push('-');
    }
    push_u32(&mut path, n);
    if path.len() <= MAX_ID_LEN {
        path
    } else {
        hashed(&path)
    }
}

fn push_u32(out: &mut String, mut n: u32) {
    // Avoids the formatting machinery: ids are built once per operation on every replay.
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(b as char);
    }
}

fn hashed(path: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(path.as_bytes());
    let mut id = String::with_capacity(41);
    id.push('x');
    for byte in &digest[..20] {
        id.push(HEX[(byte >> 4) as usize] as char);
        id.push(HEX[(byte & 0xf) as usize] as char);
    }
    id
}

/// Whether `id` satisfies the service's rule for operation ids: 1..=64 characters of
/// `[A-Za-z0-9_-]`.
pub fn is_valid_operation_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_ids_are_the_counter() {
        assert_eq!(operation_id(None, 1), "1");
        assert_eq!(operation_id(None, 2), "2");
        assert_eq!(operation_id(None, 10), "10");
        assert_eq!(operation_id(None, u32::MAX), "4294967295");
    }

    #[test]
    fn child_ids_extend_the_parent() {
        assert_eq!(operation_id(Some("3"), 1), "3-1");
        assert_eq!(operation_id(Some("3-1"), 12), "3-1-12");
    }

    #[test]
    fn long_paths_are_hashed_with_pinned_vectors() {
        // 64 characters stay readable, 65 get hashed.
        let parent63 = "1-".repeat(31) + "1"; // 63 chars
        assert_eq!(parent63.len(), 63);
        let id = operation_id(Some(&parent63), 1);
        assert_eq!(id.len(), 41);
        assert!(id.starts_with('x'));
        assert_eq!(id, "x8e5af2c44beda8709fa33e4d282e82af30354899");
        let parent62 = "1-".repeat(30) + "12"; // 62 chars
        assert_eq!(operation_id(Some(&parent62), 1).len(), 64);
        // A child of a hashed parent.
        let child = operation_id(Some(&id), 7);
        assert_eq!(child, format!("{id}-7"));
    }

    #[test]
    fn every_generated_id_is_valid_on_the_wire() {
        let mut parent: Option<String> = None;
        for depth in 0..40 {
            let id = operation_id(parent.as_deref(), depth * 997 + 1);
            assert!(is_valid_operation_id(&id), "{id}");
            parent = Some(id);
        }
        assert!(!is_valid_operation_id(""));
        assert!(!is_valid_operation_id("a b"));
        assert!(!is_valid_operation_id(&"a".repeat(65)));
    }
}
