//! `status --sample N`: look up a random, reproducible sample of each vendor's jobs and say
//! how far the sample's result carries to all of them.

/// A uniform random sample of `size` from a stream of unknown length, drawn by a seeded
/// generator (the same stream and seed keep the same sample): reservoir sampling, so the
/// stream is read once and only the sample is held, whatever its length.
pub struct Reservoir<T> {
    size: usize,
    rng: fastrand::Rng,
    seen: u64,
    /// (position in the stream, element).
    kept: Vec<(u64, T)>,
}

impl<T> Reservoir<T> {
    pub fn new(size: usize, seed: u64) -> Self {
        Self {
            size,
            rng: fastrand::Rng::with_seed(seed),
            seen: 0,
            kept: Vec::new(),
        }
    }

    /// Offer the stream's next element; `make` builds it only if it is kept (for now: a
    /// later one may replace it).
    pub fn offer(&mut self, make: impl FnOnce() -> T) {
        let at = self.seen;
        self.seen += 1;
        if self.kept.len() < self.size {
            self.kept.push((at, make()));
            return;
        }
        let j = self.rng.u64(..=at);
        if let Ok(j) = usize::try_from(j)
            && j < self.size
        {
            self.kept[j] = (at, make());
        }
    }

    /// Elements offered so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The sample, in stream order.
    pub fn into_sorted(mut self) -> Vec<T> {
        self.kept.sort_unstable_by_key(|(at, _)| *at);
        self.kept.into_iter().map(|(_, t)| t).collect()
    }
}

/// A stable seed from text (the ledger's first run ID), so a rerun samples the same jobs.
pub fn seed_of(text: &str) -> u64 {
    // FNV-1a: stable across versions and platforms, unlike the std hasher.
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The 95% Wilson score interval of a proportion `k` of `n`, as (low, high); with a
/// finite-population correction when the sample is a large part of `population`.
pub fn wilson95(k: u64, n: u64, population: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    if n >= population {
        let p = k as f64 / n as f64;
        return (p, p);
    }
    let z = 1.959_964_f64;
    let nf = n as f64;
    // The finite-population correction shrinks the variance; applied as a larger
    // effective sample size.
    let fpc = if population > 1 {
        ((population - n) as f64 / (population - 1) as f64).max(1e-9)
    } else {
        1.0
    };
    let ne = nf / fpc;
    let p = k as f64 / nf;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * ne);
    let spread = z * (p * (1.0 - p) / ne + z2 / (4.0 * ne * ne)).sqrt();
    let denom = 1.0 + z2 / ne;
    (
        ((centre - spread) / denom).clamp(0.0, 1.0),
        ((centre + spread) / denom).clamp(0.0, 1.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(population: u64, n: usize, seed: u64) -> Vec<u64> {
        let mut r = Reservoir::new(n, seed);
        for i in 0..population {
            r.offer(|| i);
        }
        assert_eq!(r.seen(), population);
        r.into_sorted()
    }

    #[test]
    fn samples_are_distinct_reproducible_and_depend_on_the_seed() {
        let a = pick(100_000, 100, 7);
        assert_eq!(a.len(), 100);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert!(a.iter().all(|&i| i < 100_000));
        assert_eq!(a, pick(100_000, 100, 7));
        assert_ne!(a, pick(100_000, 100, 8));
        assert_eq!(pick(5, 10, 1), vec![0, 1, 2, 3, 4]);
        // Spread over the whole range, not bunched at one end.
        assert!(a[0] < 20_000 && a[99] > 80_000, "{a:?}");
        // Uniform: over many seeds, each position is kept about n/population of the time.
        let mut hits = [0u32; 10];
        for seed in 0..2000 {
            for i in pick(10, 3, seed) {
                hits[i as usize] += 1;
            }
        }
        assert!(hits.iter().all(|&h| (500..700).contains(&h)), "{hits:?}");
        assert_eq!(seed_of("run-1"), seed_of("run-1"));
        assert_ne!(seed_of("run-1"), seed_of("run-2"));
    }

    #[test]
    fn wilson_bounds_match_known_values() {
        // 100 of 100 from a large population: at least 96.3%.
        let (lo, hi) = wilson95(100, 100, 1_000_000);
        assert!((lo - 0.963).abs() < 0.001, "{lo}");
        assert!((hi - 1.0).abs() < 1e-9);
        // 50 of 100: about 40.4% to 59.6%.
        let (lo, hi) = wilson95(50, 100, 1_000_000);
        assert!(
            (lo - 0.404).abs() < 0.002 && (hi - 0.596).abs() < 0.002,
            "{lo} {hi}"
        );
        // The whole population: exact.
        assert_eq!(wilson95(7, 10, 10), (0.7, 0.7));
        // A sample that is most of the population is tighter than one that is not.
        let (lo_small, _) = wilson95(100, 100, 1_000_000);
        let (lo_big, _) = wilson95(100, 100, 110);
        assert!(lo_big > lo_small);
        assert_eq!(wilson95(0, 0, 10), (0.0, 1.0));
    }
}
