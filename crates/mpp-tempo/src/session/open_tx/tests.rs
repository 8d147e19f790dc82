use std::num::NonZeroU64;

use alloy::eips::Encodable2718;
use alloy::primitives::{U256, address, b256, hex};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use tempo_alloy::primitives::transaction::{FEE_PAYER_SIGNATURE_MARKER, TEMPO_EXPIRING_NONCE_KEY};
use tempo_alloy::primitives::{TempoSignature, TempoTxEnvelope};

use super::*;
use crate::envelope::{TxForm, encode_fee_payer_envelope};
use crate::session::payload::SessionPayload;
use crate::session::protocol::{Escrow, MODERATO_STREAM_CHANNEL, TIP20_CHANNEL_RESERVE};
use crate::session::voucher::Voucher;

const TOKEN: Address = address!("0x20c0000000000000000000000000000000000000");
const OTHER_TOKEN: Address = address!("0x20c0000000000000000000000000000000000001");
const PAYEE: Address = address!("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
const CHAIN: u64 = 42431;

/// Signed by mppx 0.11.0 / viem 2.57.13 for the key 0x11…11 (sender
/// 0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A): a v2 `open` (payee 0x7099…79c8, no operator,
/// pathUSD, deposit 1000000, salt 0x22…22, authorizedSigner = sender) on chain 42431, with gas
/// 900000, fees 20/1 gwei, the expiring nonce and validBefore 1900000000. The expected hashes are
/// mppx's `Channel.computeExpiringNonceHash(Channel.transactionForExpiringNonceHash({feePayer,
/// transaction: Transaction.deserialize(serialized)}), {sender})`, computed by a throwaway Node
/// script against the pinned packages.
const MPPX_UNSPONSORED: &str = "0x76f9017582a5bf843b9aca008504a817c800830dbba0f8def8dc944d5050000000000000000000000000000000000080b8c4edc53b0000000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8000000000000000000000000000000000000000000000000000000000000000000000000000000000000000020c000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000f4240222222222222222222222222222222222222222222222222222222222222222200000000000000000000000019e7e376e7c213b7e7e7e46cc70a5dd086daff2ac0a0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff8084713fb300809420c000000000000000000000000000000000000080c0b84185b17b4039fb81607edf3abe5ba5126b4b2e6df3feb4add1912ce0d5ac2be36013cc9f3fa4a7659c746ac0166dac575a9b6d8e65333129a654ae90ca665e81671c";
const MPPX_UNSPONSORED_HASH: B256 =
    b256!("0xe5c8d9bf8bae3b657566ca11db584536b771337d9d5cb50de78b4e923239db3f");
/// The same open signed for a fee payer (`feePayer: true`): the `0x78` envelope mppx's client
/// sends.
const MPPX_SPONSORED_ENVELOPE: &str = "0x78f9017582a5bf843b9aca008504a817c800830dbba0f8def8dc944d5050000000000000000000000000000000000080b8c4edc53b0000000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8000000000000000000000000000000000000000000000000000000000000000000000000000000000000000020c000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000f4240222222222222222222222222222222222222222222222222222222222222222200000000000000000000000019e7e376e7c213b7e7e7e46cc70a5dd086daff2ac0a0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff8084713fb30080809419e7e376e7c213b7e7e7e46cc70a5dd086daff2ac0b8412dd0c1ba7ea47ad8648eba1a4d44c1df18d45d5384cceb3254b5cde1d6229c10739d634facabef66f14529c1e58eafdc2552e2d61aee63d90db81df0968925171b";
/// The same sponsored open, co-signed by the fee payer 0x33…33 with pathUSD as fee token: the
/// final `0x76` the node sees. Same hash as the envelope.
const MPPX_COSIGNED: &str = "0x76f901b982a5bf843b9aca008504a817c800830dbba0f8def8dc944d5050000000000000000000000000000000000080b8c4edc53b0000000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c8000000000000000000000000000000000000000000000000000000000000000000000000000000000000000020c000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000f4240222222222222222222222222222222222222222222222222222222222222222200000000000000000000000019e7e376e7c213b7e7e7e46cc70a5dd086daff2ac0a0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff8084713fb300809420c0000000000000000000000000000000000000f84380a07d2df87331cd6e172ccbacf3a27e271cfdc358771217d948ba629a375f71199fa023d1cce1c90a77eb482ea0dd4059add546ebcb8a8343b753de241ddfd9e4154bc0b8412dd0c1ba7ea47ad8648eba1a4d44c1df18d45d5384cceb3254b5cde1d6229c10739d634facabef66f14529c1e58eafdc2552e2d61aee63d90db81df0968925171b";
const MPPX_SPONSORED_HASH: B256 =
    b256!("0x8d1fc6f9eb122074911393f2bae4ccb637ec6f654cc594f877d0c1ba0cdad410");

fn payer() -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).unwrap()
}

