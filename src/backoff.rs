//! Exponential back-off with jitter, as the SDK asks of always-running apps ("use exponential back-off for
//! retries"). Deterministic: the random part comes in as an argument, so tests control it.
//!
//! The jitter only ever *lengthens* a delay (by up to a fifth). The usual "equal jitter" (half fixed, half
//! random) would let a delay at the cap drop below it, and the cap is a promise: once the hub has been down a
//! while, the connector touches it at most once per [`Backoff::max_ms`].

/// Consecutive-failure counter that turns into the delay before the next attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    base_ms: u64,
    max_ms: u64,
    failures: u32,
}

impl Backoff {
    /// `base_ms` is the delay after the first failure; it doubles per failure up to `max_ms`.
    pub const fn new(base_ms: u64, max_ms: u64) -> Backoff {
        Backoff {
            base_ms,
            max_ms,
            failures: 0,
        }
    }

    /// Consecutive failures since the last [`Backoff::reset`].
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The longest delay before jitter.
    pub fn max_ms(&self) -> u64 {
        self.max_ms
    }

    /// A success: the next failure starts again at the base delay.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// The delay without jitter after `failures` failures (0 failures: 0).
    pub fn delay_for(&self, failures: u32) -> u64 {
        if failures == 0 {
            return 0;
        }
        // 2^(failures-1) saturates long before it could overflow: 2^20 s is far beyond any cap.
        let factor = 1u64 << (failures - 1).min(20);
        self.base_ms.saturating_mul(factor).min(self.max_ms)
    }

    /// Counts one more failure and returns the delay before the next attempt: the exponential delay plus up
    /// to a fifth more taken from `jitter` (never less than the exponential delay).
    pub fn fail(&mut self, jitter: u32) -> u64 {
        self.failures = self.failures.saturating_add(1);
        let d = self.delay_for(self.failures);
        d.saturating_add(u64::from(jitter) % (d / 5 + 1))
    }

    /// Jumps straight to the cap, for failures that will not fix themselves soon (a rejected token).
    pub fn saturate(&mut self) {
        while self.delay_for(self.failures) < self.max_ms && self.failures < 32 {
            self.failures += 1;
        }
        // `fail` adds one more; that stays at the cap.
        self.failures = self.failures.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_base_to_cap() {
        let mut b = Backoff::new(1_000, 60_000);
        let delays: Vec<u64> = (0..9).map(|_| b.fail(0)).collect();
        assert_eq!(
            delays,
            [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]
        );
        assert_eq!(b.failures(), 9);
        b.reset();
        assert_eq!(b.fail(0), 1_000);
    }

    #[test]
    fn jitter_lengthens_by_at_most_a_fifth_and_never_shortens() {
        for j in [0u32, 1, 7, 999, 12_000, u32::MAX] {
            let mut b = Backoff::new(1_000, 60_000);
            for _ in 0..40 {
                let plain = b.delay_for(b.failures() + 1);
                let d = b.fail(j);
                assert!(d >= plain && d <= plain + plain / 5, "{j}: {d} vs {plain}");
            }
            // At the cap a retry is never sooner than the cap.
            assert!(b.fail(j) >= 60_000);
        }
    }

    #[test]
    fn saturate_goes_straight_to_the_cap() {
        let mut b = Backoff::new(1_000, 60_000);
        b.saturate();
        assert_eq!(b.fail(0), 60_000);
        let mut b = Backoff::new(1_000, 60_000);
        for _ in 0..10 {
            b.fail(0);
        }
        b.saturate();
        assert_eq!(b.fail(0), 60_000);
    }

    /// The jitter's top: a delay of 1 s may grow by exactly a fifth (200 ms), no more.
    #[test]
    fn jitter_reaches_a_fifth_exactly() {
        let first = |j: u32| Backoff::new(1_000, 60_000).fail(j);
        assert_eq!(first(200), 1_200);
        assert_eq!(first(199), 1_199);
        assert_eq!(first(201), 1_000);
        assert_eq!(first(402), 1_000);
        assert_eq!(Backoff::new(1_000, 60_000).max_ms(), 60_000);
    }

    /// Saturating counts the failures it takes to reach the cap (less the one `fail` adds), so the
    /// "unreachable after N failures" rules see a hub that refuses the token as failing for long.
    #[test]
    fn saturate_counts_the_failures_to_the_cap() {
        let mut b = Backoff::new(1_000, 60_000);
        b.saturate();
        // 1, 2, 4, 8, 16, 32 s, then the cap is the 7th.
        assert_eq!(b.failures(), 6);
        assert_eq!(b.fail(0), 60_000);
        assert_eq!(b.failures(), 7);
        // A cap the delays reach exactly.
        let mut b = Backoff::new(1_000, 8_000);
        b.saturate();
        assert_eq!(b.failures(), 3);
        // A base of zero never reaches the cap: bounded at 32 failures.
        let mut b = Backoff::new(0, 10);
        b.saturate();
        assert_eq!(b.failures(), 31);
    }

    #[test]
    fn huge_failure_counts_do_not_overflow() {
        let mut b = Backoff::new(u64::MAX / 2, u64::MAX);
        for _ in 0..100 {
            let _ = b.fail(u32::MAX);
        }
        assert_eq!(b.delay_for(u32::MAX), u64::MAX);
    }
}
