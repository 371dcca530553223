//! The statistics of an experiment: each arm's conversion rate with its 95% confidence
//! interval (Wilson's score interval), each variant against the baseline (the control group,
//! else the first variant) as a difference of rates with Newcombe's hybrid score interval, and
//! a verdict in plain words.
//!
//! Reference values (the tests): Newcombe, "Two-sided confidence intervals for the single
//! proportion", Statistics in Medicine 17 (1998) 857–872, Table I (method 3), and "Interval
//! estimation for the difference between independent proportions", Statistics in Medicine 17
//! (1998) 873–890, Table II (method 10).

/// The normal quantile of a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Fewer people than this in an arm, or fewer conversions in both, and no verdict is given.
pub const MIN_PEOPLE: u64 = 30;
pub const MIN_CONVERSIONS: u64 = 5;

/// Wilson's score interval of `successes` out of `n` (`(0, 1)` when `n` is 0).
pub fn wilson(successes: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (x, n) = (successes.min(n) as f64, n as f64);
    let p = x / n;
    let z2 = z * z;
    let d = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / d;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / d;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The difference of two rates, `x1/n1 - x2/n2`, with Newcombe's hybrid score interval.
pub fn difference(x1: u64, n1: u64, x2: u64, n2: u64, z: f64) -> (f64, f64, f64) {
    let rate = |x: u64, n: u64| if n == 0 { 0.0 } else { x.min(n) as f64 / n as f64 };
    let (p1, p2) = (rate(x1, n1), rate(x2, n2));
    let ((l1, u1), (l2, u2)) = (wilson(x1, n1, z), wilson(x2, n2, z));
    let d = p1 - p2;
    let lo = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let hi = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    (d, lo.max(-1.0), hi.min(1.0))
}

/// One arm of an experiment: a variant, or the control group.
#[derive(Clone, Debug, PartialEq)]
pub struct Arm {
    pub name: String,
    pub people: u64,
    pub converted: u64,
}

/// A variant against the baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub arm: String,
    pub baseline: String,
    /// Conversion rate difference (arm minus baseline) and its 95% interval.
    pub difference: f64,
    pub low: f64,
    pub high: f64,
    pub verdict: Verdict,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    NotEnoughData,
    Better,
    Worse,
    /// Enough data, and the interval holds 0: no difference shown.
    NoDifference,
}

impl Comparison {
    /// The verdict in plain words.
    pub fn words(&self) -> String {
        match self.verdict {
            Verdict::NotEnoughData => format!("{} against {}: not enough data yet", self.arm, self.baseline),
            Verdict::Better => format!("{} converts better than {}, 95% confidence", self.arm, self.baseline),
            Verdict::Worse => format!("{} converts worse than {}, 95% confidence", self.arm, self.baseline),
            Verdict::NoDifference => format!("{} and {}: no difference shown at 95% confidence", self.arm, self.baseline),
        }
    }
}

/// Each arm but the baseline against it.
pub fn compare(arms: &[Arm], baseline: usize) -> Vec<Comparison> {
    let Some(base) = arms.get(baseline) else { return Vec::new() };
    arms.iter()
        .enumerate()
        .filter(|(i, _)| *i != baseline)
        .map(|(_, a)| {
            let (difference, low, high) = difference(a.converted, a.people, base.converted, base.people, Z95);
            let enough = a.people >= MIN_PEOPLE && base.people >= MIN_PEOPLE && a.converted + base.converted >= MIN_CONVERSIONS;
            let verdict = match () {
                _ if !enough => Verdict::NotEnoughData,
                _ if low > 0.0 => Verdict::Better,
                _ if high < 0.0 => Verdict::Worse,
                _ => Verdict::NoDifference,
            };
            Comparison { arm: a.name.clone(), baseline: base.name.clone(), difference, low, high, verdict }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r4(x: f64) -> String {
        format!("{x:.4}")
    }

    #[test]
    fn wilson_intervals_equal_newcombes_table() {
        for (x, n, lo, hi) in [
            (81, 263, "0.2553", "0.3662"),
            (15, 148, "0.0624", "0.1605"),
            (0, 20, "0.0000", "0.1611"),
            (1, 29, "0.0061", "0.1718"),
            (29, 29, "0.8830", "1.0000"),
        ] {
            let (l, h) = wilson(x, n, Z95);
            assert_eq!((r4(l), r4(h)), (lo.to_owned(), hi.to_owned()), "{x}/{n}");
        }
        assert_eq!(wilson(0, 0, Z95), (0.0, 1.0), "nobody: anything");
    }

    #[test]
    fn differences_equal_newcombes_table() {
        for (x1, n1, x2, n2, lo, hi) in [
            (56, 70, 48, 80, "0.0524", "0.3339"),
            (9, 10, 3, 10, "0.1705", "0.8090"),
            (6, 7, 2, 7, "0.0582", "0.8062"),
            (5, 56, 0, 29, "-0.0381", "0.1926"),
            (0, 10, 0, 20, "-0.1611", "0.2775"),
            (10, 10, 0, 20, "0.6791", "1.0000"),
        ] {
            let (_, l, h) = difference(x1, n1, x2, n2, Z95);
            assert_eq!((r4(l), r4(h)), (lo.to_owned(), hi.to_owned()), "{x1}/{n1} - {x2}/{n2}");
        }
    }

    #[test]
    fn verdicts_in_plain_words() {
        let arm = |name: &str, people, converted| Arm { name: name.into(), people, converted };
        let words = |arms: &[Arm]| compare(arms, 0).iter().map(Comparison::words).collect::<Vec<_>>();
        assert_eq!(
            words(&[arm("control group", 400, 40), arm("A", 400, 70), arm("B", 400, 20), arm("C", 400, 45), arm("D", 20, 19)]),
            [
                "A converts better than control group, 95% confidence",
                "B converts worse than control group, 95% confidence",
                "C and control group: no difference shown at 95% confidence",
                "D against control group: not enough data yet",
            ]
        );
        assert_eq!(words(&[arm("A", 100, 2), arm("B", 100, 2)]), ["B against A: not enough data yet"], "too few conversions");
        // Enough at exactly 30 people each and 5 conversions between them, wherever they are.
        let verdict = |a: (u64, u64), b: (u64, u64)| compare(&[arm("A", a.0, a.1), arm("B", b.0, b.1)], 0)[0].verdict.clone();
        assert_eq!(verdict((30, 0), (30, 5)), Verdict::Better);
        assert_eq!(verdict((30, 5), (30, 0)), Verdict::Worse);
        assert_eq!(verdict((30, 0), (30, 4)), Verdict::NotEnoughData);
        assert_eq!(verdict((29, 0), (30, 10)), Verdict::NotEnoughData);
        assert!(compare(&[], 0).is_empty());
    }

    /// No counts put a bound of the difference exactly on 0 (so whether "above 0" includes 0
    /// cannot change a verdict): every pair of arms up to 60 people each.
    #[test]
    fn no_counts_put_a_bound_exactly_on_zero() {
        for (n1, n2) in [(30, 30), (30, 45), (60, 60), (41, 59)] {
            for x1 in 0..=n1 {
                for x2 in 0..=n2 {
                    let (_, low, high) = difference(x1, n1, x2, n2, Z95);
                    assert!(low != 0.0 && high != 0.0, "{x1}/{n1} against {x2}/{n2}: {low}..{high}");
                }
            }
        }
    }
}