fn reserve_terms() -> ChannelTerms {
    ChannelTerms::new(Escrow::new(TIP20_CHANNEL_RESERVE, CHAIN), PAYEE, TOKEN)
}

fn legacy_terms() -> ChannelTerms {
    ChannelTerms::new(Escrow::new(MODERATO_STREAM_CHANNEL, CHAIN), PAYEE, TOKEN)
}

fn open_call(deposit: u128) -> OpenCall {
    OpenCall {
        payee: PAYEE,
        operator: Address::ZERO,
        token: TOKEN,
        deposit: Amount::new(deposit),
        salt: B256::repeat_byte(0x22),
        authorized_signer: payer().address(),
    }
}

fn unsigned(calls: Vec<Call>) -> TempoTransaction {
    TempoTransaction {
        chain_id: CHAIN,
        max_priority_fee_per_gas: 1_000_000_000,
        max_fee_per_gas: 20_000_000_000,
        gas_limit: 900_000,
        calls,
        nonce_key: TEMPO_EXPIRING_NONCE_KEY,
        valid_before: NonZeroU64::new(1_900_000_000),
        fee_token: Some(TOKEN),
        ..Default::default()
    }
}

/// Signs `tx` as `key`: a `0x76` transaction, or a `0x78` envelope when `sponsored`.
fn sign(mut tx: TempoTransaction, key: &PrivateKeySigner, sponsored: bool) -> Vec<u8> {
    if sponsored {
        tx.fee_token = None;
        tx.fee_payer_signature = Some(FEE_PAYER_SIGNATURE_MARKER);
    }
    let signature = TempoSignature::from(key.sign_hash_sync(&tx.signature_hash()).unwrap());
    if sponsored {
        encode_fee_payer_envelope(&tx, key.address(), Some(&signature))
    } else {
        TempoTxEnvelope::from(tx.into_signed(signature)).encoded_2718()
    }
}

/// An `open` payload for `calls` signed by the payer, claiming what the transaction derives and
/// carrying a first voucher of `voucher`.
fn open_payload(
    terms: &ChannelTerms,
    calls: Vec<Call>,
    voucher: u128,
    sponsored: bool,
) -> OpenPayload {
    let tx = unsigned(calls);
    let bytes = sign(tx, &payer(), sponsored);
    let decoded = SignedPayment::decode(&bytes).unwrap();
    let nonce_hash = match terms.escrow.protocol() {
        SessionProtocol::V1 => B256::ZERO,
        _ => expiring_nonce_hash(&decoded.tx, payer().address()),
    };
    let call = decoded.tx.calls.last().unwrap();
    let open = terms.escrow.decode_open(&call.input).unwrap();
    let descriptor = open.descriptor(payer().address(), nonce_hash);
    let channel_id = descriptor.channel_id(&terms.escrow);
    let signature = Voucher::new(channel_id, Amount::new(voucher))
        .sign_sync(&terms.escrow, &payer())
        .unwrap();
    let payload = OpenPayload::new(channel_id, bytes, Amount::new(voucher), signature);
    match terms.escrow.protocol() {
        SessionProtocol::V1 => payload.with_authorized_signer(open.authorized_signer),
        _ => payload.with_descriptor(descriptor),
    }
}

fn escrow_call(terms: &ChannelTerms, deposit: u128) -> Vec<Call> {
    terms.escrow.open_calls(&open_call(deposit)).unwrap()
}

