//! A session chain (`TempoChainOptions::sessions`) runs both payment-channel contracts for real:
//! channels opened, settled with signed EIP-712 vouchers, topped up and closed with
//! transactions built and signed here, balances checked on chain; and the relay gives each open
//! the `expiringNonceHash` a real node derives, also for a fee-sponsored open, for concurrent
//! opens and inside a batch request.
//!
//! Payers and payees pay their fees in AlphaUSD, so their PathUSD balances move by exactly the
//! channel amounts.

use std::time::Duration;

use alloy::consensus::SignableTransaction;
use alloy::eips::Encodable2718;
use alloy::network::ReceiptResponse;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256, aliases::U96, keccak256};
use alloy::signers::SignerSync;
use alloy::sol;
use alloy::sol_types::{Eip712Domain, SolCall, SolEvent, SolStruct, SolValue, eip712_domain};
use mpp_testkit::{
    ALPHA_USD, FundedKey, PATH_USD, RESERVE_ABI, TIP20_CHANNEL_RESERVE, TempoChain,
    TempoChainOptions,
};
use serde_json::{Value, json};
use tempo_alloy::primitives::transaction::{
    Call, FEE_PAYER_SIGNATURE_MARKER, TEMPO_EXPIRING_NONCE_KEY,
};
use tempo_alloy::primitives::{TempoSignature, TempoTransaction, TempoTxEnvelope};
use tempo_alloy::rpc::TempoTransactionReceipt;

// The reserve's bindings come from the vendored ABI, so this also checks that file.
sol!(
    #[allow(missing_docs, clippy::too_many_arguments)]
    ITIP20ChannelReserve,
    "contracts/reserve/TIP20ChannelReserve.abi.json"
);

sol! {
    /// The legacy `TempoStreamChannel` escrow (`contracts/escrow/TempoStreamChannel.sol`).
    #[allow(missing_docs)]
    interface ITempoStreamChannel {
        struct Channel {
            bool finalized;
            uint64 closeRequestedAt;
            address payer;
            address payee;
            address token;
            address authorizedSigner;
            uint128 deposit;
            uint128 settled;
        }
        function open(
            address payee, address token, uint128 deposit, bytes32 salt, address authorizedSigner
        ) external returns (bytes32 channelId);
        function settle(bytes32 channelId, uint128 cumulativeAmount, bytes calldata signature)
            external;
        function topUp(bytes32 channelId, uint256 additionalDeposit) external;
        function close(bytes32 channelId, uint128 cumulativeAmount, bytes calldata signature)
            external;
        function getChannel(bytes32 channelId) external view returns (Channel memory);
        function domainSeparator() external view returns (bytes32);
        event ChannelOpened(
            bytes32 indexed channelId, address indexed payer, address indexed payee,
            address token, address authorizedSigner, bytes32 salt, uint256 deposit
        );
        event Settled(
            bytes32 indexed channelId, address indexed payer, address indexed payee,
            uint256 cumulativeAmount, uint256 deltaPaid, uint256 newSettled
        );
        event TopUp(
            bytes32 indexed channelId, address indexed payer, address indexed payee,
            uint256 additionalDeposit, uint256 newDeposit
        );
        event ChannelClosed(
            bytes32 indexed channelId, address indexed payer, address indexed payee,
            uint256 settledToPayee, uint256 refundedToPayer
        );
    }

    /// PROTOCOL.md §6.3, the reserve ("v2").
    struct Voucher {
        bytes32 channelId;
        uint96 cumulativeAmount;
    }
}

mod legacy {
    alloy::sol! {
        /// PROTOCOL.md §6.3, the legacy escrow ("v1"): the amount is a uint128.
        struct Voucher {
            bytes32 channelId;
            uint128 cumulativeAmount;
        }
    }
}

/// Enough for any channel transaction here (an open on the reserve uses about 0.8M, on the
/// legacy escrow about 1.6M; new state is dear at T4).
const GAS_LIMIT: u64 = 2_500_000;
/// Above anvil's base fee at T4 (20 gwei at most).
const MAX_FEE_PER_GAS: u128 = 40_000_000_000;
const PRIORITY_FEE_PER_GAS: u128 = 1_000_000_000;
/// What each party holds in AlphaUSD for its fees.
const FEE_FUNDS: u128 = 2_000_000;

