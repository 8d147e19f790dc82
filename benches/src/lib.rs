//! What the benchmarks compare, each written twice on the same input: once with this
//! repository's crates ([`ours`], [`routers::ours`]) and once with the official Rust SDK, crate
//! `mpp` 0.18.2 ([`reference`], [`routers::reference`]). The criterion benchmark
//! (`benches/versus.rs`) times them side by side, the `count` example runs one operation in a
//! loop for `valgrind --tool=callgrind`, and the `server` example serves a router for the load
//! test (`loadtest.sh`).

pub mod routers;

use mpp_core::{BodyDigest, Challenge, Credential, EncodedJson, PaymentPayload, ServerSecret};
use serde_json::{Value, json};

/// The server secret both implementations bind with.
pub const SECRET: &str = "benchmark-server-secret-of-at-least-32-bytes";
/// The realm of every challenge.
pub const REALM: &str = "api.example.com";
/// The `expires` of every challenge, in the millisecond form `mppx` emits.
pub const EXPIRES: &str = "2030-01-01T00:00:00.000Z";
/// The description of the issued challenge.
pub const DESCRIPTION: &str = "One search";

/// A Tempo-style charge request, as a server prices a route.
pub fn charge_request(n: u32) -> Value {
    json!({
        "amount": format!("{}", 1_000_000 + n),
        "currency": "0x20c0000000000000000000000000000000000001",
        "recipient": "0x742d35Cc6634C0532925a3b844Bc9e7595f8fE00",
        "description": "One search — premium tier",
        "externalId": format!("order-{n:08}"),
        "methodDetails": {
            "chainId": 42431,
            "feePayer": true,
            "memo": "0x00000000000000000000000000000000000000000000000000000000deadbeef"
        }
    })
}

