//! Tempo transactions (type 0x76) built, signed, encoded, decoded and sent with `tempo-alloy`
//! against a real local chain: the groundwork for the Tempo payment method.
//!
//! - a charge paid the way SDK clients pay: one `transferWithMemo` call on PathUSD, expiring nonce
//!   (`nonce_key = U256::MAX`, `nonce = 0`, `valid_before = now + 25 s`), fee token PathUSD;
//! - the same charge fee-sponsored: the sender signs with the fee-payer placeholder and hands over
//!   a `0x78` fee-payer envelope; the sponsor decodes it, picks the fee token, co-signs and sends;
//! - decoding a signed 0x76 back from bytes and recovering the sender;
//! - the typed request path (`eth_estimateGas`, `eth_call`, `build_aa`).
//!
//! Which API does what (tempo-alloy 1.11, alloy 2.5):
//!
//! | step | API |
//! |---|---|
//! | transaction | `tempo_alloy::primitives::TempoTransaction { calls: vec![Call { .. }], nonce_key: TEMPO_EXPIRING_NONCE_KEY, nonce: 0, valid_before: NonZeroU64::new(t), fee_token: Some(token), .. }` |
//! | call data | `tempo_alloy::contracts::precompiles::ITIP20::transferWithMemoCall { to, amount, memo }.abi_encode()` |
//! | sender signature | `signer.sign_hash_sync(&tx.signature_hash())` then `TempoSignature::from(sig)` |
//! | sign as sponsored sender | `tx.fee_token = None; tx.fee_payer_signature = Some(FEE_PAYER_SIGNATURE_MARKER)` before `signature_hash()` |
//! | sponsor co-sign | `tx.fee_token = Some(t); tx.fee_payer_signature = Some(sponsor.sign_hash_sync(&tx.fee_payer_signature_hash(sender))?)` |
//! | raw bytes | `TempoTxEnvelope::from(tx.into_signed(sig)).encoded_2718()` |
//! | decode | `TempoTxEnvelope::decode_2718(&mut bytes)?.as_aa()` gives `&AASigned` (`.tx()`, `.signature()`, `.hash()`) |
//! | sender | `SignerRecoverable::recover_signer(&aa_signed)`; fee payer: `tx.recover_fee_payer(sender)` |
//! | `0x78` envelope | not in tempo-alloy: `mpp_tempo::encode_fee_payer_envelope` / `mpp_tempo::decode_fee_payer_envelope` |
//! | send | `Provider::send_raw_transaction_sync(&raw)` on `RootProvider<TempoNetwork>` gives `TempoTransactionReceipt` |
//! | logs | `receipt.inner.logs()`, `log.log_decode::<ITIP20::TransferWithMemo>()` |

use std::num::NonZeroU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::consensus::transaction::{SignerRecoverable, TxHashRef};
use alloy::eips::{Decodable2718, Encodable2718};
use alloy::network::ReceiptResponse;
use alloy::primitives::{Address, B256, TxKind, U256, address, b256};
use alloy::providers::{Provider, RootProvider};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use mpp_tempo::{decode_fee_payer_envelope, encode_fee_payer_envelope};
use mpp_testkit::{ALPHA_USD, Error, FundedKey, PATH_USD, TempoChain};
use tempo_alloy::TempoNetwork;
use tempo_alloy::contracts::precompiles::ITIP20;
use tempo_alloy::primitives::transaction::{
    Call, FEE_PAYER_SIGNATURE_MARKER, TEMPO_EXPIRING_NONCE_KEY,
};
use tempo_alloy::primitives::{AASigned, TempoSignature, TempoTransaction, TempoTxEnvelope};
use tempo_alloy::rpc::TempoTransactionReceipt;

/// Attribution memo of PROTOCOL.md §5.4 for challenge `challenge-123`, realm `api.example.com`.
const MEMO: B256 = b256!("0xef1ed712011ece072f76bd8b82350e00000000000000000000eb18f2d4402269");
/// `TransferWithMemo(address,address,uint256,bytes32)`.
const TRANSFER_WITH_MEMO_TOPIC: B256 =
    b256!("0x57bc7354aa85aed339e000bccffabbc529466af35f0772c8f8ee1145927de7f0");
