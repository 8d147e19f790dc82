//! [`RouteTerms`]: a credential checked against what a route asks for now. This is the one
//! implementation of the server's check order; the HTTP exchange builds its terms from the
//! route and verifies through it, and code outside an HTTP exchange (another transport,
//! tooling) builds them explicitly.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use mpp_core::{
    BodyDigest, Challenge, Claim, Credential, EncodedJson, LedgerEntry, Metering, ReplayStore,
    ServerMethod, ServerSecret, SharedStore, VerifyError, challenge_key,
};
use serde_json::{Map, Value};

use crate::Payment;
use crate::context::{NONCE_KEY, ROUTE_SCOPE_KEY};
use crate::method::DynMethod;

/// Recognises the challenge ids a server bound: the first check a returned credential passes.
///
/// [`ServerSecret`] is the implementation servers use (HMAC-SHA256 under the current or a
/// previous secret, compared in constant time). Another implementation only makes sense for
/// tooling that must reproduce ids bound elsewhere.
///
/// ```
/// use mpp_core::{Challenge, EncodedJson, ServerSecret};
/// use mpp_server::ChallengeBinding;
///
/// let secret = ServerSecret::new("an-example-secret-that-is-32-bytes+")?;
/// let request = EncodedJson::from_json(serde_json::json!({"amount": "50"}))?;
/// let challenge = Challenge::builder("api.example.com", "example", "charge", request).bind(&secret);
/// assert!(secret.is_bound(&challenge));
///
/// let mut forged = challenge.clone();
/// forged.realm = "other.example.com".into();
/// assert!(!secret.is_bound(&forged));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait ChallengeBinding: Send + Sync {
    /// True when `challenge.id` binds the challenge's fields under this server's key.
    fn is_bound(&self, challenge: &Challenge) -> bool;
}

impl ChallengeBinding for ServerSecret {
    fn is_bound(&self, challenge: &Challenge) -> bool {
        self.verify(challenge)
    }
}

/// One method's terms: the request object the route would issue for it now.
pub(crate) struct Offer<'a> {
    pub(crate) method: &'a dyn DynMethod,
    pub(crate) request: EncodedJson,
}

/// What a route asks for now, and the checks a returned credential must pass against it.
///
/// The terms are the realm, the offered methods with the request object each would issue,
/// the `opaque` the route binds (none unless set), the request body (none unless set) and,
/// optionally, a replay store. [`verify`](Self::verify) checks a credential in this order:
///
/// 1. its method and intent are offered ([`VerifyError::MethodUnsupported`]);
/// 2. its challenge id was bound by `binding` ([`VerifyError::UnknownChallenge`]);
/// 3. its realm, `opaque` and `request` equal the terms' ([`VerifyError::RouteMismatch`]);
/// 4. it has an `expires` ([`VerifyError::MissingExpires`]) that is RFC 3339
///    ([`VerifyError::InvalidExpires`]) and in the future ([`VerifyError::Expired`]);
/// 5. its `digest` matches the body ([`VerifyError::DigestMismatch`]);
/// 6. with a replay store, its challenge was not used before ([`VerifyError::Replayed`]);
/// 7. the payment method verifies it.
///
/// A credential whose payment the payer completed before presenting it
/// ([`ServerMethod::paid_by_payer`], such as a transaction hash in push mode) is checked the
/// same way, except that its `request` need not equal what the route issues now (it is verified
/// against the echoed request, which the challenge id binds: the terms the payer was offered and
/// paid) and that it is still taken for the [late-payment window](Self::late_payment_window)
/// after its challenge expired. Money that already moved is never refused for a change the payer
/// could not know about.
///
/// [`Mpp::charge`](crate::Mpp::charge) and the HTTP adapters verify through the same terms,
/// built from the route (with the route scope as `opaque`, the server's store and secret).
/// Build them yourself to verify a credential that did not arrive over HTTP, or in tooling.
///
/// ```
/// # mod stand_in { include!("../examples/stand_in/mod.rs"); }
/// use mpp_core::{Challenge, Credential, EncodedJson, PaymentPayload, ServerSecret};
/// use mpp_server::RouteTerms;
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let secret = ServerSecret::new("an-example-secret-that-is-32-bytes+")?;
/// let method = stand_in::StandInMethod::new();
/// let request = serde_json::json!({"amount": "50", "currency": "usd"});
/// let request = request.as_object().cloned().unwrap_or_default();
///
/// // What the server issued earlier, and the client's answer to it.
/// let issued = Challenge::builder("api.example.com", "example", "charge", EncodedJson::from_object(request.clone()))
///     .expires_in(std::time::Duration::from_secs(300))
///     .bind(&secret);
/// let credential = Credential::new(issued.to_echo(), PaymentPayload::hash("0xabc"));
///
/// let terms = RouteTerms::new("api.example.com").offer(&method, request);
/// let payment = terms.verify(&secret, credential.clone()).await?;
/// assert_eq!(payment.receipt().reference, "0xabc");
///
/// // The same credential does not pay for other terms.
/// let dearer = serde_json::json!({"amount": "99", "currency": "usd"});
/// let other = RouteTerms::new("api.example.com").offer(&method, dearer.as_object().cloned().unwrap_or_default());
/// let refused = other.verify(&secret, credential).await.unwrap_err();
/// assert_eq!(refused.problem_type().slug(), "invalid-challenge");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RouteTerms<'a> {
    realm: &'a str,
    pub(crate) offers: Vec<Offer<'a>>,
    pub(crate) opaque: Option<BTreeMap<String, String>>,
    /// The echoed `opaque` also carries the server's nonce (challenges the exchange issues).
    nonce: bool,
    body_digest: Option<BodyDigest>,
    store: Option<&'a SharedStore>,
    late_window: Duration,
}

