//! Benchmarks of the session hot path on the server: a voucher credential's payload read and its
//! signature recovered (what bounds "vouchers verified per second"), and the digest alone.

use std::hint::black_box;

use alloy::primitives::B256;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mpp_core::{Amount, PaymentPayload};
use mpp_tempo::{
    ChannelDescriptor, Escrow, PrivateKeySigner, SessionPayload, SessionProtocol,
    TIP20_CHANNEL_RESERVE, Voucher, VoucherPayload, VoucherSignature,
};

fn setup() -> (Escrow, ChannelDescriptor, PrivateKeySigner) {
    let payer = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).expect("a valid key");
    let escrow = Escrow::new(TIP20_CHANNEL_RESERVE, 42431);
    let descriptor = ChannelDescriptor {
        payer: payer.address(),
        payee: alloy::primitives::Address::repeat_byte(0x70),
        operator: alloy::primitives::Address::ZERO,
        token: alloy::primitives::Address::repeat_byte(0x20),
        salt: B256::repeat_byte(0x22),
        authorized_signer: payer.address(),
        expiring_nonce_hash: B256::repeat_byte(0x44),
    };
    (escrow, descriptor, payer)
}

fn vouchers(c: &mut Criterion) {
    let (escrow, descriptor, payer) = setup();
    let voucher = Voucher::new(descriptor.channel_id(&escrow), Amount::new(123_456));
    let signature = voucher.sign_sync(&escrow, &payer).expect("signs");
    let hex = signature.to_string();
    let payload: PaymentPayload = SessionPayload::Voucher(
        VoucherPayload::new(voucher, signature).with_descriptor(descriptor),
    )
    .to_payload();

    let mut group = c.benchmark_group("session");
    group.throughput(Throughput::Elements(1));
    group.bench_function("voucher digest", |b| {
        b.iter(|| black_box(&voucher).digest(black_box(&escrow)))
    });
    group.bench_function("signature parse + recover", |b| {
        b.iter(|| {
            let signature = VoucherSignature::from_hex(black_box(&hex)).expect("parses");
            voucher.recover(&escrow, &signature).expect("recovers")
        })
    });
    group.bench_function("voucher payload parse + descriptor check + verify", |b| {
        b.iter(|| {
            let SessionPayload::Voucher(v) =
                SessionPayload::from_payload(black_box(&payload), SessionProtocol::V2)
                    .expect("parses")
            else {
                unreachable!("a voucher payload")
            };
            let descriptor = v.descriptor.expect("v2 carries the descriptor");
            let channel_id = descriptor.channel_id(&escrow);
            assert_eq!(channel_id, v.channel_id);
            v.voucher()
                .verify(&escrow, &v.signature, descriptor.effective_signer())
                .expect("verifies")
        })
    });
    group.finish();
}

criterion_group!(benches, vouchers);
criterion_main!(benches);