/// The fee manager precompile: fees arrive there as a TIP-20 `Transfer` from whoever paid them.
const FEE_MANAGER: Address = address!("0xfeec000000000000000000000000000000000000");
/// Enough for one transfer on this chain; a fee-sponsor policy caps gas at 2,000,000.
const GAS_LIMIT: u64 = 500_000;
/// 20 gwei: above the 10 gwei base fee of T0, below a sponsor's 100 gwei cap.
const MAX_FEE_PER_GAS: u128 = 20_000_000_000;
const MAX_PRIORITY_FEE_PER_GAS: u128 = 1_000_000_000;
/// The most a transaction here can cost in fee-token base units: gas * max fee / 10^12.
const FEE_BUDGET: u128 = (GAS_LIMIT as u128) * MAX_FEE_PER_GAS / 1_000_000_000_000;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// One `transferWithMemo(to, amount, memo)` call on PathUSD, as SDK clients pay a charge.
fn transfer_with_memo_call(to: Address, amount: u128) -> Call {
    let input = ITIP20::transferWithMemoCall {
        to,
        amount: U256::from(amount),
        memo: MEMO,
    }
    .abi_encode();
    assert_eq!(input[..4], [0x95, 0x77, 0x7d, 0x59]);
    Call {
        to: TxKind::Call(PATH_USD),
        value: U256::ZERO,
        input: input.into(),
    }
}

/// The unsigned charge transaction with the expiring nonce.
fn charge_tx(chain_id: u64, call: Call, valid_before: u64) -> TempoTransaction {
    TempoTransaction {
        chain_id,
        fee_token: Some(PATH_USD),
        max_priority_fee_per_gas: MAX_PRIORITY_FEE_PER_GAS,
        max_fee_per_gas: MAX_FEE_PER_GAS,
        gas_limit: GAS_LIMIT,
        calls: vec![call],
        nonce_key: TEMPO_EXPIRING_NONCE_KEY,
        nonce: 0,
        valid_before: NonZeroU64::new(valid_before),
        ..Default::default()
    }
}

/// Signs as the sender: secp256k1 over `signature_hash()`, wrapped as a Tempo signature.
fn sign_as_sender(tx: &TempoTransaction, key: &PrivateKeySigner) -> TempoSignature {
    let signature = key.sign_hash_sync(&tx.signature_hash()).unwrap();
    TempoSignature::from(signature)
}

/// Reads the receipt JSON as tempo-alloy's typed receipt.
fn typed_receipt(json: serde_json::Value) -> TempoTransactionReceipt {
    serde_json::from_value(json).unwrap()
}

/// The one `TransferWithMemo` log of the receipt, decoded with the ITIP20 bindings.
fn transfer_with_memo_log(receipt: &TempoTransactionReceipt) -> ITIP20::TransferWithMemo {
    let logs: Vec<_> = receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.address() == PATH_USD && log.topic0() == Some(&TRANSFER_WITH_MEMO_TOPIC))
        .collect();
    assert_eq!(logs.len(), 1, "{receipt:#?}");
    logs[0]
        .log_decode::<ITIP20::TransferWithMemo>()
        .unwrap()
        .inner
        .data
}

/// Who paid the fee and how much, read from the fee-token `Transfer` to the fee manager.
///
/// Use this, not the receipt's `feePayer`: anvil 1.7.1 reports the sender as `feePayer` even when
/// a sponsor paid (and leaves `feeToken` out).
fn fee_transfer(receipt: &TempoTransactionReceipt, fee_token: Address) -> (Address, U256) {
    let fees: Vec<_> = receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.address() == fee_token)
        .filter_map(|log| log.log_decode::<ITIP20::Transfer>().ok())
        .map(|log| log.inner.data)
        .filter(|transfer| transfer.to == FEE_MANAGER)
        .collect();
    assert_eq!(fees.len(), 1, "{receipt:#?}");
    (fees[0].from, fees[0].amount)
}

