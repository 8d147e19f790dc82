//! Records in Redis: a hash per record (`v`: version, `d`: value) under
//! `<prefix>record:<key>`, expiring by Redis TTL, and two sorted sets: `<prefix>records`, every
//! record's key (score 0, so `ZRANGEBYLEX` lists a prefix in byte order), and
//! `<prefix>records:expiry`, the keys of records with an expiry (score: when, in Unix
//! milliseconds), from which the write script drops the index entries of expired records.

use std::time::SystemTime;

use mpp_core::{Put, Record, RecordStore, StoreError};

use crate::clock::unix_millis;

use super::{MAX_TTL_MS, RedisStore};

/// `put_record`: writes when the stored version (none for no record, or an expired one)
/// is the expected one, and returns the new version (0: a conflict, nothing written).
/// KEYS: record, index, expiry index. ARGV: key, expected version ('' for none), value,
/// time to live in ms ('' for none, '0' for already expired), expiry (Unix ms), now (Unix ms),
/// the record keys' prefix.
const PUT: &str = r"
local current = redis.call('HGET', KEYS[1], 'v')
if (current or '') ~= ARGV[2] then
    return 0
end
if ARGV[4] == '0' then
    -- Written already expired: it reads as absent at once.
    redis.call('DEL', KEYS[1])
    redis.call('ZREM', KEYS[2], ARGV[1])
    redis.call('ZREM', KEYS[3], ARGV[1])
    return (tonumber(current) or 0) + 1
end
local version = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HSET', KEYS[1], 'd', ARGV[3])
if ARGV[4] == '' then
    redis.call('PERSIST', KEYS[1])
    redis.call('ZREM', KEYS[3], ARGV[1])
else
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
    redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
-- Drop the index entries of a few records that expired (Redis deleted their hashes), so the
-- sets do not grow without bound.
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[6], 'LIMIT', 0, 16)) do
    if redis.call('EXISTS', ARGV[7] .. key) == 0 then
        redis.call('ZREM', KEYS[2], key)
        redis.call('ZREM', KEYS[3], key)
    end
end
return version
";

/// `delete_record`. KEYS: record, index, expiry index. ARGV: key.
const DELETE: &str = r"
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[3], ARGV[1])
";

/// `list_records`: `{key, version, value}` for each live record in the lexical range, in
/// order; drops the index entries of expired records on the way. KEYS: index, expiry index.
/// ARGV: range start, range end, the record keys' prefix.
const LIST: &str = r"
local out = {}
for _, key in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2])) do
    local record = redis.call('HMGET', ARGV[3] .. key, 'v', 'd')
    if record[1] then
        out[#out + 1] = {key, record[1], record[2]}
    else
        redis.call('ZREM', KEYS[1], key)
        redis.call('ZREM', KEYS[2], key)
    end
end
return out
";

impl RedisStore {
    fn record_key(&self, key: &str) -> String {
        format!("{}{key}", self.inner.record_prefix)
    }
}

impl RecordStore for RedisStore {
    async fn get_record(&self, key: &str) -> Result<Option<Record>, StoreError> {
        let mut get = redis::cmd("HMGET");
        get.arg(self.record_key(key)).arg("v").arg("d");
        match self.run("get_record", get).await? {
            (Some(version), Some(value)) => Ok(Some(Record::new(value, version))),
            (None, None) => Ok(None),
            _ => Err(StoreError::Backend(
                format!("the record {key:?} lacks its version or value").into(),
            )),
        }
    }

    async fn put_record(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &[u8],
        expires_at: Option<SystemTime>,
    ) -> Result<Put, StoreError> {
        let now = SystemTime::now();
        // Redis refuses expiry times past its clock's range; a century is plenty.
        let ttl_ms = expires_at.map(|at| {
            at.duration_since(now).map_or(0, |ttl| {
                u64::try_from(ttl.as_millis())
                    .unwrap_or(MAX_TTL_MS)
                    .min(MAX_TTL_MS)
            })
        });
        let i = &self.inner;
        let record_key = self.record_key(key);
        let mut put = self.eval(PUT, &[&record_key, &i.records_key, &i.expiry_key]);
        put.arg(key)
            .arg(expected.map(|v| v.to_string()).unwrap_or_default())
            .arg(value)
            .arg(ttl_ms.map(|ms| ms.to_string()).unwrap_or_default())
            .arg(expires_at.map_or(0, unix_millis))
            .arg(unix_millis(now))
            .arg(&i.record_prefix);
        let version: u64 = self.run("put_record", put).await?;
        Ok(if version == 0 {
            Put::Conflict
        } else {
            Put::Written(version)
        })
    }

    async fn delete_record(&self, key: &str) -> Result<(), StoreError> {
        let i = &self.inner;
        let record_key = self.record_key(key);
        let mut delete = self.eval(DELETE, &[&record_key, &i.records_key, &i.expiry_key]);
        delete.arg(key);
        self.run::<u64>("delete_record", delete).await.map(drop)
    }

    async fn list_records(&self, prefix: &str) -> Result<Vec<(String, Record)>, StoreError> {
        // Every key with the prefix lies in [prefix, prefix + 0xFF): no UTF-8 text holds the
        // byte 0xFF, and the range has no pattern characters to escape.
        let start = [b"[", prefix.as_bytes()].concat();
        let end = [b"(", prefix.as_bytes(), &[0xff]].concat();
        let i = &self.inner;
        let mut list = self.eval(LIST, &[&i.records_key, &i.expiry_key]);
        list.arg(start).arg(end).arg(&i.record_prefix);
        let listed: Vec<(String, u64, Vec<u8>)> = self.run("list_records", list).await?;
        Ok(listed
            .into_iter()
            .map(|(key, version, value)| (key, Record::new(value, version)))
            .collect())
    }
}
