//! The contract checks of records ([`RecordStore`]): compare-and-set, one winner among
//! concurrent writers, no lost update, expiry, delete, listing by prefix, large values, and
//! (with [`Suite::reopen`](super::Suite::reopen)) durability.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mpp_core::{Claim, Put, Record, RecordStore, ReplayStore};
use tokio::sync::Barrier;

use super::checks::{Tester, later};
use super::{Failure, Reopen};

/// The name of the records' durability check, which runs only with `Suite::reopen`.
pub(super) const SURVIVE_REOPEN: &str = "records_survive_reopen";

/// The size of the large values: a stored response of a few hundred KiB.
const LARGE: usize = 512 * 1024;

/// How many read-modify-write rounds each writer makes in the lost-update check.
const INCREMENTS: usize = 5;

/// Gives up on a writer that made no progress in this many attempts (a store that never
/// lets a write through).
const MAX_ATTEMPTS: usize = 10_000;

impl Tester {
    async fn expect_put<S: RecordStore>(
        self,
        store: &S,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        expires_at: Option<SystemTime>,
        outcome: Put,
    ) -> Result<(), Failure> {
        let got = self.ok(store.put_record(key, expected, value, expires_at).await)?;
        if got == outcome {
            Ok(())
        } else {
            Err(self.fail(format!(
                "put_record({key:?}, expected {expected:?}) gave {got:?}, expected {outcome:?}"
            )))
        }
    }

    async fn expect_record<S: RecordStore>(
        self,
        store: &S,
        key: &str,
        expected: Option<(&[u8], u64)>,
    ) -> Result<(), Failure> {
        let got = self.ok(store.get_record(key).await)?;
        let expected = expected.map(|(value, version)| Record::new(value.to_vec(), version));
        if got == expected {
            return Ok(());
        }
        Err(self.fail(match (got, expected) {
            (Some(got), Some(expected)) if got.version == expected.version => format!(
                "get_record({key:?}) gave version {} with other bytes ({} bytes, expected {})",
                got.version,
                got.value.len(),
                expected.value.len()
            ),
            (got, expected) => format!(
                "get_record({key:?}) gave {}, expected {}",
                describe(got.as_ref()),
                describe(expected.as_ref())
            ),
        }))
    }

    /// `list_records(prefix)` lists exactly `expected` (keys and records), in that order.
    async fn expect_records<S: RecordStore>(
        self,
        store: &S,
        prefix: &str,
        expected: &[(String, Record)],
    ) -> Result<(), Failure> {
        let got = self.ok(store.list_records(prefix).await)?;
        let listing = format!("list_records({prefix:?})");
        self.expect_listing(&listing, "records", &got, expected, |(key, record)| {
            format!("{key:?}@{}", record.version)
        })
    }

    /// Creates when absent, and only then; a conflict writes nothing; records and claims of
    /// one key are separate.
    pub(super) async fn record_created_only_if_absent<S: ReplayStore>(
        self,
        store: &S,
    ) -> Result<(), Failure> {
        self.expect_record(store, "new:1", None).await?;
        self.expect_put(store, "new:1", Some(1), b"x", None, Put::Conflict)
            .await?;
        self.expect_record(store, "new:1", None).await?;
        self.expect_put(store, "new:1", None, b"first", None, Put::Written(1))
            .await?;
        self.expect_record(store, "new:1", Some((b"first", 1)))
            .await?;
        self.expect_put(store, "new:1", None, b"second", None, Put::Conflict)
            .await?;
        self.expect_record(store, "new:1", Some((b"first", 1)))
            .await?;
        self.expect_record(store, "new:2", None).await?;
        self.expect_claim(store, "new:1", later(), Claim::Claimed)
            .await?;
        self.expect_record(store, "new:1", Some((b"first", 1)))
            .await?;
        self.expect_put(store, "new:2", None, b"other", None, Put::Written(1))
            .await?;
        self.expect_claim(store, "new:2", later(), Claim::Claimed)
            .await
    }

