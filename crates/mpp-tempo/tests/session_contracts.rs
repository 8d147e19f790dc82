//! The session primitives against the real channel contracts on a local session chain (the
//! TIP-1034 reserve and the legacy escrow): a channel opened, topped up, settled and closed with
//! the calls `Escrow` encodes, each payer transaction first checked as a server would check its
//! payload, every voucher signed and verified by `Voucher`; events and state decoded by
//! `Escrow`, balances read on chain.
//!
//! Payers and payees pay their fees in AlphaUSD, so their PathUSD balances move by exactly the
//! channel amounts.

use std::num::NonZeroU64;
use std::time::Duration;

use alloy::eips::Encodable2718;
use alloy::primitives::{Address, B256, Bytes};
use alloy::signers::SignerSync;
use mpp_core::Amount;
use mpp_tempo::{
    ChannelEvent, ChannelState, ChannelTerms, Escrow, OpenCall, OpenPayload, OpenTransaction,
    SessionPayload, SessionProtocol, TIP20_CHANNEL_RESERVE, TopUpPayload, TopUpTransaction,
    TxReceipt, Voucher, VoucherSignature, expiring_nonce_hash,
};
use mpp_testkit::{ALPHA_USD, FundedKey, PATH_USD, TempoChain, TempoChainOptions};
use serde_json::json;
use tempo_alloy::primitives::transaction::{Call, TEMPO_EXPIRING_NONCE_KEY};
use tempo_alloy::primitives::{TempoSignature, TempoTransaction, TempoTxEnvelope};

/// Enough for any channel transaction (an open uses about 0.8M on the reserve, 1.6M on the
/// legacy escrow).
const GAS_LIMIT: u64 = 2_500_000;
/// Above anvil's base fee at T4.
const MAX_FEE_PER_GAS: u128 = 40_000_000_000;
/// What each party holds in AlphaUSD for its fees.
const FEE_FUNDS: u128 = 2_000_000;

const DEPOSIT: u128 = 1_000_000;
const TOP_UP: u128 = 500_000;
const SETTLED: u128 = 300_000;
const FINAL_VOUCHER: u128 = 400_000;

/// A channel transaction as SDK clients send it: the expiring nonce, valid 20 s, fees in
/// AlphaUSD.
async fn tempo_tx(chain: &TempoChain, calls: Vec<Call>) -> TempoTransaction {
    let now = chain.block_timestamp().await.unwrap();
    TempoTransaction {
        chain_id: chain.chain_id(),
        fee_token: Some(ALPHA_USD),
        max_priority_fee_per_gas: 1_000_000_000,
        max_fee_per_gas: MAX_FEE_PER_GAS,
        gas_limit: GAS_LIMIT,
        calls,
        nonce_key: TEMPO_EXPIRING_NONCE_KEY,
        valid_before: NonZeroU64::new(now + 20),
        ..Default::default()
    }
}

fn sign(tx: TempoTransaction, key: &FundedKey) -> Vec<u8> {
    let signature = key.signer().sign_hash_sync(&tx.signature_hash()).unwrap();
    TempoTxEnvelope::from(tx.into_signed(TempoSignature::from(signature))).encoded_2718()
}

/// Broadcasts and waits for a successful receipt (not the sync form: the relay waits until an
/// open is mined before it restores the reserve's nonce-hash slot).
async fn broadcast(chain: &TempoChain, raw: &[u8]) -> TxReceipt {
    let hash = chain
        .rpc()
        .call(
            "eth_sendRawTransaction",
            json!([Bytes::copy_from_slice(raw)]),
        )
        .await
        .unwrap();
    let hash: B256 = serde_json::from_value(hash).unwrap();
    let receipt = chain
        .wait_for_receipt(hash, Duration::from_secs(20))
        .await
        .unwrap();
    let receipt: TxReceipt = serde_json::from_value(receipt).unwrap();
    assert!(receipt.succeeded(), "{receipt:#?}");
    receipt
}

