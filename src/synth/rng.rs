//! The generator's own random numbers and the few transcendental functions it needs.
//!
//! Everything here is plain IEEE-754 arithmetic (`+ - * /`, `sqrt`, `floor`, `round`,
//! all correctly rounded on every platform), so the generated company is bit-identical
//! across operating systems, CPUs and versions of the standard library. The platform
//! `exp` / `ln` are *not* used: they may differ in the last bit between C libraries.
//!
//! - Seeding: SplitMix64 (Steele, Lea and Flood, 2014), which spreads any 64-bit key
//!   over the full state.
//! - Stream: xoshiro256** (Blackman and Vigna, 2018), 256 bits of state, period
//!   2^256 − 1. Each lead (and each derived aggregate) has its own stream, keyed by
//!   `(seed, domain, index)`.

use crate::rng::{GOLDEN_GAMMA, SplitMix64, mix64};

/// A domain separates the streams of different purposes that share a seed.
pub(crate) mod domain {
    /// One stream per lead.
    pub const LEAD: u64 = 0x4c45_4144; // "LEAD"
    /// Account attributes (segment, industry, region, owner), one stream per account.
    pub const ACCOUNT: u64 = 0x4143_4354; // "ACCT"
    /// Spend jitter, one stream per spend line and month.
    pub const SPEND: u64 = 0x5350_4e44; // "SPND"
    /// Forecast noise, one stream per series and period.
    pub const FORECAST: u64 = 0x4643_5354; // "FCST"
    /// Opportunity routing to hired owners (opt-in hiring), one stream per lead.
    pub const HIRING: u64 = 0x4849_5245; // "HIRE"
}

/// xoshiro256** with distribution helpers.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
    /// The second normal of the last polar-method pair, not yet used.
    spare: Option<f64>,
}

impl Rng {
    /// The stream for `(seed, domain, index)`.
    pub fn stream(seed: u64, domain: u64, index: u64) -> Rng {
        let state = mix64(seed ^ mix64(domain.wrapping_add(GOLDEN_GAMMA)))
            ^ mix64(
                index
                    .wrapping_mul(GOLDEN_GAMMA)
                    .wrapping_add(0x632b_e59b_d9b4_e019),
            );
        let mut seeder = SplitMix64::new(state);
        let mut s = [0u64; 4];
        for w in &mut s {
            *w = seeder.next_u64();
        }
        if s == [0; 4] {
            s[0] = 1; // the one state xoshiro cannot leave
        }
        Rng { s, spare: None }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in \[0, 1), 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform in (0, 1): never exactly 0, so its logarithm is finite.
    pub fn open01(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform integer in `0..n` (`n > 0`), by the multiply-high method; the bias is
    /// below `n / 2^64`, far beneath anything measurable here.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// `true` with probability `p`.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Exponential with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * ln(self.open01())
    }

    /// Standard normal, by Marsaglia's polar method (needs only `ln` and `sqrt`);
    /// each accepted pair gives two normals, the second kept for the next call.
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * ln(s) / s).sqrt();
                self.spare = Some(v * f);
                return u * f;
            }
        }
    }

    /// Lognormal with the given median and log-scale standard deviation `sigma`.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * exp(sigma * self.normal())
    }

    /// Index drawn from cumulative weights (`cumulative` non-decreasing, last > 0).
    pub fn categorical(&mut self, cumulative: &[f64]) -> usize {
        pick(cumulative, self.uniform())
    }

    /// Number of failures before the first success of a Bernoulli(`1 − keep`) trial,
    /// capped: 0 with probability `1 − keep`, 1 with `keep (1 − keep)`, ...
    pub fn geometric(&mut self, keep: f64, cap: u32) -> u32 {
        let mut k = 0;
        while k < cap && self.uniform() < keep {
            k += 1;
        }
        k
    }
}

/// Index `i` of the first cumulative weight above `u × total`.
pub(crate) fn pick(cumulative: &[f64], u: f64) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let x = u * total;
    cumulative
        .partition_point(|&c| c <= x)
        .min(cumulative.len().saturating_sub(1))
}

/// Cumulative sums of weights.
pub(crate) fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .into_iter()
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Deterministic exp and ln
// ---------------------------------------------------------------------------

/// ln 2 split in two: the high part has its 21 lowest mantissa bits zero, so that
/// `k * LN2_HI` is exact for |k| < 2^11; `LN2_HI + LN2_LO` is ln 2 to about 2^-85.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// 2^k for k in the normal exponent range.
fn pow2(k: i64) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// 1 / n! for n = 0..=13, the Taylor coefficients of e^r.
const EXP_COEFFICIENTS: [f64; 14] = {
    let mut c = [1.0; 14];
    let mut n = 1;
    while n < 14 {
        c[n] = c[n - 1] / n as f64;
        n += 1;
    }
    c
};

/// 1 / (2n + 1) for n = 0..=11, the series of atanh.
const ATANH_COEFFICIENTS: [f64; 12] = {
    let mut c = [1.0; 12];
    let mut n = 1;
    while n < 12 {
        c[n] = 1.0 / (2 * n + 1) as f64;
        n += 1;
    }
    c
};

/// Rounds to the nearest integer, halves away from zero (exact, no libm call).
pub(crate) fn round_to_int(x: f64) -> i64 {
    if x >= 0.0 {
        (x + 0.5) as i64
    } else {
        (x - 0.5) as i64
    }
}

