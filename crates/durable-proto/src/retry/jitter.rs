//! Jitter: randomising a backoff delay so that many failing executions do not
//! retry in lock-step.

use std::time::Duration;

use rand_core::RngCore;

/// Number of random bits in one uniform draw.
const UNIT_BITS: u32 = 53;
const UNIT_MASK: u128 = (1u128 << UNIT_BITS) - 1;
const NANOS_PER_SEC: u128 = 1_000_000_000;

/// How a backoff delay `base` is randomised.
///
/// `U` is one uniform draw in `[0, 1)`: the top 53 bits of one
/// [`RngCore::next_u64`] divided by 2⁵³.
///
/// | variant | delay | range |
/// |---|---|---|
/// | [`None`](Jitter::None) | `base` | exactly `base` |
/// | [`Half`](Jitter::Half) | `base/2 + U × base/2` | `[base/2, base)` |
/// | [`Full`](Jitter::Full) | `U × base` | `[0, base)` |
///
/// (For `base == 0` every variant yields 0.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Jitter {
    /// No randomisation: the delay is `base`. Draws nothing from the generator.
    None,
    /// Keep at least half: `base/2 + U × base/2`, in `[base/2, base)`.
    Half,
    /// Anywhere up to the base: `U × base`, in `[0, base)`.
    Full,
}

impl Jitter {
    /// Apply this jitter to `base`, drawing from `rng` only.
    ///
    /// [`Jitter::None`] consumes no randomness; [`Jitter::Half`] and
    /// [`Jitter::Full`] consume exactly one `next_u64`. The arithmetic is exact
    /// integer nanoseconds (`⌊base_ns × k / 2⁵³⌋` for the 53-bit draw `k`), so
    /// results are identical on every platform and never reach `base` itself
    /// (for a non-zero `base`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use durable_proto::{Jitter, SeededRng};
    ///
    /// let base = Duration::from_secs(10);
    /// let mut rng = SeededRng::new(7);
    /// assert_eq!(Jitter::None.apply(base, &mut rng), base);
    /// let full = Jitter::Full.apply(base, &mut rng);
    /// assert!(full < base);
    /// let half = Jitter::Half.apply(base, &mut rng);
    /// assert!(half >= base / 2 && half < base);
    /// ```
    pub fn apply(self, base: Duration, rng: &mut dyn RngCore) -> Duration {
        match self {
            Jitter::None => base,
            Jitter::Full => {
                let k = draw_unit_bits(rng);
                from_nanos_u128(scale(base.as_nanos(), k))
            }
            Jitter::Half => {
                let k = draw_unit_bits(rng);
                let half = base.as_nanos() / 2;
                from_nanos_u128(half + scale(half, k))
            }
        }
    }
}

/// One uniform draw as an integer `k` in `[0, 2⁵³)`; `U = k / 2⁵³`.
fn draw_unit_bits(rng: &mut dyn RngCore) -> u64 {
    rng.next_u64() >> (64 - UNIT_BITS)
}

/// `⌊nanos × k / 2⁵³⌋`, exact and overflow-free for any `Duration` (`nanos` <
/// 2⁹⁴, `k` < 2⁵³). Strictly below `nanos` when `nanos > 0`.
fn scale(nanos: u128, k: u64) -> u128 {
    let k = u128::from(k);
    (nanos >> UNIT_BITS) * k + (((nanos & UNIT_MASK) * k) >> UNIT_BITS)
}

