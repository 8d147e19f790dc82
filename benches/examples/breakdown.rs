//! What reading and verifying a credential costs, part by part, on the input of the
//! `parse_and_verify_credential` group: each part timed alone in a loop (mean of many
//! iterations, after a warm-up), for the floor under the whole.
//!
//! ```text
//! cargo run --release --example breakdown [iterations]
//! ```

use std::hint::black_box;
use std::time::Instant;

use mpp_benches::{authorization, ours};
use mpp_core::{Credential, EncodedJson, base64url};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations: u32 = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("300000")
        .parse()?;
    let secret = ours::secret();
    let header = authorization();
    let token = header.strip_prefix("Payment ").ok_or("a Payment value")?;
    let credential: Credential = header.parse()?;
    let json = base64url::decode(token)?;
    let text = std::str::from_utf8(&json)?;
    let request = credential.challenge.request.as_wire();
    println!(
        "Authorization {} bytes, its JSON {} bytes, the echoed request {} characters\n",
        header.len(),
        json.len(),
        request.len()
    );
    let time = |part: &str, f: &mut dyn FnMut()| {
        for _ in 0..iterations / 10 {
            f();
        }
        let start = Instant::now();
        for _ in 0..iterations {
            f();
        }
        let nanos = start.elapsed().as_secs_f64() * 1e9 / f64::from(iterations);
        println!("{part:58} {nanos:8.0} ns");
    };
    time("the whole: parse, then verify the id", &mut || {
        black_box(ours::parse_and_verify(&secret, black_box(&header)));
    });
    time("parse the Authorization value", &mut || {
        black_box(header.parse::<Credential>().ok());
    });
    time("  of which: decode base64url of the token", &mut || {
        black_box(base64url::decode(black_box(token)).ok());
    });
    time("  of which: check the JSON is UTF-8", &mut || {
        black_box(std::str::from_utf8(black_box(&json)).is_ok());
    });
    time(
        "  of which: decode the request, check it is an object",
        &mut || {
            black_box(EncodedJson::from_wire(black_box(request)).ok());
        },
    );
    time(
        "verify the id (HMAC-SHA256 of the bound fields)",
        &mut || {
            black_box(secret.verify(black_box(&credential.challenge)));
        },
    );
    time(
        "clone then drop the parsed credential (its allocations)",
        &mut || {
            drop(black_box(credential.clone()));
        },
    );
    time(
        "for scale: the same JSON into a serde_json::Value",
        &mut || {
            black_box(serde_json::from_str::<serde_json::Value>(black_box(text)).ok());
        },
    );
    Ok(())
}