#[test]
fn expiring_nonce_hash_matches_mppx() {
    for (hex_tx, expected, form) in [
        (MPPX_UNSPONSORED, MPPX_UNSPONSORED_HASH, TxForm::Tempo),
        (
            MPPX_SPONSORED_ENVELOPE,
            MPPX_SPONSORED_HASH,
            TxForm::FeePayerEnvelope,
        ),
        (MPPX_COSIGNED, MPPX_SPONSORED_HASH, TxForm::Tempo),
    ] {
        let payment = SignedPayment::from_hex(hex_tx).unwrap();
        assert_eq!(payment.sender, payer().address());
        assert_eq!(payment.form, form);
        assert_eq!(
            expiring_nonce_hash(&payment.tx, payment.sender),
            expected,
            "{hex_tx}"
        );
    }
}

#[test]
fn verifies_the_mppx_open_transactions() {
    let terms = reserve_terms();
    for (hex_tx, hash) in [
        (MPPX_UNSPONSORED, MPPX_UNSPONSORED_HASH),
        (MPPX_SPONSORED_ENVELOPE, MPPX_SPONSORED_HASH),
    ] {
        let descriptor = open_call(1_000_000).descriptor(payer().address(), hash);
        let channel_id = descriptor.channel_id(&terms.escrow);
        let signature = Voucher::new(channel_id, Amount::new(1000))
            .sign_sync(&terms.escrow, &payer())
            .unwrap();
        let payload = OpenPayload::new(
            channel_id,
            hex::decode(hex_tx).unwrap(),
            Amount::new(1000),
            signature,
        )
        .with_descriptor(descriptor);
        let open = OpenTransaction::verify(&payload, &terms).unwrap();
        assert_eq!(open.descriptor, descriptor);
        assert_eq!(open.channel_id, channel_id);
        assert_eq!(open.open.deposit, Amount::new(1_000_000));
        assert_eq!(open.transaction.sender, payer().address());
    }
}

#[test]
fn verifies_opens_of_both_protocols_sponsored_or_not() {
    for terms in [reserve_terms(), legacy_terms()] {
        for sponsored in [false, true] {
            let payload = open_payload(&terms, escrow_call(&terms, 1_000), 100, sponsored);
            let open = OpenTransaction::verify(&payload, &terms).unwrap();
            assert_eq!(open.transaction.is_sponsored(), sponsored);
            assert_eq!(open.descriptor.payer, payer().address());
            assert_eq!(open.descriptor.effective_signer(), payer().address());
            assert_eq!(open.channel_id, payload.channel_id);
        }
    }
    // v1 without the approve is fine too (the payer may have approved before).
    let terms = legacy_terms();
    let calls = escrow_call(&terms, 1_000).split_off(1);
    assert!(OpenTransaction::verify(&open_payload(&terms, calls, 1, false), &terms).is_ok());
}

#[test]
fn the_sponsored_channel_is_the_cosigned_channel() {
    // The fee payer completes the envelope: the node sees another transaction with the same
    // expiring nonce hash, so the channel id the payer claimed is the one opened.
    let terms = reserve_terms();
    let payload = open_payload(&terms, escrow_call(&terms, 1_000), 1, true);
    let open = OpenTransaction::verify(&payload, &terms).unwrap();
    let mut tx = open.transaction.tx.clone();
    tx.fee_token = Some(TOKEN);
    let sponsor = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x33)).unwrap();
    tx.fee_payer_signature = Some(
        sponsor
            .sign_hash_sync(&tx.fee_payer_signature_hash(open.transaction.sender))
            .unwrap(),
    );
    let cosigned =
        TempoTxEnvelope::from(tx.into_signed(open.transaction.signature.clone())).encoded_2718();
    let final_form = SignedPayment::decode(&cosigned).unwrap();
    assert_eq!(final_form.sender, payer().address());
    assert_eq!(
        expiring_nonce_hash(&final_form.tx, final_form.sender),
        open.descriptor.expiring_nonce_hash
    );
}

fn refusal(terms: &ChannelTerms, payload: &OpenPayload) -> SessionError {
    OpenTransaction::verify(payload, terms).unwrap_err()
}

