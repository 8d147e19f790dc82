//! A refused credential never locks the honest payer out. Through our axum server on a local
//! chain, for every place a single-use proof is claimed (a pushed transaction's hash, a signed
//! pull transaction, a sponsored `0x78` envelope, a RedotPay crypto reference): the payer pays
//! for its challenge; a second party presents the same proof under a fresh challenge of its own
//! and is refused (402, the reason in the problem detail, nothing in the ledger, nothing
//! broadcast); the payer's own credential then gets 200 with a receipt, once; a third use is
//! refused.

mod common;

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use mpp::client::{PaymentResponse, TempoProvider};
use mpp::redotpay::server::{RedotPayCharge, TempoCryptoVerifier};
use mpp::redotpay::{CryptoRail, RedotPayPayload};
use mpp::server::{Mpp, RequirePaymentLayer};
use mpp::tempo::PATH_USD;
use mpp::{
    Challenge, ChargeMode, ChargeParams, Credential, LedgerQuery, PaymentPayload,
    PaymentProvider as _, PrivateKeySigner, Problem, ProblemType, Receipt, ReplayStore,
    SharedStore, www_authenticate,
};
use mpp_testkit::alloy_primitives::Address;
use mpp_testkit::{FundedKey, TempoChain};

use common::chain::balance;
use common::our_server::{REALM, secret, serve_with_store, tempo_charge};

/// The price of `/paid`: 0.25 pathUSD.
const PRICE: &str = "0.25";
const PRICE_UNITS: u128 = 250_000;
/// What a self-paying key holds on top of the price for its fee.
const FEE_BUDGET: u128 = 50_000;

/// A fresh challenge from `url`.
async fn challenge(url: &str) -> Challenge {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 402);
    www_authenticate::from_headers(response.headers())
        .into_iter()
        .next()
        .expect("a challenge")
        .unwrap()
}

/// What the server answered a credential.
enum Answer {
    Paid(Receipt),
    Refused(Problem),
}

async fn present(url: &str, credential: &Credential) -> Answer {
    let response = reqwest::Client::new()
        .get(url)
        .header("authorization", credential.to_header_value().unwrap())
        .send()
        .await
        .unwrap();
    if response.status() == 200 {
        return Answer::Paid(response.payment_receipt().unwrap().unwrap());
    }
    assert_eq!(response.status(), 402);
    assert!(response.payment_receipt().is_none());
    Answer::Refused(response.json().await.unwrap())
}

fn paid(answer: Answer) -> Receipt {
    match answer {
        Answer::Paid(receipt) => receipt,
        Answer::Refused(problem) => panic!("refused: {problem:?}"),
    }
}

fn refused(answer: Answer, kind: ProblemType, detail: &str) {
    match answer {
        Answer::Paid(receipt) => panic!("paid: {receipt:?}"),
        Answer::Refused(problem) => {
            assert_eq!(problem.problem_type, kind, "{problem:?}");
            assert!(problem.detail.contains(detail), "{problem:?}");
        }
    }
}

async fn ledger_rows(store: &SharedStore) -> usize {
    store.ledger(&LedgerQuery::default()).await.unwrap().len()
}

fn did(chain: &TempoChain, address: Address) -> String {
    format!("did:pkh:eip155:{}:{address}", chain.chain_id())
}

/// One Tempo route and a payer: `mode` offered (sponsored from a fresh key when `sponsored`).
struct TempoCase {
    chain: TempoChain,
    recipient: Address,
    store: SharedStore,
    url: String,
    payer: FundedKey,
}

impl TempoCase {
    async fn start(mode: ChargeMode, sponsored: bool) -> Self {
        let chain = TempoChain::start().await.unwrap();
        let recipient = PrivateKeySigner::random().address();
        let sponsor = match sponsored {
            true => Some(chain.funded_key(1_000_000).await.unwrap()),
            false => None,
        };
        let method = tempo_charge(&chain, recipient, Some(mode), sponsor.as_ref()).await;
        let store = SharedStore::default();
        let url = serve_with_store(method, store.clone(), ChargeParams::new(PRICE)).await;
        let payer = chain.funded_key(PRICE_UNITS + FEE_BUDGET).await.unwrap();
        Self {
            chain,
            recipient,
            store,
            url,
            payer,
        }
    }

    fn provider(&self) -> TempoProvider {
        TempoProvider::new(self.payer.signer().clone(), self.chain.rpc_url()).unwrap()
    }

    /// The payer answers a fresh challenge; `proof` is the payload it produced.
    async fn payer_credential(&self) -> Credential {
        self.provider()
            .pay(&challenge(&self.url).await)
            .await
            .unwrap()
    }

    /// The honest credential pays once after the forgeries: 200, a receipt, one ledger row,
    /// the recipient paid the price once; a third use is refused.
    async fn pays_once(&self, credential: &Credential, reference: &str) {
        let receipt = paid(present(&self.url, credential).await);
        assert_eq!(receipt.reference, reference);
        assert_eq!(ledger_rows(&self.store).await, 1);
        refused(
            present(&self.url, credential).await,
            ProblemType::VerificationFailed,
            "already used",
        );
        assert_eq!(balance(&self.chain, self.recipient).await, PRICE_UNITS);
        assert_eq!(ledger_rows(&self.store).await, 1);
    }
}

