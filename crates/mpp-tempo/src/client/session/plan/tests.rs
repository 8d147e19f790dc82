use alloy::primitives::{Address, B256, Bytes, address};
use mpp_core::{Challenge, EncodedJson};
use serde_json::{Value, json};

use super::*;
use crate::client::session::channel::ChannelStatus;
use crate::session::{ChannelDescriptor, SessionProtocol, TIP20_CHANNEL_RESERVE};

const PAYER: Address = address!("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720");
const PAYEE: Address = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
const TOKEN: Address = address!("0x20c0000000000000000000000000000000000000");

fn request() -> Value {
    json!({
        "amount": "10000",
        "unitType": "request",
        "suggestedDeposit": "50000",
        "currency": TOKEN.to_string(),
        "recipient": PAYEE.to_string(),
        "methodDetails": {
            "escrowContract": TIP20_CHANNEL_RESERVE.to_string(),
            "chainId": 31337,
            "sessionProtocol": "v2"
        }
    })
}

fn offer(request: Value) -> Offer {
    let challenge = Challenge::builder(
        "127.0.0.1",
        "tempo",
        "session",
        EncodedJson::from_json(request).unwrap(),
    )
    .id("c1");
    Offer::parse(&challenge, PAYER).unwrap()
}

fn channel(deposit: u128, cumulative: u128, spent: u128) -> SessionChannel {
    let offer = offer(request());
    let descriptor = ChannelDescriptor {
        payer: PAYER,
        payee: PAYEE,
        operator: Address::ZERO,
        token: TOKEN,
        salt: B256::repeat_byte(1),
        authorized_signer: PAYER,
        expiring_nonce_hash: B256::repeat_byte(2),
    };
    SessionChannel {
        channel_id: descriptor.channel_id(&offer.escrow()),
        protocol: SessionProtocol::V2,
        escrow: TIP20_CHANNEL_RESERVE,
        chain_id: 31337,
        descriptor,
        deposit: Amount::new(deposit),
        cumulative: Amount::new(cumulative),
        signature: Bytes::new(),
        accepted: Amount::new(cumulative),
        spent: Amount::new(spent),
        url: None,
        status: ChannelStatus::Open,
    }
}

fn step(channel: Option<&SessionChannel>, request: Value, options: &SessionOptions) -> Step {
    next(channel, &offer(request), options).unwrap()
}

#[test]
fn opens_with_the_suggested_deposit_else_the_configured_one_capped() {
    let none = SessionOptions::new();
    assert_eq!(
        step(None, request(), &none),
        Step::Open {
            deposit: Amount::new(50_000)
        }
    );
    // The suggestion wins over the configured default, which applies when there is none.
    let configured = SessionOptions::new().deposit(Amount::new(70_000));
    assert_eq!(
        step(None, request(), &configured).deposit(),
        Amount::new(50_000)
    );
    let mut unsuggested = request();
    unsuggested
        .as_object_mut()
        .unwrap()
        .remove("suggestedDeposit");
    assert_eq!(
        step(None, unsuggested.clone(), &configured).deposit(),
        Amount::new(70_000)
    );
    assert_eq!(
        step(None, unsuggested, &none).deposit(),
        Amount::new(10_000 * DEFAULT_DEPOSIT_UNITS)
    );
    // A maximum caps the deposit, never below the price.
    let capped = SessionOptions::new().max_deposit(Amount::new(20_000));
    assert_eq!(
        step(None, request(), &capped).deposit(),
        Amount::new(20_000)
    );
    let below_price = SessionOptions::new().max_deposit(Amount::new(9_999));
    assert!(matches!(
        next(None, &offer(request()), &below_price),
        Err(ChannelError::DepositAboveMaximum { .. })
    ));
    // A suggestion below the price still covers the first request.
    let mut small = request();
    small["suggestedDeposit"] = json!("1");
    assert_eq!(step(None, small, &none).deposit(), Amount::new(10_000));
}

#[test]
fn vouchers_rise_by_the_price_and_top_up_when_the_deposit_is_short() {
    let options = SessionOptions::new();
    let open = channel(50_000, 30_000, 30_000);
    assert_eq!(
        step(Some(&open), request(), &options),
        Step::Voucher {
            cumulative: Amount::new(40_000)
        }
    );
    let full = channel(50_000, 50_000, 50_000);
    // Short by one price: the top-up is the suggested deposit.
    assert_eq!(
        step(Some(&full), request(), &options),
        Step::TopUp {
            amount: Amount::new(50_000)
        }
    );
    // A cap below the suggestion, not below the shortfall.
    let capped = SessionOptions::new().max_deposit(Amount::new(15_000));
    assert_eq!(
        step(Some(&full), request(), &capped),
        Step::TopUp {
            amount: Amount::new(15_000)
        }
    );
    let tight = SessionOptions::new().max_deposit(Amount::new(5_000));
    assert!(matches!(
        next(Some(&full), &offer(request()), &tight),
        Err(ChannelError::DepositAboveMaximum { .. })
    ));
    // A server holding a higher voucher than this payer signed is never signed below.
    let mut behind = channel(50_000, 20_000, 20_000);
    behind.accepted = Amount::new(30_000);
    assert_eq!(
        step(Some(&behind), request(), &options),
        Step::Voucher {
            cumulative: Amount::new(40_000)
        }
    );
}

#[test]
fn a_channel_for_other_terms_or_closed_is_replaced_by_an_open() {
    let options = SessionOptions::new();
    let mut closed = channel(50_000, 10_000, 10_000);
    closed.status = ChannelStatus::Closed {
        tx_hash: B256::repeat_byte(9),
    };
    assert!(matches!(
        step(Some(&closed), request(), &options),
        Step::Open { .. }
    ));
    let mut gone = channel(50_000, 10_000, 10_000);
    gone.status = ChannelStatus::Gone;
    assert!(matches!(
        step(Some(&gone), request(), &options),
        Step::Open { .. }
    ));
    let mut other_operator = request();
    other_operator["methodDetails"]["operator"] = json!(PAYEE.to_string());
    let open = channel(50_000, 10_000, 10_000);
    assert!(matches!(
        step(Some(&open), other_operator, &options),
        Step::Open { .. }
    ));
}

#[test]
fn a_minimum_delta_above_the_price_is_spent_before_the_next_step() {
    let options = SessionOptions::new();
    let mut stepped = request();
    stepped["methodDetails"]["minVoucherDelta"] = json!("25000");
    // The last voucher (30000) has 20000 left above what was spent: send it again.
    let open = channel(100_000, 30_000, 10_000);
    assert_eq!(
        step(Some(&open), stepped.clone(), &options),
        Step::Voucher {
            cumulative: Amount::new(30_000)
        }
    );
    // Spent up to it: the next voucher is one step up.
    let used = channel(100_000, 30_000, 30_000);
    assert_eq!(
        step(Some(&used), stepped.clone(), &options),
        Step::Voucher {
            cumulative: Amount::new(55_000)
        }
    );
    // A delta at or below the price changes nothing.
    let mut small = request();
    small["methodDetails"]["minVoucherDelta"] = json!("10000");
    assert_eq!(
        step(Some(&open), small, &options),
        Step::Voucher {
            cumulative: Amount::new(40_000)
        }
    );
}

#[test]
fn amounts_stay_within_the_contract() {
    let options = SessionOptions::new().deposit(Amount::new(1u128 << 100));
    let mut unsuggested = request();
    unsuggested
        .as_object_mut()
        .unwrap()
        .remove("suggestedDeposit");
    assert!(matches!(
        next(None, &offer(unsuggested), &options),
        Err(ChannelError::Session(_))
    ));
}
