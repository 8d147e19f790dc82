//! Sessions on a session-ready local chain: our `TempoSession` behind the axum layer, and a
//! hand-made payer that builds and signs every session credential itself (also the malformed
//! ones a well-behaved client never sends).

use std::num::NonZeroU64;
use std::time::{SystemTime, UNIX_EPOCH};

use alloy::eips::Encodable2718;
use alloy::signers::SignerSync;
use axum::Router;
use axum::routing::get;
use mpp::server::{Mpp, RequirePaymentLayer};
use mpp::tempo::{
    ChannelDescriptor, Escrow, OpenCall, OpenPayload, PATH_USD, SessionPayload, TempoCharge,
    TempoSession, TempoSessionBuilder, TopUpPayload, Voucher, VoucherPayload, expiring_nonce_hash,
};
use mpp::{
    Amount, Challenge, ChargeParams, Credential, PrivateKeySigner, Problem, Receipt, SharedStore,
    www_authenticate,
};
use mpp_testkit::alloy_primitives::{Address, B256};
use mpp_testkit::{ALPHA_USD, FundedKey, TempoChain, TempoChainOptions};
use tempo_alloy::primitives::transaction::{Call, TEMPO_EXPIRING_NONCE_KEY};
use tempo_alloy::primitives::{TempoSignature, TempoTransaction, TempoTxEnvelope};

use super::our_server::{REALM, secret};

/// What a request costs: 0.01 pathUSD.
pub(crate) const PRICE: &str = "0.01";
pub(crate) const PRICE_UNITS: u128 = 10_000;
/// What every party holds in AlphaUSD to pay its fees (so pathUSD moves by exactly the channel
/// amounts).
pub(crate) const FEE_FUNDS: u128 = 5_000_000;

/// A session-ready chain (reserve installed, legacy escrow deployed, relay in front).
pub(crate) async fn chain() -> TempoChain {
    TempoChain::start_with(TempoChainOptions::default().sessions())
        .await
        .unwrap()
}

/// A session-ready chain, a payer holding pathUSD that approved both channel contracts, and a
/// payee holding pathUSD for its fees (it sends the close).
pub(crate) struct Parties {
    pub(crate) chain: TempoChain,
    pub(crate) payer: FundedKey,
    pub(crate) payee: FundedKey,
}

impl Parties {
    /// The parties, the payer holding `payer_funds` and the payee `fee_funds`.
    pub(crate) async fn start(payer_funds: u128, fee_funds: u128) -> Self {
        let chain = chain().await;
        let payer = chain
            .session_payer(&[(PATH_USD, payer_funds)])
            .await
            .unwrap();
        let payee = chain.funded_key(fee_funds).await.unwrap();
        Self {
            chain,
            payer,
            payee,
        }
    }
}

/// The escrow of a protocol on `chain`: the reserve, or the legacy escrow.
pub(crate) fn escrow(chain: &TempoChain, legacy: bool) -> Escrow {
    match legacy {
        false => Escrow::new(mpp::tempo::TIP20_CHANNEL_RESERVE, chain.chain_id()),
        true => Escrow::new(chain.legacy_escrow().unwrap(), chain.chain_id()),
    }
}

/// A payee key holding AlphaUSD for its settlement fees.
pub(crate) async fn payee(chain: &TempoChain) -> FundedKey {
    chain
        .funded_key_with(&[(ALPHA_USD, FEE_FUNDS)])
        .await
        .unwrap()
}

/// Our session method on `chain` for `escrow`, paying `payee`, keeping channels in `store`.
pub(crate) async fn session(
    chain: &TempoChain,
    escrow: &Escrow,
    payee: &FundedKey,
    store: SharedStore,
) -> TempoSession {
    session_with(chain, escrow, payee, store, |builder| builder).await
}

/// [`session`] with `configure` applied to its builder.
pub(crate) async fn session_with(
    chain: &TempoChain,
    escrow: &Escrow,
    payee: &FundedKey,
    store: SharedStore,
    configure: impl FnOnce(TempoSessionBuilder) -> TempoSessionBuilder,
) -> TempoSession {
    let charge = TempoCharge::builder()
        .rpc_url(chain.rpc_url())
        .currency(PATH_USD)
        .recipient(payee.address())
        .fee_token(ALPHA_USD)
        .store(store)
        .build()
        .await
        .unwrap();
    let builder = charge
        .session()
        .payee(payee.signer().clone())
        .escrow(escrow.address())
        .suggested_deposit("1");
    configure(builder).build().unwrap()
}