/// Back to a `Duration`; callers only pass values not above an existing
/// `Duration`'s nanoseconds, so the seconds always fit in a `u64`.
fn from_nanos_u128(nanos: u128) -> Duration {
    let secs = u64::try_from(nanos / NANOS_PER_SEC).unwrap_or(u64::MAX);
    // Lossless: the remainder is below 10⁹.
    Duration::new(secs, (nanos % NANOS_PER_SEC) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRng;

    /// Returns a fixed word and counts draws.
    struct FixedRng {
        word: u64,
        draws: u32,
    }

    impl RngCore for FixedRng {
        fn next_u32(&mut self) -> u32 {
            (self.next_u64() >> 32) as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.draws += 1;
            self.word
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            for b in dst {
                *b = self.next_u32() as u8;
            }
        }
    }

    fn fixed(word: u64) -> FixedRng {
        FixedRng { word, draws: 0 }
    }

    #[test]
    fn none_is_base_and_draws_nothing() {
        let mut rng = fixed(u64::MAX);
        let base = Duration::from_millis(12_345);
        assert_eq!(Jitter::None.apply(base, &mut rng), base);
        assert_eq!(rng.draws, 0);
    }

    #[test]
    fn extreme_draws_give_exact_endpoints() {
        let base = Duration::from_secs(60);
        // U = 0.
        let mut zero = fixed(0);
        assert_eq!(Jitter::Full.apply(base, &mut zero), Duration::ZERO);
        assert_eq!(Jitter::Half.apply(base, &mut zero), Duration::from_secs(30));
        assert_eq!(zero.draws, 2);
        // U = 0.5 exactly (only the top 53 bits count).
        let mut mid = fixed((1 << 63) | 0x7FF);
        assert_eq!(Jitter::Full.apply(base, &mut mid), Duration::from_secs(30));
        assert_eq!(Jitter::Half.apply(base, &mut mid), Duration::from_secs(45));
        // U = 1 − 2⁻⁵³: the largest value, still strictly below base.
        let mut top = fixed(u64::MAX);
        assert_eq!(
            Jitter::Full.apply(base, &mut top),
            Duration::from_nanos(59_999_999_999)
        );
        assert_eq!(
            Jitter::Half.apply(base, &mut top),
            Duration::from_nanos(59_999_999_999)
        );
    }

    #[test]
    fn zero_and_huge_bases_do_not_panic() {
        let mut rng = fixed(u64::MAX);
        assert_eq!(Jitter::Full.apply(Duration::ZERO, &mut rng), Duration::ZERO);
        assert_eq!(Jitter::Half.apply(Duration::ZERO, &mut rng), Duration::ZERO);
        let full = Jitter::Full.apply(Duration::MAX, &mut rng);
        assert!(full < Duration::MAX && full > Duration::MAX / 2);
        let half = Jitter::Half.apply(Duration::MAX, &mut rng);
        assert!(half < Duration::MAX && half > Duration::MAX / 2);
    }

    #[test]
    fn full_stays_in_zero_to_base_over_10k_draws() {
        for base in [
            Duration::from_secs(5),
            Duration::from_secs(60),
            Duration::from_nanos(7),
        ] {
            let mut rng = SeededRng::new(2024);
            let mut total = Duration::ZERO;
            for _ in 0..10_000 {
                let d = Jitter::Full.apply(base, &mut rng);
                assert!(d < base, "{d:?} not below {base:?}");
                total += d;
            }
            if base >= Duration::from_secs(1) {
                // Mean of U × base is base/2; 10k draws land well within 3 %.
                let mean = total.as_secs_f64() / 10_000.0;
                let want = base.as_secs_f64() / 2.0;
                assert!((mean - want).abs() < want * 0.03, "mean {mean} vs {want}");
            }
        }
    }

    #[test]
    fn half_stays_in_half_to_base_over_10k_draws() {
        for base in [
            Duration::from_secs(1),
            Duration::from_secs(5),
            Duration::from_nanos(9),
        ] {
            let mut rng = SeededRng::new(99);
            let mut below_three_quarters = 0u32;
            for _ in 0..10_000 {
                let d = Jitter::Half.apply(base, &mut rng);
                assert!(
                    d >= base / 2 && d < base,
                    "{d:?} outside [{base:?}/2, {base:?})"
                );
                if d < base * 3 / 4 {
                    below_three_quarters += 1;
                }
            }
            if base >= Duration::from_secs(1) {
                // Uniform over [base/2, base): about half fall below 3/4 base.
                assert!((4_700..=5_300).contains(&below_three_quarters));
            }
        }
    }

    #[test]
    fn same_seed_same_sequence() {
        let base = Duration::from_secs(60);
        let run = |seed: u64| -> Vec<Duration> {
            let mut rng = SeededRng::new(seed);
            (0..100)
                .map(|i| {
                    let jitter = if i % 2 == 0 {
                        Jitter::Full
                    } else {
                        Jitter::Half
                    };
                    jitter.apply(base, &mut rng)
                })
                .collect()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn pinned_values_for_seed_zero() {
        // SplitMix64(0) first word 0xE220A8397B1DCDAF; k = word >> 11.
        let k = 0xE220_A839_7B1D_CDAFu64 >> 11;
        let want = (10_000_000_000u128 * u128::from(k)) >> 53;
        let mut rng = SeededRng::new(0);
        let got = Jitter::Full.apply(Duration::from_secs(10), &mut rng);
        assert_eq!(got.as_nanos(), want);
        assert_eq!(got, Duration::from_nanos(8_833_108_082));
    }
}