impl<'a> RouteTerms<'a> {
    /// Terms in `realm`, offering nothing yet, binding no `opaque`, for a request without a
    /// body and without a replay store.
    pub fn new(realm: &'a str) -> Self {
        Self {
            realm,
            offers: Vec::new(),
            opaque: None,
            nonce: false,
            body_digest: None,
            store: None,
            late_window: Self::DEFAULT_LATE_PAYMENT_WINDOW,
        }
    }

    /// The terms of an HTTP exchange: the route's offers, its `opaque` (echoed with a nonce),
    /// its body and the server's store.
    pub(crate) fn exchange(
        realm: &'a str,
        offers: Vec<Offer<'a>>,
        opaque: BTreeMap<String, String>,
        body_digest: Option<BodyDigest>,
        store: &'a SharedStore,
        late_window: Duration,
    ) -> Self {
        Self {
            realm,
            offers,
            opaque: Some(opaque),
            nonce: true,
            body_digest,
            store: Some(store),
            late_window,
        }
    }

    /// How long after its challenge expired a credential the payer already paid
    /// ([`ServerMethod::paid_by_payer`]) is still taken, by default.
    pub const DEFAULT_LATE_PAYMENT_WINDOW: Duration = Duration::from_secs(5 * 60);

    /// Sets how long after its challenge expired a credential the payer already paid
    /// ([`ServerMethod::paid_by_payer`]) is still taken (default
    /// [five minutes](Self::DEFAULT_LATE_PAYMENT_WINDOW)): a payer whose transaction landed
    /// just before the challenge expired may present it just after. Other credentials get no
    /// such window. Keep it shorter than the methods' replay claims.
    #[must_use]
    pub fn late_payment_window(mut self, window: Duration) -> Self {
        self.late_window = window;
        self
    }

    /// Offers `method` (its method name and intent) for `request`, the request object the
    /// route issues for it now. The object is compared field by field with the echoed one.
    #[must_use]
    pub fn offer<M: ServerMethod>(mut self, method: &'a M, request: Map<String, Value>) -> Self {
        self.offers.push(Offer {
            method,
            request: EncodedJson::from_object(request),
        });
        self
    }

    /// The `opaque` the route binds, decoded. Without it, a credential whose challenge carries
    /// an `opaque` is refused.
    #[must_use]
    pub fn opaque(mut self, meta: BTreeMap<String, String>) -> Self {
        self.opaque = Some(meta);
        self
    }

