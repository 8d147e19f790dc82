//! Keeps the last lines a child process printed, for error messages and debugging.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

/// How many lines are kept; anvil prints one line per RPC call, so this is a window, not a log.
const KEPT_LINES: usize = 400;

/// A shared, bounded buffer of the most recent output lines of a process.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutputLog {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl OutputLog {
    fn lock(&self) -> MutexGuard<'_, VecDeque<String>> {
        // A reader thread never panics while holding the lock; recover the data regardless.
        self.lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends one line, dropping the oldest when full.
    pub(crate) fn push(&self, line: String) {
        let mut lines = self.lock();
        if lines.len() == KEPT_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// Drains `stream` on a background thread until the process closes it.
    pub(crate) fn follow(&self, stream: impl Read + Send + 'static, prefix: &'static str) {
        let log = self.clone();
        // The thread ends at EOF, which comes when the child exits; nothing joins it.
        let _detached = thread::Builder::new()
            .name(format!("testkit-{prefix}"))
            .spawn(move || {
                let reader = BufReader::new(stream);
                for line in reader.lines() {
                    match line {
                        Ok(line) => log.push(format!("{prefix}{line}")),
                        Err(_) => break,
                    }
                }
            });
    }

    /// The kept lines joined with newlines.
    pub(crate) fn text(&self) -> String {
        let lines = self.lock();
        let mut out = String::new();
        for line in lines.iter() {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}
