//! `mpp pay`: an HTTP request like curl that pays a `402 Payment Required` answer.

use std::collections::HashMap;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use clap::{Args, ValueEnum};
use mpp::client::{
    Event, Fetch, MeteredStream, MultiProvider, PayOptions, PaymentError, PlannedPayment, Refusal,
    TempoProvider,
};
use mpp::redotpay::client::RedotPayCrypto;
use mpp::tempo::{SessionReceipt, TIP20_DECIMALS};
use mpp::{
    Amount, Answer, Challenge, Credential, MppError, PaymentProvider, Present, Quote, Receipt,
    Retry, StreamNeed,
};
use serde_json::{Value, json};

use crate::channel::SessionPayArgs;
use crate::fail::{self, Code, Failure};
use crate::methods::TempoOnChain;
use crate::output;
use crate::spend::SpendArgs;

/// `mpp pay`.
#[derive(Debug, Args)]
pub(crate) struct PayArgs {
    /// The URL to request (`ws://` or `wss://` with --session: a metered WebSocket stream).
    url: String,
    /// The HTTP method (default GET, or POST with a body).
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    method: Option<String>,
    /// A request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// The request body; `@FILE` reads a file, `@-` stdin.
    #[arg(
        short = 'd',
        long = "data",
        value_name = "DATA",
        conflicts_with = "json"
    )]
    data: Option<String>,
    /// A JSON request body (sets Content-Type and Accept to application/json); `@FILE` reads a
    /// file.
    #[arg(long, value_name = "JSON")]
    json: Option<String>,
    /// Print the response status and headers before the body.
    #[arg(short = 'i', long = "include")]
    include: bool,
    /// Show the exchange on stderr (credentials redacted).
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Write the body to FILE instead of stdout.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
    /// `json` prints one object: status, receipt, paid, body (a JSON value when the response
    /// is JSON, else text).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,

    #[command(flatten)]
    spend: SpendArgs,
    #[command(flatten)]
    session: SessionPayArgs,
}

/// How `pay` prints its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// The body, like curl.
    Text,
    /// One JSON object: `status`, `receipt`, `paid`, `body` (JSON when the response is JSON).
    Json,
}

/// What a run learned, for the JSON output.
#[derive(Default)]
struct Outcome {
    status: Option<u16>,
    receipt: Option<String>,
    paid: Option<Value>,
    would_pay: Option<Value>,
    body: Option<Value>,
    /// With `--session`: the provider, to report and close its channels after the request.
    sessions: Option<Arc<TempoProvider>>,
    /// The paying channel's state (`--session`).
    session: Option<Value>,
    /// A metered stream's items, what it and the channel spent, and the final receipt
    /// (`--session`).
    stream: Option<Value>,
    /// What each channel of the channel store had spent before the request (`--session`).
    spent_before: HashMap<String, Amount>,
}

impl Outcome {
    fn to_json(&self) -> Value {
        let mut object = json!({
            "status": self.status,
            "receipt": self.receipt,
            "paid": self.paid,
            "body": self.body,
        });
        if let Value::Object(map) = &mut object {
            if let Some(would) = &self.would_pay {
                map.insert("wouldPay".into(), would.clone());
            }
            if let Some(session) = &self.session {
                map.insert("session".into(), session.clone());
            }
            if let Some(stream) = &self.stream {
                map.insert("stream".into(), stream.clone());
            }
        }
        object
    }

    /// The channel the receipt names, for a payment drawn on a session channel.
    fn paid_channel(&self) -> Option<String> {
        let Some(receipt) = self.receipt.as_deref() else {
            // A WebSocket stream has no response headers: the payment's record names it.
            let paid = self.paid.as_ref()?;
            let session = paid.get("intent").and_then(Value::as_str) == Some("session");
            return session
                .then(|| paid.get("reference").and_then(Value::as_str))
                .flatten()
                .map(str::to_owned);
        };
        let receipt: Receipt = receipt.parse().ok()?;
        let session = receipt.extra.get("intent").and_then(Value::as_str) == Some("session");
        session.then_some(receipt.reference)
    }
}

/// Who pays: the user's key, as Tempo charges and as RedotPay's crypto rail on a Tempo chain
/// (first offered first), or nobody (no key given: free requests still work, and a 402 ends
/// with "no key").
enum Payer {
    /// The providers, and whether `session` challenges are paid (`--session`).
    Key(Box<MultiProvider>, bool),
    NoKey,
}

