//! [`RedisStore`]: claims, the ledger, pending settlements and records in Redis, shared by every replica that reaches it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mpp_core::{Claim, LedgerEntry, LedgerQuery, PendingSettlement, ReplayStore, StoreError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, RedisError};

use crate::OpenError;
use crate::clock::unix_millis;
use crate::pending;
use crate::redact::redact;

mod options;
mod records;

/// The longest claim Redis is asked to keep: 100 years, in milliseconds.
const MAX_TTL_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// `record`: drops the pending settlement, and appends the entry unless its method and
/// reference are already recorded. KEYS: ledger, recorded, pending, pending order.
/// ARGV: the settlement's id, the entry as JSON.
const RECORD: &str = r"
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
    redis.call('RPUSH', KEYS[1], ARGV[2])
    return 1
end
return 0
";

/// `begin_settlement`: stores the settlement and (re)places it last in the order.
/// KEYS: pending, pending order, pending sequence. ARGV: the settlement's id, its JSON.
const BEGIN: &str = r"
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], seq, ARGV[1])
return seq
";

/// `abandon_settlement`. KEYS: pending, pending order. ARGV: the settlement's id.
const ABANDON: &str = r"
redis.call('HDEL', KEYS[1], ARGV[1])
return redis.call('ZREM', KEYS[2], ARGV[1])
";

