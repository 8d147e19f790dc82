//! The request objects a route's price gives each method, remembered for the last few prices.
//! Methods price purely ([`ServerMethod::request`](mpp_core::ServerMethod::request): the same
//! parameters always give the same object), so a route with a fixed price builds and encodes
//! its objects once instead of on every request.

use std::sync::{Arc, Mutex, PoisonError};

use mpp_core::{ChargeParams, EncodedJson};

use crate::ChargeError;
use crate::method::DynMethod;

/// How many distinct prices are remembered; the least recently used one goes first.
const REMEMBERED: usize = 16;

/// The request objects of recent prices, one per method in the handler's order.
#[derive(Default)]
pub(crate) struct Priced {
    recent: Mutex<Vec<(ChargeParams, Arc<[EncodedJson]>)>>,
}

impl Priced {
    /// Each method's request object for `params`, in `methods`' order.
    pub(crate) fn requests(
        &self,
        methods: &[Box<dyn DynMethod>],
        params: &ChargeParams,
    ) -> Result<Arc<[EncodedJson]>, ChargeError> {
        if let Some(requests) = self.recall(params) {
            return Ok(requests);
        }
        let requests = methods
            .iter()
            .map(|method| {
                let request = method
                    .request(params)
                    .map_err(|source| ChargeError::Price {
                        method: method.name().to_owned(),
                        source,
                    })?;
                Ok(EncodedJson::from_object(request))
            })
            .collect::<Result<Arc<[EncodedJson]>, ChargeError>>()?;
        self.remember(params, &requests);
        Ok(requests)
    }

    fn recall(&self, params: &ChargeParams) -> Option<Arc<[EncodedJson]>> {
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        let index = recent.iter().rposition(|(known, _)| known == params)?;
        let entry = recent.remove(index);
        let requests = Arc::clone(&entry.1);
        recent.push(entry);
        Some(requests)
    }

    fn remember(&self, params: &ChargeParams, requests: &Arc<[EncodedJson]>) {
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if recent.len() >= REMEMBERED {
            recent.remove(0);
        }
        recent.push((params.clone(), Arc::clone(requests)));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use mpp_core::{Credential, PriceError, Receipt, ServerMethod, VerifyError};
    use serde_json::{Map, Value};

    use super::*;

    /// Counts how often it prices.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl ServerMethod for &'static Counting {
        fn method(&self) -> &str {
            "test"
        }
        fn intent(&self) -> &str {
            "charge"
        }
        fn request(&self, params: &ChargeParams) -> Result<Map<String, Value>, PriceError> {
            self.0.fetch_add(1, Ordering::Relaxed);
            let mut request = Map::new();
            request.insert("amount".into(), params.amount.clone().into());
            Ok(request)
        }
        async fn verify(
            &self,
            _: &Credential,
            _: &Map<String, Value>,
        ) -> Result<Receipt, VerifyError> {
            Err(VerifyError::failed("never"))
        }
    }

    #[test]
    fn prices_each_price_once_while_remembered() {
        let counting: &'static Counting = Box::leak(Box::default());
        let methods: Vec<Box<dyn DynMethod>> = vec![Box::new(counting)];
        let priced = Priced::default();
        let a = ChargeParams::new("1");
        let b = ChargeParams::new("2");
        let first = priced.requests(&methods, &a).unwrap();
        assert_eq!(first[0].json()["amount"], "1");
        assert_eq!(
            priced.requests(&methods, &b).unwrap()[0].json()["amount"],
            "2"
        );
        assert_eq!(priced.requests(&methods, &a).unwrap()[0], first[0]);
        assert_eq!(counting.0.load(Ordering::Relaxed), 2);
        // Beyond what is remembered, the least recently used price is priced again.
        for n in 0..REMEMBERED {
            priced
                .requests(&methods, &ChargeParams::new(format!("1{n}")))
                .unwrap();
        }
        priced.requests(&methods, &b).unwrap();
        assert_eq!(counting.0.load(Ordering::Relaxed), 3 + REMEMBERED);
    }
}