impl PaymentProvider for Payer {
    fn supports(&self, method: &str, intent: &str) -> bool {
        match self {
            Payer::Key(provider, sessions) => {
                provider.supports(method, intent) && (*sessions || intent != "session")
            }
            Payer::NoKey => false,
        }
    }

    async fn pay(&self, challenge: &Challenge) -> Result<Credential, MppError> {
        match self {
            Payer::Key(provider, _) => provider.pay(challenge).await,
            Payer::NoKey => Err(MppError::Unsupported {
                method: challenge.method.clone(),
                intent: challenge.intent.clone(),
            }),
        }
    }

    async fn quote(&self, challenge: &Challenge) -> Result<Option<Quote>, MppError> {
        match self {
            Payer::Key(provider, _) => provider.quote(challenge).await,
            Payer::NoKey => Ok(None),
        }
    }

    async fn pay_via(
        &self,
        challenge: &Challenge,
        present: &dyn Present,
    ) -> Result<Credential, MppError> {
        match self {
            Payer::Key(provider, _) => provider.pay_via(challenge, present).await,
            Payer::NoKey => self.pay(challenge).await,
        }
    }

    async fn authorize(
        &self,
        need: &StreamNeed<'_>,
        present: &dyn Present,
    ) -> Result<(), MppError> {
        match self {
            Payer::Key(provider, _) => provider.authorize(need, present).await,
            Payer::NoKey => Err(MppError::Unsupported {
                method: need.challenge.method.clone(),
                intent: need.challenge.intent.clone(),
            }),
        }
    }

    async fn observe(&self, credential: &Credential, answer: &Answer) -> Retry {
        match self {
            Payer::Key(provider, _) => provider.observe(credential, answer).await,
            Payer::NoKey => Retry::No,
        }
    }
}

/// An amount in currency units, or the raw base units when the currency is unknown.
fn display_amount(plan: &PlannedPayment) -> String {
    match plan.amount {
        Some(amount) => format!(
            "{} ({amount} base units)",
            amount.to_decimal(TIP20_DECIMALS)
        ),
        None => "an unstated amount".into(),
    }
}

pub(crate) fn describe(plan: &PlannedPayment) -> String {
    let mut text = format!(
        "{} of {}",
        display_amount(plan),
        plan.currency.as_deref().unwrap_or("an unstated currency")
    );
    if let Some(recipient) = &plan.recipient {
        text.push_str(&format!(" to {recipient}"));
    }
    if let Some(chain) = plan.chain_id {
        text.push_str(&format!(" on chain {chain}"));
    }
    text.push_str(&format!(
        " via {}/{} for {}",
        plan.method, plan.intent, plan.origin
    ));
    text
}

pub(crate) fn plan_json(plan: &PlannedPayment, receipt: Option<&Receipt>) -> Value {
    let mut value = json!({
        "method": plan.method,
        "intent": plan.intent,
        "amount": plan.amount.map(|a| a.to_string()),
        "currency": plan.currency,
        "recipient": plan.recipient,
        "chainId": plan.chain_id,
        "reference": receipt.map(|r| r.reference.clone()),
    });
    // A session payment: what it put into the channel (a deposit, a top-up, or zero).
    if let (Some(deposit), Value::Object(map)) = (plan.deposit, &mut value) {
        map.insert("deposit".into(), Value::String(deposit.to_string()));
    }
    value
}

/// Reads `AMOUNT[:TOKEN]`.
pub(crate) fn amount_rule(
    text: &str,
    default_currency: &str,
    flag: &str,
) -> anyhow::Result<(String, Amount)> {
    let (amount, currency) = match text.split_once(':') {
        Some((amount, currency)) => (amount, currency),
        None => (text, default_currency),
    };
    let amount = Amount::from_decimal(amount.trim(), TIP20_DECIMALS).map_err(|e| {
        fail::input(
            format!("--{flag} {text} is not an amount: {e}."),
            format!("Write the amount in currency units, like --{flag} 0.10."),
        )
    })?;
    Ok((currency.trim().to_ascii_lowercase(), amount))
}

