//! `{header}`: the input of the parse operations and the output of the format operations.

use serde::{Deserialize, Serialize};

/// A header value, without its name.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Header {
    pub(crate) header: String,
}

impl From<String> for Header {
    fn from(header: String) -> Self {
        Self { header }
    }
}