    /// The request body: a challenge bound to a body (by its `digest`) is only accepted with
    /// that body, and a request with a non-empty body needs such a challenge.
    #[must_use]
    pub fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        let body = body.as_ref();
        self.body_digest = (!body.is_empty()).then(|| BodyDigest::compute(body));
        self
    }

    /// Claims each challenge in `store` before its payment is verified (released again if the
    /// method refuses it), so that a credential pays once; settled payments are recorded in
    /// its ledger.
    #[must_use]
    pub fn replay_store(mut self, store: &'a SharedStore) -> Self {
        self.store = Some(store);
        self
    }

    /// Checks `credential` against these terms, in the order the type documents, and returns
    /// the verified payment with the method's receipt.
    pub async fn verify<B>(
        &self,
        binding: &B,
        credential: Credential,
    ) -> Result<Payment, VerifyError>
    where
        B: ChallengeBinding + ?Sized,
    {
        let echo = &credential.challenge;
        let offer = self.offer_for(echo)?;
        if !binding.is_bound(echo) {
            return Err(VerifyError::UnknownChallenge);
        }
        // Money the payer already moved is verified against the terms it was offered.
        let paid = offer.method.paid_by_payer(&credential);
        let (request, late_window) = if paid {
            (echo.request.json(), self.late_window)
        } else {
            (offer.request.json(), Duration::ZERO)
        };
        // A session challenge pays many requests to the resource, whatever their HTTP method
        // and body: it binds neither, and is not used up by one credential (credit is).
        let metered = offer.method.metering().is_some();
        self.check_pinned(echo, (!paid).then_some(offer), metered)?;
        let expires_at = check_expiry(echo, SystemTime::now(), late_window)?;
        if !metered {
            check_digest(echo, self.body_digest.as_ref())?;
        }

        let key = challenge_key(&echo.id);
        let claims = self.store.filter(|_| !metered);
        if let Some(store) = claims {
            match store.claim(&key, expires_at + late_window).await? {
                Claim::Claimed => {}
                Claim::AlreadyClaimed => return Err(VerifyError::Replayed),
            }
        }
        let receipt = match offer.method.verify(&credential, request).await {
            Ok(receipt) => receipt,
            Err(err) => {
                if let Some(store) = claims
                    && let Err(release) = store.release(&key).await
                {
                    tracing::warn!(
                        target: "mpp_server::verify",
                        error = %release,
                        "could not release the challenge claim after a failed verification"
                    );
                }
                return Err(err);
            }
        };
        tracing::info!(
            target: "mpp_server::settle",
            outcome = "settled",
            reference = %receipt.reference,
            "payment settled"
        );
        let payment = Payment::new(credential, receipt).map_err(VerifyError::other)?;
        // A session's vouchers settle later, in the method's own settlements.
        if let Some(store) = claims {
            record(
                store,
                LedgerEntry::settled(payment.credential(), payment.receipt()),
            )
            .await;
        }
        Ok(payment)
    }

    /// The offer the credential answers: its method and intent must be offered here.
    fn offer_for(&self, echo: &Challenge) -> Result<&Offer<'a>, VerifyError> {
        self.offers
            .iter()
            .find(|o| o.method.name() == echo.method && o.method.intent() == echo.intent)
            .ok_or_else(|| VerifyError::MethodUnsupported {
                method: echo.method.clone(),
                intent: echo.intent.clone(),
            })
    }

    /// The metering of the method a credential answers, when it draws on a payment channel,
    /// with the method's place among the offers (the handler's methods, in order).
    pub(crate) fn metering_for(&self, echo: &Challenge) -> Option<(usize, &dyn Metering)> {
        let index = self
            .offers
            .iter()
            .position(|o| o.method.name() == echo.method && o.method.intent() == echo.intent)?;
        let metering = self.offers.get(index)?.method.metering()?;
        Some((index, metering))
    }

    /// The echo must be the challenge these terms issue: same realm, same `opaque` (for a
    /// session, the route scope whatever the HTTP method) and, when an offer is given, the
    /// same request object.
    fn check_pinned(
        &self,
        echo: &Challenge,
        offer: Option<&Offer<'_>>,
        any_http_method: bool,
    ) -> Result<(), VerifyError> {
        if echo.realm != self.realm {
            return Err(mismatch("realm"));
        }
        match (&self.opaque, echo.opaque_meta()) {
            (None, None) => {}
            (Some(expected), Some(Ok(mut meta))) => {
                if self.nonce && meta.remove(NONCE_KEY).is_none() {
                    return Err(mismatch("opaque"));
                }
                let same = if any_http_method {
                    same_resource(&meta, expected)
                } else {
                    meta == *expected
                };
                if !same {
                    return Err(mismatch("opaque"));
                }
            }
            _ => return Err(mismatch("opaque")),
        }
        // The same text is the same object; only other text needs the objects compared.
        if let Some(offer) = offer
            && echo.request != offer.request
            && let Some(key) = first_difference(echo.request.json(), offer.request.json())
        {
            return Err(mismatch(&format!("request.{key}")));
        }
        Ok(())
    }
}

impl fmt::Debug for RouteTerms<'_> {
    /// The realm, the offers as `method/intent`, and whether an `opaque`, a body and a store
    /// are set; never a request object or the `opaque` values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let offers: Vec<String> = self
            .offers
            .iter()
            .map(|o| format!("{}/{}", o.method.name(), o.method.intent()))
            .collect();
        f.debug_struct("RouteTerms")
            .field("realm", &self.realm)
            .field("offers", &offers)
            .field("opaque", &self.opaque.is_some())
            .field("body", &self.body_digest.is_some())
            .field("replay_store", &self.store.is_some())
            .finish()
    }
}