    /// Each write names the version it read and makes the next one; a stale or unknown
    /// version conflicts and writes nothing.
    pub(super) async fn record_compare_and_set<S: RecordStore>(
        self,
        store: &S,
    ) -> Result<(), Failure> {
        self.expect_put(store, "cas", None, b"v1", None, Put::Written(1))
            .await?;
        for version in 1..10u64 {
            let value = format!("v{}", version + 1);
            self.expect_put(
                store,
                "cas",
                Some(version),
                value.as_bytes(),
                None,
                Put::Written(version + 1),
            )
            .await?;
            self.expect_record(store, "cas", Some((value.as_bytes(), version + 1)))
                .await?;
        }
        for stale in [Some(9), Some(1), Some(0), Some(11), Some(u64::MAX), None] {
            self.expect_put(store, "cas", stale, b"stale", None, Put::Conflict)
                .await?;
        }
        self.expect_record(store, "cas", Some((b"v10", 10))).await?;
        self.expect_put(store, "cas", Some(10), b"v11", None, Put::Written(11))
            .await?;
        // Another key keeps its own versions.
        self.expect_put(store, "cas2", None, b"w1", None, Put::Written(1))
            .await?;
        self.expect_record(store, "cas", Some((b"v11", 11))).await
    }

    /// `writers` concurrent writes naming one version: exactly one is written, the others
    /// conflict, none errs, and the record holds the winner's value. Creation races too.
    pub(super) async fn concurrent_record_writes<S: RecordStore>(
        self,
        store: S,
        writers: usize,
    ) -> Result<(), Failure> {
        let store = Arc::new(store);
        let mut expected = None;
        for round in 0..4u64 {
            let outcomes = self
                .race_puts(&store, "contended", expected, writers)
                .await?;
            let winners: Vec<_> = outcomes
                .iter()
                .filter(|(_, put)| *put != Put::Conflict)
                .collect();
            let [(winner, put)] = winners.as_slice() else {
                return Err(self.fail(format!(
                    "{writers} concurrent writes naming version {expected:?} (round {round}) \
                     gave {} writes, expected exactly 1",
                    winners.len()
                )));
            };
            let version = round + 1;
            if *put != Put::Written(version) {
                return Err(self.fail(format!(
                    "the write that won round {round} gave {put:?}, expected Written({version})"
                )));
            }
            let value = racer_value(*winner, round);
            self.expect_record(&*store, "contended", Some((&value, version)))
                .await?;
            expected = Some(version);
        }
        Ok(())
    }

    /// Spawns `writers` tasks, lines them up on a barrier, and puts `key` from all at once.
    async fn race_puts<S: RecordStore>(
        self,
        store: &Arc<S>,
        key: &str,
        expected: Option<u64>,
        writers: usize,
    ) -> Result<Vec<(usize, Put)>, Failure> {
        let round = expected.unwrap_or(0);
        let barrier = Arc::new(Barrier::new(writers));
        let tasks: Vec<_> = (0..writers)
            .map(|writer| {
                let barrier = Arc::clone(&barrier);
                let store = Arc::clone(store);
                let key = key.to_owned();
                tokio::spawn(async move {
                    let value = racer_value(writer, round);
                    barrier.wait().await;
                    store.put_record(&key, expected, &value, None).await
                })
            })
            .collect();
        let mut outcomes = Vec::with_capacity(writers);
        for (writer, task) in tasks.into_iter().enumerate() {
            let outcome = task
                .await
                .map_err(|e| self.fail(format!("a writing task failed: {e}")))?;
            outcomes.push((writer, self.ok(outcome)?));
        }
        Ok(outcomes)
    }

