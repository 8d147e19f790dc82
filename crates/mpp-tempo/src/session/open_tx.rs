//! The signed transactions of `open` and `topUp` payloads: checked against the challenge
//! before anything is broadcast, and the channel they open derived from them.
//!
//! A transaction may hold exactly the management call on the escrow, preceded only by what the
//! protocol's clients put before it: on v1 the token's `approve(escrow, amount)`; on v2 an
//! auto-swap pair (`approve(dex, maxIn)` on the input token, then the stablecoin DEX's
//! `swapExactAmountOut(tokenIn, currency, amount, maxIn)`), as mppx's clients build when the
//! payer holds another stablecoin. Everything else is refused.
//!
//! The v2 channel id binds `expiringNonceHash = keccak256(encodeForSigning(tx) || sender)`: the
//! transaction as its sender signed it (for a sponsored transaction, with the fee-payer
//! placeholder and without the fee token), so the `0x78` envelope, and the `0x76` transaction
//! the fee payer completes from it, open the same channel.

use alloy::consensus::SignableTransaction;
use alloy::primitives::{Address, B256, TxKind, keccak256};
use mpp_core::Amount;
use tempo_alloy::contracts::precompiles::{IStablecoinDEX, ITIP20, STABLECOIN_DEX_ADDRESS};
use tempo_alloy::primitives::TempoTransaction;
use tempo_alloy::primitives::transaction::Call;

use super::abi::{OpenCall, TopUpCall, decode_canonical};
use super::descriptor::ChannelDescriptor;
use super::payload::{OpenPayload, TopUpPayload};
use super::protocol::SessionProtocol;
use super::terms::ChannelTerms;
use crate::envelope::SignedPayment;
use crate::error::SessionError;

/// The TIP-1034 `expiringNonceHash` of a transaction sent by `sender`:
/// `keccak256(encodeForSigning(tx) || sender)`. Compute it on the transaction as the sender
/// signs it (with the fee-payer placeholder set when a fee payer sponsors it).
pub fn expiring_nonce_hash(tx: &TempoTransaction, sender: Address) -> B256 {
    let mut preimage = Vec::with_capacity(tx.payload_len_for_signature() + 20);
    tx.encode_for_signing(&mut preimage);
    preimage.extend_from_slice(sender.as_slice());
    keccak256(preimage)
}

/// An `open` payload whose transaction opens the channel the challenge asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenTransaction {
    /// The signed transaction and its sender (the payer).
    pub transaction: SignedPayment,
    /// The `open` call.
    pub open: OpenCall,
    /// The channel it opens (payer = the sender; v2: the transaction's nonce hash).
    pub descriptor: ChannelDescriptor,
    /// Its id.
    pub channel_id: B256,
}

impl OpenTransaction {
    /// Checks an `open` payload against `terms` before anything is broadcast:
    ///
    /// - the transaction decodes, its sender signature recovers and it is for the escrow's
    ///   chain;
    /// - its calls are exactly the escrow's `open` (with only the allowed calls before it);
    /// - the `open` pays `terms.payee` in `terms.token` with `terms.operator`, and deposits a
    ///   positive amount within the protocol's limit;
    /// - the channel it opens is the payload's `channelId`, and its descriptor (required for v2)
    ///   and `authorizedSigner`, when given, are the transaction's;
    /// - the first voucher is at most the deposit and signed by the channel's signer.
    ///
    /// Whether the deposit and voucher cover the route's price, the sponsor policy and the
    /// simulation are the server's to check.
    pub fn verify(payload: &OpenPayload, terms: &ChannelTerms) -> Result<Self, SessionError> {
        let escrow = &terms.escrow;
        let transaction = SignedPayment::decode(&payload.transaction)?;
        let (prefix, management) = split_calls(&transaction.tx, terms)?;
        let open = escrow.decode_open(&management.input)?;
        terms.check_parties(open.payee, open.token, open.operator)?;
        let deposit = escrow.protocol().check(open.deposit, "deposit")?;
        if deposit.is_zero() {
            return Err(SessionError::mismatch("deposit", "a positive amount", 0));
        }
        check_prefix(prefix, terms, deposit)?;
        let nonce_hash = match escrow.protocol() {
            SessionProtocol::V1 => B256::ZERO,
            SessionProtocol::V2 => expiring_nonce_hash(&transaction.tx, transaction.sender),
        };
        let descriptor = open.descriptor(transaction.sender, nonce_hash);
        let channel_id = descriptor.channel_id(escrow);
        if payload.channel_id != channel_id {
            return Err(SessionError::ChannelIdMismatch {
                claimed: payload.channel_id,
                derived: channel_id,
            });
        }
        match (&payload.descriptor, escrow.protocol()) {
            (Some(claimed), _) if *claimed != descriptor => {
                return Err(SessionError::mismatch(
                    "descriptor",
                    descriptor.to_json(),
                    claimed.to_json(),
                ));
            }
            (None, SessionProtocol::V2) => {
                return Err(SessionError::malformed(
                    "descriptor",
                    "is required for v2 sessions",
                ));
            }
            _ => {}
        }
        if let Some(named) = payload.authorized_signer
            && named != open.authorized_signer
        {
            return Err(SessionError::mismatch(
                "authorizedSigner",
                open.authorized_signer,
                named,
            ));
        }
        if payload.cumulative_amount > deposit {
            return Err(SessionError::AmountExceedsDeposit {
                amount: payload.cumulative_amount,
                deposit,
            });
        }
        payload
            .voucher()
            .verify(escrow, &payload.signature, descriptor.effective_signer())?;
        Ok(Self {
            transaction,
            open,
            descriptor,
            channel_id,
        })
    }
}