/// Two `opaque` maps that are equal but for the HTTP method in their route scopes: a session's
/// management credentials (top-ups, vouchers) go to the resource with any method.
fn same_resource(echoed: &BTreeMap<String, String>, expected: &BTreeMap<String, String>) -> bool {
    fn resource<'m>(key: &str, value: &'m str) -> &'m str {
        match key {
            ROUTE_SCOPE_KEY => value.split_once(' ').map_or(value, |(_, rest)| rest),
            _ => value,
        }
    }
    echoed.len() == expected.len()
        && echoed
            .iter()
            .zip(expected)
            .all(|((k1, v1), (k2, v2))| k1 == k2 && resource(k1, v1) == resource(k2, v2))
}

fn mismatch(field: &str) -> VerifyError {
    VerifyError::RouteMismatch {
        field: field.to_owned(),
    }
}

/// The first key (in sorted order) whose value differs between two request objects.
fn first_difference<'a>(
    echoed: &'a Map<String, Value>,
    expected: &'a Map<String, Value>,
) -> Option<&'a str> {
    let keys: BTreeMap<&str, ()> = echoed
        .keys()
        .chain(expected.keys())
        .map(|k| (k.as_str(), ()))
        .collect();
    keys.into_keys()
        .find(|key| echoed.get(*key) != expected.get(*key))
}

/// `expires` must be present, RFC 3339 and in the future, or at most `late` in the past;
/// returns it.
fn check_expiry(
    echo: &Challenge,
    now: SystemTime,
    late: Duration,
) -> Result<SystemTime, VerifyError> {
    let expires = match echo.expires_at() {
        None => return Err(VerifyError::MissingExpires),
        Some(Err(_)) => return Err(VerifyError::InvalidExpires),
        Some(Ok(expires)) => expires,
    };
    let earliest = now.checked_sub(late).unwrap_or(SystemTime::UNIX_EPOCH);
    if mpp_core::expires::is_past(expires, earliest) {
        return Err(VerifyError::Expired(
            echo.expires.clone().unwrap_or_default(),
        ));
    }
    Ok(SystemTime::from(expires))
}

/// A request with a body needs a challenge bound to that body; a challenge bound to a body
/// needs that body.
fn check_digest(echo: &Challenge, body: Option<&BodyDigest>) -> Result<(), VerifyError> {
    let bound = match echo.digest.as_deref() {
        None if body.is_none() => return Ok(()),
        None => return Err(VerifyError::DigestMismatch),
        Some(text) => text
            .parse::<BodyDigest>()
            .map_err(|_| VerifyError::DigestMismatch)?,
    };
    let current = body.copied().unwrap_or_else(|| BodyDigest::compute(b""));
    if bound == current {
        Ok(())
    } else {
        Err(VerifyError::DigestMismatch)
    }
}

/// How often the ledger write after a settlement is tried, and the pause before each retry.
const RECORD_RETRIES: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_millis(100),
    Duration::from_millis(500),
];