/// An `Authorization` value of about 1.5 KB: a bound challenge echo (with a body digest) and a
/// signed Tempo transaction.
pub fn authorization() -> String {
    let secret = ours::secret();
    let request = EncodedJson::from_json(charge_request(7)).expect("the request is an object");
    let challenge = Challenge::builder(REALM, "tempo", "charge", request)
        .expires(EXPIRES)
        .description(DESCRIPTION)
        .digest(&BodyDigest::compute(br#"{"query":"rust payments"}"#))
        .bind(&secret);
    let signature: String = (0..280u32)
        .map(|i| char::from_digit((i * 7 + 3) % 16, 16).expect("a hex digit"))
        .collect();
    let payload = PaymentPayload::transaction(format!("0x76{signature}"));
    Credential::new(challenge, payload)
        .with_source("did:pkh:eip155:42431:0x1a642f0E3c3aF545E7AcBD38b07251B3990914F1")
        .to_header()
        .expect("the credential formats")
}

/// A `WWW-Authenticate` value merging five challenges (three methods, two intents), with
/// quoted quotes and a character beyond ASCII in their descriptions.
pub fn www_authenticate() -> String {
    let secret = ours::secret();
    let offers = [
        ("tempo", "charge"),
        ("stripe", "charge"),
        ("redotpay", "charge"),
        ("tempo", "session"),
        ("stripe", "session"),
    ];
    let challenges: Vec<Challenge> = (0u32..)
        .zip(offers)
        .map(|(i, (method, intent))| {
            let request =
                EncodedJson::from_json(charge_request(i)).expect("the request is an object");
            Challenge::builder(REALM, method, intent, request)
                .expires(EXPIRES)
                .description("Search \"premium\" — per call")
                .bind(&secret)
        })
        .collect();
    mpp_core::www_authenticate::format(&challenges).expect("the challenges format")
}

/// The operations with this repository's `mpp-core`.
pub mod ours {
    use super::*;

    /// The server secret.
    pub fn secret() -> ServerSecret {
        ServerSecret::new(SECRET).expect("the secret is long enough")
    }

    /// Issues a challenge for `request`: its canonical encoding, the HMAC id, the header value.
    pub fn issue(secret: &ServerSecret, request: Value) -> String {
        let request = EncodedJson::from_json(request).expect("the request is an object");
        Challenge::builder(REALM, "tempo", "charge", request)
            .expires(EXPIRES)
            .description(DESCRIPTION)
            .bind(secret)
            .to_header()
            .expect("the challenge formats")
    }

    /// Parses an `Authorization` value and checks that its challenge id is this server's.
    pub fn parse_and_verify(secret: &ServerSecret, authorization: &str) -> Credential {
        let credential: Credential = authorization.parse().expect("the credential parses");
        assert!(secret.verify(&credential.challenge), "the id verifies");
        credential
    }

    /// Parses every challenge of a `WWW-Authenticate` value.
    pub fn parse_www_authenticate(value: &str) -> Vec<Challenge> {
        mpp_core::www_authenticate::parse(value)
            .expect("the value parses")
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("every challenge parses")
    }
}

/// The same operations with the official Rust SDK, crate `mpp` 0.18.2, the way its server and
/// client call them.
pub mod reference {
    use mpp_reference::protocol::core::{
        Base64UrlJson, PaymentChallenge, PaymentCredential, compute_challenge_id_with_header,
        parse_authorization, parse_www_authenticate_all,
    };
    use subtle::ConstantTimeEq as _;

    use super::*;

    /// Issues a challenge for `request`: its canonical encoding, the HMAC id, the header value.
    pub fn issue(request: Value) -> String {
        let request = Base64UrlJson::from_value(&request).expect("the request encodes");
        PaymentChallenge::with_secret_key_full(
            SECRET,
            REALM,
            "tempo",
            "charge",
            request,
            Some(EXPIRES),
            None,
            Some(DESCRIPTION),
            None,
            None,
        )
        .to_header()
        .expect("the challenge formats")
    }

    /// Parses an `Authorization` value and checks its challenge id the way the SDK's server
    /// does: its HMAC over the echoed fields, compared in constant time.
    pub fn parse_and_verify(authorization: &str) -> PaymentCredential {
        let credential = parse_authorization(authorization).expect("the credential parses");
        let echo = &credential.challenge;
        let expected = compute_challenge_id_with_header(
            SECRET,
            &echo.realm,
            echo.method.as_str(),
            echo.intent.as_str(),
            echo.request.raw(),
            echo.expires.as_deref(),
            echo.digest.as_deref(),
            echo.opaque.as_ref().map(Base64UrlJson::raw),
            echo.header.as_deref(),
        );
        assert!(
            bool::from(echo.id.as_bytes().ct_eq(expected.as_bytes())),
            "the id verifies"
        );
        credential
    }

    /// Parses every challenge of a `WWW-Authenticate` value.
    pub fn parse_www_authenticate(value: &str) -> Vec<PaymentChallenge> {
        parse_www_authenticate_all([value])
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("every challenge parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both sides do the same work: the same id, the same credential, the same challenges.
    #[test]
    fn both_sides_agree() {
        let secret = ours::secret();
        let ours_header = ours::issue(&secret, charge_request(1));
        let theirs_header = reference::issue(charge_request(1));
        let ours_challenge: Challenge = ours_header.parse().unwrap();
        let theirs_challenge: Challenge = theirs_header.parse().unwrap();
        assert_eq!(ours_challenge, theirs_challenge);

        let authorization = authorization();
        assert!((1400..=1700).contains(&authorization.len()));
        let ours_credential = ours::parse_and_verify(&secret, &authorization);
        let theirs_credential = reference::parse_and_verify(&authorization);
        assert_eq!(ours_credential.challenge.id, theirs_credential.challenge.id);

        let value = www_authenticate();
        let ours_list = ours::parse_www_authenticate(&value);
        let theirs_list = reference::parse_www_authenticate(&value);
        assert_eq!(ours_list.len(), 5);
        assert_eq!(theirs_list.len(), 5);
        for (a, b) in ours_list.iter().zip(&theirs_list) {
            assert_eq!(a.id, b.id);
            assert_eq!(a.request.as_wire(), b.request.raw());
        }
    }
}