async fn read_state(chain: &TempoChain, escrow: &Escrow, channel_id: B256) -> ChannelState {
    let call = escrow.channel_state_call(channel_id);
    let answer = chain
        .rpc()
        .call(
            "eth_call",
            json!([{"to": escrow.address(), "data": call.input}, "latest"]),
        )
        .await
        .unwrap();
    let bytes: Bytes = serde_json::from_value(answer).unwrap();
    escrow.decode_channel_state(&bytes).unwrap()
}

async fn pathusd(chain: &TempoChain, who: Address) -> u128 {
    chain
        .balance_of(PATH_USD, who)
        .await
        .unwrap()
        .try_into()
        .unwrap()
}

/// The payload the server receives: written by the payer, read back as the server reads it.
fn over_the_wire(payload: SessionPayload, protocol: SessionProtocol) -> SessionPayload {
    SessionPayload::from_payload(&payload.to_payload(), protocol).unwrap()
}

async fn lifecycle(chain: &TempoChain, escrow: Escrow) {
    let protocol = escrow.protocol();
    let payer = chain
        .session_payer(&[(PATH_USD, DEPOSIT + TOP_UP), (ALPHA_USD, FEE_FUNDS)])
        .await
        .unwrap();
    let payee = chain
        .funded_key_with(&[(ALPHA_USD, FEE_FUNDS)])
        .await
        .unwrap();
    let terms = ChannelTerms::new(escrow, payee.address(), PATH_USD);

    // Open, with a first voucher: checked as a server checks it, then broadcast.
    let open = OpenCall {
        payee: payee.address(),
        operator: Address::ZERO,
        token: PATH_USD,
        deposit: Amount::new(DEPOSIT),
        salt: B256::random(),
        authorized_signer: payer.address(),
    };
    let tx = tempo_tx(chain, escrow.open_calls(&open).unwrap()).await;
    let nonce_hash = match protocol {
        SessionProtocol::V1 => B256::ZERO,
        _ => expiring_nonce_hash(&tx, payer.address()),
    };
    let descriptor = open.descriptor(payer.address(), nonce_hash);
    let channel_id = descriptor.channel_id(&escrow);
    let first = Voucher::new(channel_id, Amount::new(100_000));
    let payload = OpenPayload::new(
        channel_id,
        sign(tx, &payer),
        first.cumulative_amount,
        first.sign_sync(&escrow, payer.signer()).unwrap(),
    );
    let payload = match protocol {
        SessionProtocol::V1 => payload.with_authorized_signer(payer.address()),
        _ => payload.with_descriptor(descriptor),
    };
    let SessionPayload::Open(payload) = over_the_wire(SessionPayload::Open(payload), protocol)
    else {
        panic!("an open payload")
    };
    let verified = OpenTransaction::verify(&payload, &terms).unwrap();
    assert_eq!(verified.channel_id, channel_id);
    let receipt = broadcast(chain, &verified.transaction.encoded_2718()).await;
    assert_eq!(
        escrow.channel_events(&receipt.logs),
        vec![ChannelEvent::Opened {
            channel_id,
            descriptor,
            deposit: Amount::new(DEPOSIT)
        }],
        "{protocol}: the channel the contract opened is the one derived off chain"
    );
    let state = read_state(chain, &escrow, channel_id).await;
    assert_eq!(state.deposit, Amount::new(DEPOSIT));
    assert!(state.is_open());

    // Top up.
    let tx = tempo_tx(
        chain,
        escrow
            .top_up_calls(&descriptor, Amount::new(TOP_UP))
            .unwrap(),
    )
    .await;
    let payload = TopUpPayload::new(channel_id, sign(tx, &payer), Amount::new(TOP_UP));
    let payload = match protocol {
        SessionProtocol::V1 => payload,
        _ => payload.with_descriptor(descriptor),
    };
    let SessionPayload::TopUp(payload) = over_the_wire(SessionPayload::TopUp(payload), protocol)
    else {
        panic!("a top-up payload")
    };
    let verified = TopUpTransaction::verify(&payload, &terms, &descriptor).unwrap();
    let receipt = broadcast(chain, &verified.transaction.encoded_2718()).await;
    assert_eq!(
        escrow.channel_events(&receipt.logs),
        vec![ChannelEvent::TopUp {
            channel_id,
            additional_deposit: Amount::new(TOP_UP),
            new_deposit: Amount::new(DEPOSIT + TOP_UP)
        }]
    );
    assert_eq!(
        read_state(chain, &escrow, channel_id).await.deposit,
        Amount::new(DEPOSIT + TOP_UP)
    );

    // The payee settles a voucher received as hex, verified against the channel's signer.
    let voucher = Voucher::new(channel_id, Amount::new(SETTLED));
    let wire = voucher
        .sign_sync(&escrow, payer.signer())
        .unwrap()
        .to_string();
    let signature = VoucherSignature::from_hex(&wire).unwrap();
    voucher
        .verify(&escrow, &signature, descriptor.effective_signer())
        .unwrap();
    let settle = escrow
        .settle_call(&descriptor, &voucher, &signature)
        .unwrap();
    let receipt = broadcast(chain, &sign(tempo_tx(chain, vec![settle]).await, &payee)).await;
    assert_eq!(
        escrow.channel_events(&receipt.logs),
        vec![ChannelEvent::Settled {
            channel_id,
            cumulative_amount: Amount::new(SETTLED),
            delta_paid: Amount::new(SETTLED),
            new_settled: Amount::new(SETTLED)
        }]
    );
    assert_eq!(pathusd(chain, payee.address()).await, SETTLED);
    assert_eq!(
        read_state(chain, &escrow, channel_id).await.settled,
        Amount::new(SETTLED)
    );

    // Close with a higher voucher, capturing what was spent: below the voucher on the
    // reserve; the legacy escrow takes the voucher's amount.
    let last = Voucher::new(channel_id, Amount::new(FINAL_VOUCHER));
    let signature = last.sign_sync(&escrow, payer.signer()).unwrap();
    let capture = match protocol {
        SessionProtocol::V1 => FINAL_VOUCHER,
        _ => 350_000,
    };
    let close = escrow
        .close_call(&descriptor, &last, Amount::new(capture), &signature)
        .unwrap();
    let receipt = broadcast(chain, &sign(tempo_tx(chain, vec![close]).await, &payee)).await;
    let refund = DEPOSIT + TOP_UP - capture;
    assert_eq!(
        escrow.channel_events(&receipt.logs),
        vec![ChannelEvent::Closed {
            channel_id,
            settled_to_payee: Amount::new(capture),
            refunded_to_payer: Amount::new(refund)
        }]
    );
    assert_eq!(pathusd(chain, payee.address()).await, capture);
    assert_eq!(pathusd(chain, payer.address()).await, refund);
    let state = read_state(chain, &escrow, channel_id).await;
    assert!(!state.is_open(), "{protocol}: {state:?}");
    assert_eq!(state.finalized, protocol == SessionProtocol::V1);
}

#[tokio::test]
async fn both_contracts_accept_what_the_session_primitives_build() {
    let chain = TempoChain::start_with(TempoChainOptions::default().sessions())
        .await
        .expect("scripts/setup installs anvil");
    let reserve = Escrow::new(TIP20_CHANNEL_RESERVE, chain.chain_id());
    assert_eq!(reserve.protocol(), SessionProtocol::V2);
    lifecycle(&chain, reserve).await;
    let legacy = Escrow::new(chain.legacy_escrow().unwrap(), chain.chain_id());
    assert_eq!(legacy.protocol(), SessionProtocol::V1);
    lifecycle(&chain, legacy).await;
}
