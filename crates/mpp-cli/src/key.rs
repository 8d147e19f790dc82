//! `mpp key`: create a key file or show a key's address; and how every command reads a key.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use mpp::PrivateKeySigner;

use crate::fail;

/// Where a private key comes from: `--key`, `--key-file`, or `MPP_PRIVATE_KEY`.
#[derive(Debug, Args, Clone)]
pub(crate) struct KeySource {
    /// The private key (hex). Prefer --key-file or MPP_PRIVATE_KEY: arguments are visible to
    /// other users of this machine.
    #[arg(
        long,
        env = "MPP_PRIVATE_KEY",
        hide_env_values = true,
        value_name = "HEX"
    )]
    key: Option<String>,
    /// A file holding the private key (hex); wins over --key and MPP_PRIVATE_KEY.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
}

impl KeySource {
    /// The signer, or `None` when no key was given.
    pub(crate) fn load(&self) -> anyhow::Result<Option<PrivateKeySigner>> {
        if let Some(path) = &self.key_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                fail::input(
                    format!("Could not read the key file {}: {e}.", path.display()),
                    "Create one with `mpp key new --out FILE`.",
                )
            })?;
            return parse_key(&text, &format!("the key file {}", path.display())).map(Some);
        }
        match &self.key {
            Some(text) => parse_key(text, "the key").map(Some),
            None => Ok(None),
        }
    }
}

/// Parses a hex private key; the error never repeats the key.
pub(crate) fn parse_key(text: &str, what: &str) -> anyhow::Result<PrivateKeySigner> {
    text.trim().parse::<PrivateKeySigner>().map_err(|_| {
        fail::input(
            format!("{} is not a valid private key.", capitalise(what)),
            "A key is 32 bytes of hex, with or without 0x; create one with `mpp key new`.",
        )
    })
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `mpp key`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Create a random key, write it to a file only you can read, and print its address.
    New {
        /// Where to write the key (refuses to overwrite).
        #[arg(long, short = 'o', value_name = "FILE", default_value = "mpp.key")]
        out: PathBuf,
    },
    /// Print the address of a key.
    Address {
        #[command(flatten)]
        key: KeySource,
    },
}

pub(crate) fn run(command: &KeyCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeyCommand::New { out } => {
            let signer = PrivateKeySigner::random();
            write_key(out, &signer)?;
            println!("{}", signer.address());
            eprintln!("The key is in {} (readable only by you).", out.display());
        }
        KeyCommand::Address { key } => {
            let signer = key.load()?.ok_or_else(|| {
                fail::input(
                    "No key was given.",
                    "Pass --key-file FILE or --key HEX, or set MPP_PRIVATE_KEY.",
                )
            })?;
            println!("{}", signer.address());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_key(path: &Path, signer: &PrivateKeySigner) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            "Choose another file with --out; an existing key is never overwritten."
        } else {
            "Check that the directory exists and is writable."
        };
        fail::input(
            format!("Could not create the key file {}: {e}.", path.display()),
            hint,
        )
    })?;
    let hex = format!("0x{}\n", hex_of(&signer.to_bytes().0));
    file.write_all(hex.as_bytes()).map_err(|e| {
        fail::input(
            format!("Could not write the key file {}: {e}.", path.display()),
            "Check the free space and permissions of that directory.",
        )
    })?;
    Ok(())
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex_of(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