/// Records a settled payment in the ledger, retrying a store that fails for a moment. The
/// payment settled whatever happens here: a method that hands payments to the network wrote a
/// pending settlement first, which [`Mpp::recover`](crate::Mpp::recover) records if this fails.
async fn record(store: &SharedStore, entry: LedgerEntry) {
    let mut last = None;
    for pause in RECORD_RETRIES {
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        match store.record(entry.clone()).await {
            Ok(()) => return,
            Err(err) => last = Some(err),
        }
    }
    if let Some(err) = last {
        tracing::error!(
            target: "mpp_server::settle",
            error = %err,
            challenge_id = %entry.challenge_id,
            method = %entry.method,
            reference = %entry.reference,
            "could not record the settled payment in the ledger; it stays a pending settlement \
             if its method wrote one, for Mpp::recover to record"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpp_core::{ChargeParams, PaymentPayload, PriceError, Receipt};
    use serde_json::json;

    fn challenge(expires: Option<&str>, digest: Option<&BodyDigest>) -> Challenge {
        let request = EncodedJson::from_json(json!({"amount": "1"})).unwrap();
        let mut builder = Challenge::builder("r", "test", "charge", request);
        if let Some(expires) = expires {
            builder = builder.expires(expires);
        }
        if let Some(digest) = digest {
            builder = builder.digest(digest);
        }
        builder.id("x")
    }

    #[test]
    fn expiry_is_required_valid_and_future() {
        let now = SystemTime::now();
        assert!(matches!(
            check_expiry(&challenge(None, None), now, Duration::ZERO),
            Err(VerifyError::MissingExpires)
        ));
        assert!(matches!(
            check_expiry(&challenge(Some("tomorrow"), None), now, Duration::ZERO),
            Err(VerifyError::InvalidExpires)
        ));
        assert!(matches!(
            check_expiry(
                &challenge(Some("2001-01-01T00:00:00Z"), None),
                now,
                Duration::ZERO
            ),
            Err(VerifyError::Expired(_))
        ));
        assert!(
            check_expiry(
                &challenge(Some("2999-01-01T00:00:00Z"), None),
                now,
                Duration::ZERO
            )
            .is_ok()
        );
        // A minute late: only inside a late-payment window.
        let minute_ago = mpp_core::expires::format_system(now - Duration::from_secs(60));
        let late = challenge(Some(&minute_ago), None);
        assert!(check_expiry(&late, now, Duration::ZERO).is_err());
        assert!(check_expiry(&late, now, Duration::from_secs(120)).is_ok());
        assert!(check_expiry(&late, now, Duration::from_secs(30)).is_err());
    }

    #[test]
    fn digest_binds_the_body_both_ways() {
        let a = BodyDigest::compute(b"a");
        let b = BodyDigest::compute(b"b");
        assert!(check_digest(&challenge(None, None), None).is_ok());
        assert!(check_digest(&challenge(None, Some(&a)), Some(&a)).is_ok());
        assert!(check_digest(&challenge(None, Some(&a)), Some(&b)).is_err());
        assert!(check_digest(&challenge(None, None), Some(&a)).is_err());
        assert!(check_digest(&challenge(None, Some(&a)), None).is_err());
    }

    #[test]
    fn names_the_first_differing_request_field() {
        let a = json!({"amount": "1", "currency": "usd"});
        let b = json!({"amount": "2", "currency": "usd"});
        let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
        assert_eq!(first_difference(a, a), None);
        assert_eq!(first_difference(a, b), Some("amount"));
    }

    struct Accept;

    impl ServerMethod for Accept {
        fn method(&self) -> &str {
            "test"
        }
        fn intent(&self) -> &str {
            "charge"
        }
        fn request(&self, _: &ChargeParams) -> Result<Map<String, Value>, PriceError> {
            Ok(Map::new())
        }
        async fn verify(
            &self,
            _: &Credential,
            _: &Map<String, Value>,
        ) -> Result<Receipt, VerifyError> {
            Ok(Receipt::new("test", "ref"))
        }
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn issued(opaque: Option<&BTreeMap<String, String>>) -> Credential {
        let secret = ServerSecret::new(SECRET).unwrap();
        let request = EncodedJson::from_json(json!({"amount": "1"})).unwrap();
        let mut builder =
            Challenge::builder("r", "test", "charge", request).expires("2999-01-01T00:00:00Z");
        if let Some(opaque) = opaque {
            builder = builder.opaque(opaque);
        }
        Credential::new(builder.bind(&secret), PaymentPayload::hash("0x1"))
    }

    fn run(terms: &RouteTerms<'_>, credential: Credential) -> Result<Payment, VerifyError> {
        let secret = ServerSecret::new(SECRET).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(terms.verify(&secret, credential))
    }

    #[test]
    fn opaque_is_pinned_both_ways() {
        let method = Accept;
        let request = json!({"amount": "1"}).as_object().cloned().unwrap();
        let plain = RouteTerms::new("r").offer(&method, request.clone());
        let meta = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
        let scoped = RouteTerms::new("r")
            .offer(&method, request)
            .opaque(meta.clone());

        assert!(run(&plain, issued(None)).is_ok());
        assert!(run(&scoped, issued(Some(&meta))).is_ok());
        for (terms, credential) in [(&plain, issued(Some(&meta))), (&scoped, issued(None))] {
            assert!(matches!(
                run(terms, credential),
                Err(VerifyError::RouteMismatch { field }) if field == "opaque"
            ));
        }
    }

    #[test]
    fn a_replay_store_makes_a_credential_pay_once() {
        let method = Accept;
        let store = SharedStore::default();
        let request = json!({"amount": "1"}).as_object().cloned().unwrap();
        let terms = RouteTerms::new("r")
            .offer(&method, request)
            .replay_store(&store);
        let credential = issued(None);
        assert!(run(&terms, credential.clone()).is_ok());
        assert!(matches!(
            run(&terms, credential),
            Err(VerifyError::Replayed)
        ));
        assert!(format!("{terms:?}").contains("test/charge"));
    }
}