fn typed(receipt: Value) -> TempoTransactionReceipt {
    serde_json::from_value(receipt).unwrap()
}

async fn pathusd(chain: &TempoChain, who: Address) -> u128 {
    chain
        .balance_of(PATH_USD, who)
        .await
        .unwrap()
        .try_into()
        .unwrap()
}

fn call(to: Address, input: Vec<u8>) -> Call {
    Call {
        to: TxKind::Call(to),
        value: U256::ZERO,
        input: input.into(),
    }
}

/// An unsigned transaction the way SDK clients send channel transactions: the expiring nonce,
/// `valid_before` 20 s after the chain's clock, fees in AlphaUSD.
async fn tempo_tx(chain: &TempoChain, calls: Vec<Call>) -> TempoTransaction {
    let now = chain.block_timestamp().await.unwrap();
    TempoTransaction {
        chain_id: chain.chain_id(),
        fee_token: Some(ALPHA_USD),
        max_priority_fee_per_gas: PRIORITY_FEE_PER_GAS,
        max_fee_per_gas: MAX_FEE_PER_GAS,
        gas_limit: GAS_LIMIT,
        calls,
        nonce_key: TEMPO_EXPIRING_NONCE_KEY,
        nonce: 0,
        valid_before: std::num::NonZeroU64::new(now + 20),
        ..Default::default()
    }
}

fn sign(tx: TempoTransaction, key: &FundedKey) -> Vec<u8> {
    let signature = key.signer().sign_hash_sync(&tx.signature_hash()).unwrap();
    TempoTxEnvelope::from(tx.into_signed(TempoSignature::from(signature))).encoded_2718()
}

/// Signs and sends `calls` from `key`, fails unless the receipt says success.
async fn send(chain: &TempoChain, key: &FundedKey, calls: Vec<Call>) -> TempoTransactionReceipt {
    let raw = sign(tempo_tx(chain, calls).await, key);
    let receipt = typed(chain.send_raw_transaction_sync(&raw).await.unwrap());
    assert!(receipt.status(), "{receipt:#?}");
    receipt
}

/// What a real node derives for an open: `keccak256(encodeForSigning(tx) || sender)`.
fn expiring_nonce_hash(tx: &TempoTransaction, sender: Address) -> B256 {
    let mut preimage = Vec::new();
    tx.encode_for_signing(&mut preimage);
    preimage.extend_from_slice(sender.as_slice());
    keccak256(preimage)
}

/// The one event `E` that `emitter` logged in the receipt.
fn event<E: SolEvent>(receipt: &TempoTransactionReceipt, emitter: Address) -> E {
    let found: Vec<E> = receipt
        .inner
        .logs()
        .iter()
        .filter(|log| log.address() == emitter)
        .filter_map(|log| log.log_decode::<E>().ok())
        .map(|log| log.inner.data)
        .collect();
    assert_eq!(found.len(), 1, "{receipt:#?}");
    found.into_iter().next().unwrap()
}

async fn eth_call<C: SolCall>(chain: &TempoChain, to: Address, call: C) -> C::Return {
    let answer = chain
        .rpc()
        .call(
            "eth_call",
            json!([{"to": to, "data": Bytes::from(call.abi_encode())}, "latest"]),
        )
        .await
        .unwrap();
    let bytes: Bytes = serde_json::from_value(answer).unwrap();
    C::abi_decode_returns(&bytes).unwrap()
}

fn reserve_domain(chain_id: u64) -> Eip712Domain {
    eip712_domain! {
        name: "TIP20 Channel Reserve",
        version: "1",
        chain_id: chain_id,
        verifying_contract: TIP20_CHANNEL_RESERVE,
    }
}

fn escrow_domain(chain_id: u64, escrow: Address) -> Eip712Domain {
    eip712_domain! {
        name: "Tempo Stream Channel",
        version: "1",
        chain_id: chain_id,
        verifying_contract: escrow,
    }
}

/// A 65-byte `r || s || v` signature (v 27 or 28) over the EIP-712 digest.
fn sign_digest(key: &FundedKey, digest: B256) -> Bytes {
    let signature = key.signer().sign_hash_sync(&digest).unwrap();
    Bytes::from(signature.as_bytes().to_vec())
}

