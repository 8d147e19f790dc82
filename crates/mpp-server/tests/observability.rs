//! The `tracing` output of an exchange: issue, verify and settle are reported with their
//! outcome and reason, and neither the credential nor the secret ever appears.

mod common;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use common::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Writes every span and event, with all its fields, into a shared string.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut out = self.0.lock().unwrap();
        let _ = write!(out, "span {}", span.metadata().name());
        span.record(&mut Line(&mut out));
        out.push('\n');
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        values.record(&mut Line(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut out = self.0.lock().unwrap();
        let _ = write!(out, "event {}", event.metadata().target());
        event.record(&mut Line(&mut out));
        out.push('\n');
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test(flavor = "current_thread")]
async fn logs_outcomes_but_never_credentials_or_secrets() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    let app = app(mpp_with(TestMethod::new("test")));
    let issued = challenge_for(&app, "/paid").await;
    let credential = pay(&issued, "0x7e57");
    send(&app, get_paid("/paid", &credential)).await;
    send(&app, get_paid("/paid", &credential)).await;
    send(&app, get_paid("/paid", "Payment not-a-credential")).await;

    let log = capture.0.lock().unwrap().clone();
    assert!(log.contains("event mpp_server::issue"), "{log}");
    assert!(log.contains("reason=\"payment-required\""), "{log}");
    assert!(log.contains("span mpp.verify"), "{log}");
    assert!(
        log.contains("event mpp_server::settle") && log.contains("outcome=\"settled\""),
        "{log}"
    );
    assert!(
        log.contains("outcome=\"refused\" reason=\"verification-failed\""),
        "{log}"
    );
    assert!(log.contains("reason=\"malformed-credential\""), "{log}");
    assert!(log.contains(&issued.id), "challenge ids are logged: {log}");

    let token = credential.trim_start_matches("Payment ");
    assert!(!log.contains(token), "the credential leaked: {log}");
    assert!(
        !log.contains(&token[..40]),
        "part of the credential leaked: {log}"
    );
    assert!(
        !log.contains("not-a-credential"),
        "a malformed credential leaked: {log}"
    );
    assert!(!log.contains(SECRET), "the secret leaked: {log}");
}