    /// Concurrent writers each add one to a counter, several times, by reading it and writing
    /// it back naming the version read (retrying on conflict): no increment is lost, and the
    /// version counts the writes.
    pub(super) async fn concurrent_increments<S: RecordStore>(
        self,
        store: S,
        writers: usize,
    ) -> Result<(), Failure> {
        let writers = writers.min(10);
        let store = Arc::new(store);
        let barrier = Arc::new(Barrier::new(writers));
        let tasks: Vec<_> = (0..writers)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    barrier.wait().await;
                    for _ in 0..INCREMENTS {
                        self.increment(&*store, "counter").await?;
                    }
                    Ok::<_, Failure>(())
                })
            })
            .collect();
        for task in tasks {
            task.await
                .map_err(|e| self.fail(format!("an incrementing task failed: {e}")))??;
        }
        let total = writers * INCREMENTS;
        let got = self.ok(store.get_record("counter").await)?;
        let count = got.as_ref().and_then(|record| counter_value(&record.value));
        let version = got.as_ref().map(|record| record.version);
        if count == Some(total) && version == Some(u64::try_from(total).unwrap_or(0)) {
            Ok(())
        } else {
            Err(self.fail(format!(
                "{writers} writers adding 1 to a counter {INCREMENTS} times each left it at \
                 {count:?} (version {version:?}), expected {total}: a write that named a \
                 version was lost"
            )))
        }
    }

    /// One read-modify-write round on the counter at `key`, retried until it is written.
    async fn increment<S: RecordStore>(self, store: &S, key: &str) -> Result<(), Failure> {
        for _ in 0..MAX_ATTEMPTS {
            let current = self.ok(store.get_record(key).await)?;
            let (expected, count) = match &current {
                None => (None, 0),
                Some(record) => {
                    let count = counter_value(&record.value).ok_or_else(|| {
                        self.fail(format!(
                            "the counter holds {:?}, not a number",
                            String::from_utf8_lossy(&record.value)
                        ))
                    })?;
                    (Some(record.version), count)
                }
            };
            let next = (count + 1).to_string();
            let put = self.ok(store.put_record(key, expected, next.as_bytes(), None).await)?;
            if put != Put::Conflict {
                return Ok(());
            }
        }
        Err(self.fail(format!(
            "a writer got a conflict {MAX_ATTEMPTS} times in a row"
        )))
    }

    /// A record with an expiry reads (and lists) as absent once it passed, and may be created
    /// again; a write replaces the expiry, adding or dropping it.
    pub(super) async fn records_expire<S: RecordStore>(
        self,
        store: &S,
        expiry: Duration,
    ) -> Result<(), Failure> {
        // Each expiry is set just before it is needed, so that a slow machine does not see a
        // record expire before the check has seen it live.
        let soon = || Some(SystemTime::now() + expiry);
        self.expect_put(store, "exp:kept", None, b"k1", soon(), Put::Written(1))
            .await?;
        self.expect_put(store, "exp:kept", Some(1), b"k2", None, Put::Written(2))
            .await?;
        self.expect_put(store, "exp:gains", None, b"g1", None, Put::Written(1))
            .await?;
        self.expect_put(store, "exp:gains", Some(1), b"g2", soon(), Put::Written(2))
            .await?;
        let last = soon();
        self.expect_put(store, "exp:short", None, b"s1", last, Put::Written(1))
            .await?;
        self.expect_record(store, "exp:short", Some((b"s1", 1)))
            .await?;
        let listed = [
            entry("exp:gains", b"g2", 2),
            entry("exp:kept", b"k2", 2),
            entry("exp:short", b"s1", 1),
        ];
        self.expect_records(store, "exp:", &listed).await?;
        // Wait past the expiry (and a margin for stores that expire lazily).
        let left = last
            .and_then(|last| last.duration_since(SystemTime::now()).ok())
            .unwrap_or_default();
        tokio::time::sleep(left + expiry / 2 + Duration::from_millis(50)).await;
        self.expect_record(store, "exp:short", None).await?;
        self.expect_record(store, "exp:gains", None).await?;
        self.expect_record(store, "exp:kept", Some((b"k2", 2)))
            .await?;
        self.expect_records(store, "exp:", &[entry("exp:kept", b"k2", 2)])
            .await?;
        // An expired record is gone, its version with it: it is created again, as version 1.
        self.expect_put(store, "exp:short", Some(1), b"s2", None, Put::Conflict)
            .await?;
        self.expect_put(store, "exp:short", None, b"s2", None, Put::Written(1))
            .await?;
        self.expect_record(store, "exp:short", Some((b"s2", 1)))
            .await?;
        // A record written already expired reads as absent at once.
        let past = Some(SystemTime::now() - Duration::from_secs(5));
        self.expect_put(store, "exp:past", None, b"p1", past, Put::Written(1))
            .await?;
        self.expect_record(store, "exp:past", None).await?;
        self.expect_put(store, "exp:past", None, b"p2", None, Put::Written(1))
            .await?;
        self.expect_record(store, "exp:past", Some((b"p2", 1)))
            .await
    }

    /// Delete removes a record whatever its version, and only that record.
    pub(super) async fn record_delete<S: RecordStore>(self, store: &S) -> Result<(), Failure> {
        self.expect_put(store, "del:1", None, b"a", None, Put::Written(1))
            .await?;
        self.expect_put(store, "del:1", Some(1), b"b", None, Put::Written(2))
            .await?;
        self.expect_put(store, "del:2", None, b"c", Some(later()), Put::Written(1))
            .await?;
        self.ok(store.delete_record("del:1").await)?;
        self.ok(store.delete_record("del:1").await)?;
        self.ok(store.delete_record("del:never").await)?;
        self.expect_record(store, "del:1", None).await?;
        self.expect_record(store, "del:2", Some((b"c", 1))).await?;
        self.expect_records(store, "del:", &[entry("del:2", b"c", 1)])
            .await?;
        self.expect_put(store, "del:1", Some(2), b"d", None, Put::Conflict)
            .await?;
        self.expect_put(store, "del:1", None, b"d", None, Put::Written(1))
            .await?;
        self.expect_record(store, "del:1", Some((b"d", 1))).await
    }

    /// Listing by prefix: exactly the live keys that start with it, in key (byte) order,
    /// whatever pattern characters (`%`, `_`, `*`, `?`, `[`, `\`) prefix and keys hold.
    pub(super) async fn records_listed_by_prefix<S: RecordStore>(
        self,
        store: &S,
    ) -> Result<(), Failure> {
        self.expect_records(store, "", &[]).await?;
        let mut live = Vec::new();
        // Written in an order that is not key order; every third one twice.
        for (i, key) in PREFIX_KEYS.iter().rev().enumerate() {
            self.expect_put(store, key, None, key.as_bytes(), None, Put::Written(1))
                .await?;
            let mut version = 1;
            if i % 3 == 0 {
                self.expect_put(store, key, Some(1), key.as_bytes(), None, Put::Written(2))
                    .await?;
                version = 2;
            }
            live.push(entry(key, key.as_bytes(), version));
        }
        let past = Some(SystemTime::now() - Duration::from_secs(5));
        self.expect_put(store, "ch:a%expired", None, b"x", past, Put::Written(1))
            .await?;
        live.sort_by(|a, b| a.0.cmp(&b.0));
        for prefix in LIST_PREFIXES {
            let expected: Vec<_> = live
                .iter()
                .filter(|(key, _)| key.starts_with(prefix))
                .cloned()
                .collect();
            self.expect_records(store, prefix, &expected).await?;
        }
        Ok(())
    }

    /// Values of hundreds of KiB, every byte value, and the empty value come back byte for
    /// byte, through `get_record` and `list_records`.
    pub(super) async fn large_values<S: RecordStore>(self, store: &S) -> Result<(), Failure> {
        let (big, bigger) = (noise(LARGE, 1), noise(LARGE, 2));
        self.expect_put(store, "big:1", None, &big, Some(later()), Put::Written(1))
            .await?;
        self.expect_record(store, "big:1", Some((&big, 1))).await?;
        self.expect_put(store, "big:1", Some(1), &bigger, None, Put::Written(2))
            .await?;
        self.expect_record(store, "big:1", Some((&bigger, 2)))
            .await?;
        let odd: &[u8] = &[0, 0xff, 0xfe, b'\'', b'"', b'\\', 0, b'%', 0xc3];
        for (key, value) in [("big:2", &[][..]), ("big:3", odd)] {
            self.expect_put(store, key, None, value, None, Put::Written(1))
                .await?;
            self.expect_record(store, key, Some((value, 1))).await?;
        }
        let listed = [
            entry("big:1", &bigger, 2),
            entry("big:2", b"", 1),
            entry("big:3", odd, 1),
        ];
        self.expect_records(store, "big:", &listed).await
    }
}