#[tokio::test]
async fn expiring_nonce_transfer_with_memo() {
    let chain = TempoChain::start().await.unwrap();
    let amount = 1_250_000u128;
    // The payer pays its own fee in PathUSD, so it holds the amount plus the fee budget.
    let payer = chain
        .funded_key_with(&[(PATH_USD, amount + FEE_BUDGET)])
        .await
        .unwrap();
    let recipient = PrivateKeySigner::random().address();

    let valid_before = unix_now() + 25;
    let tx = charge_tx(
        chain.chain_id(),
        transfer_with_memo_call(recipient, amount),
        valid_before,
    );
    assert!(tx.is_expiring_nonce_tx());
    let signature = sign_as_sender(&tx, payer.signer());
    let signed: AASigned = tx.into_signed(signature);
    let envelope = TempoTxEnvelope::from(signed);
    let raw: Vec<u8> = envelope.encoded_2718();
    assert_eq!(raw[0], 0x76);

    // Decode it back, as a server verifying a `transaction` credential does.
    let decoded = TempoTxEnvelope::decode_2718(&mut raw.as_slice()).unwrap();
    let aa = decoded.as_aa().expect("a Tempo AA (0x76) transaction");
    assert_eq!(aa.tx().chain_id, chain.chain_id());
    assert_eq!(aa.tx().nonce_key, U256::MAX);
    assert_eq!(aa.tx().nonce, 0);
    assert_eq!(decoded.valid_before(), Some(valid_before));
    assert_eq!(decoded.fee_token(), Some(PATH_USD));
    assert_eq!(aa.recover_signer().unwrap(), payer.address());
    assert_eq!(decoded.recover_signer().unwrap(), payer.address());
    let call = &aa.tx().calls[0];
    assert_eq!(call.to, TxKind::Call(PATH_USD));
    let args = ITIP20::transferWithMemoCall::abi_decode(&call.input).unwrap();
    assert_eq!(
        (args.to, args.amount, args.memo),
        (recipient, U256::from(amount), MEMO)
    );
    assert_eq!(aa.hash(), envelope.tx_hash());

    let payer_before = chain.balance_of(PATH_USD, payer.address()).await.unwrap();
    let json = chain.send_raw_transaction_sync(&raw).await.unwrap();
    let receipt = typed_receipt(json);
    assert!(receipt.status(), "{receipt:#?}");
    assert_eq!(receipt.inner.transaction_hash, *aa.hash());
    assert_eq!(receipt.fee_payer, payer.address());
    assert_eq!(receipt.inner.from, payer.address());

    let log = transfer_with_memo_log(&receipt);
    assert_eq!(
        (log.from, log.to, log.amount, log.memo),
        (payer.address(), recipient, U256::from(amount), MEMO)
    );

    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(amount)
    );
    // The payer lost the amount and its fee, both in PathUSD.
    let fee = payer_before
        - U256::from(amount)
        - chain.balance_of(PATH_USD, payer.address()).await.unwrap();
    let gas_cost = U256::from(receipt.inner.gas_used)
        * U256::from(receipt.inner.effective_gas_price)
        / U256::from(1_000_000_000_000u64);
    assert!(
        fee > U256::ZERO && fee <= U256::from(FEE_BUDGET),
        "fee {fee}"
    );
    assert_eq!(fee_transfer(&receipt, PATH_USD), (payer.address(), fee));
    println!(
        "non-sponsored: gas used {}, effective gas price {}, fee {fee} (gas*price/1e12 = {gas_cost}), fee token {:?}",
        receipt.inner.gas_used, receipt.inner.effective_gas_price, receipt.fee_token
    );
}

