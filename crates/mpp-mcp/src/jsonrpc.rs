//! A JSON-RPC message (one request or a batch) through a [`PaymentGate`]: which calls go on to
//! the service, which are answered with a payment error, and the receipts the service's
//! answers get.

use serde_json::{Map, Value, json};

use crate::gate::{Admission, PaymentGate, receipt_json};
use crate::wire::{CREDENTIAL_META_KEY, RECEIPT_META_KEY};

/// What a gate decided for one message.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// The message was a batch (the answer is one too).
    batch: bool,
    /// The calls to pass on, credentials removed, in order.
    pub(crate) forward: Vec<Value>,
    /// The receipts of the paid calls among them, by request id.
    receipts: Vec<(Value, Value)>,
    /// The answers the gate gives itself (refusals).
    answered: Vec<Value>,
}

impl Plan {
    /// What to send on: the calls in the message's shape, or `None` when nothing goes on.
    pub(crate) fn forwarded(&self) -> Option<Value> {
        match (self.batch, self.forward.as_slice()) {
            (_, []) => None,
            (false, [single]) => Some(single.clone()),
            _ => Some(Value::Array(self.forward.clone())),
        }
    }

    /// The answer to the message: the service's answers (`upstream`, for the forwarded calls)
    /// with receipts attached to the paid ones, and the gate's own. `None` when there is
    /// nothing to answer (only notifications).
    pub(crate) fn answer(self, upstream: Option<Value>) -> Option<Value> {
        let mut answers = match upstream {
            Some(Value::Array(answers)) => answers,
            Some(answer) => vec![answer],
            None => Vec::new(),
        };
        for answer in &mut answers {
            attach_receipt(answer, &self.receipts);
        }
        answers.extend(self.answered);
        match (self.batch, answers.len()) {
            (_, 0) => None,
            (false, 1) => answers.pop(),
            _ => Some(Value::Array(answers)),
        }
    }
}

/// Runs every call of `message` through `gate`. A paid call runs only with a verified
/// credential; one sent as a notification is dropped unverified; a credential is taken out of
/// every call (root `_meta` or `params._meta`), paid or free, before it goes on.
pub(crate) async fn plan(gate: &PaymentGate, message: Value) -> Plan {
    let (batch, calls) = match message {
        Value::Array(calls) => (true, calls),
        call => (false, vec![call]),
    };
    let mut plan = Plan {
        batch,
        ..Plan::default()
    };
    for mut call in calls {
        let credential = take_credential(&mut call);
        let method = call
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let id = call.get("id").cloned();
        if gate.price_of(&method).is_none() {
            plan.forward.push(call);
            continue;
        }
        let Some(id) = id else {
            // A notification has no answer to carry a challenge or a receipt.
            tracing::debug!(target: "mpp_mcp", method, "dropped a paid call sent as a notification");
            continue;
        };
        match gate.admit(&method, credential.as_ref()).await {
            Admission::Free => plan.forward.push(call),
            Admission::Paid(payment) => {
                plan.receipts.push((id, receipt_json(&payment)));
                plan.forward.push(call);
            }
            Admission::Managed(payment) => plan.answered.push(json!({
                "jsonrpc": "2.0",
                "id": id,
                "result": null,
                "_meta": { RECEIPT_META_KEY: receipt_json(&payment) },
            })),
            Admission::Refused(refusal) => plan.answered.push(json!({
                "jsonrpc": "2.0",
                "id": id,
                "error": refusal.to_error_object(),
            })),
        }
    }
    plan
}

/// Removes the credential from a call's root `_meta` and from `params._meta`; returns the
/// root one, else the one in `params`.
fn take_credential(call: &mut Value) -> Option<Value> {
    let root = call.as_object_mut().and_then(remove_from_meta);
    let params = call
        .get_mut("params")
        .and_then(Value::as_object_mut)
        .and_then(remove_from_meta);
    root.or(params)
}

/// Removes the credential from an object's `_meta`, and `_meta` when that leaves it empty.
fn remove_from_meta(object: &mut Map<String, Value>) -> Option<Value> {
    let meta = object.get_mut("_meta")?.as_object_mut()?;
    let credential = meta.remove(CREDENTIAL_META_KEY);
    if meta.is_empty() {
        object.remove("_meta");
    }
    credential
}

/// Puts a paid call's receipt in its successful answer's root `_meta`.
fn attach_receipt(answer: &mut Value, receipts: &[(Value, Value)]) {
    if answer.get("result").is_none() {
        return;
    }
    let Some(id) = answer.get("id") else {
        return;
    };
    let Some((_, receipt)) = receipts.iter().find(|(paid, _)| paid == id) else {
        return;
    };
    let receipt = receipt.clone();
    if let Some(object) = answer.as_object_mut() {
        let meta = object
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(RECEIPT_META_KEY.to_owned(), receipt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_taken_from_both_places() {
        let mut root = json!({"method": "m", "_meta": {CREDENTIAL_META_KEY: 1, "other": 2}});
        assert_eq!(take_credential(&mut root), Some(json!(1)));
        assert_eq!(root, json!({"method": "m", "_meta": {"other": 2}}));
        let mut params = json!({"method": "m", "params": {"_meta": {CREDENTIAL_META_KEY: 3}}});
        assert_eq!(take_credential(&mut params), Some(json!(3)));
        assert_eq!(params, json!({"method": "m", "params": {}}));
        let mut array = json!({"method": "m", "params": [1, 2]});
        assert_eq!(take_credential(&mut array), None);
    }

    #[test]
    fn answers_keep_the_message_shape_and_get_their_receipts() {
        let receipt = json!({"status": "success"});
        let plan = Plan {
            batch: true,
            forward: vec![json!({"id": 1}), json!({"id": 2})],
            receipts: vec![(json!(2), receipt.clone())],
            answered: vec![json!({"id": 3, "error": {}})],
        };
        assert_eq!(plan.forwarded().unwrap().as_array().unwrap().len(), 2);
        let upstream = json!([{"id": 1, "result": "a"}, {"id": 2, "result": "b"}]);
        let answer = plan.answer(Some(upstream)).unwrap();
        assert_eq!(answer[1]["_meta"][RECEIPT_META_KEY], receipt);
        assert!(answer[0].get("_meta").is_none());
        assert_eq!(answer[2]["id"], 3);

        let single = Plan {
            forward: vec![json!({"id": 1})],
            ..Plan::default()
        };
        assert_eq!(single.forwarded(), Some(json!({"id": 1})));
        let failed = Plan {
            receipts: vec![(json!(1), receipt)],
            ..Plan::default()
        };
        let answer = failed.answer(Some(json!({"id": 1, "error": {}}))).unwrap();
        assert!(answer.get("_meta").is_none(), "no receipt on an error");
        assert_eq!(Plan::default().answer(None), None);
    }
}