impl PayArgs {
    fn body(&self) -> anyhow::Result<Option<Vec<u8>>> {
        let Some(text) = self.data.as_ref().or(self.json.as_ref()) else {
            return Ok(None);
        };
        let Some(path) = text.strip_prefix('@') else {
            return Ok(Some(text.clone().into_bytes()));
        };
        let read = if path == "-" {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map(|_| bytes)
        } else {
            std::fs::read(path)
        };
        read.map(Some).map_err(|e| {
            fail::input(
                format!("Could not read the body from {path}: {e}."),
                "Check the file name after @.",
            )
        })
    }

    /// The URL when it names a WebSocket (`ws://`, `wss://`), which `--session` pays as a
    /// metered stream; an error when a body or method is given for it.
    fn websocket_url(&self) -> anyhow::Result<Option<String>> {
        let scheme = self.url.split_once("://").map(|(scheme, _)| scheme);
        if !scheme.is_some_and(|s| s.eq_ignore_ascii_case("ws") || s.eq_ignore_ascii_case("wss")) {
            return Ok(None);
        }
        if self.method.is_some() || self.body()?.is_some() {
            return Err(fail::input(
                "A WebSocket stream takes no method or body.",
                "Drop -X, -d and --json for ws:// and wss:// URLs.",
            ));
        }
        Ok(Some(self.url.clone()))
    }

    fn request(&self, client: &reqwest::Client) -> anyhow::Result<reqwest::RequestBuilder> {
        let body = self.body()?;
        let method = match &self.method {
            Some(m) => m.to_ascii_uppercase(),
            None if body.is_some() => "POST".into(),
            None => "GET".into(),
        };
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| {
            fail::input(
                format!("{method} is not an HTTP method."),
                "Use -X GET, -X POST, -X PUT, …",
            )
        })?;
        let url = reqwest::Url::parse(&self.url).map_err(|e| {
            fail::input(
                format!("{} is not a URL: {e}.", self.url),
                "Write the whole URL, like https://api.example.com/paid.",
            )
        })?;
        let mut headers = reqwest::header::HeaderMap::new();
        if self.json.is_some() {
            headers.insert("content-type", "application/json".parse()?);
            headers.insert("accept", "application/json".parse()?);
        }
        for header in &self.headers {
            let bad = || {
                fail::input(
                    format!("-H {header:?} is not a header."),
                    "Write headers as -H 'Name: value'.",
                )
            };
            let (name, value) = header.split_once(':').ok_or_else(bad)?;
            let name = reqwest::header::HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| bad())?;
            let value = reqwest::header::HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
            headers.insert(name, value);
        }
        if self.verbose {
            eprintln!("> {method} {url}");
            print_headers('>', &headers);
        }
        let mut builder = client.request(method, url).headers(headers);
        if let Some(body) = body {
            builder = builder.body(body);
        }
        Ok(builder)
    }
}

/// Asks on the terminal whether to pay `plan`.
pub(crate) fn ask(plan: &PlannedPayment) -> bool {
    eprint!("Pay {}? [y/N] ", describe(plan));
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Header names whose values are credentials or secrets.
fn is_secret(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie" | "x-api-key"
    )
}