/// PROTOCOL.md §6.2: the channel id of the reserve.
fn reserve_channel_id(descriptor: &ITIP20ChannelReserve::ChannelDescriptor, chain_id: u64) -> B256 {
    keccak256(
        (
            descriptor.payer,
            descriptor.payee,
            descriptor.operator,
            descriptor.token,
            descriptor.salt,
            descriptor.authorizedSigner,
            descriptor.expiringNonceHash,
            TIP20_CHANNEL_RESERVE,
            U256::from(chain_id),
        )
            .abi_encode(),
    )
}

fn u96(amount: u128) -> U96 {
    U96::from(amount)
}

/// The open call on the reserve, with the payer as the implicit signer (zero address).
fn reserve_open(payee: Address, deposit: u128, salt: B256) -> Call {
    call(
        TIP20_CHANNEL_RESERVE,
        ITIP20ChannelReserve::openCall {
            payee,
            operator: Address::ZERO,
            token: PATH_USD,
            deposit: u96(deposit),
            salt,
            authorizedSigner: Address::ZERO,
        }
        .abi_encode(),
    )
}

/// A payer with `deposits` PathUSD that approved both contracts, and AlphaUSD for fees.
async fn payer(chain: &TempoChain, deposits: u128) -> FundedKey {
    chain
        .session_payer(&[(PATH_USD, deposits), (ALPHA_USD, FEE_FUNDS)])
        .await
        .unwrap()
}

