//! Reading `--metrics`: the Prometheus text format as samples.

use std::collections::BTreeMap;

use super::MppProcess;

/// One sample of the text format: its name, its labels and its value.
#[derive(Debug)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// The samples of a page in the text format.
pub(crate) fn parse(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split(',')
            .filter(|l| !l.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                (k.to_owned(), v.trim_matches('"').to_owned())
            })
            .collect();
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value: value.parse().unwrap(),
        });
    }
    samples
}

/// The value of the series `name` with exactly `labels` (0 when absent).
pub(crate) fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == wanted)
        .map_or(0.0, |s| s.value)
}

/// The sum of every series `name` whose labels include `labels`.
pub(crate) fn total(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

/// The metrics URL `server` printed (`metrics on URL`).
pub(crate) fn metrics_url(server: &MppProcess) -> String {
    server
        .log()
        .iter()
        .find_map(|line| line.strip_prefix("metrics on ").map(str::to_owned))
        .expect("the server prints its metrics address")
}

/// The page at `url` and its samples.
pub(crate) async fn scrape(url: &str) -> (String, Vec<Sample>) {
    let text = reqwest::get(url).await.unwrap().text().await.unwrap();
    let samples = parse(&text);
    (text, samples)
}
