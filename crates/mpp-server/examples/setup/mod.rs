// The set-up every example shares, as in the guide's quick start: the Tempo method configured
// once with a currency and a recipient (the Go SDK's `charge.NewIntent` and `charge.NewMethod`),
// fee sponsorship when a fee-payer key is given, and the payment handler (`server.New`).
//
// From the environment (`Settings::from_env`):
//
// - `TEMPO_RPC_URL`: the Tempo node (default: the Moderato testnet, `MODERATO_RPC_URL`);
// - `MPP_RECIPIENT`: who is paid (default: the guide's address);
// - `FEE_PAYER_KEY`: a hex private key; when set, the server co-signs the payers' transactions
//   and pays their fees (the guide's fee sponsorship);
// - `MPP_SECRET_KEY`: the challenge-binding secret (default: a demo value, never for production);
// - `--serve ADDR` on the command line: where to listen (default 127.0.0.1:3000).

use mpp_core::ServerSecret;
use mpp_server::Mpp;
use mpp_tempo::{FeePayer, MODERATO_RPC_URL, PATH_USD, PrivateKeySigner, TempoCharge};

/// The error of the examples' set-up and `main`s.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// The realm challenges are issued for (typically the API's host name).
pub(crate) const REALM: &str = "api.example.com";

/// The guide's recipient.
const RECIPIENT: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

/// A demo secret, used only when `MPP_SECRET_KEY` is not set.
const DEMO_SECRET: &str = "my-server-secret-of-at-least-32-bytes";

/// What the examples are configured with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The Tempo node's JSON-RPC URL; the chain id is asked from it.
    pub(crate) rpc_url: String,
    /// The address paid.
    pub(crate) recipient: String,
    /// The fee payer's hex private key, to sponsor the payers' fees.
    pub(crate) fee_payer_key: Option<String>,
    /// The challenge-binding secret.
    pub(crate) secret: String,
}

impl Settings {
    /// Reads the settings from the environment, with the defaults above.
    pub(crate) fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            rpc_url: var("TEMPO_RPC_URL").unwrap_or_else(|| MODERATO_RPC_URL.to_owned()),
            recipient: var("MPP_RECIPIENT").unwrap_or_else(|| RECIPIENT.to_owned()),
            fee_payer_key: var("FEE_PAYER_KEY"),
            secret: var("MPP_SECRET_KEY").unwrap_or_else(|| DEMO_SECRET.to_owned()),
        }
    }
}

/// The payment handler: Tempo charges in pathUSD to the recipient, sponsored when a fee-payer
/// key is set. Connects to the node once, to learn the chain id.
pub(crate) async fn mpp(settings: &Settings) -> Result<Mpp, Error> {
    let mut method = TempoCharge::builder()
        .rpc_url(&settings.rpc_url)
        .currency(PATH_USD)
        .recipient(settings.recipient.parse()?);
    if let Some(key) = &settings.fee_payer_key {
        // Fee sponsorship: payers need no fee token; the server co-signs and pays the fees.
        let sponsor: PrivateKeySigner = key.parse()?;
        method = method.fee_payer(FeePayer::local(sponsor));
    }
    let method = method.build().await?;
    Ok(Mpp::new(
        method,
        REALM,
        ServerSecret::new(settings.secret.as_str())?,
    )?)
}

/// The address after `--serve` on the command line, or 127.0.0.1:3000.
pub(crate) fn listen_addr() -> String {
    let mut args = std::env::args().skip_while(|arg| arg != "--serve").skip(1);
    args.next().unwrap_or_else(|| "127.0.0.1:3000".to_owned())
}
