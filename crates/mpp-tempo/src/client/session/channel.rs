//! [`SessionChannel`]: what the payer keeps about a channel, one record per payer, chain,
//! escrow, payee and token in the channel store, changed only by compare-and-set.

use alloy::primitives::{Address, B256, Bytes};
use mpp_core::{Amount, Put, RecordStore, SharedStore};
use serde::{Deserialize, Serialize};

use super::error::ChannelError;
use crate::session::{ChannelDescriptor, Escrow, SessionProtocol, VoucherSignature};

/// The prefix of every payer channel record's key.
const KEY_PREFIX: &str = "tempo:session:payer:";
/// How often a write that lost a race to another writer is tried again.
const MAX_CONFLICTS: usize = 64;

/// A payment channel as its payer knows it: what it deposited, the highest voucher it signed,
/// and what the server's receipts say it accepted and spent. Amounts are in base units.
///
/// The record is written before the credential that depends on it leaves the provider, so a
/// cumulative amount is never signed twice, nor lower, across restarts of a process that keeps
/// its channels in a durable store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SessionChannel {
    /// The channel.
    pub channel_id: B256,
    /// Which channel contract it lives in.
    pub protocol: SessionProtocol,
    /// The escrow's address.
    pub escrow: Address,
    /// The chain.
    pub chain_id: u64,
    /// Who opened it, for whom, in what token.
    pub descriptor: ChannelDescriptor,
    /// Everything this payer deposited (the opening deposit and its top-ups).
    pub deposit: Amount,
    /// The highest cumulative amount this payer signed.
    pub cumulative: Amount,
    /// The signature of that voucher.
    pub signature: Bytes,
    /// The highest `acceptedCumulative` a server receipt reported.
    pub accepted: Amount,
    /// The highest `spent` a server receipt reported.
    pub spent: Amount,
    /// The URL of the resource the channel was opened for: its close is sent there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Whether it still pays.
    pub status: ChannelStatus,
}

/// Whether a channel still pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
#[non_exhaustive]
pub enum ChannelStatus {
    /// It pays for requests.
    Open,
    /// The server closed it cooperatively: the payee took what was spent and the rest went
    /// back to the payer.
    #[serde(rename_all = "camelCase")]
    Closed {
        /// The close transaction.
        tx_hash: B256,
    },
    /// The server said it no longer knows the channel (or that it is closed or closing); a new
    /// one replaces it. Whatever its deposit still holds comes back through the escrow's
    /// `requestClose` and `withdraw`.
    Gone,
}

impl SessionChannel {
    /// The escrow the channel lives in.
    pub fn escrow(&self) -> Escrow {
        Escrow::with_protocol(self.protocol, self.escrow, self.chain_id)
    }

    /// True while the channel pays for requests.
    pub fn is_open(&self) -> bool {
        self.status == ChannelStatus::Open
    }

    /// Every channel kept in `store`, of every payer, in key order (a provider's own are
    /// [`TempoProvider::channels`](crate::TempoProvider::channels)).
    pub async fn all(store: &SharedStore) -> Result<Vec<Self>, ChannelError> {
        Ok(under(store, KEY_PREFIX)
            .await?
            .into_iter()
            .map(|(_, channel)| channel)
            .collect())
    }

    /// The highest voucher's signature.
    pub(crate) fn voucher_signature(&self) -> Result<VoucherSignature, ChannelError> {
        VoucherSignature::from_bytes(&self.signature).map_err(ChannelError::Session)
    }
}

/// Where the channel of `payer` on `escrow` paying `payee` in `token` is kept.
pub(crate) fn key(payer: Address, escrow: &Escrow, payee: Address, token: Address) -> String {
    format!(
        "{}{}:{:x}:{:x}:{:x}",
        payer_prefix(payer),
        escrow.chain_id(),
        escrow.address(),
        payee,
        token
    )
}

/// The prefix of `payer`'s records.
pub(crate) fn payer_prefix(payer: Address) -> String {
    format!("{KEY_PREFIX}{payer:x}:")
}

/// A channel read from the store, with the version a write must name.
pub(crate) struct Stored {
    pub(crate) channel: SessionChannel,
    pub(crate) version: u64,
}

fn decode(bytes: &[u8]) -> Result<SessionChannel, ChannelError> {
    serde_json::from_slice(bytes).map_err(|e| ChannelError::Record(e.to_string()))
}

fn encode(channel: &SessionChannel) -> Result<Vec<u8>, ChannelError> {
    serde_json::to_vec(channel).map_err(|e| ChannelError::Record(e.to_string()))
}

/// Reads the channel under `key`.
pub(crate) async fn load(store: &SharedStore, key: &str) -> Result<Option<Stored>, ChannelError> {
    let Some(record) = store.get_record(key).await? else {
        return Ok(None);
    };
    Ok(Some(Stored {
        channel: decode(&record.value)?,
        version: record.version,
    }))
}

/// Writes `channel` under `key` if the record is still at `expected` (`None`: absent). False
/// when another writer came first.
pub(crate) async fn put(
    store: &SharedStore,
    key: &str,
    expected: Option<u64>,
    channel: &SessionChannel,
) -> Result<bool, ChannelError> {
    let put = store
        .put_record(key, expected, &encode(channel)?, None)
        .await?;
    Ok(matches!(put, Put::Written(_)))
}

