//! The load average as Linux keeps it (kernel/sched/loadavg.c): every 5 seconds
//! the number of tasks running or waiting to run is folded into three
//! exponentially decaying averages, over 1, 5 and 15 minutes, in fixed point with
//! 11 fractional bits; /proc/loadavg and sysinfo(2) report them.

use alloc::format;
use alloc::string::String;

/// Bits of fraction in the fixed-point averages.
pub const FSHIFT: u32 = 11;
/// 1.0 in fixed point.
pub const FIXED_1: u64 = 1 << FSHIFT;
/// How often a sample is taken, in nanoseconds.
pub const LOAD_FREQ_NS: u64 = 5_000_000_000;
/// The decay per sample of the 1, 5 and 15 minute averages: 1/exp(5s/1min),
/// 1/exp(5s/5min), 1/exp(5s/15min) in fixed point.
const DECAY: [u64; 3] = [1884, 2014, 2037];

/// The three averages, in fixed point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadAverage {
    averages: [u64; 3],
}

impl LoadAverage {
    /// No load yet (as at boot).
    pub const fn new() -> LoadAverage {
        LoadAverage { averages: [0; 3] }
    }

    /// Folds in a sample: `active` tasks running or runnable now. Rounds up while
    /// the load grows, as Linux does, so a steady load is reached, not approached
    /// forever.
    pub fn sample(&mut self, active: u64) {
        let active = active * FIXED_1;
        for (average, decay) in self.averages.iter_mut().zip(DECAY) {
            let mut next = *average * decay + active * (FIXED_1 - decay);
            if active >= *average {
                next += FIXED_1 - 1;
            }
            *average = next / FIXED_1;
        }
    }

    /// The averages in fixed point, as sysinfo(2) reports them (scaled to its 16
    /// fractional bits by the caller).
    pub fn fixed_point(&self) -> [u64; 3] {
        self.averages
    }

    /// /proc/loadavg: the three averages to two decimals, then `running` tasks
    /// runnable of `total`, and the last pid handed out.
    pub fn proc_line(&self, running: usize, total: usize, last_pid: u32) -> String {
        let [one, five, fifteen] = self.averages.map(|average| {
            let rounded = average + FIXED_1 / 200;
            format!("{}.{:02}", rounded >> FSHIFT, ((rounded & (FIXED_1 - 1)) * 100) >> FSHIFT)
        });
        format!("{one} {five} {fifteen} {running}/{total} {last_pid}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_load_is_approached_at_each_rate() {
        let mut load = LoadAverage::default();
        assert_eq!(load.proc_line(1, 3, 7), "0.00 0.00 0.00 1/3 7\n");
        load.sample(2);
        // One sample of 2: 2 * (1 - 1884/2048) = 0.16 for the 1-minute average.
        assert_eq!(load.proc_line(1, 1, 1), "0.16 0.03 0.01 1/1 1\n");
        for _ in 0..12 {
            load.sample(2);
        }
        // 65 s of it: 1 - e^(-65/60) of the way for the 1-minute average, 1 -
        // e^(-65/300) for the 5-minute one, 1 - e^(-65/900) for the 15-minute one.
        assert_eq!(load.proc_line(1, 1, 1), "1.33 0.39 0.14 1/1 1\n");
        for _ in 0..1000 {
            load.sample(2);
        }
        assert_eq!(load.proc_line(1, 1, 1), "2.00 2.00 2.00 1/1 1\n");
        for _ in 0..1000 {
            load.sample(0);
        }
        assert_eq!(load.proc_line(0, 1, 1), "0.00 0.00 0.00 0/1 1\n");
        assert_eq!(load.fixed_point(), [0, 0, 0]);
    }
}
