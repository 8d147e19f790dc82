//! A small load generator for a paid route on loopback, measuring the server's own overhead on
//! the two paths of the exchange:
//!
//! - `challenge`: requests without a credential (the 402 path);
//! - `verify`: requests with a fresh credential each (credentials are single-use), collected
//!   up front: it first fetches N challenges, pays each, then fires the N paid requests and
//!   measures only those.
//!
//! It measures the server, not a payment network, so the route it serves (`--serve`) charges
//! with the cheap stand-in method of `stand_in/mod.rs`, which accepts any transaction hash:
//! with a real method (Tempo) every paid request would also wait for a chain. Never use the
//! stand-in for real money; the other examples show the real method.
//!
//! ```text
//! cargo run --release -p mpp-server --example loadgen -- --serve 127.0.0.1:3000 &
//! cargo run --release -p mpp-server --example loadgen -- 127.0.0.1:3000 /resource verify 20000 64
//! ```
//!
//! Loopback only; bounded by the request count and a two-minute deadline.

mod stand_in;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use mpp_core::{ChargeParams, ServerSecret};
use mpp_server::{Mpp, RequirePaymentLayer};
use stand_in::StandInMethod;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    stream: BufReader<TcpStream>,
}

struct Reply {
    status: u16,
    challenge: Option<String>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> Result<Self, Error> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: BufReader::new(stream),
        })
    }

    async fn get(&mut self, path: &str, authorization: Option<&str>) -> Result<Reply, Error> {
        let auth = authorization.map_or(String::new(), |a| format!("authorization: {a}\r\n"));
        let request = format!("GET {path} HTTP/1.1\r\nhost: loadgen\r\n{auth}\r\n");
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line.split(' ').nth(1).ok_or("no status")?.parse()?;
        let (mut length, mut challenge) = (0usize, None);
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').ok_or("bad header")?;
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse()?,
                "www-authenticate" => challenge = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok(Reply { status, challenge })
    }
}

/// Sends one request per item with `concurrency` connections; returns each latency and status.
async fn fire(
    addr: SocketAddr,
    path: &str,
    items: Vec<Option<String>>,
    concurrency: usize,
) -> Result<(Vec<Duration>, Vec<u16>, Duration), Error> {
    let queue = Arc::new(Mutex::new(items));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (queue, path) = (Arc::clone(&queue), path.to_owned());
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::open(addr).await?;
            let mut seen = Vec::new();
            loop {
                let Some(item) = queue.lock().await.pop() else {
                    break;
                };
                let t = Instant::now();
                let reply = connection.get(&path, item.as_deref()).await?;
                seen.push((t.elapsed(), reply.status));
            }
            Ok::<_, Error>(seen)
        }));
    }
    let (mut latencies, mut statuses) = (Vec::new(), Vec::new());
    for worker in workers {
        for (latency, status) in worker.await?? {
            latencies.push(latency);
            statuses.push(status);
        }
    }
    Ok((latencies, statuses, started.elapsed()))
}

/// Fetches `n` challenges and pays each one.
async fn credentials(
    addr: SocketAddr,
    path: &str,
    n: usize,
    concurrency: usize,
) -> Result<Vec<Option<String>>, Error> {
    let queue = Arc::new(Mutex::new(n));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (queue, path) = (Arc::clone(&queue), path.to_owned());
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::open(addr).await?;
            let mut out = Vec::new();
            loop {
                let i = {
                    let mut left = queue.lock().await;
                    if *left == 0 {
                        break;
                    }
                    *left -= 1;
                    *left
                };
                let reply = connection.get(&path, None).await?;
                let challenge = reply.challenge.ok_or("no challenge in the 402")?;
                let credential =
                    stand_in::pay(&challenge, &format!("0x{i:016x}")).map_err(|e| e.to_string())?;
                out.push(Some(credential));
            }
            Ok::<_, Error>(out)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for worker in workers {
        all.extend(worker.await??);
    }
    Ok(all)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or_default()
}

async fn run() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_owned());
    let addr: SocketAddr = arg(0, "127.0.0.1:3000").parse()?;
    if !addr.ip().is_loopback() {
        return Err("loopback addresses only".into());
    }
    let path = arg(1, "/resource");
    let mode = arg(2, "challenge");
    let n: usize = arg(3, "10000").parse::<usize>()?.min(200_000);
    let concurrency: usize = arg(4, "64").parse::<usize>()?.clamp(1, 1024);

    let items = match mode.as_str() {
        "challenge" => vec![None; n],
        "verify" => {
            let t = Instant::now();
            let items = credentials(addr, &path, n, concurrency).await?;
            println!(
                "prepared {} fresh credentials in {:.2?}",
                items.len(),
                t.elapsed()
            );
            items
        }
        other => return Err(format!("unknown mode {other}: use challenge or verify").into()),
    };
    let (mut latencies, statuses, elapsed) = fire(addr, &path, items, concurrency).await?;
    latencies.sort();
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let payment_required = statuses.iter().filter(|s| **s == 402).count();
    println!(
        "mode={mode} requests={} concurrency={concurrency} elapsed={elapsed:.2?} rps={:.0}",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency p50={:.2?} p90={:.2?} p99={:.2?} max={:.2?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
    println!(
        "status 200={ok} 402={payment_required} other={}",
        statuses.len() - ok - payment_required
    );
    Ok(())
}

/// Serves `GET /resource` at 0.50, paid with the stand-in method, until interrupted.
async fn serve(addr: &str) -> Result<(), Error> {
    let secret = ServerSecret::new("loadgen-secret-of-at-least-32-bytes")?;
    let mpp = Mpp::new(StandInMethod::new(), "loadgen.example.com", secret)?;
    let app = Router::new()
        .route("/resource", get(|| async { "paid content" }))
        .layer(RequirePaymentLayer::new(mpp, ChargeParams::new("0.50")));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    if !listener.local_addr()?.ip().is_loopback() {
        return Err("loopback addresses only".into());
    }
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--serve") {
        let addr = args.next().unwrap_or_else(|| "127.0.0.1:3000".into());
        return serve(&addr).await;
    }
    tokio::time::timeout(Duration::from_secs(120), run()).await?
}