#[tokio::test]
async fn reserve_channel_lifecycle() {
    let chain = TempoChain::start_with(TempoChainOptions::default().sessions())
        .await
        .unwrap();
    let info = chain.rpc().call("anvil_nodeInfo", json!([])).await.unwrap();
    assert_eq!(info["hardFork"], "T4", "{info}");
    let chain_id = chain.chain_id();
    let deposit = 1_000_000u128;
    let top_up = 500_000u128;
    let payer = payer(&chain, deposit + top_up).await;
    let payee = chain
        .funded_key_with(&[(ALPHA_USD, FEE_FUNDS)])
        .await
        .unwrap();
    let salt = B256::random();

    // The domain separator is TIP-1034's for this chain.
    let separator = eth_call(
        &chain,
        TIP20_CHANNEL_RESERVE,
        ITIP20ChannelReserve::domainSeparatorCall {},
    )
    .await;
    assert_eq!(separator, reserve_domain(chain_id).separator());

    // Open, sent with eth_sendRawTransaction (not the sync form): the relay waits until it is
    // mined before it puts the placeholder back.
    let tx = tempo_tx(&chain, vec![reserve_open(payee.address(), deposit, salt)]).await;
    let expected_hash = expiring_nonce_hash(&tx, payer.address());
    let raw = sign(tx, &payer);
    let hash = chain
        .rpc()
        .call("eth_sendRawTransaction", json!([Bytes::from(raw)]))
        .await
        .unwrap();
    let hash: B256 = serde_json::from_value(hash).unwrap();
    let receipt = typed(
        chain
            .wait_for_receipt(hash, Duration::from_secs(10))
            .await
            .unwrap(),
    );
    assert!(receipt.status(), "{receipt:#?}");
    let opened: ITIP20ChannelReserve::ChannelOpened = event(&receipt, TIP20_CHANNEL_RESERVE);
    assert_eq!(opened.expiringNonceHash, expected_hash);
    let descriptor = ITIP20ChannelReserve::ChannelDescriptor {
        payer: payer.address(),
        payee: payee.address(),
        operator: Address::ZERO,
        token: PATH_USD,
        salt,
        authorizedSigner: Address::ZERO,
        expiringNonceHash: expected_hash,
    };
    let channel_id = reserve_channel_id(&descriptor, chain_id);
    assert_eq!(opened.channelId, channel_id);
    assert_eq!(
        (
            opened.payer,
            opened.payee,
            opened.token,
            opened.salt,
            opened.deposit
        ),
        (
            payer.address(),
            payee.address(),
            PATH_USD,
            salt,
            u96(deposit)
        )
    );
    println!("reserve open: gas used {}", receipt.inner.gas_used);
    assert_eq!(pathusd(&chain, payer.address()).await, top_up);
    let state = eth_call(
        &chain,
        TIP20_CHANNEL_RESERVE,
        ITIP20ChannelReserve::getChannelStateCall {
            channelId: channel_id,
        },
    )
    .await;
    assert_eq!((state.deposit, state.settled), (u96(deposit), u96(0)));

    // Settle 0.30 with a voucher the payer signed; the digest is the contract's.
    let voucher = Voucher {
        channelId: channel_id,
        cumulativeAmount: u96(300_000),
    };
    let digest = voucher.eip712_signing_hash(&reserve_domain(chain_id));
    let on_chain_digest = eth_call(
        &chain,
        TIP20_CHANNEL_RESERVE,
        ITIP20ChannelReserve::getVoucherDigestCall {
            channelId: channel_id,
            cumulativeAmount: u96(300_000),
        },
    )
    .await;
    assert_eq!(digest, on_chain_digest);
    let settle = ITIP20ChannelReserve::settleCall {
        descriptor: descriptor.clone(),
        cumulativeAmount: u96(300_000),
        signature: sign_digest(&payer, digest),
    };
    let receipt = send(
        &chain,
        &payee,
        vec![call(TIP20_CHANNEL_RESERVE, settle.abi_encode())],
    )
    .await;
    let settled: ITIP20ChannelReserve::Settled = event(&receipt, TIP20_CHANNEL_RESERVE);
    assert_eq!(
        (settled.deltaPaid, settled.newSettled),
        (u96(300_000), u96(300_000))
    );
    assert_eq!(pathusd(&chain, payee.address()).await, 300_000);

    // Top up.
    let top = ITIP20ChannelReserve::topUpCall {
        descriptor: descriptor.clone(),
        additionalDeposit: u96(top_up),
    };
    let receipt = send(
        &chain,
        &payer,
        vec![call(TIP20_CHANNEL_RESERVE, top.abi_encode())],
    )
    .await;
    let topped: ITIP20ChannelReserve::TopUp = event(&receipt, TIP20_CHANNEL_RESERVE);
    assert_eq!(topped.newDeposit, u96(deposit + top_up));
    assert_eq!(pathusd(&chain, payer.address()).await, 0);

    // Close at 0.70: the payee gets 0.40 more, the payer the remaining 0.80.
    let voucher = Voucher {
        channelId: channel_id,
        cumulativeAmount: u96(700_000),
    };
    let close = ITIP20ChannelReserve::closeCall {
        descriptor,
        cumulativeAmount: u96(700_000),
        captureAmount: u96(700_000),
        signature: sign_digest(
            &payer,
            voucher.eip712_signing_hash(&reserve_domain(chain_id)),
        ),
    };
    let receipt = send(
        &chain,
        &payee,
        vec![call(TIP20_CHANNEL_RESERVE, close.abi_encode())],
    )
    .await;
    let closed: ITIP20ChannelReserve::ChannelClosed = event(&receipt, TIP20_CHANNEL_RESERVE);
    assert_eq!(
        (closed.settledToPayee, closed.refundedToPayer),
        (u96(700_000), u96(800_000))
    );
    assert_eq!(pathusd(&chain, payee.address()).await, 700_000);
    assert_eq!(pathusd(&chain, payer.address()).await, 800_000);
    assert_eq!(pathusd(&chain, TIP20_CHANNEL_RESERVE).await, 0);
    let state = eth_call(
        &chain,
        TIP20_CHANNEL_RESERVE,
        ITIP20ChannelReserve::getChannelStateCall {
            channelId: channel_id,
        },
    )
    .await;
    assert_eq!(state.deposit, u96(0));
    assert!(
        chain.recent_output().contains("relay: open by"),
        "{}",
        chain.recent_output()
    );
}