#[test]
fn refuses_opens_that_pay_someone_else() {
    let terms = reserve_terms();
    for (field, open) in [
        (
            "payee",
            OpenCall {
                payee: Address::repeat_byte(1),
                ..open_call(1_000)
            },
        ),
        (
            "token",
            OpenCall {
                token: OTHER_TOKEN,
                ..open_call(1_000)
            },
        ),
        (
            "operator",
            OpenCall {
                operator: Address::repeat_byte(1),
                ..open_call(1_000)
            },
        ),
    ] {
        let calls = terms.escrow.open_calls(&open).unwrap();
        let err = refusal(&terms, &open_payload(&terms, calls, 1, false));
        assert!(
            matches!(err, SessionError::Mismatch { field: f, .. } if f == field),
            "{field}: {err}"
        );
    }
    // With an operator the challenge asks for, it passes.
    let with_operator = terms.with_operator(Address::repeat_byte(1));
    let calls = terms
        .escrow
        .open_calls(&OpenCall {
            operator: Address::repeat_byte(1),
            ..open_call(1_000)
        })
        .unwrap();
    assert!(
        OpenTransaction::verify(
            &open_payload(&with_operator, calls, 1, false),
            &with_operator
        )
        .is_ok()
    );
}

#[test]
fn refuses_other_contracts_extra_calls_value_and_chains() {
    let terms = reserve_terms();
    // The open call sent to another contract.
    let mut calls = escrow_call(&terms, 1_000);
    calls[0].to = TxKind::Call(Address::repeat_byte(0xee));
    let payload = open_payload(&terms, calls, 1, false);
    assert!(matches!(
        refusal(&terms, &payload),
        SessionError::Mismatch {
            field: "management call target",
            ..
        }
    ));
    // A transfer smuggled before the open.
    let mut calls = vec![crate::transfer::transfer_call(
        TOKEN,
        Address::repeat_byte(9),
        Amount::new(5),
        None,
    )];
    calls.extend(escrow_call(&terms, 1_000));
    let payload = open_payload(&terms, calls, 1, false);
    assert!(matches!(
        refusal(&terms, &payload),
        SessionError::UnexpectedCalls(_)
    ));
    // A second open after the first.
    let mut calls = escrow_call(&terms, 1_000);
    calls.extend(escrow_call(&terms, 1_000));
    assert!(matches!(
        refusal(&terms, &open_payload(&terms, calls, 1, false)),
        SessionError::UnexpectedCalls(_)
    ));
    // The open with native value.
    let mut calls = escrow_call(&terms, 1_000);
    calls[0].value = U256::from(1);
    assert!(matches!(
        refusal(&terms, &open_payload(&terms, calls, 1, false)),
        SessionError::UnexpectedCalls("calls must not transfer native value")
    ));
    // Another call on the escrow (topUp) instead of open.
    let d = open_call(1_000).descriptor(payer().address(), B256::ZERO);
    let calls = terms.escrow.top_up_calls(&d, Amount::new(5)).unwrap();
    assert!(matches!(
        refusal(&terms, &payload_with(&terms, calls)),
        SessionError::UnexpectedCalls(_)
    ));
    // Another chain.
    let escrow = Escrow::new(TIP20_CHANNEL_RESERVE, 4217);
    let other_chain = ChannelTerms::new(escrow, PAYEE, TOKEN);
    let payload = open_payload(&terms, escrow_call(&terms, 1_000), 1, false);
    assert!(matches!(
        refusal(&other_chain, &payload),
        SessionError::Mismatch {
            field: "chainId",
            ..
        }
    ));
    // Garbage bytes.
    let mut payload = open_payload(&terms, escrow_call(&terms, 1_000), 1, false);
    payload.transaction = vec![0x76, 0x01].into();
    assert!(matches!(
        refusal(&terms, &payload),
        SessionError::Transaction(_)
    ));
}

/// A payload around `calls` whose claims cannot matter (the calls are refused first).
fn payload_with(terms: &ChannelTerms, calls: Vec<Call>) -> OpenPayload {
    let bytes = sign(unsigned(calls), &payer(), false);
    let signature = Voucher::new(B256::ZERO, Amount::new(1))
        .sign_sync(&terms.escrow, &payer())
        .unwrap();
    OpenPayload::new(B256::ZERO, bytes, Amount::new(1), signature)
}