/// `pending_settlements`, oldest first. KEYS: pending, pending order.
const PENDING: &str = r"
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    local json = redis.call('HGET', KEYS[1], id)
    if json then
        out[#out + 1] = json
    end
end
return out
";

/// Fills the set of recorded settlements from a ledger written before the set existed (once:
/// it does nothing when the set exists or the ledger is empty). KEYS: ledger, recorded.
const BACKFILL: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then
    return 0
end
local n = 0
for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
    local ok, entry = pcall(cjson.decode, item)
    if ok and type(entry) == 'table' and type(entry.method) == 'string'
        and type(entry.reference) == 'string' then
        redis.call('SADD', KEYS[2], #entry.method .. ':' .. entry.method .. '\n' .. entry.reference)
        n = n + 1
    end
end
return n
";

pub use options::RedisOptions;

/// A replay store and payment ledger in Redis: one store for every replica of a server.
///
/// - **Atomic claims**: `SET <prefix>claim:<key> <expiry> NX PX <ttl>`; Redis runs commands one
///   at a time, so of any number of concurrent claims from any number of processes exactly one
///   gets [`Claim::Claimed`].
/// - **Expiry**: Redis deletes the key when its TTL (the time left until `expires_at`, by the
///   claiming process's clock) runs out. A claim whose expiry has already passed writes nothing.
/// - **Ledger**: a list at `<prefix>ledger`, one JSON entry per element (`RPUSH`), oldest first,
///   one entry per method and reference: a Lua script pushes an entry only when adding its
///   method and reference to the set `<prefix>recorded` adds something.
/// - **Pending settlements**: JSON values in the hash `<prefix>pending`, ordered by the sorted
///   set `<prefix>pending:order` (scores from the counter `<prefix>pending:seq`); the same
///   script that records an entry removes its pending settlement, atomically. They are as
///   durable as the rest (see below). Every key of a store shares its prefix: on Redis Cluster,
///   give the prefix a hash tag (`{shop}:mpp:`) so the scripts' keys share a slot.
/// - **Records** ([`RecordStore`](mpp_core::RecordStore)): a hash per record at
///   `<prefix>record:<key>` (version and value), expiring by Redis TTL, and every record's key
///   in the sorted set `<prefix>records` for listing (`ZRANGEBYLEX`, byte order, no glob
///   patterns); a Lua script compares the version and writes, so of any number of writes
///   naming one version, from any number of processes, exactly one succeeds. The index entries
///   of expired records are dropped by later writes (a few each, oldest expiry first, from the
///   sorted set `<prefix>records:expiry`) and by listings.
/// - **Durability is Redis's configuration**: a claim is only as durable as Redis makes it.
///   For a hard guarantee run Redis with `appendonly yes` and `appendfsync always` (every write
///   fsynced before Redis answers); `everysec` may lose the last second of claims on a crash,
///   and RDB snapshots alone much more. Replication is asynchronous: a failover can lose
///   acknowledged writes. [`RedisStore::connect`] logs a warning when the server is not set up
///   for `appendfsync always`.
/// - **Outages**: every call is bounded by the operation timeout and fails with
///   [`StoreError::Unavailable`] while Redis is unreachable; the connection is re-established in
///   the background, so the same store works again once Redis is back.
///
/// ```no_run
/// use std::time::{Duration, SystemTime};
/// use mpp_store::{Claim, RedisOptions, RedisStore, ReplayStore};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::connect_with(
///     RedisOptions::new("redis://127.0.0.1:6379/").key_prefix("shop:mpp:"),
/// )
/// .await?;
/// let until = SystemTime::now() + Duration::from_secs(300);
/// assert_eq!(store.claim("tempo:0xabc", until).await?, Claim::Claimed);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    connection: ConnectionManager,
    /// The URL with its password masked, for logs.
    target: String,
    prefix: String,
    ledger_key: String,
    recorded_key: String,
    pending_key: String,
    order_key: String,
    seq_key: String,
    /// `<prefix>record:`, before each record's key.
    record_prefix: String,
    records_key: String,
    expiry_key: String,
    operation_timeout: Duration,
}

impl RedisStore {
    /// Connects to `url` with the default options.
    pub async fn connect(url: &str) -> Result<Self, OpenError> {
        Self::connect_with(RedisOptions::new(url)).await
    }

    /// Connects with `options`. Fails with [`OpenError::Store`] (unavailable) when Redis cannot
    /// be reached within the connect timeout.
    pub async fn connect_with(options: RedisOptions) -> Result<Self, OpenError> {
        let target = redact(&options.url);
        let client = redis::Client::open(options.url.as_str()).map_err(|e| {
            OpenError::Config(format!("invalid Redis URL {target}: {:?}", e.kind()))
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.operation_timeout))
            // Reconnect in the background, a couple of quick tries per failure; calls made
            // meanwhile fail fast instead of queueing behind a long backoff.
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let connecting = ConnectionManager::new_with_config(client, config);
        let limit = options.connect_timeout.saturating_mul(2);
        let connection = match tokio::time::timeout(limit, connecting).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(e)) => {
                let e = redis_error(e);
                tracing::error!(backend = "redis", target = %target, error = %e, "connecting failed");
                return Err(e.into());
            }
            Err(_) => {
                let e = timed_out("connecting", limit);
                tracing::error!(backend = "redis", target = %target, error = %e, "connecting failed");
                return Err(e.into());
            }
        };
        let store = Self {
            inner: Arc::new(Inner {
                connection,
                target,
                ledger_key: format!("{}ledger", options.key_prefix),
                recorded_key: format!("{}recorded", options.key_prefix),
                pending_key: format!("{}pending", options.key_prefix),
                order_key: format!("{}pending:order", options.key_prefix),
                seq_key: format!("{}pending:seq", options.key_prefix),
                record_prefix: format!("{}record:", options.key_prefix),
                records_key: format!("{}records", options.key_prefix),
                expiry_key: format!("{}records:expiry", options.key_prefix),
                prefix: options.key_prefix,
                operation_timeout: options.operation_timeout,
            }),
        };
        store.warn_unless_fsync_always().await;
        let backfill = store.eval(
            BACKFILL,
            &[&store.inner.ledger_key, &store.inner.recorded_key],
        );
        if let Err(e) = store.run::<u64>("connect", backfill).await {
            return Err(e.into());
        }
        Ok(store)
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// Logs a warning when Redis does not fsync every write. Best effort: managed services
    /// often refuse `CONFIG`, and then nothing is said.
    async fn warn_unless_fsync_always(&self) {
        let mut connection = self.inner.connection.clone();
        let mut config_get = redis::cmd("CONFIG");
        config_get.arg("GET").arg("append*");
        let asked = config_get.query_async::<Vec<String>>(&mut connection);
        let Ok(Ok(pairs)) = tokio::time::timeout(self.inner.operation_timeout, asked).await else {
            return;
        };
        let setting = |name: &str| {
            pairs
                .chunks(2)
                .find(|pair| pair.first().is_some_and(|key| key == name))
                .and_then(|pair| pair.get(1).cloned())
                .unwrap_or_default()
        };
        let (aof, fsync) = (setting("appendonly"), setting("appendfsync"));
        if aof != "yes" || fsync != "always" {
            tracing::warn!(
                backend = "redis",
                target = %self.inner.target,
                appendonly = %aof,
                appendfsync = %fsync,
                "Redis does not fsync every write; a crash can lose recent claims and ledger entries \
                 (set appendonly yes and appendfsync always)"
            );
        }
    }

    fn claim_key(&self, key: &str) -> String {
        format!("{}claim:{key}", self.inner.prefix)
    }

    /// An `EVAL` of `script` over `keys`; add the arguments to it.
    fn eval(&self, script: &str, keys: &[&String]) -> Cmd {
        let mut eval = redis::cmd("EVAL");
        eval.arg(script).arg(keys.len());
        for key in keys {
            eval.arg(key.as_str());
        }
        eval
    }

    /// Runs one Redis command within the operation timeout, mapping and logging its failure.
    async fn run<T: FromRedisValue>(
        &self,
        op: &'static str,
        command: Cmd,
    ) -> Result<T, StoreError> {
        let mut connection = self.inner.connection.clone();
        let call = command.query_async::<T>(&mut connection);
        let result = match tokio::time::timeout(self.inner.operation_timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(redis_error(e)),
            Err(_) => Err(timed_out(op, self.inner.operation_timeout)),
        };
        if let Err(e) = &result {
            tracing::error!(backend = "redis", target = %self.inner.target, op, error = %e, "store operation failed");
        }
        result
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("target", &self.inner.target)
            .field("key_prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

impl ReplayStore for RedisStore {
    async fn claim(&self, key: &str, expires_at: SystemTime) -> Result<Claim, StoreError> {
        let redis_key = self.claim_key(key);
        let ttl = expires_at
            .duration_since(SystemTime::now())
            .ok()
            .filter(|ttl| ttl.as_millis() > 0);
        match ttl {
            Some(ttl) => {
                // Redis refuses expiry times past its clock's range; a century is plenty.
                let ttl_ms = u64::try_from(ttl.as_millis())
                    .unwrap_or(MAX_TTL_MS)
                    .min(MAX_TTL_MS);
                let mut set = redis::cmd("SET");
                set.arg(&redis_key)
                    .arg(unix_millis(expires_at))
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms);
                let reply: Option<String> = self.run("claim", set).await?;
                Ok(if reply.is_some() {
                    Claim::Claimed
                } else {
                    Claim::AlreadyClaimed
                })
            }
            // Already expired: such a claim would vanish at once, so only report whether a
            // live claim holds the key.
            None => {
                let mut exists = redis::cmd("EXISTS");
                exists.arg(&redis_key);
                let live: u64 = self.run("claim", exists).await?;
                Ok(if live > 0 {
                    Claim::AlreadyClaimed
                } else {
                    Claim::Claimed
                })
            }
        }
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let mut del = redis::cmd("DEL");
        del.arg(self.claim_key(key));
        self.run::<u64>("release", del).await.map(drop)
    }

    async fn record(&self, entry: LedgerEntry) -> Result<(), StoreError> {
        let json = serde_json::to_string(&entry).map_err(|e| StoreError::Backend(Box::new(e)))?;
        let i = &self.inner;
        let keys = [&i.ledger_key, &i.recorded_key, &i.pending_key, &i.order_key];
        let mut record = self.eval(RECORD, &keys);
        record
            .arg(settlement_id(&entry.method, &entry.reference))
            .arg(json);
        self.run::<u64>("record", record).await.map(drop)
    }

    async fn ledger(&self, query: &LedgerQuery) -> Result<Vec<LedgerEntry>, StoreError> {
        let start = match query.limit {
            Some(0) => return Ok(Vec::new()),
            Some(limit) => i64::try_from(limit).map_or(0, |limit| -limit),
            None => 0,
        };
        let mut range = redis::cmd("LRANGE");
        range.arg(&self.inner.ledger_key).arg(start).arg(-1);
        let items: Vec<String> = self.run("ledger", range).await?;
        items
            .iter()
            .map(|item| serde_json::from_str(item).map_err(|e| StoreError::Backend(Box::new(e))))
            .collect()
    }

    async fn begin_settlement(&self, pending: &PendingSettlement) -> Result<(), StoreError> {
        let json = pending::to_json(pending)?;
        let i = &self.inner;
        let mut begin = self.eval(BEGIN, &[&i.pending_key, &i.order_key, &i.seq_key]);
        begin
            .arg(settlement_id(
                &pending.entry.method,
                &pending.entry.reference,
            ))
            .arg(json);
        self.run::<u64>("begin_settlement", begin).await.map(drop)
    }

    async fn abandon_settlement(&self, method: &str, reference: &str) -> Result<(), StoreError> {
        let i = &self.inner;
        let mut abandon = self.eval(ABANDON, &[&i.pending_key, &i.order_key]);
        abandon.arg(settlement_id(method, reference));
        self.run::<u64>("abandon_settlement", abandon)
            .await
            .map(drop)
    }

    async fn pending_settlements(&self) -> Result<Vec<PendingSettlement>, StoreError> {
        let i = &self.inner;
        let list = self.eval(PENDING, &[&i.pending_key, &i.order_key]);
        let items: Vec<String> = self.run("pending_settlements", list).await?;
        items.iter().map(|item| pending::from_json(item)).collect()
    }
}

/// The member naming a settlement in the recorded set and the pending hash: the method's
/// length, so that no two (method, reference) pairs share one, then method and reference.
fn settlement_id(method: &str, reference: &str) -> String {
    format!("{}:{method}\n{reference}", method.len())
}

/// Connection failures, timeouts and "not now" server answers mean "unavailable"; other
/// errors are backend errors.
fn redis_error(e: RedisError) -> StoreError {
    let transient_code = matches!(
        e.code(),
        Some(
            "LOADING" | "BUSY" | "MASTERDOWN" | "TRYAGAIN" | "CLUSTERDOWN" | "READONLY" | "MISCONF"
        )
    );
    if e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || transient_code
    {
        StoreError::Unavailable(Box::new(e))
    } else {
        StoreError::Backend(Box::new(e))
    }
}

fn timed_out(op: &str, after: Duration) -> StoreError {
    StoreError::Unavailable(format!("Redis did not answer {op} within {after:?}").into())
}
