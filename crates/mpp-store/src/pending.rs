//! Pending settlements as the stores keep them: one JSON text per settlement.

use mpp_core::{PendingSettlement, StoreError};

/// The JSON text a store keeps for `pending`.
pub(crate) fn to_json(pending: &PendingSettlement) -> Result<String, StoreError> {
    serde_json::to_string(pending).map_err(|e| StoreError::Backend(Box::new(e)))
}

/// The pending settlement a store kept as `json`.
pub(crate) fn from_json(json: &str) -> Result<PendingSettlement, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Backend(Box::new(e)))
}