#[tokio::test]
async fn legacy_escrow_channel_lifecycle() {
    let chain = TempoChain::start_with(TempoChainOptions::default().sessions())
        .await
        .unwrap();
    let escrow = chain.legacy_escrow().unwrap();
    let chain_id = chain.chain_id();
    let deposit = 1_000_000u128;
    let top_up = 250_000u128;
    let payer = payer(&chain, deposit + top_up).await;
    let payee = chain
        .funded_key_with(&[(ALPHA_USD, FEE_FUNDS)])
        .await
        .unwrap();
    let salt = B256::random();

    let separator = eth_call(&chain, escrow, ITempoStreamChannel::domainSeparatorCall {}).await;
    assert_eq!(separator, escrow_domain(chain_id, escrow).separator());

    let open = ITempoStreamChannel::openCall {
        payee: payee.address(),
        token: PATH_USD,
        deposit,
        salt,
        authorizedSigner: payer.address(),
    };
    let receipt = send(&chain, &payer, vec![call(escrow, open.abi_encode())]).await;
    println!("legacy open: gas used {}", receipt.inner.gas_used);
    let opened: ITempoStreamChannel::ChannelOpened = event(&receipt, escrow);
    // PROTOCOL.md §6.2, v1.
    let channel_id = keccak256(
        (
            payer.address(),
            payee.address(),
            PATH_USD,
            salt,
            payer.address(),
            escrow,
            U256::from(chain_id),
        )
            .abi_encode(),
    );
    assert_eq!(opened.channelId, channel_id);
    assert_eq!(opened.deposit, U256::from(deposit));
    assert_eq!(pathusd(&chain, payer.address()).await, top_up);

    let voucher = legacy::Voucher {
        channelId: channel_id,
        cumulativeAmount: 400_000,
    };
    let settle = ITempoStreamChannel::settleCall {
        channelId: channel_id,
        cumulativeAmount: 400_000,
        signature: sign_digest(
            &payer,
            voucher.eip712_signing_hash(&escrow_domain(chain_id, escrow)),
        ),
    };
    let receipt = send(&chain, &payee, vec![call(escrow, settle.abi_encode())]).await;
    let settled: ITempoStreamChannel::Settled = event(&receipt, escrow);
    assert_eq!(settled.deltaPaid, U256::from(400_000));
    assert_eq!(pathusd(&chain, payee.address()).await, 400_000);

    let top = ITempoStreamChannel::topUpCall {
        channelId: channel_id,
        additionalDeposit: U256::from(top_up),
    };
    let receipt = send(&chain, &payer, vec![call(escrow, top.abi_encode())]).await;
    let topped: ITempoStreamChannel::TopUp = event(&receipt, escrow);
    assert_eq!(topped.newDeposit, U256::from(deposit + top_up));

    let voucher = legacy::Voucher {
        channelId: channel_id,
        cumulativeAmount: 600_000,
    };
    let close = ITempoStreamChannel::closeCall {
        channelId: channel_id,
        cumulativeAmount: 600_000,
        signature: sign_digest(
            &payer,
            voucher.eip712_signing_hash(&escrow_domain(chain_id, escrow)),
        ),
    };
    let receipt = send(&chain, &payee, vec![call(escrow, close.abi_encode())]).await;
    let closed: ITempoStreamChannel::ChannelClosed = event(&receipt, escrow);
    assert_eq!(
        (closed.settledToPayee, closed.refundedToPayer),
        (U256::from(600_000), U256::from(deposit + top_up - 600_000))
    );
    assert_eq!(pathusd(&chain, payee.address()).await, 600_000);
    assert_eq!(
        pathusd(&chain, payer.address()).await,
        deposit + top_up - 600_000
    );
    let channel = eth_call(
        &chain,
        escrow,
        ITempoStreamChannel::getChannelCall {
            channelId: channel_id,
        },
    )
    .await;
    assert!(channel.finalized);
}