/// Records written before `reopen` are there after it, at their versions, and compare-and-set
/// carries on from them.
pub(super) async fn survive_reopen<S: ReplayStore>(
    store: S,
    reopen: &Reopen<'_, S>,
) -> Result<(), Failure> {
    let t = Tester::new(SURVIVE_REOPEN);
    let big = noise(LARGE, 3);
    t.expect_put(&store, "keep:a", None, b"a1", None, Put::Written(1))
        .await?;
    t.expect_put(&store, "keep:a", Some(1), b"a2", None, Put::Written(2))
        .await?;
    t.expect_put(&store, "keep:a", Some(2), b"a3", None, Put::Written(3))
        .await?;
    t.expect_put(
        &store,
        "keep:big",
        None,
        &big,
        Some(later()),
        Put::Written(1),
    )
    .await?;
    t.expect_put(&store, "keep:gone", None, b"g", None, Put::Written(1))
        .await?;
    t.ok(store.delete_record("keep:gone").await)?;
    let store = reopen(store).await;
    t.expect_record(&store, "keep:a", Some((b"a3", 3))).await?;
    t.expect_record(&store, "keep:big", Some((&big, 1))).await?;
    t.expect_record(&store, "keep:gone", None).await?;
    let listed = [entry("keep:a", b"a3", 3), entry("keep:big", &big, 1)];
    t.expect_records(&store, "keep:", &listed).await?;
    t.expect_put(&store, "keep:a", Some(2), b"stale", None, Put::Conflict)
        .await?;
    t.expect_put(&store, "keep:a", Some(3), b"a4", None, Put::Written(4))
        .await?;
    t.expect_record(&store, "keep:a", Some((b"a4", 4))).await
}