#[test]
fn refuses_bad_deposits() {
    let terms = reserve_terms();
    let zero = open_payload(&terms, escrow_call(&terms, 0), 0, false);
    assert!(matches!(
        refusal(&terms, &zero),
        SessionError::Mismatch {
            field: "deposit",
            ..
        }
    ));
    let over = open_payload(&terms, escrow_call(&terms, 1_000), 1_001, false);
    assert_eq!(
        refusal(&terms, &over),
        SessionError::AmountExceedsDeposit {
            amount: Amount::new(1_001),
            deposit: Amount::new(1_000)
        }
    );
}

#[test]
fn refuses_claims_the_transaction_does_not_make() {
    let terms = reserve_terms();
    let good = open_payload(&terms, escrow_call(&terms, 1_000), 10, false);
    // Another channel id.
    let mut payload = good.clone();
    payload.channel_id = B256::repeat_byte(1);
    assert!(matches!(
        refusal(&terms, &payload),
        SessionError::ChannelIdMismatch { .. }
    ));
    // A descriptor with another nonce hash (same claimed id: the transaction decides).
    let mut payload = good.clone();
    if let Some(d) = payload.descriptor.as_mut() {
        d.expiring_nonce_hash = B256::repeat_byte(9);
    }
    assert!(matches!(
        refusal(&terms, &payload),
        SessionError::Mismatch {
            field: "descriptor",
            ..
        }
    ));
    // No descriptor on v2.
    let mut payload = good.clone();
    payload.descriptor = None;
    assert!(matches!(
        refusal(&terms, &payload),
        SessionError::Malformed { .. }
    ));
    // Another authorized signer named.
    let mut payload = good.clone();
    payload.authorized_signer = Some(Address::repeat_byte(3));
    assert!(matches!(
        refusal(&terms, &payload),
        SessionError::Mismatch {
            field: "authorizedSigner",
            ..
        }
    ));
    // The first voucher signed by another key, or for another amount.
    let stranger = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x55)).unwrap();
    let mut payload = good.clone();
    payload.signature = payload
        .voucher()
        .sign_sync(&terms.escrow, &stranger)
        .unwrap();
    assert_eq!(
        refusal(&terms, &payload),
        SessionError::SignerMismatch {
            expected: payer().address(),
            recovered: stranger.address()
        }
    );
    let mut payload = good;
    payload.cumulative_amount = Amount::new(11);
    assert!(matches!(
        refusal(&terms, &payload),
        SessionError::SignerMismatch { .. }
    ));
}

#[test]
fn delegated_signers_sign_the_vouchers() {
    let terms = reserve_terms();
    let delegate = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x66)).unwrap();
    let open = OpenCall {
        authorized_signer: delegate.address(),
        ..open_call(1_000)
    };
    let bytes = sign(
        unsigned(terms.escrow.open_calls(&open).unwrap()),
        &payer(),
        false,
    );
    let decoded = SignedPayment::decode(&bytes).unwrap();
    let descriptor = open.descriptor(
        payer().address(),
        expiring_nonce_hash(&decoded.tx, payer().address()),
    );
    let channel_id = descriptor.channel_id(&terms.escrow);
    let voucher = Voucher::new(channel_id, Amount::new(5));
    let by_delegate = voucher.sign_sync(&terms.escrow, &delegate).unwrap();
    let payload = OpenPayload::new(channel_id, bytes, Amount::new(5), by_delegate)
        .with_descriptor(descriptor);
    assert!(OpenTransaction::verify(&payload, &terms).is_ok());
    // The payer's own signature is not the channel's signer any more.
    let mut by_payer = payload;
    by_payer.signature = voucher.sign_sync(&terms.escrow, &payer()).unwrap();
    assert!(matches!(
        refusal(&terms, &by_payer),
        SessionError::SignerMismatch { .. }
    ));
}