/// A sponsored open: the payer signs with the fee-payer placeholder, a sponsor co-signs and
/// picks the fee token, and the open arrives in a batch request. The channel's
/// `expiringNonceHash` is the one of the sender-signed form, as mppx computes it.
#[tokio::test]
async fn sponsored_open_in_a_batch_request() {
    let chain = TempoChain::start_with(TempoChainOptions::default().sessions())
        .await
        .unwrap();
    let deposit = 2_000_000u128;
    // Exactly the deposit and nothing for fees.
    let payer = chain.session_payer(&[(PATH_USD, deposit)]).await.unwrap();
    let sponsor = chain
        .funded_key_with(&[(ALPHA_USD, FEE_FUNDS)])
        .await
        .unwrap();
    let payee = Address::random();
    let salt = B256::random();

    let mut tx = tempo_tx(&chain, vec![reserve_open(payee, deposit, salt)]).await;
    tx.fee_token = None;
    tx.fee_payer_signature = Some(FEE_PAYER_SIGNATURE_MARKER);
    let sender_signature = payer.signer().sign_hash_sync(&tx.signature_hash()).unwrap();
    let expected_hash = expiring_nonce_hash(&tx, payer.address());
    tx.fee_token = Some(ALPHA_USD);
    tx.fee_payer_signature = Some(
        sponsor
            .signer()
            .sign_hash_sync(&tx.fee_payer_signature_hash(payer.address()))
            .unwrap(),
    );
    // Co-signing changes neither the sender's signing hash nor the expiringNonceHash.
    assert_eq!(expiring_nonce_hash(&tx, payer.address()), expected_hash);
    let raw = TempoTxEnvelope::from(tx.into_signed(TempoSignature::from(sender_signature)))
        .encoded_2718();

    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_sendRawTransactionSync", "params": [Bytes::from(raw)]},
    ]);
    let answers: Value = reqwest::Client::new()
        .post(chain.rpc_url())
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answers[0]["id"], 1);
    assert_eq!(answers[0]["result"], format!("{:#x}", chain.chain_id()));
    assert_eq!(answers[1]["id"], 2);
    let receipt = typed(answers[1]["result"].clone());
    assert!(receipt.status(), "{answers}");
    let opened: ITIP20ChannelReserve::ChannelOpened = event(&receipt, TIP20_CHANNEL_RESERVE);
    assert_eq!(opened.expiringNonceHash, expected_hash);
    let descriptor = ITIP20ChannelReserve::ChannelDescriptor {
        payer: payer.address(),
        payee,
        operator: Address::ZERO,
        token: PATH_USD,
        salt,
        authorizedSigner: Address::ZERO,
        expiringNonceHash: expected_hash,
    };
    assert_eq!(
        opened.channelId,
        reserve_channel_id(&descriptor, chain.chain_id())
    );
    // The payer paid the deposit and no fee.
    assert_eq!(pathusd(&chain, payer.address()).await, 0);
    assert!(
        chain
            .balance_of(ALPHA_USD, sponsor.address())
            .await
            .unwrap()
            < U256::from(FEE_FUNDS)
    );
}

/// Several payers open at once: the relay serialises the opens, and each channel gets its own
/// transaction's hash.
#[tokio::test]
async fn concurrent_opens_each_get_their_own_hash() {
    let chain = TempoChain::start_with(TempoChainOptions::default().sessions())
        .await
        .unwrap();
    let payee = Address::random();
    let open = async |deposit: u128| {
        let payer = payer(&chain, deposit).await;
        let tx = tempo_tx(&chain, vec![reserve_open(payee, deposit, B256::random())]).await;
        let expected = expiring_nonce_hash(&tx, payer.address());
        let receipt = typed(
            chain
                .send_raw_transaction_sync(&sign(tx, &payer))
                .await
                .unwrap(),
        );
        assert!(receipt.status(), "{receipt:#?}");
        let opened: ITIP20ChannelReserve::ChannelOpened = event(&receipt, TIP20_CHANNEL_RESERVE);
        assert_eq!(opened.expiringNonceHash, expected);
        expected
    };
    let (a, b, c) = tokio::join!(open(10), open(20), open(30));
    assert!(a != b && b != c && a != c);
    assert_eq!(pathusd(&chain, TIP20_CHANNEL_RESERVE).await, 60);
}