/// A `topUp` payload whose transaction adds to the channel the payload names.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopUpTransaction {
    /// The signed transaction and its sender (the payer).
    pub transaction: SignedPayment,
    /// The `topUp` call.
    pub top_up: TopUpCall,
}

impl TopUpTransaction {
    /// Checks a `topUp` payload for `channel` (the channel the server knows, its descriptor
    /// already checked against the challenge) before anything is broadcast: the transaction
    /// decodes and is for the escrow's chain, is sent by the channel's payer (the contracts
    /// accept top-ups from the payer only), its calls are exactly the escrow's `topUp` of this
    /// channel (with only the allowed calls before it) adding the payload's
    /// `additionalDeposit`, and the payload's `channelId` and descriptor name this channel.
    pub fn verify(
        payload: &TopUpPayload,
        terms: &ChannelTerms,
        channel: &ChannelDescriptor,
    ) -> Result<Self, SessionError> {
        let escrow = &terms.escrow;
        let channel_id = channel.channel_id(escrow);
        if payload.channel_id != channel_id {
            return Err(SessionError::ChannelIdMismatch {
                claimed: payload.channel_id,
                derived: channel_id,
            });
        }
        if let Some(claimed) = &payload.descriptor
            && claimed != channel
        {
            return Err(SessionError::mismatch(
                "descriptor",
                channel.to_json(),
                claimed.to_json(),
            ));
        }
        let transaction = SignedPayment::decode(&payload.transaction)?;
        if transaction.sender != channel.payer {
            return Err(SessionError::mismatch(
                "sender",
                channel.payer,
                transaction.sender,
            ));
        }
        let (prefix, management) = split_calls(&transaction.tx, terms)?;
        let top_up = escrow.decode_top_up(&management.input)?;
        if top_up.channel_id != channel_id {
            return Err(SessionError::ChannelIdMismatch {
                claimed: top_up.channel_id,
                derived: channel_id,
            });
        }
        let amount = escrow
            .protocol()
            .check(top_up.additional_deposit, "additionalDeposit")?;
        if amount != payload.additional_deposit {
            return Err(SessionError::mismatch(
                "additionalDeposit",
                payload.additional_deposit,
                amount,
            ));
        }
        check_prefix(prefix, terms, amount)?;
        Ok(Self {
            transaction,
            top_up,
        })
    }
}

