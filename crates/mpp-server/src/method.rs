//! The payment methods an [`Mpp`](crate::Mpp) offers, held behind one object-safe trait.

use mpp_core::{
    ChargeParams, Credential, Metering, PriceError, Receipt, Recovery, ServerMethod, StoreError,
    VerifyError,
};
use serde_json::{Map, Value};

/// A boxed, sendable future.
pub(crate) use mpp_core::BoxFuture;

/// [`ServerMethod`] with its future boxed, so methods of different types share one list.
pub(crate) trait DynMethod: Send + Sync {
    fn name(&self) -> &str;
    fn intent(&self) -> &str;
    fn request(&self, params: &ChargeParams) -> Result<Map<String, Value>, PriceError>;
    fn verify<'a>(
        &'a self,
        credential: &'a Credential,
        request: &'a Map<String, Value>,
    ) -> BoxFuture<'a, Result<Receipt, VerifyError>>;
    fn paid_by_payer(&self, credential: &Credential) -> bool;
    fn metering(&self) -> Option<&dyn Metering>;
    fn recover(&self) -> BoxFuture<'_, Result<Recovery, StoreError>>;
}

impl<M: ServerMethod> DynMethod for M {
    fn name(&self) -> &str {
        ServerMethod::method(self)
    }

    fn intent(&self) -> &str {
        ServerMethod::intent(self)
    }

    fn request(&self, params: &ChargeParams) -> Result<Map<String, Value>, PriceError> {
        ServerMethod::request(self, params)
    }

    fn verify<'a>(
        &'a self,
        credential: &'a Credential,
        request: &'a Map<String, Value>,
    ) -> BoxFuture<'a, Result<Receipt, VerifyError>> {
        Box::pin(ServerMethod::verify(self, credential, request))
    }

    fn paid_by_payer(&self, credential: &Credential) -> bool {
        ServerMethod::paid_by_payer(self, credential)
    }

    fn metering(&self) -> Option<&dyn Metering> {
        ServerMethod::metering(self)
    }

    fn recover(&self) -> BoxFuture<'_, Result<Recovery, StoreError>> {
        Box::pin(ServerMethod::recover(self))
    }
}
