//! Whether a system is up or down, from its probes, without crying wolf: down after `failures`
//! consecutive failed probes *and* a failure ratio over the last `window` probes; up again after
//! `successes` consecutive successful ones. A single failed probe never changes anything.

use super::config::Thresholds;

/// What kabar believes of a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not probed enough yet to say; treated as up (no recovery is proposed from here).
    Unknown,
    Up,
    Down,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Up => "up",
            Health::Down => "down",
        }
    }

    pub fn parse(text: &str) -> Option<Health> {
        match text {
            "unknown" => Some(Health::Unknown),
            "up" => Some(Health::Up),
            "down" => Some(Health::Down),
            _ => None,
        }
    }
}

/// The running tally of one system's probes, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub health: Health,
    pub failures_in_row: u32,
    pub successes_in_row: u32,
    /// The last probes, oldest first (`true`: it answered as expected), at most `window` long.
    pub recent: Vec<bool>,
    /// Outages so far: a proposal belongs to one.
    pub episode: i64,
}

/// A change of health that the last probe caused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    WentDown,
    CameBack,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            health: Health::Unknown,
            failures_in_row: 0,
            successes_in_row: 0,
            recent: Vec::new(),
            episode: 0,
        }
    }
}

impl Tally {
    /// Counts one probe; returns the change of health it caused, if any.
    pub fn record(&mut self, ok: bool, thresholds: &Thresholds) -> Option<Transition> {
        let window = thresholds.window.max(1) as usize;
        self.recent.push(ok);
        if self.recent.len() > window {
            let excess = self.recent.len() - window;
            self.recent.drain(..excess);
        }
        if ok {
            self.successes_in_row = self.successes_in_row.saturating_add(1);
            self.failures_in_row = 0;
        } else {
            self.failures_in_row = self.failures_in_row.saturating_add(1);
            self.successes_in_row = 0;
        }
        match self.health {
            Health::Down if self.successes_in_row >= thresholds.successes => {
                self.health = Health::Up;
                Some(Transition::CameBack)
            }
            Health::Down => None,
            Health::Up | Health::Unknown
                if self.failures_in_row >= thresholds.failures
                    && self.failure_ratio() >= thresholds.failure_ratio =>
            {
                self.health = Health::Down;
                self.episode += 1;
                Some(Transition::WentDown)
            }
            Health::Up | Health::Unknown => {
                if ok && self.health == Health::Unknown && self.successes_in_row >= thresholds.successes {
                    self.health = Health::Up;
                }
                None
            }
        }
    }

    /// The share of failed probes among the recent ones.
    pub fn failure_ratio(&self) -> f64 {
        if self.recent.is_empty() {
            return 0.0;
        }
        self.recent.iter().filter(|ok| !**ok).count() as f64 / self.recent.len() as f64
    }

    /// `recent` as stored: `1` for a success, `0` for a failure.
    pub fn recent_text(&self) -> String {
        self.recent.iter().map(|ok| if *ok { '1' } else { '0' }).collect()
    }

    pub fn parse_recent(text: &str) -> Vec<bool> {
        text.chars().map(|c| c == '1').collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULTS: Thresholds = Thresholds { failures: 3, window: 10, failure_ratio: 0.5, successes: 3 };

    fn run(tally: &mut Tally, probes: &str) -> Vec<Transition> {
        probes.chars().filter_map(|c| tally.record(c == '1', &DEFAULTS)).collect()
    }

    #[test]
    fn three_failures_in_a_row_are_an_outage_and_three_successes_its_end() {
        let mut tally = Tally::default();
        assert_eq!(run(&mut tally, "00"), []);
        assert_eq!(run(&mut tally, "0"), [Transition::WentDown]);
        assert_eq!((tally.health, tally.episode), (Health::Down, 1));
        assert_eq!(run(&mut tally, "0011"), [], "still down: two successes are not three");
        assert_eq!(run(&mut tally, "1"), [Transition::CameBack]);
        assert_eq!(run(&mut tally, "111"), []);
        assert_eq!(tally.health, Health::Up);
    }

    #[test]
    fn a_single_failure_or_a_flapping_system_is_not_an_outage() {
        let mut tally = Tally::default();
        assert_eq!(run(&mut tally, "1110111011101110"), []);
        assert_eq!(tally.health, Health::Up);
        // Three in a row but only 3 of the last 10 failed: below the ratio.
        let mut tally = Tally::default();
        assert_eq!(run(&mut tally, "1111111000"), []);
        assert_eq!(tally.health, Health::Up);
        assert_eq!(run(&mut tally, "00"), [Transition::WentDown], "5 of the last 10 failed now");
    }

    #[test]
    fn the_window_keeps_only_the_last_probes() {
        let mut tally = Tally::default();
        run(&mut tally, &"1".repeat(25));
        assert_eq!(tally.recent.len(), 10);
        assert_eq!(tally.recent_text(), "1111111111");
        assert_eq!(Tally::parse_recent("1011"), [true, false, true, true]);
    }

    #[test]
    fn each_outage_is_a_new_episode() {
        let mut tally = Tally::default();
        run(&mut tally, "000111000");
        assert_eq!(tally.episode, 2);
        assert_eq!(Health::parse(tally.health.as_str()), Some(Health::Down));
    }
}