#[test]
fn v1_approves_exactly_the_deposit_to_the_escrow() {
    let terms = legacy_terms();
    let bad_approves = [
        (TOKEN, MODERATO_STREAM_CHANNEL, 999u128),
        (TOKEN, Address::repeat_byte(4), 1_000),
        (OTHER_TOKEN, MODERATO_STREAM_CHANNEL, 1_000),
    ];
    for (token, spender, amount) in bad_approves {
        let mut calls = escrow_call(&terms, 1_000);
        calls[0] = approve_call(token, spender, U256::from(amount));
        assert!(
            matches!(
                refusal(&terms, &open_payload(&terms, calls, 1, false)),
                SessionError::UnexpectedCalls(_)
            ),
            "{token} {spender} {amount}"
        );
    }
    // v2 does not take the legacy approve.
    let v2 = reserve_terms();
    let mut calls = vec![approve_call(
        TOKEN,
        TIP20_CHANNEL_RESERVE,
        U256::from(1_000),
    )];
    calls.extend(escrow_call(&v2, 1_000));
    assert!(matches!(
        refusal(&v2, &open_payload(&v2, calls, 1, false)),
        SessionError::UnexpectedCalls(_)
    ));
}

fn approve_call(token: Address, spender: Address, amount: U256) -> Call {
    Call {
        to: TxKind::Call(token),
        value: U256::ZERO,
        input: ITIP20::approveCall { spender, amount }.abi_encode().into(),
    }
}

fn swap_call(token_in: Address, token_out: Address, amount_out: u128, max_in: u128) -> Call {
    Call {
        to: TxKind::Call(STABLECOIN_DEX_ADDRESS),
        value: U256::ZERO,
        input: IStablecoinDEX::swapExactAmountOutCall {
            tokenIn: token_in,
            tokenOut: token_out,
            amountOut: amount_out,
            maxAmountIn: max_in,
        }
        .abi_encode()
        .into(),
    }
}

#[test]
fn v2_accepts_only_the_exact_auto_swap_pair() {
    let terms = reserve_terms();
    let with = |approve: Call, swap: Call| {
        let mut calls = vec![approve, swap];
        calls.extend(escrow_call(&terms, 1_000));
        open_payload(&terms, calls, 1, false)
    };
    let good = with(
        approve_call(OTHER_TOKEN, STABLECOIN_DEX_ADDRESS, U256::from(1_010)),
        swap_call(OTHER_TOKEN, TOKEN, 1_000, 1_010),
    );
    assert!(OpenTransaction::verify(&good, &terms).is_ok());
    let bad = [
        with(
            approve_call(OTHER_TOKEN, Address::repeat_byte(1), U256::from(1_010)),
            swap_call(OTHER_TOKEN, TOKEN, 1_000, 1_010),
        ),
        with(
            approve_call(TOKEN, STABLECOIN_DEX_ADDRESS, U256::from(1_010)),
            swap_call(OTHER_TOKEN, TOKEN, 1_000, 1_010),
        ),
        with(
            approve_call(OTHER_TOKEN, STABLECOIN_DEX_ADDRESS, U256::from(2_000)),
            swap_call(OTHER_TOKEN, TOKEN, 1_000, 1_010),
        ),
        with(
            approve_call(OTHER_TOKEN, STABLECOIN_DEX_ADDRESS, U256::from(1_010)),
            swap_call(OTHER_TOKEN, TOKEN, 999, 1_010),
        ),
        with(
            approve_call(OTHER_TOKEN, STABLECOIN_DEX_ADDRESS, U256::from(1_010)),
            swap_call(OTHER_TOKEN, Address::repeat_byte(2), 1_000, 1_010),
        ),
        with(
            approve_call(TOKEN, STABLECOIN_DEX_ADDRESS, U256::from(1_010)),
            swap_call(TOKEN, TOKEN, 1_000, 1_010),
        ),
        with(
            approve_call(OTHER_TOKEN, STABLECOIN_DEX_ADDRESS, U256::from(1_010)),
            Call {
                to: TxKind::Call(Address::repeat_byte(3)),
                ..swap_call(OTHER_TOKEN, TOKEN, 1_000, 1_010)
            },
        ),
    ];
    for payload in bad {
        assert!(matches!(
            refusal(&terms, &payload),
            SessionError::UnexpectedCalls(_)
        ));
    }
}

