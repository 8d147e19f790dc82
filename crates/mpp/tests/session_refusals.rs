//! Every way a session credential is refused by our server, on a session-ready local chain,
//! each with its problem type: nothing is served (the handler does not run), the channel's
//! credit in the store does not change, and no money moves.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use mpp::server::RequirePaymentLayer;
use mpp::tempo::{
    ITIP20ChannelReserve, OpenPayload, SessionPayload, TIP20_CHANNEL_RESERVE, TempoCharge,
    TempoSession,
};
use mpp::{Amount, Challenge, ChargeParams, Credit, PaymentPayload, PrivateKeySigner, SharedStore};
use mpp_testkit::alloy_primitives::{Address, B256};
use mpp_testkit::{ALPHA_USD, PATH_USD, TempoChain};
use reqwest::Method;
use tempo_alloy::primitives::transaction::Call;

use common::chain::balance;
use common::session::{
    Opened, PRICE, PRICE_UNITS, Payer, chain, challenge, escrow, handler, payee, present,
};

const DEPOSIT: u128 = 100_000;

/// A server with one channel open and one request paid.
struct Setup {
    chain: TempoChain,
    session: TempoSession,
    url: String,
    served: Arc<AtomicUsize>,
    payer: Payer,
    challenge: Challenge,
    opened: Opened,
}