/// LOCALNET quirk 2: a second expiring-nonce transaction from one sender is accepted but never
/// mined, so the sync send only ends at the caller's timeout.
#[tokio::test]
async fn second_expiring_nonce_tx_from_one_sender_is_dropped() {
    let chain = TempoChain::start().await.unwrap();
    let payer = chain
        .funded_key_with(&[(PATH_USD, 2 + 2 * FEE_BUDGET)])
        .await
        .unwrap();
    let recipient = PrivateKeySigner::random().address();
    let send = |amount: u128| {
        let tx = charge_tx(
            chain.chain_id(),
            transfer_with_memo_call(recipient, amount),
            unix_now() + 25,
        );
        let signature = sign_as_sender(&tx, payer.signer());
        TempoTxEnvelope::from(tx.into_signed(signature)).encoded_2718()
    };
    let first = chain.send_raw_transaction_sync(&send(1)).await.unwrap();
    assert_eq!(first["status"], "0x1");
    let second = chain
        .rpc()
        .call_with_timeout(
            "eth_sendRawTransactionSync",
            serde_json::json!([alloy::hex::encode_prefixed(send(2))]),
            Duration::from_secs(3),
        )
        .await;
    match second {
        Err(Error::RpcTimeout { .. }) => {}
        other => panic!("expected the second expiring-nonce tx to hang, got {other:?}"),
    }
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(1u64)
    );
}

/// What a sponsoring server does with a client's `0x78` envelope: decode, check the signature
/// against the named sender, pick the fee token, co-sign, encode the final 0x76.
fn sponsor_cosign(envelope: &[u8], sponsor: &FundedKey, fee_token: Address) -> (Vec<u8>, Address) {
    let (mut tx, claimed_sender, sender_signature) = decode_fee_payer_envelope(envelope).unwrap();
    // The sender signed with the placeholder set, so its hash skips the fee token.
    let sender = sender_signature
        .recover_signer(&tx.signature_hash())
        .unwrap();
    assert_eq!(sender, claimed_sender);
    assert_eq!(tx.fee_token, None, "the client must not pick the fee token");
    tx.fee_token = Some(fee_token);
    let fee_payer_signature = sponsor
        .signer()
        .sign_hash_sync(&tx.fee_payer_signature_hash(sender))
        .unwrap();
    tx.fee_payer_signature = Some(fee_payer_signature);
    let signed = tx.into_signed(sender_signature);
    assert_eq!(signed.recover_signer().unwrap(), sender);
    assert_eq!(
        signed.tx().recover_fee_payer(sender).unwrap(),
        sponsor.address()
    );
    (TempoTxEnvelope::from(signed).encoded_2718(), sender)
}