/// Splits the calls into the allowed prefix and the management call on the escrow, after
/// checking the chain and that no call moves native value.
fn split_calls<'a>(
    tx: &'a TempoTransaction,
    terms: &ChannelTerms,
) -> Result<(&'a [Call], &'a Call), SessionError> {
    let escrow = &terms.escrow;
    if tx.chain_id != escrow.chain_id() {
        return Err(SessionError::mismatch(
            "chainId",
            escrow.chain_id(),
            tx.chain_id,
        ));
    }
    if tx.calls.iter().any(|call| !call.value.is_zero()) {
        return Err(SessionError::UnexpectedCalls(
            "calls must not transfer native value",
        ));
    }
    let (management, prefix) = tx.calls.split_last().ok_or(SessionError::UnexpectedCalls(
        "the transaction has no calls",
    ))?;
    let allowed = match escrow.protocol() {
        SessionProtocol::V1 => prefix.len() <= 1,
        SessionProtocol::V2 => prefix.is_empty() || prefix.len() == 2,
    };
    if !allowed {
        return Err(SessionError::UnexpectedCalls(match escrow.protocol() {
            SessionProtocol::V1 => {
                "a v1 transaction holds the escrow call, optionally after the token's approve"
            }
            _ => "a v2 transaction holds the escrow call, optionally after an auto-swap pair",
        }));
    }
    if management.to != TxKind::Call(escrow.address()) {
        return Err(SessionError::mismatch(
            "management call target",
            escrow.address(),
            target(management),
        ));
    }
    Ok((prefix, management))
}

fn target(call: &Call) -> String {
    match call.to {
        TxKind::Call(to) => to.to_string(),
        TxKind::Create => "a contract creation".into(),
    }
}

/// Checks the calls before the management call, which must bring exactly `amount` of the
/// channel's token to the escrow's pull.
fn check_prefix(prefix: &[Call], terms: &ChannelTerms, amount: Amount) -> Result<(), SessionError> {
    match (terms.escrow.protocol(), prefix) {
        (_, []) => Ok(()),
        (SessionProtocol::V1, [approve]) => {
            let spender_amount = decode_approve(approve)?;
            if approve.to != TxKind::Call(terms.token) {
                return Err(SessionError::UnexpectedCalls(
                    "the approve is not on the channel's token",
                ));
            }
            if spender_amount != (terms.escrow.address(), u128_word(amount)) {
                return Err(SessionError::UnexpectedCalls(
                    "the approve must allow the escrow exactly the deposit",
                ));
            }
            Ok(())
        }
        (SessionProtocol::V2, [approve, swap]) => check_auto_swap(approve, swap, terms, amount),
        _ => Err(SessionError::UnexpectedCalls(
            "calls before the escrow call are not allowed",
        )),
    }
}

fn u128_word(amount: Amount) -> alloy::primitives::U256 {
    alloy::primitives::U256::from(amount.base_units())
}

fn decode_approve(call: &Call) -> Result<(Address, alloy::primitives::U256), SessionError> {
    let approve: ITIP20::approveCall = decode_canonical(
        &call.input,
        "the call before the escrow call is not a canonical approve",
    )?;
    Ok((approve.spender, approve.amount))
}

/// mppx's auto-swap: `approve(dex, maxIn)` on `tokenIn`, then
/// `swapExactAmountOut(tokenIn, token, amount, maxIn)` on the stablecoin DEX.
fn check_auto_swap(
    approve: &Call,
    swap: &Call,
    terms: &ChannelTerms,
    amount: Amount,
) -> Result<(), SessionError> {
    let (spender, approved) = decode_approve(approve)?;
    if swap.to != TxKind::Call(STABLECOIN_DEX_ADDRESS) {
        return Err(SessionError::UnexpectedCalls(
            "the auto-swap does not call the stablecoin DEX",
        ));
    }
    let swap: IStablecoinDEX::swapExactAmountOutCall = decode_canonical(
        &swap.input,
        "the auto-swap is not a canonical swapExactAmountOut",
    )?;
    let checks = [
        (
            approve.to == TxKind::Call(swap.tokenIn),
            "the auto-swap approval is not on the swap's input token",
        ),
        (
            spender == STABLECOIN_DEX_ADDRESS,
            "the auto-swap approval is not for the DEX",
        ),
        (
            approved == alloy::primitives::U256::from(swap.maxAmountIn),
            "the auto-swap approval is not the swap's maximum input",
        ),
        (
            swap.tokenOut == terms.token,
            "the auto-swap does not buy the channel's token",
        ),
        (
            swap.amountOut == amount.base_units(),
            "the auto-swap does not buy exactly the deposit",
        ),
        (
            swap.tokenIn != swap.tokenOut,
            "the auto-swap sells the token it buys",
        ),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, why)) => Err(SessionError::UnexpectedCalls(why)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