impl Setup {
    async fn start() -> Self {
        let chain = chain().await;
        let escrow = escrow(&chain, false);
        let payee = payee(&chain).await;
        let store = SharedStore::default();
        let charge = TempoCharge::builder()
            .rpc_url(chain.rpc_url())
            .currency(PATH_USD)
            .recipient(payee.address())
            .fee_token(ALPHA_USD)
            .store(store.clone())
            .build()
            .await
            .unwrap();
        let session = charge
            .session()
            .payee(payee.signer().clone())
            .min_voucher_delta("0.005")
            // Read the chain on every voucher, to see a close requested there at once.
            .state_ttl(Duration::ZERO)
            .build()
            .unwrap();
        let served = Arc::new(AtomicUsize::new(0));
        let count = served.clone();
        let app = Router::new()
            .route(
                "/paid",
                get(move || {
                    count.fetch_add(1, Ordering::SeqCst);
                    async { "paid content" }
                }),
            )
            .layer(RequirePaymentLayer::new(
                handler(session.clone(), store),
                ChargeParams::new(PRICE),
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/paid", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let payer = Payer::new(&chain, escrow, payee.address(), 1_000_000).await;
        let challenge = challenge(&url).await;
        let (open, opened) = payer.open(&challenge, DEPOSIT, PRICE_UNITS);
        let answer = present(&url, Method::GET, &open).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        Self {
            chain,
            session,
            url,
            served,
            payer,
            challenge,
            opened,
        }
    }

    async fn credit(&self) -> Credit {
        self.session.channel(self.opened.id).await.unwrap().unwrap()
    }

    /// Sends `credential` and checks it is refused with `status` and `problem`, and that
    /// nothing was served or changed.
    async fn refused(&self, credential: &mpp::Credential, status: u16, problem: &str) {
        let credit = self.credit().await;
        let served = self.served.load(Ordering::SeqCst);
        let payer = balance(&self.chain, self.payer.address()).await;
        let answer = present(&self.url, Method::GET, credential).await;
        assert_eq!(answer.status, status, "{}", answer.body);
        assert_eq!(answer.problem(), problem, "{}", answer.body);
        assert!(answer.receipt.is_none());
        assert_eq!(self.served.load(Ordering::SeqCst), served, "nothing served");
        assert_eq!(self.credit().await, credit, "the channel did not change");
        assert_eq!(balance(&self.chain, self.payer.address()).await, payer);
    }
}

#[tokio::test]
async fn vouchers_that_do_not_pay_are_refused() {
    let setup = Setup::start().await;
    let (payer, challenge, opened) = (&setup.payer, &setup.challenge, &setup.opened);
    let next = 2 * PRICE_UNITS;

    // Signed by another key.
    let stranger = PrivateKeySigner::random();
    let payload = payer.voucher_payload(opened, next, &stranger);
    let forged = payer.credential(challenge, SessionPayload::Voucher(payload));
    setup.refused(&forged, 402, "session/signer-mismatch").await;

    // For another channel: the signature of another channel's voucher, under this one's
    // descriptor.
    let mut other = *opened;
    other.id = B256::random();
    let mut payload = payer.voucher_payload(&other, next, payer.key.signer());
    payload.channel_id = opened.id;
    let misdirected = payer.credential(challenge, SessionPayload::Voucher(payload));
    setup
        .refused(&misdirected, 402, "session/signer-mismatch")
        .await;

    // Above the deposit.
    let greedy = payer.voucher(challenge, opened, DEPOSIT + 1);
    setup
        .refused(&greedy, 402, "session/amount-exceeds-deposit")
        .await;

    // Less than the minimum increase (0.005).
    let small = payer.voucher(challenge, opened, PRICE_UNITS + 1_000);
    setup.refused(&small, 402, "session/delta-too-small").await;

    // A descriptor that does not derive the channel id.
    let mut tampered = *opened;
    tampered.descriptor.salt = B256::random();
    let payload = payer.voucher_payload(&tampered, next, payer.key.signer());
    let mut payload = payload;
    payload.channel_id = opened.id;
    let rederived = payer.credential(challenge, SessionPayload::Voucher(payload));
    setup.refused(&rederived, 402, "verification-failed").await;

    // An unknown action.
    let unknown = mpp::Credential::new(
        challenge.to_echo(),
        PaymentPayload::from_object(
            serde_json::json!({"action": "withdraw", "channelId": opened.id})
                .as_object()
                .cloned()
                .unwrap(),
        ),
    );
    setup.refused(&unknown, 402, "invalid-payload").await;

    // An old voucher, once a higher one was accepted.
    let higher = payer.voucher(challenge, opened, 3 * PRICE_UNITS);
    assert_eq!(present(&setup.url, Method::GET, &higher).await.status, 200);
    let old = payer.voucher(challenge, opened, 2 * PRICE_UNITS);
    setup.refused(&old, 402, "verification-failed").await;

    // A close below what was spent (two requests).
    let short = payer.close(challenge, opened, PRICE_UNITS);
    setup.refused(&short, 402, "verification-failed").await;
    assert_eq!(setup.served.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_closed_channel_and_a_closing_one_are_gone() {
    let setup = Setup::start().await;
    let (payer, challenge, opened) = (&setup.payer, &setup.challenge, &setup.opened);

    // The payer asks the reserve to close the channel.
    let descriptor = opened.descriptor;
    let request_close = ITIP20ChannelReserve::requestCloseCall {
        descriptor: ITIP20ChannelReserve::ChannelDescriptor {
            payer: descriptor.payer,
            payee: descriptor.payee,
            operator: descriptor.operator,
            token: descriptor.token,
            salt: descriptor.salt,
            authorizedSigner: descriptor.authorized_signer,
            expiringNonceHash: descriptor.expiring_nonce_hash,
        },
    };
    let call = Call {
        to: TIP20_CHANNEL_RESERVE.into(),
        value: Default::default(),
        input: alloy::sol_types::SolCall::abi_encode(&request_close).into(),
    };
    let (_, raw) = payer.sign(vec![call]);
    let mined = setup.chain.send_raw_transaction_sync(&raw).await.unwrap();
    assert_eq!(mined["status"], "0x1");
    let voucher = payer.voucher(challenge, opened, 2 * PRICE_UNITS);
    let answer = present(&setup.url, Method::GET, &voucher).await;
    assert_eq!(answer.status, 410, "{}", answer.body);
    assert_eq!(answer.problem(), "session/channel-finalized");
    assert_eq!(setup.served.load(Ordering::SeqCst), 1);

    // The payee's recovery pass closes it before the grace period ends: it captures what was
    // spent and refunds the rest.
    let recovery = mpp::ServerMethod::recover(&setup.session).await.unwrap();
    assert_eq!(recovery.recorded, 1, "{recovery:?}");
    assert_eq!(
        balance(&setup.chain, setup.payer.address()).await,
        1_000_000 - PRICE_UNITS
    );
    // Closed: another voucher is refused.
    let after = present(&setup.url, Method::GET, &voucher).await;
    assert_eq!(after.status, 410);
    assert_eq!(after.problem(), "session/channel-finalized");
}

#[tokio::test]
async fn opens_for_another_payee_token_or_contract_are_refused_before_anything_moves() {
    let setup = Setup::start().await;
    let (payer, challenge) = (&setup.payer, &setup.challenge);
    let before = balance(&setup.chain, payer.address()).await;
    let refused =
        |status: u16, slug: &'static str, open: mpp::tempo::OpenCall, to: Option<Address>| {
            let mut calls = payer.escrow.open_calls(&open).unwrap();
            if let Some(to) = to {
                for call in &mut calls {
                    call.to = to.into();
                }
            }
            let (tx, raw) = payer.sign(calls);
            let opened = payer.opened(&open, &tx);
            let signature = payer.sign_voucher(opened.id, PRICE_UNITS);
            let payload = OpenPayload::new(opened.id, raw, Amount::new(PRICE_UNITS), signature)
                .with_descriptor(opened.descriptor);
            let credential = payer.credential(challenge, SessionPayload::Open(payload));
            let url = setup.url.clone();
            async move {
                let answer = present(&url, Method::GET, &credential).await;
                assert_eq!(answer.status, status, "{}", answer.body);
                assert_eq!(answer.problem(), slug, "{}", answer.body);
            }
        };
    let mut other_payee = payer.open_call(DEPOSIT);
    other_payee.payee = PrivateKeySigner::random().address();
    refused(402, "verification-failed", other_payee, None).await;
    let mut other_token = payer.open_call(DEPOSIT);
    other_token.token = ALPHA_USD;
    refused(402, "verification-failed", other_token, None).await;
    let elsewhere = payer.open_call(DEPOSIT);
    refused(
        402,
        "verification-failed",
        elsewhere,
        Some(setup.chain.legacy_escrow().unwrap()),
    )
    .await;
    assert_eq!(balance(&setup.chain, payer.address()).await, before);
    assert_eq!(setup.served.load(Ordering::SeqCst), 1);
}