#[tokio::test]
async fn fee_payer_sponsored_transfer_with_memo() {
    let chain = TempoChain::start().await.unwrap();
    let amount = 3_000_000u128;
    // The payer holds exactly the amount: it pays no fee.
    let payer = chain.funded_key(amount).await.unwrap();
    let sponsor = chain
        .funded_key_with(&[(PATH_USD, FEE_BUDGET)])
        .await
        .unwrap();
    let recipient = PrivateKeySigner::random().address();

    // Client: no fee token, the placeholder instead of a fee-payer signature, then sign.
    let mut tx = charge_tx(
        chain.chain_id(),
        transfer_with_memo_call(recipient, amount),
        unix_now() + 25,
    );
    tx.fee_token = None;
    tx.fee_payer_signature = Some(FEE_PAYER_SIGNATURE_MARKER);
    let sender_signature = sign_as_sender(&tx, payer.signer());

    // The wire form in fee-payer mode: the 0x78 envelope naming the sender.
    let envelope = encode_fee_payer_envelope(&tx, payer.address(), Some(&sender_signature));
    assert_eq!(envelope[0], 0x78);
    // Without the signature, the envelope is exactly the fee-payer signing preimage.
    let preimage = encode_fee_payer_envelope(&tx, payer.address(), None);
    assert_eq!(
        alloy::primitives::keccak256(&preimage),
        tx.fee_payer_signature_hash(payer.address())
    );
    // Round trip.
    let (back, sender, signature) = decode_fee_payer_envelope(&envelope).unwrap();
    assert_eq!(
        (&back, sender, &signature),
        (&tx, payer.address(), &sender_signature)
    );

    // The other wire form (spec prose, tempo-alloy's sponsor relay): 0x76 with a 0x00 byte in the
    // fee-payer slot and the fee token left out. tempo-primitives encodes it but cannot decode it.
    let mut service_form = Vec::new();
    tx.clone()
        .into_signed(sender_signature.clone())
        .encode_for_fee_payer_service(&mut service_form);
    assert_eq!(service_form[0], 0x76);
    assert!(TempoTxEnvelope::decode_2718(&mut service_form.as_slice()).is_err());
    // The canonical 0x76 encoding of the placeholder (an RLP list [0, 0, 0]) does decode.
    let placeholder_form =
        TempoTxEnvelope::from(tx.clone().into_signed(sender_signature.clone())).encoded_2718();
    let decoded = TempoTxEnvelope::decode_2718(&mut placeholder_form.as_slice()).unwrap();
    let decoded = decoded.as_aa().unwrap();
    assert_eq!(
        decoded.tx().fee_payer_signature,
        Some(FEE_PAYER_SIGNATURE_MARKER)
    );
    assert_eq!(decoded.recover_signer().unwrap(), payer.address());

    // Server: co-sign with PathUSD as the fee token and broadcast through an alloy provider.
    let (raw, sender) = sponsor_cosign(&envelope, &sponsor, PATH_USD);
    assert_eq!(sender, payer.address());
    let payer_before = chain.balance_of(PATH_USD, payer.address()).await.unwrap();
    let sponsor_before = chain.balance_of(PATH_USD, sponsor.address()).await.unwrap();
    let provider = RootProvider::<TempoNetwork>::new_http(chain.rpc_url().parse().unwrap());
    let receipt = tokio::time::timeout(
        Duration::from_secs(10),
        provider.send_raw_transaction_sync(&raw),
    )
    .await
    .expect("eth_sendRawTransactionSync answered in time")
    .unwrap();
    assert!(receipt.status(), "{receipt:#?}");
    assert_eq!(receipt.inner.from, payer.address());
    // anvil 1.7.1 names the sender here although the sponsor paid; see `fee_transfer`.
    assert_eq!(receipt.fee_payer, payer.address());
    let (fee_payer, fee) = fee_transfer(&receipt, PATH_USD);
    assert_eq!(fee_payer, sponsor.address());
    let log = transfer_with_memo_log(&receipt);
    assert_eq!(
        (log.from, log.to, log.amount, log.memo),
        (payer.address(), recipient, U256::from(amount), MEMO)
    );

    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(amount)
    );
    // The payer's fee-token balance dropped by the transfer amount only.
    assert_eq!(
        chain.balance_of(PATH_USD, payer.address()).await.unwrap(),
        payer_before - U256::from(amount)
    );
    let sponsor_fee = sponsor_before - chain.balance_of(PATH_USD, sponsor.address()).await.unwrap();
    assert!(sponsor_fee > U256::ZERO && sponsor_fee <= U256::from(FEE_BUDGET));
    assert_eq!(sponsor_fee, fee);
    println!(
        "sponsored: gas used {}, sponsor paid {sponsor_fee} PathUSD, receipt fee token {:?}",
        receipt.inner.gas_used, receipt.fee_token
    );
}