/// `eth_fillTransaction` of an open answers enough gas to open (anvil alone answers a fixed
/// amount that is not), and a fill whose call reverts fails with the revert.
#[tokio::test]
async fn fill_transaction_gas_covers_an_open() {
    let chain = TempoChain::start_with(TempoChainOptions::default().sessions())
        .await
        .unwrap();
    let deposit = 100_000u128;
    let payer = payer(&chain, deposit).await;
    let open = reserve_open(Address::random(), deposit, B256::random());
    let valid_before = chain.block_timestamp().await.unwrap() + 20;
    let request = |from: Address| {
        json!([{
            "from": from,
            "calls": [{"to": TIP20_CHANNEL_RESERVE, "data": open.input, "value": "0x0"}],
            "nonceKey": format!("{:#x}", TEMPO_EXPIRING_NONCE_KEY),
            "validBefore": format!("{valid_before:#x}"),
            "feeToken": ALPHA_USD,
        }])
    };
    let filled = chain
        .rpc()
        .call("eth_fillTransaction", request(payer.address()))
        .await
        .unwrap();
    let gas = u64::from_str_radix(
        filled["tx"]["gas"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    let mut tx = tempo_tx(&chain, vec![open.clone()]).await;
    tx.gas_limit = gas;
    let receipt = typed(
        chain
            .send_raw_transaction_sync(&sign(tx, &payer))
            .await
            .unwrap(),
    );
    assert!(receipt.status(), "filled gas {gas}: {receipt:#?}");
    println!(
        "fill answered {gas}, the open used {}",
        receipt.inner.gas_used
    );
    assert!(receipt.inner.gas_used <= gas);
    assert!(
        chain
            .recent_output()
            .contains("relay: eth_fillTransaction gas")
    );

    // A key that approved nothing: the open's transferFrom reverts, so does the fill.
    let stranger = chain
        .funded_key_with(&[(PATH_USD, deposit), (ALPHA_USD, FEE_FUNDS)])
        .await
        .unwrap();
    let refused = chain
        .rpc()
        .call("eth_fillTransaction", request(stranger.address()))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, mpp_testkit::Error::Rpc { .. }),
        "{refused}"
    );
}

/// The vendored ABI names what the tests call.
#[test]
fn vendored_abi_has_the_channel_functions() {
    let abi: Value = serde_json::from_str(RESERVE_ABI).unwrap();
    let names: Vec<&str> = abi
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| item["name"].as_str())
        .collect();
    for name in [
        "open",
        "settle",
        "topUp",
        "close",
        "requestClose",
        "withdraw",
        "ChannelOpened",
    ] {
        assert!(names.contains(&name), "{name} missing from the ABI");
    }
}

/// A plain chain has no channel contracts, and says so.
#[tokio::test]
async fn session_helpers_need_a_session_chain() {
    let chain = TempoChain::start().await.unwrap();
    assert_eq!(chain.legacy_escrow(), None);
    let err = chain.session_payer(&[(PATH_USD, 1)]).await.unwrap_err();
    assert!(matches!(err, mpp_testkit::Error::NotASessionChain), "{err}");
}

/// The reserve's domain follows the chain id (here 1337, viem's `tempoLocalnet`).
#[tokio::test]
async fn reserve_domain_follows_the_chain_id() {
    let chain = TempoChain::start_with(TempoChainOptions::default().chain_id(1337).sessions())
        .await
        .unwrap();
    let separator = eth_call(
        &chain,
        TIP20_CHANNEL_RESERVE,
        ITIP20ChannelReserve::domainSeparatorCall {},
    )
    .await;
    assert_eq!(separator, reserve_domain(1337).separator());
    assert_ne!(separator, reserve_domain(31337).separator());
}

/// The relay is what `rpc_url` points at, forwards plain requests, and stops with the chain.
#[tokio::test]
async fn relay_fronts_the_node_and_stops_with_the_chain() {
    let chain = TempoChain::start_with(TempoChainOptions::default().sessions())
        .await
        .unwrap();
    let relay_port: u16 = chain.rpc_url().rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(relay_port, chain.port());
    // A plain batch goes through as it is.
    let batch = json!([
        {"jsonrpc": "2.0", "id": "a", "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": "b", "method": "anvil_nodeInfo", "params": []},
    ]);
    let answers: Value = reqwest::Client::new()
        .post(chain.rpc_url())
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answers[0]["id"], "a");
    assert_eq!(answers[1]["result"]["hardFork"], "T4", "{answers}");
    // The placeholder sits in slot 1 between opens.
    let slot = chain
        .rpc()
        .call(
            "eth_getStorageAt",
            json!([TIP20_CHANNEL_RESERVE, "0x1", "latest"]),
        )
        .await
        .unwrap();
    let slot: B256 = serde_json::from_value(slot).unwrap();
    assert_ne!(slot, B256::ZERO);
    drop(chain);
    assert!(
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], relay_port)),
            Duration::from_millis(500)
        )
        .is_err(),
        "the relay still listens after the chain dropped"
    );
}
