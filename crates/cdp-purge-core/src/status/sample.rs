//! `status --sample N`: look up a random, reproducible sample of each vendor's jobs and say
//! how far the sample's result carries to all of them.

/// `n` distinct indices below `population`, chosen by a seeded random generator (the same
/// seed picks the same sample), in ascending order. All of them when `n >= population`.
pub fn pick(population: usize, n: usize, seed: u64) -> Vec<usize> {
    if n >= population {
        return (0..population).collect();
    }
    // Floyd's algorithm: n draws, no array of the whole population.
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut chosen = std::collections::HashSet::with_capacity(n);
    for j in population - n..population {
        let t = rng.usize(..=j);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    let mut v: Vec<usize> = chosen.into_iter().collect();
    v.sort_unstable();
    v
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