/// Changes the channel under `key` atomically, if it is still `channel_id`: `change` sees the
/// stored state. Returns the state written, or `None` when the store holds another channel (or
/// none).
pub(crate) async fn update(
    store: &SharedStore,
    key: &str,
    channel_id: B256,
    mut change: impl FnMut(&mut SessionChannel),
) -> Result<Option<SessionChannel>, ChannelError> {
    for _ in 0..MAX_CONFLICTS {
        let Some(Stored {
            mut channel,
            version,
        }) = load(store, key).await?
        else {
            return Ok(None);
        };
        if channel.channel_id != channel_id {
            return Ok(None);
        }
        change(&mut channel);
        if put(store, key, Some(version), &channel).await? {
            return Ok(Some(channel));
        }
        tokio::task::yield_now().await;
    }
    Err(ChannelError::Record(format!(
        "channel {channel_id} changed {MAX_CONFLICTS} times under this write"
    )))
}

/// Every channel of `payer` in the store, with its key.
pub(crate) async fn list(
    store: &SharedStore,
    payer: Address,
) -> Result<Vec<(String, SessionChannel)>, ChannelError> {
    under(store, &payer_prefix(payer)).await
}

/// The channels whose keys start with `prefix`, with their keys.
async fn under(
    store: &SharedStore,
    prefix: &str,
) -> Result<Vec<(String, SessionChannel)>, ChannelError> {
    let mut channels = Vec::new();
    for (key, record) in store.list_records(prefix).await? {
        channels.push((key, decode(&record.value)?));
    }
    Ok(channels)
}

/// The channel `channel_id` of `payer`, with its key.
pub(crate) async fn find(
    store: &SharedStore,
    payer: Address,
    channel_id: B256,
) -> Result<(String, SessionChannel), ChannelError> {
    list(store, payer)
        .await?
        .into_iter()
        .find(|(_, channel)| channel.channel_id == channel_id)
        .ok_or(ChannelError::UnknownChannel(channel_id))
}

#[cfg(test)]
mod tests {
    use alloy::primitives::address;
    use mpp_core::{MemoryStore, SharedStore};

    use super::*;
    use crate::session::TIP20_CHANNEL_RESERVE;

    fn channel(id: u8) -> SessionChannel {
        let payer = address!("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720");
        SessionChannel {
            channel_id: B256::repeat_byte(id),
            protocol: SessionProtocol::V2,
            escrow: TIP20_CHANNEL_RESERVE,
            chain_id: 31337,
            descriptor: ChannelDescriptor {
                payer,
                payee: Address::repeat_byte(2),
                operator: Address::ZERO,
                token: Address::repeat_byte(3),
                salt: B256::repeat_byte(4),
                authorized_signer: payer,
                expiring_nonce_hash: B256::repeat_byte(5),
            },
            deposit: Amount::new(50_000),
            cumulative: Amount::new(20_000),
            signature: Bytes::from_static(&[1; 65]),
            accepted: Amount::new(20_000),
            spent: Amount::new(10_000),
            url: Some("http://127.0.0.1:1/paid".into()),
            status: ChannelStatus::Open,
        }
    }

    #[test]
    fn records_round_trip_and_keys_are_per_payer() {
        let open = channel(1);
        let json = serde_json::to_value(&open).unwrap();
        assert_eq!(json["status"], serde_json::json!({"state": "open"}));
        assert_eq!(json["deposit"], "50000");
        assert_eq!(decode(&encode(&open).unwrap()).unwrap(), open);
        let mut closed = open.clone();
        closed.status = ChannelStatus::Closed {
            tx_hash: B256::repeat_byte(9),
        };
        let json = serde_json::to_value(&closed).unwrap();
        assert_eq!(json["status"]["state"], "closed");
        assert_eq!(decode(&encode(&closed).unwrap()).unwrap(), closed);
        assert!(decode(b"{}").is_err());

        let escrow = open.escrow();
        let payer = open.descriptor.payer;
        let key = key(payer, &escrow, open.descriptor.payee, open.descriptor.token);
        assert!(key.starts_with(&payer_prefix(payer)), "{key}");
        assert_eq!(key, key.to_lowercase());
        assert_ne!(
            key,
            super::key(
                Address::repeat_byte(7),
                &escrow,
                open.descriptor.payee,
                open.descriptor.token
            )
        );
    }

    #[tokio::test]
    async fn writes_are_compare_and_set() {
        let store = SharedStore::new(MemoryStore::new());
        let open = channel(1);
        let payer = open.descriptor.payer;
        let key = "tempo:session:payer:test";
        assert!(put(&store, key, None, &open).await.unwrap());
        // A writer that read nothing loses to the first one.
        assert!(!put(&store, key, None, &channel(2)).await.unwrap());
        let stored = load(&store, key).await.unwrap().unwrap();
        assert_eq!(stored.channel, open);
        let raised = update(&store, key, open.channel_id, |c| {
            c.cumulative = Amount::new(30_000)
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(raised.cumulative, Amount::new(30_000));
        // A write naming the version read before that update conflicts.
        assert!(!put(&store, key, Some(stored.version), &open).await.unwrap());
        // An update of another channel changes nothing.
        assert!(
            update(&store, key, B256::ZERO, |c| c.cumulative = Amount::new(0))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            load(&store, key).await.unwrap().unwrap().channel.cumulative,
            Amount::new(30_000)
        );
        // Listing finds this payer's records only.
        let real = super::key(
            payer,
            &open.escrow(),
            open.descriptor.payee,
            open.descriptor.token,
        );
        assert!(put(&store, &real, None, &open).await.unwrap());
        let listed = list(&store, payer).await.unwrap();
        assert_eq!(listed, vec![(real.clone(), open.clone())]);
        assert_eq!(find(&store, payer, open.channel_id).await.unwrap().0, real);
        assert!(matches!(
            find(&store, payer, B256::ZERO).await,
            Err(ChannelError::UnknownChannel(_))
        ));
        assert!(
            list(&store, Address::repeat_byte(7))
                .await
                .unwrap()
                .is_empty()
        );
    }
}