/// A sponsor may pay in another token than the one transferred.
#[tokio::test]
async fn sponsor_pays_fees_in_another_token() {
    let chain = TempoChain::start().await.unwrap();
    let amount = 10u128;
    let payer = chain.funded_key(amount).await.unwrap();
    let sponsor = chain
        .funded_key_with(&[(ALPHA_USD, FEE_BUDGET)])
        .await
        .unwrap();
    let recipient = PrivateKeySigner::random().address();
    let mut tx = charge_tx(
        chain.chain_id(),
        transfer_with_memo_call(recipient, amount),
        unix_now() + 25,
    );
    tx.fee_token = None;
    tx.fee_payer_signature = Some(FEE_PAYER_SIGNATURE_MARKER);
    let signature = sign_as_sender(&tx, payer.signer());
    let envelope = encode_fee_payer_envelope(&tx, payer.address(), Some(&signature));
    let (raw, _) = sponsor_cosign(&envelope, &sponsor, ALPHA_USD);
    let receipt = typed_receipt(chain.send_raw_transaction_sync(&raw).await.unwrap());
    assert!(receipt.status());
    let (fee_payer, fee) = fee_transfer(&receipt, ALPHA_USD);
    assert_eq!(fee_payer, sponsor.address());
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(amount)
    );
    assert_eq!(
        chain.balance_of(PATH_USD, payer.address()).await.unwrap(),
        U256::ZERO
    );
    assert_eq!(
        chain
            .balance_of(ALPHA_USD, sponsor.address())
            .await
            .unwrap(),
        U256::from(FEE_BUDGET) - fee
    );
}

/// The typed request path: `TempoTransactionRequest` for `eth_estimateGas` and `eth_call` (what a
/// client uses for the gas limit and a server for simulation), then `build_aa()` into the
/// transaction. Also shows that a key holding only PathUSD, with no fee token set, pays its fee
/// in PathUSD: the token it calls.
#[tokio::test]
async fn request_builder_estimate_simulate_and_default_fee_token() {
    use alloy::network::TransactionBuilder;
    use tempo_alloy::rpc::TempoTransactionRequest;

    let chain = TempoChain::start().await.unwrap();
    let amount = 500_000u128;
    let payer = chain
        .funded_key_with(&[(PATH_USD, amount + FEE_BUDGET)])
        .await
        .unwrap();
    let recipient = PrivateKeySigner::random().address();
    let provider = RootProvider::<TempoNetwork>::new_http(chain.rpc_url().parse().unwrap());
    let valid_before = unix_now() + 25;

    let mut request = TempoTransactionRequest::default()
        .with_calls(vec![transfer_with_memo_call(recipient, amount)])
        .with_nonce_key(TEMPO_EXPIRING_NONCE_KEY)
        .with_valid_before(NonZeroU64::new(valid_before).unwrap());
    request.set_from(payer.address());
    request.set_chain_id(chain.chain_id());

    let timeout = Duration::from_secs(10);
    let gas = tokio::time::timeout(timeout, provider.estimate_gas(request.clone()))
        .await
        .unwrap()
        .unwrap();
    let simulated = tokio::time::timeout(timeout, provider.call(request.clone()))
        .await
        .unwrap()
        .unwrap();
    let fees = tokio::time::timeout(timeout, provider.estimate_eip1559_fees())
        .await
        .unwrap()
        .unwrap();
    println!(
        "estimate_gas {gas}; eth_call returned {simulated}; fees {fees:?}; gas price {:?}",
        provider.get_gas_price().await
    );
    assert!(gas > 21_000 && gas < GAS_LIMIT, "{gas}");

    request.set_nonce(0);
    request.set_gas_limit(gas);
    request.set_max_fee_per_gas(MAX_FEE_PER_GAS);
    request.set_max_priority_fee_per_gas(MAX_PRIORITY_FEE_PER_GAS);
    let tx = request.build_aa().unwrap();
    assert_eq!(tx.fee_token, None);
    assert_eq!(tx.chain_id, chain.chain_id());
    let signature = sign_as_sender(&tx, payer.signer());
    let raw = TempoTxEnvelope::from(tx.into_signed(signature)).encoded_2718();
    let receipt = typed_receipt(chain.send_raw_transaction_sync(&raw).await.unwrap());
    assert!(receipt.status(), "{receipt:#?}");
    let (fee_payer, fee) = fee_transfer(&receipt, PATH_USD);
    assert_eq!(fee_payer, payer.address());
    assert_eq!(
        chain.balance_of(PATH_USD, payer.address()).await.unwrap(),
        U256::from(FEE_BUDGET) - fee
    );
    assert_eq!(
        chain.balance_of(PATH_USD, recipient).await.unwrap(),
        U256::from(amount)
    );
}