/// Keys for the listing check: shared prefixes, pattern characters of SQL `LIKE` and Redis
/// globs, case, non-ASCII text and code points at the edges of UTF-8's ranges.
const PREFIX_KEYS: [&str; 24] = [
    "",
    "CH:a",
    "cg:z",
    "ch",
    "ch:",
    "ch:a",
    "ch:a%",
    "ch:a%b",
    "ch:a_",
    "ch:a_b",
    "ch:ab",
    "ch:aXb",
    "ch:a*",
    "ch:a*b",
    "ch:a?",
    "ch:[a]",
    "ch:a\\",
    "ch:a\\%",
    "ch:z",
    "ch:é",
    "ch:\u{D7FF}",
    "ch:\u{E000}",
    "ch:\u{10FFFF}x",
    "ci:",
];

/// The prefixes listed in the listing check.
const LIST_PREFIXES: [&str; 20] = [
    "",
    "c",
    "ch",
    "ch:",
    "ch:a",
    "ch:a%",
    "ch:a_",
    "ch:a*",
    "ch:a?",
    "ch:[",
    "ch:[a]",
    "ch:a\\",
    "ch:a[",
    "ch:é",
    "ch:\u{D7FF}",
    "ch:\u{10FFFF}",
    "%",
    "_",
    "*",
    "nothing",
];

fn entry(key: &str, value: &[u8], version: u64) -> (String, Record) {
    (key.to_owned(), Record::new(value.to_vec(), version))
}

/// The value writer `writer` puts in round `round` of a race.
fn racer_value(writer: usize, round: u64) -> Vec<u8> {
    format!("round {round}, writer {writer}").into_bytes()
}

fn counter_value(value: &[u8]) -> Option<usize> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

fn describe(record: Option<&Record>) -> String {
    match record {
        None => "no record".to_owned(),
        Some(record) => format!("version {} ({} bytes)", record.version, record.value.len()),
    }
}

/// `len` bytes that start with every byte value once, then pseudo-random ones from `seed`
/// (xorshift): no pattern a store could compress away or mangle unnoticed.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..=u8::MAX)
        .chain(std::iter::repeat_with(move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        }))
        .take(len)
        .collect()
}
