//! Deterministic identifiers: execution ids, request ids, tokens and callback ids.
//!
//! Nothing here reads a clock or ambient randomness: ids come from a seed and a counter, so
//! two runs with the same seed produce the same ARNs, tokens and histories.

/// Produces UUID-shaped ids from a seed and a counter (SplitMix64).
#[derive(Debug, Clone)]
pub(crate) struct IdGenerator {
    seed: u64,
    counter: u64,
}

impl IdGenerator {
    pub(crate) fn new(seed: u64) -> Self {
        Self { seed, counter: 0 }
    }

    /// `(seed, counter)`: everything needed to continue the sequence after a restart.
    pub(crate) fn state(&self) -> (u64, u64) {
        (self.seed, self.counter)
    }

    /// A generator continuing where one with this [`state`](Self::state) stopped.
    #[cfg_attr(not(feature = "file-store"), allow(dead_code))]
    pub(crate) fn resume(seed: u64, counter: u64) -> Self {
        Self { seed, counter }
    }

    fn next_u64(&mut self) -> u64 {
        self.counter = self.counter.wrapping_add(1);
        splitmix64(
            self.seed
                .wrapping_add(self.counter.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        )
    }

    /// A version-4-shaped UUID string (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`).
    pub(crate) fn uuid(&mut self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        let hi = (hi & !0xF000) | 0x4000; // version 4
        let lo = (lo & !(0xC000 << 48)) | (0x8000 << 48); // RFC 4122 variant
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0xFFFF,
            lo >> 48,
            lo & 0xFFFF_FFFF_FFFF
        )
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Standard base64 with padding: the alphabet real tokens and callback ids use
/// (`[A-Za-z0-9+/]+={0,2}`).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The checkpoint token for the `seq`-th token of an execution.
pub(crate) fn checkpoint_token(execution_id: &str, seq: u64) -> String {
    base64(format!("{{\"exec\":\"{execution_id}\",\"seq\":{seq}}}").as_bytes())
}

/// The callback id of a CALLBACK operation.
pub(crate) fn callback_id(execution_id: &str, operation_id: &str) -> String {
    base64(format!("{{\"exec\":\"{execution_id}\",\"op\":\"{operation_id}\"}}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xFB, 0xFF]), "+/8=");
    }

    #[test]
    fn uuids_are_deterministic_and_well_formed() {
        let mut a = IdGenerator::new(7);
        let mut b = IdGenerator::new(7);
        let first = a.uuid();
        assert_eq!(first, b.uuid());
        assert_ne!(first, a.uuid());
        assert_ne!(first, IdGenerator::new(8).uuid());
        let parts: Vec<_> = first.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(&first[14..15], "4");
        assert!(durable_proto::is_valid_operation_id(&first));
    }

    #[test]
    fn tokens_and_callback_ids_use_the_wire_alphabet() {
        for text in [checkpoint_token("abc", 12), callback_id("abc", "1-2")] {
            assert!(text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')));
        }
        assert_ne!(checkpoint_token("abc", 1), checkpoint_token("abc", 2));
    }
}