#[tokio::test]
async fn a_forged_push_hash_does_not_lock_the_payer_out() {
    let case = TempoCase::start(ChargeMode::Push, false).await;
    let own = case.payer_credential().await;
    let hash = own
        .payload
        .get_str("hash")
        .expect("a push credential")
        .to_owned();
    // The hash is on chain: the payer has paid.
    assert_eq!(balance(&case.chain, case.recipient).await, PRICE_UNITS);

    // A stranger presents it under its own fresh challenge, naming the payer or itself.
    let stranger = PrivateKeySigner::random().address();
    for (source, reason) in [
        (
            did(&case.chain, case.payer.address()),
            "no matching payment",
        ),
        (
            did(&case.chain, stranger),
            "not sent by the credential's source",
        ),
    ] {
        let forged = Credential::new(
            challenge(&case.url).await.to_echo(),
            PaymentPayload::hash(&hash),
        )
        .with_source(source);
        refused(
            present(&case.url, &forged).await,
            ProblemType::VerificationFailed,
            reason,
        );
        assert_eq!(ledger_rows(&case.store).await, 0);
    }
    case.pays_once(&own, &hash).await;
}

async fn forged_pull_transaction(sponsored: bool) {
    let case = TempoCase::start(ChargeMode::Pull, sponsored).await;
    let own = case.payer_credential().await;
    let signed = own.payload.get_str("signature").unwrap().to_owned();
    assert_eq!(&signed[..4], if sponsored { "0x78" } else { "0x76" });

    // A second party that got hold of the signed bytes presents them under its own challenge.
    let forged = Credential::new(
        challenge(&case.url).await.to_echo(),
        PaymentPayload::transaction(&signed),
    )
    .with_source(did(&case.chain, case.payer.address()));
    refused(
        present(&case.url, &forged).await,
        ProblemType::VerificationFailed,
        "no matching payment",
    );
    assert_eq!(ledger_rows(&case.store).await, 0);
    // Nothing was broadcast.
    assert_eq!(balance(&case.chain, case.recipient).await, 0);
    let receipt = paid(present(&case.url, &own).await);
    assert!(receipt.reference.starts_with("0x"));
    refused(
        present(&case.url, &own).await,
        ProblemType::VerificationFailed,
        "already used",
    );
    assert_eq!(balance(&case.chain, case.recipient).await, PRICE_UNITS);
    assert_eq!(ledger_rows(&case.store).await, 1);
}

#[tokio::test]
async fn a_forged_pull_transaction_does_not_lock_the_payer_out() {
    forged_pull_transaction(false).await;
}

#[tokio::test]
async fn a_forged_sponsored_transaction_does_not_lock_the_payer_out() {
    forged_pull_transaction(true).await;
}

/// RedotPay's crypto rail binds nothing to a challenge: a hash pays whichever challenge it
/// satisfies first. A stranger presenting it where it does not pay (a dearer route) is refused
/// and uses nothing up; the payer's own credential still pays.
#[tokio::test]
async fn a_refused_redotpay_reference_does_not_lock_the_payer_out() {
    let chain = TempoChain::start().await.unwrap();
    let recipient = PrivateKeySigner::random().address();
    let method = RedotPayCharge::builder()
        .currency("usd")
        .crypto(CryptoRail::new(
            chain.chain_id(),
            PATH_USD.to_string(),
            recipient.to_string(),
        ))
        .verify_crypto(
            TempoCryptoVerifier::with_timeout(chain.rpc_url(), Duration::from_secs(10)).unwrap(),
        )
        .build()
        .unwrap();
    let store = SharedStore::default();
    let mpp = Mpp::builder()
        .method(method)
        .realm(REALM)
        .secret(secret())
        .store(store.clone())
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/paid",
            get(|| async { "paid" }).layer(RequirePaymentLayer::new(
                mpp.clone(),
                ChargeParams::new("0.25"),
            )),
        )
        .route(
            "/dear",
            get(|| async { "dear" })
                .layer(RequirePaymentLayer::new(mpp, ChargeParams::new("1.00"))),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (cheap, dear) = (format!("{base}/paid"), format!("{base}/dear"));

    // The payer pays 0.25 on chain for its challenge of /paid.
    let own_challenge = challenge(&cheap).await;
    let hash = chain.fund(PATH_USD, recipient, PRICE_UNITS).await.unwrap();
    let payload = RedotPayPayload::crypto(chain.chain_id(), PATH_USD.to_string(), hash.to_string());
    let own = Credential::new(own_challenge.to_echo(), payload.to_payload());

    let forged = Credential::new(challenge(&dear).await.to_echo(), payload.to_payload());
    refused(
        present(&dear, &forged).await,
        ProblemType::VerificationFailed,
        "Crypto payment verification failed",
    );
    assert_eq!(ledger_rows(&store).await, 0);
    let receipt = paid(present(&cheap, &own).await);
    assert!(
        receipt.reference.ends_with(&hash.to_string()),
        "{receipt:?}"
    );
    refused(
        present(&cheap, &own).await,
        ProblemType::VerificationFailed,
        "already used",
    );
    // The reference is used up for every challenge now.
    let again = Credential::new(challenge(&cheap).await.to_echo(), payload.to_payload());
    refused(
        present(&cheap, &again).await,
        ProblemType::VerificationFailed,
        "already used",
    );
    assert_eq!(ledger_rows(&store).await, 1);
    assert_eq!(balance(&chain, recipient).await, PRICE_UNITS);
}