fn print_headers(mark: char, headers: &reqwest::header::HeaderMap) {
    for (name, value) in headers {
        let value = if is_secret(name.as_str()) {
            "[redacted]".to_owned()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        eprintln!("{mark} {name}: {value}");
    }
}

pub(crate) async fn run(args: PayArgs) -> anyhow::Result<ExitCode> {
    let json_output = args.output == OutputFormat::Json;
    let mut outcome = Outcome::default();
    let mut result = exchange(&args, &mut outcome).await;
    if let Some(provider) = outcome.sessions.take() {
        let paid = outcome.paid_channel();
        match args
            .session
            .finish(&provider, paid.as_deref(), json_output)
            .await
        {
            Ok(report) => outcome.session = report,
            Err(error) if result.is_ok() => result = Err(error),
            Err(error) => output::warn(&fail::sentence(&error.to_string())),
        }
    }
    if json_output {
        let mut object = outcome.to_json();
        if let (Err(error), Value::Object(map)) = (&result, &mut object) {
            let kind = match error.downcast_ref::<Failure>().map(|f| f.code) {
                Some(Code::Refused) => "refused",
                Some(Code::PaymentFailed) => "payment-failed",
                Some(Code::Http) => "http",
                _ => "error",
            };
            map.insert(
                "error".into(),
                json!({ "kind": kind, "message": fail::sentence(&error.to_string()) }),
            );
        }
        println!("{object}");
    }
    result
}

async fn exchange(args: &PayArgs, outcome: &mut Outcome) -> anyhow::Result<ExitCode> {
    let json_output = args.output == OutputFormat::Json;
    let spend = &args.spend;
    let policy = spend.policy()?;
    let payer = match spend.signer()? {
        Some(signer) => {
            // RedotPay states its price in currency units; the crypto provider states what it
            // pays in the token's base units, so the amount rules apply to it as to Tempo.
            let mut crypto =
                RedotPayCrypto::new(TempoOnChain::new(spend.provider(signer.clone())?))
                    .decimals(u32::from(TIP20_DECIMALS));
            if let Some(chain) = spend.chain_id {
                crypto = crypto.chain_id(chain);
            }
            let mut tempo = spend.provider(signer)?;
            if args.session.enabled() {
                tempo = tempo.with_sessions(args.session.options().await?);
            }
            let tempo = Arc::new(tempo);
            if args.session.enabled() {
                outcome.sessions = Some(Arc::clone(&tempo));
                // What each kept channel had spent: a stream's own share is measured from it.
                outcome.spent_before = tempo
                    .channels()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|channel| (channel.channel_id.to_string(), channel.spent))
                    .collect();
            }
            let providers = MultiProvider::new().with(tempo).with(crypto);
            Payer::Key(Box::new(providers), args.session.enabled())
        }
        None => Payer::NoKey,
    };
    let no_key = matches!(payer, Payer::NoKey);

    let paid: Arc<Mutex<Option<Value>>> = Arc::default();
    let options = PayOptions::new()
        .policy(policy)
        .on_event(record_payment(args.verbose, Arc::clone(&paid)));
    if let Some(url) = args.websocket_url()? {
        return pay_websocket(args, &url, &payer, options, &paid, outcome).await;
    }
    let client = reqwest::Client::new();
    let request = args.request(&client)?;
    // No spinner while --confirm asks or -v writes the exchange.
    let spinner = !(args.spend.confirm || args.verbose);
    let result = output::progress_if(
        spinner,
        "waiting for the server and the chain…",
        request.send_with_payment(&payer).options(options),
    )
    .await;
    outcome.paid = paid.lock().unwrap_or_else(PoisonError::into_inner).take();
    let response = match result {
        Ok(response) => response,
        Err(PaymentError::DryRun(plan)) => {
            outcome.status = Some(402);
            if !json_output {
                println!("Would pay {}. Nothing was paid (dry run).", describe(&plan));
            }
            outcome.paid = None;
            outcome.would_pay = Some(plan_json(&plan, None));
            return Ok(ExitCode::SUCCESS);
        }
        Err(PaymentError::NoPayableChallenge { offered }) if no_key => {
            outcome.status = Some(402);
            return Err(Failure::new(
                Code::PaymentFailed,
                format!("The server asks for payment ({offered}) but no key was given."),
                "Pass --key-file FILE or --key HEX, set MPP_PRIVATE_KEY, or try --dry-run.",
            )
            .into());
        }
        Err(PaymentError::NoPayableChallenge { offered })
            if !args.session.enabled() && offered.contains("/session") =>
        {
            outcome.status = Some(402);
            return Err(Failure::new(
                Code::PaymentFailed,
                format!("The server asks for payment ({offered}), and sessions are paid only with --session."),
                "Pass --session to pay from a payment channel (--channel-file FILE keeps it for the next runs).",
            )
            .into());
        }
        Err(error) => return Err(payment_failure(error, &args.spend.rpc_url)),
    };

    let status = response.status();
    outcome.status = Some(status.as_u16());
    outcome.receipt = response
        .headers()
        .get("payment-receipt")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if let (Some(Value::Object(paid)), Some(receipt)) = (&mut outcome.paid, &outcome.receipt)
        && let Ok(receipt) = receipt.parse::<Receipt>()
    {
        paid.insert("reference".into(), Value::String(receipt.reference));
    }
    if args.verbose {
        eprintln!("< {:?} {status}", response.version());
        print_headers('<', response.headers());
    }
    let head = args.include.then(|| {
        let mut text = format!("{:?} {status}\n", response.version());
        for (name, value) in response.headers() {
            text.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        text.push('\n');
        text
    });
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let event_stream = content_type.as_deref().is_some_and(|t| {
        t.trim_start()
            .to_ascii_lowercase()
            .starts_with("text/event-stream")
    });
    if args.session.enabled() && event_stream && status.is_success() {
        if let Some(head) = head.filter(|_| !json_output) {
            std::io::stdout().lock().write_all(head.as_bytes())?;
        }
        return read_stream(MeteredStream::new(response, &payer), args, outcome).await;
    }
    let body = response.bytes().await.map_err(|e| {
        Failure::new(
            Code::Error,
            format!("Reading the response body failed: {e}."),
            "Try again; the server closed the connection early.",
        )
    })?;
    if json_output {
        outcome.body = Some(body_json(content_type.as_deref(), &body));
    } else {
        let mut stdout = std::io::stdout().lock();
        if let Some(head) = head {
            stdout.write_all(head.as_bytes())?;
        }
        match &args.out {
            Some(path) => std::fs::write(path, &body).map_err(|e| {
                fail::input(
                    format!("Could not write {}: {e}.", path.display()),
                    "Check that the directory exists and is writable.",
                )
            })?,
            None => {
                stdout.write_all(&body)?;
                if std::io::stdout().is_terminal() && !body.ends_with(b"\n") {
                    stdout.write_all(b"\n")?;
                }
            }
        }
        stdout.flush()?;
        if let Some(paid) = &outcome.paid {
            let reference = paid.get("reference").and_then(Value::as_str).unwrap_or("");
            eprintln!("{} {reference}", output::dim("paid; receipt reference"));
        }
    }
    if status.is_client_error() || status.is_server_error() {
        return Err(Failure::new(
            Code::Http,
            format!("The server answered {status}."),
            "Run again with -i or -v to see the response.",
        )
        .into());
    }
    Ok(ExitCode::SUCCESS)
}

/// The event hook of a paid request: with `-v`, says what happens; always keeps what was paid
/// in `record`, for `--output json`.
fn record_payment(
    verbose: bool,
    record: Arc<Mutex<Option<Value>>>,
) -> impl Fn(&Event<'_>) + Send + Sync + 'static {
    move |event| match event {
        Event::ChallengeReceived { origin, count } if verbose => {
            eprintln!("* {origin} asked for payment ({count} challenge(s))");
        }
        Event::PaymentMade { plan, receipt } => {
            if verbose {
                eprintln!("* paid {}", describe(plan));
                eprintln!("> authorization: Payment [redacted credential]");
            }
            *record.lock().unwrap_or_else(PoisonError::into_inner) =
                Some(plan_json(plan, *receipt));
        }
        Event::PaymentRefused { refusal } if verbose => {
            eprintln!("* the spend policy refused: {}", refusal.detail);
        }
        _ => {}
    }
}

/// `mpp pay ws://…` (or `wss://`): a metered stream over WebSocket, paid from a session
/// channel. The challenge comes from the same URL over HTTP; the items are printed as they
/// arrive, as for a stream over Server-Sent Events.
async fn pay_websocket(
    args: &PayArgs,
    url: &str,
    payer: &Payer,
    options: PayOptions,
    paid: &Mutex<Option<Value>>,
    outcome: &mut Outcome,
) -> anyhow::Result<ExitCode> {
    if !args.session.enabled() {
        return Err(fail::input(
            format!("{url} is a WebSocket stream, which is paid from a payment channel."),
            "Pass --session (--channel-file FILE keeps the channel for the next runs).",
        ));
    }
    let spinner = !(args.spend.confirm || args.verbose);
    let connected = output::progress_if(
        spinner,
        "waiting for the server and the chain…",
        mpp::client::ws::connect(url, payer, options),
    )
    .await;
    outcome.paid = paid.lock().unwrap_or_else(PoisonError::into_inner).take();
    let stream = connected.map_err(|error| payment_failure(error, &args.spend.rpc_url))?;
    // The socket was opened: the handshake's 101 Switching Protocols.
    outcome.status = Some(101);
    read_stream(stream, args, outcome).await
}

/// `--session` with a metered stream: prints each item as it arrives (one line each), or
/// collects them for `--output json` with what the channel spent and the final receipt.
async fn read_stream(
    mut stream: MeteredStream<'_>,
    args: &PayArgs,
    outcome: &mut Outcome,
) -> anyhow::Result<ExitCode> {
    use futures_util::StreamExt as _;
    let json_output = args.output == OutputFormat::Json;
    let mut items = Vec::new();
    let mut failed = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(item) if json_output => items.push(item),
            Ok(item) => {
                let mut stdout = std::io::stdout().lock();
                writeln!(stdout, "{item}")?;
                stdout.flush()?;
            }
            Err(error) => {
                failed = Some(error);
                break;
            }
        }
    }
    let receipt = stream.receipt();
    let session = receipt
        .as_ref()
        .and_then(|r| SessionReceipt::from_receipt(r).ok());
    // The channel's total, less what it had spent before this run: the stream's own share.
    let channel_spent = session.as_ref().map(|r| r.spent);
    let own = session.as_ref().and_then(|r| {
        let before = outcome.spent_before.get(&r.channel_id.to_string());
        r.spent.checked_sub(before.copied().unwrap_or(Amount::ZERO))
    });
    let (own, channel_spent) = (
        own.map(|a| a.to_string()),
        channel_spent.map(|a| a.to_string()),
    );
    outcome.stream = Some(json!({
        "items": items,
        "received": stream.received(),
        "spent": own,
        "channelSpent": channel_spent,
        "receipt": receipt,
    }));
    if let Some(error) = failed {
        return Err(payment_failure(error, &args.spend.rpc_url));
    }
    if !json_output {
        eprintln!(
            "{} {} items for {} base units (the channel has spent {})",
            output::dim("streamed"),
            stream.received(),
            own.as_deref().unwrap_or("?"),
            channel_spent.as_deref().unwrap_or("?"),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The body for `--output json`: the JSON value itself when the response says it is JSON
/// (`application/json` or a `+json` type) and parses, else the text.
fn body_json(content_type: Option<&str>, body: &[u8]) -> Value {
    let essence = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase());
    let is_json = essence.is_some_and(|t| t == "application/json" || t.ends_with("+json"));
    if is_json && let Ok(value) = serde_json::from_slice(body) {
        return value;
    }
    Value::String(String::from_utf8_lossy(body).into_owned())
}

/// The sentence, hint and exit status for a payment error.
pub(crate) fn payment_failure(error: PaymentError, rpc_url: &str) -> anyhow::Error {
    let failure = match error {
        PaymentError::Refused(refusal) => refused(&refusal),
        PaymentError::Transport(e) => Failure::new(
            Code::Error,
            format!("The request failed: {}.", chain_of(&*e)),
            "Check the URL and that the server is running.",
        ),
        PaymentError::Provider(e) => Failure::new(
            Code::PaymentFailed,
            fail::sentence(&format!("paying failed: {e}")),
            format!("Check the payer's balance and that {rpc_url} is the right Tempo node."),
        ),
        PaymentError::Rejected { status, problem } => Failure::new(
            Code::PaymentFailed,
            fail::sentence(&format!(
                "the server refused the payment with {status}{}",
                problem
                    .map(|p| format!(": {}", p.detail))
                    .unwrap_or_default()
            )),
            "Run again with -v to see the exchange.",
        ),
        other => Failure::new(
            Code::PaymentFailed,
            fail::sentence(&other.to_string()),
            "Run again with -v to see the exchange; nothing was paid.",
        ),
    };
    failure.into()
}

fn refused(refusal: &Refusal) -> Failure {
    let hint = match refusal.rule.name() {
        "max-per-request" => "Raise --max-amount if this price is expected.",
        "budget" => "Raise --budget, or start a new --budget-file.",
        "origin-budget" => "Raise --origin-budget.",
        "approval" => "Nothing was paid; answer y to pay.",
        "unpriced" => "Remove the amount rules to pay a challenge without a stated price.",
        _ => "Widen the --allow-* lists if this payment is expected.",
    };
    Failure::new(
        Code::Refused,
        format!(
            "The spend policy's {} rule refused to pay {}: {}.",
            refusal.rule,
            describe(&refusal.plan),
            refusal.detail
        ),
        hint,
    )
}

/// An error and its sources, joined.
fn chain_of(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(&format!(": {e}"));
        source = e.source();
    }
    text
}