/// e^x, accurate to about one unit in the last place, identical on every platform.
pub(crate) fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.78 {
        return f64::INFINITY;
    }
    if x < -745.2 {
        return 0.0;
    }
    let k = round_to_int(x * std::f64::consts::LOG2_E);
    let kf = k as f64;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    // Taylor series of e^r for |r| <= 0.35 to r^13 / 13!, Horner form.
    let mut p = EXP_COEFFICIENTS[13];
    for &c in EXP_COEFFICIENTS[..13].iter().rev() {
        p = p * r + c;
    }
    let k1 = k / 2;
    p * pow2(k1) * pow2(k - k1)
}

/// Natural logarithm, identical on every platform. `ln(0) = −∞`, negative → NaN.
pub(crate) fn ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return x;
    }
    let (mut x, mut e) = (x, 0i64);
    if x < f64::MIN_POSITIVE {
        x *= pow2(54);
        e -= 54;
    }
    let bits = x.to_bits();
    e += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | (1023u64 << 52));
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln m = 2 atanh(s), s = (m − 1) / (m + 1), |s| <= 0.1716.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut sum = 0.0;
    for &c in ATANH_COEFFICIENTS.iter().rev() {
        sum = c + s2 * sum;
    }
    let e = e as f64;
    e * LN2_HI + (e * LN2_LO + 2.0 * s * sum)
}

/// The logistic function 1 / (1 + e^−x).
pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + exp(-x))
}

/// Log-odds ln(p / (1 − p)); ±∞ at 1 and 0.
pub(crate) fn logit(p: f64) -> f64 {
    ln(p) - ln(1.0 - p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_ln_match_the_platform_closely() {
        let mut x = -700.0;
        while x < 700.0 {
            let (ours, std) = (exp(x), x.exp());
            assert!(
                ((ours - std) / std).abs() < 4e-16,
                "exp({x}) = {ours} vs {std}"
            );
            x += 0.713;
        }
        for &x in &[
            1e-310, 1e-300, 1e-10, 0.1, 0.5, 0.999_999, 1.0, 1.5, 2.0, 1e10, 1e300,
        ] {
            let (ours, std) = (ln(x), f64::ln(x));
            assert!(
                (ours - std).abs() <= 4e-16 * std.abs().max(1e-300),
                "ln({x}) = {ours} vs {std}"
            );
        }
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert!(ln(-1.0).is_nan());
        assert!((sigmoid(logit(0.3)) - 0.3).abs() < 1e-15);
        assert_eq!(sigmoid(logit(1.0)), 1.0);
        assert_eq!(sigmoid(logit(0.0)), 0.0);
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = {
            let mut r = Rng::stream(7, domain::LEAD, 3);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let mut r = Rng::stream(7, domain::LEAD, 3);
        assert_eq!(a, (0..4).map(|_| r.next_u64()).collect::<Vec<_>>());
        let mut other = Rng::stream(7, domain::LEAD, 4);
        assert_ne!(a[0], other.next_u64());
        let mut other = Rng::stream(8, domain::LEAD, 3);
        assert_ne!(a[0], other.next_u64());
        let mut other = Rng::stream(7, domain::SPEND, 3);
        assert_ne!(a[0], other.next_u64());
    }

    #[test]
    fn xoshiro_reference_output() {
        // xoshiro256** from the state {1, 2, 3, 4}: the first outputs, computed by hand
        // from the algorithm's definition (rotl(s1 * 5, 7) * 9, then the state update).
        let mut r = Rng {
            s: [1, 2, 3, 4],
            spare: None,
        };
        assert_eq!(r.next_u64(), 11_520);
        assert_eq!(r.next_u64(), 0);
        assert_eq!(r.next_u64(), 1_509_978_240);
    }

    #[test]
    fn distributions_have_the_right_moments() {
        let mut r = Rng::stream(1, 2, 3);
        let n = 200_000;
        let (mut s, mut s2, mut e, mut ber, mut geo) = (0.0, 0.0, 0.0, 0u32, 0u64);
        let mut below = [0u32; 3];
        let mut lognormals = Vec::with_capacity(n);
        for _ in 0..n {
            let z = r.normal();
            s += z;
            s2 += z * z;
            e += r.exponential(2.0);
            ber += u32::from(r.bernoulli(0.3));
            geo += u64::from(r.geometric(0.5, 100));
            below[r.below(3) as usize] += 1;
            lognormals.push(r.lognormal(10.0, 0.5));
            let u = r.uniform();
            assert!((0.0..1.0).contains(&u));
        }
        let nf = n as f64;
        assert!((s / nf).abs() < 0.01);
        assert!((s2 / nf - 1.0).abs() < 0.02);
        assert!((e / nf - 2.0).abs() < 0.03);
        assert!((f64::from(ber) / nf - 0.3).abs() < 0.01);
        assert!((geo as f64 / nf - 1.0).abs() < 0.02);
        assert!(
            below
                .iter()
                .all(|&c| (f64::from(c) / nf - 1.0 / 3.0).abs() < 0.01)
        );
        lognormals.sort_by(f64::total_cmp);
        assert!((lognormals[n / 2] - 10.0).abs() < 0.1);
        let cum = cumulative([1.0, 0.0, 3.0]);
        assert_eq!(pick(&cum, 0.0), 0);
        assert_eq!(pick(&cum, 0.2499), 0);
        assert_eq!(pick(&cum, 0.25), 2);
        assert_eq!(pick(&cum, 0.999_999), 2);
    }
}
