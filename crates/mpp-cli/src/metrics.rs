//! `--metrics ADDR` for `serve` and `proxy`: the server's metrics in the Prometheus text format
//! at `GET http://ADDR/metrics`, on a listener of its own.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use clap::Args;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use mpp::SharedStore;
use mpp::server::MppBuilder;
use mpp::server::metrics::{MeteredStore, record};

use crate::fail;
use crate::output;

/// Histogram buckets of every `…_seconds` metric: 1 ms to 30 s.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

/// How often histograms are compacted (the exporter leaves it to the application).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// `--metrics ADDR`, shared by `serve` and `proxy`.
#[derive(Debug, Args)]
pub(crate) struct MetricsArgs {
    /// Serve Prometheus metrics at http://ADDR/metrics (port 0 picks a free one; the address
    /// is printed).
    #[arg(long = "metrics", value_name = "HOST:PORT")]
    address: Option<String>,
}

impl MetricsArgs {
    /// Starts the exporter when `--metrics` is given: installs the Prometheus recorder and
    /// serves `GET /metrics`. Call it before anything is measured (the store opens, the first
    /// recovery pass), or that goes unrecorded.
    pub(crate) async fn start(&self) -> anyhow::Result<Metrics> {
        let bound = match &self.address {
            Some(address) => Some(serve(address).await?),
            None => None,
        };
        Ok(Metrics { bound })
    }
}

/// The running exporter (where it listens), or none: what metrics change in the server's
/// handler and store.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Metrics {
    bound: Option<SocketAddr>,
}

impl Metrics {
    /// `store`, its operations measured when metrics are on.
    pub(crate) fn store(self, store: SharedStore) -> SharedStore {
        match self.bound {
            None => store,
            Some(_) => SharedStore::new(MeteredStore::new(store)),
        }
    }

    /// `builder`, reporting its events when metrics are on.
    pub(crate) fn handler(self, builder: MppBuilder) -> MppBuilder {
        match self.bound {
            None => builder,
            Some(_) => builder.on_event(record),
        }
    }

    /// Prints `metrics on URL` when metrics are on (after `listening on`, the line tools wait
    /// for first).
    pub(crate) fn announce(self) {
        if let Some(bound) = self.bound {
            println!("metrics on http://{bound}/metrics");
        }
    }
}

/// Installs the Prometheus recorder and serves `GET /metrics` on `address`; returns the bound
/// address (port 0 picks a free one).
async fn serve(address: &str) -> anyhow::Result<SocketAddr> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| {
            fail::input(
                fail::sentence(&format!("the metrics recorder cannot start: {e}")),
                "Start the server again without --metrics.",
            )
        })?;
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
        fail::input(
            format!("Could not listen on {address} for metrics: {e}."),
            "Pick another --metrics address, like 127.0.0.1:9402 (port 0 for a free one).",
        )
    })?;
    let bound = listener.local_addr()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(UPKEEP_EVERY).await;
            upkeep.run_upkeep();
        }
    });
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let text = handle.render();
            async move { ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text) }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            output::warn(&format!("the metrics listener stopped: {e}"));
        }
    });
    Ok(bound)
}
