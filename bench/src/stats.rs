//! Order statistics of timing samples. Percentiles are nearest-rank on the sorted samples,
//! so every figure reported is a time that was actually measured.

use std::time::Duration;

/// The `p`-th percentile (0–100) of `samples`, nearest rank; zero when there are none.
pub fn percentile(samples: &[Duration], p: u32) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    percentile_sorted(&sorted, p)
}

fn percentile_sorted(sorted: &[Duration], p: u32) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * p.min(100) as usize).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// The median, as the 50th percentile.
pub fn median(samples: &[Duration]) -> Duration {
    percentile(samples, 50)
}

/// The median of plain numbers (fuel, ratios); zero when there are none.
pub fn median_f64(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n => sorted[(n - 1) / 2],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(values: &[u64]) -> Vec<Duration> {
        values.iter().copied().map(Duration::from_micros).collect()
    }

    #[test]
    fn nearest_rank() {
        let samples = us(&[5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
        assert_eq!(median(&samples), Duration::from_micros(5));
        assert_eq!(percentile(&samples, 90), Duration::from_micros(9));
        assert_eq!(percentile(&samples, 100), Duration::from_micros(10));
        assert_eq!(percentile(&samples, 0), Duration::from_micros(1));
        assert_eq!(median(&[]), Duration::ZERO);
        assert_eq!(median_f64(&[3.0, 1.0, 2.0, 4.0]), 2.0);
    }
}
