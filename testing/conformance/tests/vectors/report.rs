//! The tally of a run: per vector file, how many scenarios ran, passed and were skipped (and
//! why), and every failure in full.

use std::collections::BTreeMap;
use std::fmt;

use crate::check::Verdict;

#[derive(Debug, Default)]
struct Tally {
    ran: usize,
    passed: usize,
    skipped: BTreeMap<String, usize>,
}

#[derive(Debug, Default)]
pub(crate) struct Report {
    files: BTreeMap<String, Tally>,
    failures: Vec<String>,
}

impl Report {
    pub(crate) fn record(&mut self, file: &str, scenario: &str, verdict: Verdict) {
        let tally = self.files.entry(file.to_owned()).or_default();
        match verdict {
            Verdict::Passed => {
                tally.ran += 1;
                tally.passed += 1;
            }
            Verdict::Failed(reasons) => {
                tally.ran += 1;
                for reason in reasons {
                    self.failures.push(format!("{file} / {scenario}: {reason}"));
                }
            }
            Verdict::Skipped(reason) => *tally.skipped.entry(reason).or_default() += 1,
        }
    }

    pub(crate) fn ran(&self) -> usize {
        self.files.values().map(|t| t.ran).sum()
    }

    pub(crate) fn failures(&self) -> &[String] {
        &self.failures
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mut ran, mut passed, mut skipped) = (0, 0, 0);
        for (file, tally) in &self.files {
            let skips: usize = tally.skipped.values().sum();
            write!(
                f,
                "{file}: ran {}, passed {}, skipped {skips}",
                tally.ran, tally.passed
            )?;
            for (reason, count) in &tally.skipped {
                write!(f, " ({count} {reason})")?;
            }
            writeln!(f)?;
            (ran, passed, skipped) = (ran + tally.ran, passed + tally.passed, skipped + skips);
        }
        writeln!(
            f,
            "all vectors: ran {ran}, passed {passed}, skipped {skipped}"
        )
    }
}
