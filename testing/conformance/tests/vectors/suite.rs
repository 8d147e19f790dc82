//! Where the suite lives and what it declares: the conformance folder, our manifest and the
//! operation registry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// The variable that names the conformance folder (the one holding `vectors/`, `schemas/` and
/// `operations.json`).
const DIR_VAR: &str = "MPP_CONFORMANCE_DIR";

/// The conformance folder: `$MPP_CONFORMANCE_DIR`, else the copy vendored in this crate
/// (`suite/`, see its README for the provenance).
pub(crate) fn locate() -> PathBuf {
    let dir = match std::env::var_os(DIR_VAR) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("suite"),
    };
    assert!(
        dir.join("vectors").is_dir(),
        "no conformance vectors in {}: set {DIR_VAR} to the folder holding vectors/, schemas/ \
         and operations.json",
        dir.display(),
    );
    dir
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fields of `adapter.json` the tests use; the whole file is checked against the manifest
/// schema.
#[derive(Debug, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) name: String,
    pub(crate) capabilities: Vec<String>,
}

/// `adapter.json`, as JSON (to check against the manifest schema) and as a [`Manifest`].
pub(crate) fn manifest() -> (Value, Manifest) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("adapter.json");
    let json: Value = read_json(&path);
    let manifest =
        serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("adapter.json: {e}"));
    (json, manifest)
}

/// One entry of `operations.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OpSpec {
    pub(crate) input_ref: String,
    pub(crate) success_ref: String,
    pub(crate) error_types: Vec<String>,
    pub(crate) comparison: String,
}

/// `operations.json`: every operation of the contract.
pub(crate) fn operations(dir: &Path) -> HashMap<String, OpSpec> {
    #[derive(Deserialize)]
    struct Registry {
        operations: HashMap<String, OpSpec>,
    }
    read_json::<Registry>(&dir.join("operations.json")).operations
}