/// Serves `GET /paid` (priced [`PRICE`]) behind `mpp`; returns its URL.
pub(crate) async fn serve(mpp: Mpp) -> String {
    let app = Router::new()
        .route(
            "/paid",
            get(|| async { "paid content" }).post(|| async { "paid content" }),
        )
        .layer(RequirePaymentLayer::new(mpp, ChargeParams::new(PRICE)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/paid", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The handler for `method` with our realm and secret and `store`.
pub(crate) fn handler(method: TempoSession, store: SharedStore) -> Mpp {
    Mpp::builder()
        .method(method)
        .realm(REALM)
        .secret(secret())
        .store(store)
        .build()
        .unwrap()
}

/// A fresh challenge from `url`.
pub(crate) async fn challenge(url: &str) -> Challenge {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 402);
    www_authenticate::from_headers(response.headers())
        .into_iter()
        .next()
        .unwrap()
        .unwrap()
}

/// How the server answered a credential.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) receipt: Option<Receipt>,
    pub(crate) session: Option<String>,
    pub(crate) problem: Option<Problem>,
    pub(crate) body: String,
}

impl Answer {
    /// The receipt's `field`, as text.
    pub(crate) fn field(&self, field: &str) -> String {
        let receipt = self.receipt.as_ref().expect("a receipt");
        match &receipt.extra[field] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }

    /// The problem type's slug.
    pub(crate) fn problem(&self) -> &str {
        self.problem
            .as_ref()
            .expect("a problem")
            .problem_type
            .slug()
    }
}

/// Sends `credential` to `url` with `method` (`GET` asks for content).
pub(crate) async fn present(url: &str, method: reqwest::Method, credential: &Credential) -> Answer {
    let response = reqwest::Client::new()
        .request(method, url)
        .header("authorization", credential.to_header_value().unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let receipt = header("payment-receipt").map(|r| r.parse().unwrap());
    let session = header("payment-session");
    let body = response.text().await.unwrap();
    let problem = serde_json::from_str(&body).ok();
    Answer {
        status,
        receipt,
        session,
        problem,
        body,
    }
}

/// A payer that builds its own session credentials.
pub(crate) struct Payer {
    pub(crate) key: FundedKey,
    pub(crate) escrow: Escrow,
    pub(crate) payee: Address,
}

/// A channel the payer opened: its descriptor and id.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Opened {
    pub(crate) descriptor: ChannelDescriptor,
    pub(crate) id: B256,
}

impl Payer {
    /// A payer holding `funds` pathUSD (and AlphaUSD for fees) that approved both escrows.
    pub(crate) async fn new(
        chain: &TempoChain,
        escrow: Escrow,
        payee: Address,
        funds: u128,
    ) -> Self {
        let key = chain
            .session_payer(&[(PATH_USD, funds), (ALPHA_USD, FEE_FUNDS)])
            .await
            .unwrap();
        Self { key, escrow, payee }
    }

    pub(crate) fn address(&self) -> Address {
        self.key.address()
    }

    fn source(&self) -> String {
        format!(
            "did:pkh:eip155:{}:{}",
            self.escrow.chain_id(),
            self.key.address()
        )
    }

    /// Signs a transaction of `calls` paying fees in AlphaUSD.
    pub(crate) fn sign(&self, calls: Vec<Call>) -> (TempoTransaction, Vec<u8>) {
        let valid_before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 25;
        let tx = TempoTransaction {
            chain_id: self.escrow.chain_id(),
            fee_token: Some(ALPHA_USD),
            max_priority_fee_per_gas: 1_000_000_000,
            max_fee_per_gas: 60_000_000_000,
            gas_limit: 2_500_000,
            calls,
            nonce_key: TEMPO_EXPIRING_NONCE_KEY,
            nonce: 0,
            valid_before: NonZeroU64::new(valid_before),
            ..Default::default()
        };
        let signature = self
            .key
            .signer()
            .sign_hash_sync(&tx.signature_hash())
            .unwrap();
        let raw = TempoTxEnvelope::from(tx.clone().into_signed(TempoSignature::from(signature)))
            .encoded_2718();
        (tx, raw)
    }

    /// The `open` call of a channel with `deposit`, for this payer's payee in pathUSD.
    pub(crate) fn open_call(&self, deposit: u128) -> OpenCall {
        OpenCall {
            payee: self.payee,
            operator: Address::ZERO,
            token: PATH_USD,
            deposit: Amount::new(deposit),
            salt: B256::random(),
            authorized_signer: self.address(),
        }
    }

    /// The channel `open` opens when sent in `tx`.
    pub(crate) fn opened(&self, open: &OpenCall, tx: &TempoTransaction) -> Opened {
        let nonce_hash = match self.escrow.protocol() {
            mpp::tempo::SessionProtocol::V1 => B256::ZERO,
            _ => expiring_nonce_hash(tx, self.address()),
        };
        let descriptor = open.descriptor(self.address(), nonce_hash);
        Opened {
            id: descriptor.channel_id(&self.escrow),
            descriptor,
        }
    }

    /// An `open` credential answering `challenge` with `deposit` and a first voucher for `first`.
    pub(crate) fn open(
        &self,
        challenge: &Challenge,
        deposit: u128,
        first: u128,
    ) -> (Credential, Opened) {
        let open = self.open_call(deposit);
        let (tx, raw) = self.sign(self.escrow.open_calls(&open).unwrap());
        let opened = self.opened(&open, &tx);
        let signature = self.sign_voucher(opened.id, first);
        let mut payload = OpenPayload::new(opened.id, raw, Amount::new(first), signature);
        payload = match self.escrow.protocol() {
            mpp::tempo::SessionProtocol::V1 => payload.with_authorized_signer(self.address()),
            _ => payload.with_descriptor(opened.descriptor),
        };
        (
            self.credential(challenge, SessionPayload::Open(payload)),
            opened,
        )
    }

    /// A voucher signature for `cumulative` on `channel_id`, by this payer.
    pub(crate) fn sign_voucher(
        &self,
        channel_id: B256,
        cumulative: u128,
    ) -> mpp::tempo::VoucherSignature {
        Voucher::new(channel_id, Amount::new(cumulative))
            .sign_sync(&self.escrow, self.key.signer())
            .unwrap()
    }

    /// A `voucher` credential for `cumulative`.
    pub(crate) fn voucher(
        &self,
        challenge: &Challenge,
        opened: &Opened,
        cumulative: u128,
    ) -> Credential {
        let payload = self.voucher_payload(opened, cumulative, self.key.signer());
        self.credential(challenge, SessionPayload::Voucher(payload))
    }

    /// A `close` credential for `cumulative`.
    pub(crate) fn close(
        &self,
        challenge: &Challenge,
        opened: &Opened,
        cumulative: u128,
    ) -> Credential {
        let payload = self.voucher_payload(opened, cumulative, self.key.signer());
        self.credential(challenge, SessionPayload::Close(payload))
    }

    /// A voucher payload signed by `signer`.
    pub(crate) fn voucher_payload(
        &self,
        opened: &Opened,
        cumulative: u128,
        signer: &PrivateKeySigner,
    ) -> VoucherPayload {
        let signature = Voucher::new(opened.id, Amount::new(cumulative))
            .sign_sync(&self.escrow, signer)
            .unwrap();
        let payload =
            VoucherPayload::new(Voucher::new(opened.id, Amount::new(cumulative)), signature);
        match self.escrow.protocol() {
            mpp::tempo::SessionProtocol::V1 => payload,
            _ => payload.with_descriptor(opened.descriptor),
        }
    }

    /// A `topUp` credential adding `amount`.
    pub(crate) fn top_up(
        &self,
        challenge: &Challenge,
        opened: &Opened,
        amount: u128,
    ) -> Credential {
        let (_, raw) = self.sign(
            self.escrow
                .top_up_calls(&opened.descriptor, Amount::new(amount))
                .unwrap(),
        );
        let payload = TopUpPayload::new(opened.id, raw, Amount::new(amount));
        let payload = match self.escrow.protocol() {
            mpp::tempo::SessionProtocol::V1 => payload,
            _ => payload.with_descriptor(opened.descriptor),
        };
        self.credential(challenge, SessionPayload::TopUp(payload))
    }

    /// `payload` as a credential answering `challenge`, from this payer.
    pub(crate) fn credential(&self, challenge: &Challenge, payload: SessionPayload) -> Credential {
        Credential::new(challenge.to_echo(), payload.to_payload()).with_source(self.source())
    }
}
