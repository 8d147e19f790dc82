//! The payment methods `serve` and `proxy` offer (`tempo`, `redotpay`) and the RedotPay
//! crypto-rail payer `pay` uses.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mpp::redotpay::client::OnChainPayer;
use mpp::redotpay::server::{BalanceCheck, RedotPayCharge, TempoCryptoVerifier};
use mpp::redotpay::{CryptoEntry, CryptoRail};
use mpp::server::{Mpp, MppBuilder};
use mpp::tempo::{TIP20_DECIMALS, TempoCharge, TempoSession};
use mpp::{
    Challenge, EncodedJson, MppError, PaymentProvider as _, PrivateKeySigner, ServerSecret,
    SharedStore,
};
use serde_json::json;

use crate::key::hex_of;
use crate::serve::build_error;
use crate::{fail, output};

/// How long a RedotPay reference (an rdt or a transaction) stays claimed: a transaction hash
/// stays valid on chain long after its challenge has expired.
const REFERENCE_RETENTION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// A payment method the server can offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Offered {
    Tempo,
    /// Tempo's `session` intent (`mpp serve --intent session`).
    TempoSession,
    RedotPay,
}

impl Offered {
    /// The method named `name`, or `None` for an unknown name.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "tempo" => Some(Self::Tempo),
            "redotpay" => Some(Self::RedotPay),
            _ => None,
        }
    }

    /// The method's name on the wire.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Tempo | Self::TempoSession => "tempo",
            Self::RedotPay => "redotpay",
        }
    }
}

/// The valid rdts of `--redotpay-rdt-file`: one per line, blank lines ignored.
pub(crate) fn read_rdt_file(path: &Path) -> anyhow::Result<Arc<HashSet<String>>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        fail::input(
            format!("Could not read the rdt file {}: {e}.", path.display()),
            "Pass --redotpay-rdt-file with a file holding one valid rdt per line.",
        )
    })?;
    let rdts: HashSet<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    if rdts.is_empty() {
        return Err(fail::input(
            format!("The rdt file {} holds no rdt.", path.display()),
            "Write one valid rdt per line, or leave --redotpay-rdt-file out to offer the crypto rail alone.",
        ));
    }
    Ok(Arc::new(rdts))
}

/// The RedotPay method: its crypto rail pays `recipient` in the token `currency` on the Tempo
/// chain `chain_id`, checked on chain through `rpc_url`; the balance rail is offered only when
/// `rdts` lists the valid rdts. References are single use through `store`.
pub(crate) fn redotpay_method(
    chain_id: u64,
    rpc_url: &str,
    recipient: &str,
    currency: &str,
    rdts: Option<Arc<HashSet<String>>>,
    store: SharedStore,
) -> anyhow::Result<RedotPayCharge> {
    let verifier = TempoCryptoVerifier::new(rpc_url).map_err(|e| {
        build_error(
            "the RedotPay crypto rail cannot start",
            e,
            "Pass --rpc-url with the http(s) URL of a Tempo node.",
        )
    })?;
    let mut builder = RedotPayCharge::builder()
        .currency(currency)
        .recipient(recipient)
        .crypto(CryptoRail::new(chain_id, currency, recipient))
        .verify_crypto(verifier)
        .store(store)
        .reference_retention(REFERENCE_RETENTION);
    if let Some(rdts) = rdts {
        builder = builder
            .balance()
            .verify_balance(move |check: BalanceCheck| {
                let rdts = Arc::clone(&rdts);
                async move { rdts.contains(check.rdt.trim()) }
            });
    }
    builder.build().map_err(|e| {
        build_error(
            "the RedotPay method cannot start",
            e,
            "Check --recipient and --currency.",
        )
    })
}

/// The payment handler offering `offered`, in that order (one challenge each in a 402), on
/// top of `builder` (realm, secret, store and the rest already set).
pub(crate) fn handler(
    offered: &[Offered],
    tempo: &TempoCharge,
    session: Option<&TempoSession>,
    redotpay: Option<&RedotPayCharge>,
    mut builder: MppBuilder,
) -> anyhow::Result<Mpp> {
    for method in offered {
        builder = match (method, redotpay, session) {
            (Offered::Tempo, ..) => builder.method(tempo.clone()),
            (Offered::TempoSession, _, Some(session)) => builder.method(session.clone()),
            (Offered::RedotPay, Some(redotpay), _) => builder.method(redotpay.clone()),
            (Offered::TempoSession | Offered::RedotPay, ..) => builder,
        };
    }
    builder.build().map_err(|e| {
        build_error(
            "the payment handler cannot start",
            e,
            "Check the realm and the secret.",
        )
    })
}

/// How often a running server looks for settlements left pending (a ledger write that failed
/// while the store was away, another replica that died).
const RECOVER_EVERY: Duration = Duration::from_secs(60);

/// Finishes the settlements an earlier run left pending (`Mpp::recover`), says what it did,
/// and keeps doing so every minute while the server runs.
pub(crate) async fn recover(mpp: &Mpp) -> anyhow::Result<()> {
    let done = mpp.recover().await.map_err(|e| {
        build_error(
            "the pending settlements cannot be read",
            e,
            "Check that the store is reachable.",
        )
    })?;
    if done.recorded + done.abandoned + done.unresolved > 0 {
        output::step(&format!(
            "settlements left by an earlier run: {} recorded, {} abandoned, {} still open",
            done.recorded, done.abandoned, done.unresolved
        ));
    }
    let mpp = mpp.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(RECOVER_EVERY).await;
            // Failures are logged by the store; the next pass tries again.
            let _ = mpp.recover().await;
        }
    });
    Ok(())
}

/// Pays RedotPay crypto entries on a Tempo chain with a TIP-20 transfer from one key,
/// broadcast and mined before the hash is returned.
pub(crate) struct TempoOnChain {
    provider: mpp::client::TempoProvider,
}

impl TempoOnChain {
    pub(crate) fn new(provider: mpp::client::TempoProvider) -> Self {
        Self { provider }
    }

    async fn pay(&self, entry: CryptoEntry) -> Result<String, MppError> {
        let amount = entry
            .base_units(u32::from(TIP20_DECIMALS))
            .map_err(|e| MppError::InvalidChallenge(e.to_string()))?;
        // The entry as a push-mode Tempo charge, which the Tempo provider pays on chain.
        let request = EncodedJson::from_json(json!({
            "amount": amount.to_string(),
            "currency": entry.currency.trim(),
            "recipient": entry.recipient.trim(),
            "methodDetails": {"chainId": entry.chain_id, "supportedModes": ["push"]},
        }))
        .map_err(|e| MppError::InvalidChallenge(e.to_string()))?;
        let secret = ServerSecret::new(hex_of(&PrivateKeySigner::random().to_bytes().0).as_str())
            .map_err(MppError::other)?;
        let challenge = Challenge::builder("redotpay-crypto-rail", "tempo", "charge", request)
            .expires_in(Duration::from_secs(120))
            .bind(&secret);
        let credential = self.provider.pay(&challenge).await?;
        credential
            .payload
            .get_str("hash")
            .map(str::to_owned)
            .ok_or_else(|| MppError::other("the Tempo payment did not return a transaction hash"))
    }
}

impl OnChainPayer for TempoOnChain {
    fn pay_on_chain(
        &self,
        entry: &CryptoEntry,
    ) -> impl std::future::Future<Output = Result<String, MppError>> + Send {
        self.pay(entry.clone())
    }
}