fn top_up_payload(
    terms: &ChannelTerms,
    channel: &ChannelDescriptor,
    calls: Vec<Call>,
    amount: u128,
    key: &PrivateKeySigner,
) -> TopUpPayload {
    let bytes = sign(unsigned(calls), key, false);
    let payload = TopUpPayload::new(
        channel.channel_id(&terms.escrow),
        bytes,
        Amount::new(amount),
    );
    match terms.escrow.protocol() {
        SessionProtocol::V1 => payload,
        _ => payload.with_descriptor(*channel),
    }
}

#[test]
fn verifies_and_refuses_top_ups() {
    for terms in [reserve_terms(), legacy_terms()] {
        let nonce = match terms.escrow.protocol() {
            SessionProtocol::V1 => B256::ZERO,
            _ => B256::repeat_byte(8),
        };
        let channel = open_call(1_000).descriptor(payer().address(), nonce);
        let calls = terms
            .escrow
            .top_up_calls(&channel, Amount::new(500))
            .unwrap();
        let good = top_up_payload(&terms, &channel, calls.clone(), 500, &payer());
        let top_up = TopUpTransaction::verify(&good, &terms, &channel).unwrap();
        assert_eq!(top_up.top_up.additional_deposit, Amount::new(500));
        assert_eq!(top_up.top_up.channel_id, channel.channel_id(&terms.escrow));

        // Another amount than the payload says.
        let wrong_amount = top_up_payload(&terms, &channel, calls.clone(), 400, &payer());
        assert!(matches!(
            TopUpTransaction::verify(&wrong_amount, &terms, &channel),
            Err(SessionError::Mismatch {
                field: "additionalDeposit",
                ..
            })
        ));
        // Sent by someone else than the payer.
        let stranger = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x55)).unwrap();
        let by_stranger = top_up_payload(&terms, &channel, calls, 500, &stranger);
        assert!(matches!(
            TopUpTransaction::verify(&by_stranger, &terms, &channel),
            Err(SessionError::Mismatch {
                field: "sender",
                ..
            })
        ));
        // Tops up another channel.
        let other = ChannelDescriptor {
            salt: B256::repeat_byte(1),
            ..channel
        };
        let calls = terms.escrow.top_up_calls(&other, Amount::new(500)).unwrap();
        let mut elsewhere = top_up_payload(&terms, &channel, calls, 500, &payer());
        elsewhere.descriptor = good.descriptor;
        assert!(matches!(
            TopUpTransaction::verify(&elsewhere, &terms, &channel),
            Err(SessionError::ChannelIdMismatch { .. })
        ));
        // A payload naming another channel than the server's.
        assert!(matches!(
            TopUpTransaction::verify(&good, &terms, &other),
            Err(SessionError::ChannelIdMismatch { .. })
        ));
    }
    // v2: the payload's descriptor must be the channel's.
    let terms = reserve_terms();
    let channel = open_call(1_000).descriptor(payer().address(), B256::repeat_byte(8));
    let calls = terms.escrow.top_up_calls(&channel, Amount::new(5)).unwrap();
    let mut payload = top_up_payload(&terms, &channel, calls, 5, &payer());
    payload.descriptor = Some(ChannelDescriptor {
        operator: Address::repeat_byte(1),
        ..channel
    });
    assert!(matches!(
        TopUpTransaction::verify(&payload, &terms, &channel),
        Err(SessionError::Mismatch {
            field: "descriptor",
            ..
        })
    ));
}

#[test]
fn open_payload_signature_round_trips_through_the_wire() {
    let terms = reserve_terms();
    let payload = open_payload(&terms, escrow_call(&terms, 1_000), 10, true);
    let wire = SessionPayload::Open(payload.clone()).to_payload();
    let back = SessionPayload::from_payload(&wire, SessionProtocol::V2).unwrap();
    let SessionPayload::Open(open) = back else {
        panic!("open")
    };
    assert_eq!(open, payload);
    assert!(OpenTransaction::verify(&open, &terms).is_ok());
}
