//! Runs every scenario of every conformance vector file through the built adapter, as
//! the suite's runner does (CONTRACT.md in the conformance folder), and checks that the adapter
//! declares exactly the operations it answers.
//!
//! The conformance folder is `$MPP_CONFORMANCE_DIR`, else the vendored copy in `suite/`. Run with `--nocapture` to see the tally.

#[path = "vectors/adapter.rs"]
mod adapter;
#[path = "vectors/check.rs"]
mod check;
#[path = "vectors/report.rs"]
mod report;
#[path = "vectors/schema.rs"]
mod schema;
#[path = "vectors/suite.rs"]
mod suite;
#[path = "vectors/vector.rs"]
mod vector;

use serde_json::json;

use adapter::{Adapter, DEFAULT_TIMEOUT};
use report::Report;
use vector::VectorFile;

#[test]
fn every_vector_scenario_passes() {
    let dir = suite::locate();
    let adapter = Adapter::load(&dir);
    let mut paths: Vec<_> = std::fs::read_dir(dir.join("vectors"))
        .expect("the vectors folder is readable")
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    assert!(
        !paths.is_empty(),
        "no vector files in {}",
        dir.join("vectors").display()
    );

    let mut report = Report::default();
    for path in &paths {
        let file_name = path.file_name().expect("a file name").to_string_lossy();
        let stem = path.file_stem().expect("a file stem").to_string_lossy();
        let file: VectorFile = suite::read_json(path);
        for scenario in &file.scenarios {
            let verdict = match file.plan() {
                Ok(plan) => check::run(&adapter, &stem, &plan, scenario),
                Err(e) => check::Verdict::Failed(vec![e]),
            };
            report.record(&file_name, &scenario.name, verdict);
        }
    }
    println!(
        "conformance vectors for adapter `{}`:\n{report}",
        adapter.name
    );
    assert!(report.ran() > 0, "no scenario ran");
    assert!(
        report.failures().is_empty(),
        "{} failure(s):\n{}",
        report.failures().len(),
        report.failures().join("\n")
    );
}

#[test]
fn the_manifest_declares_exactly_what_the_adapter_answers() {
    let adapter = Adapter::load(&suite::locate());
    for op in adapter.operations.keys() {
        let request = json!({"schema": 1, "op": op, "input": null});
        let response = adapter
            .exchange(&request.to_string(), DEFAULT_TIMEOUT)
            .unwrap_or_else(|e| panic!("{op}: {e}"));
        let unsupported = response["error"]["type"] == "unsupported_operation";
        assert_eq!(unsupported, !adapter.declares(op), "{op}: {response}");
    }
}
