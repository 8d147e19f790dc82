//! A local Redis: Debian's `redis-server` on a free loopback port with a private data directory,
//! append-only file on and fsynced on every write; stopped on drop.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::error::{Error, Result};
use crate::output::OutputLog;
use crate::process::{env_path, free_port, kill, on_path};

/// Environment variable naming the `redis-server` binary to use.
pub(crate) const REDIS_ENV: &str = "MPP_REDIS_SERVER";

/// How long to wait for the server to answer `PING` after spawning it.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `redis-server` on `127.0.0.1`, killed when this value drops (also during a panic).
///
/// It runs with `--appendonly yes --appendfsync always`: every write is in the append-only file
/// and fsynced before Redis answers, so an acknowledged claim survives a crash. [`RedisServer::stop`]
/// kills the server (a crash, not a clean shutdown) and [`RedisServer::restart`] starts it again on
/// the same port and data directory, for outage and durability tests.
///
/// ```no_run
/// # async fn example() -> Result<(), mpp_testkit::Error> {
/// let mut redis = mpp_testkit::RedisServer::start().await?;
/// let _url = redis.url(); // redis://127.0.0.1:<port>/
/// redis.stop();           // clients now see connection errors
/// redis.restart().await?; // same port, same data
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    binary: PathBuf,
    port: u16,
    dir: TempDir,
    output: OutputLog,
}

impl RedisServer {
    /// Starts a server on a free port with a fresh data directory.
    ///
    /// Fails with an error naming `scripts/setup` when `redis-server` is not installed.
    pub async fn start() -> Result<Self> {
        let binary = redis_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("mpp-redis-")
            .tempdir()
            .map_err(|e| Error::io("creating the Redis data directory", e))?;
        let mut server = RedisServer {
            child: None,
            binary,
            port: free_port()?,
            dir,
            output: OutputLog::default(),
        };
        // A port picked this way can be taken by someone else before Redis binds it.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match server.spawn().await {
                Ok(()) => return Ok(server),
                Err(Error::ExitedEarly { output, .. })
                    if attempt < 3 && output.contains("in use") =>
                {
                    server.port = free_port()?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn spawn(&mut self) -> Result<()> {
        let mut command = Command::new(&self.binary);
        command
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--protected-mode", "yes"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .args(["--save", "", "--daemonize", "no", "--logfile", ""])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| Error::io(format!("spawning {}", self.binary.display()), e))?;
        if let Some(stdout) = child.stdout.take() {
            self.output.follow(stdout, "");
        }
        if let Some(stderr) = child.stderr.take() {
            self.output.follow(stderr, "stderr: ");
        }
        self.child = Some(child);
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(Error::ExitedEarly {
                    name: "redis-server",
                    status: status.to_string(),
                    output: self.output.text(),
                });
            }
            if self.ping().is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::StartTimeout {
                    name: "redis-server",
                    timeout: STARTUP_TIMEOUT,
                    output: self.output.text(),
                });
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Sends `PING` over a fresh connection and expects `+PONG` (not `-LOADING`).
    pub fn ping(&self) -> Result<()> {
        let reply = self.command_raw(&["PING"])?;
        if reply.starts_with("+PONG") {
            Ok(())
        } else {
            Err(Error::BadResponse {
                method: String::from("PING"),
                detail: reply,
            })
        }
    }

    /// Sends one command over a fresh connection and returns the raw RESP reply (first read).
    /// Enough for `PING`, `CONFIG GET …` and small values in tests.
    pub fn command_raw(&self, args: &[&str]) -> Result<String> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let timeout = Duration::from_secs(1);
        let io = |e| Error::io("talking to redis-server", e);
        let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
        stream.set_read_timeout(Some(timeout)).map_err(io)?;
        stream.set_write_timeout(Some(timeout)).map_err(io)?;
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        stream.write_all(request.as_bytes()).map_err(io)?;
        let mut reply = [0u8; 4096];
        let read = stream.read(&mut reply).map_err(io)?;
        Ok(String::from_utf8_lossy(reply.get(..read).unwrap_or_default()).into_owned())
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The loopback port; the same across [`RedisServer::restart`].
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory (holds `appendonlydir/`).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the server process runs.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (SIGKILL, like a crash) and waits until it is gone. Clients then get
    /// connection errors. Writes it acknowledged are on disk (`appendfsync always`).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(&mut child);
        }
    }

    /// Starts the server again on the same port and data directory (stopping it first if it
    /// runs), and waits until it has loaded its data and answers `PING`.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop();
        self.spawn().await
    }

    /// The last lines the server printed.
    pub fn recent_output(&self) -> String {
        self.output.text()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `$MPP_REDIS_SERVER`, else `redis-server` on `$PATH`, else Debian's `/usr/bin/redis-server`.
fn redis_binary() -> Result<PathBuf> {
    let candidate = env_path(REDIS_ENV)
        .or_else(|| on_path("redis-server"))
        .unwrap_or_else(|| PathBuf::from("/usr/bin/redis-server"));
    existing_redis(candidate)
}

/// `candidate` when it is a file, else the error that names `scripts/setup`.
fn existing_redis(candidate: PathBuf) -> Result<PathBuf> {
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(Error::ProgramNotFound {
            program: "redis-server",
            package: "redis-server",
            env: REDIS_ENV,
            looked: format!("${REDIS_ENV}, $PATH, {}", candidate.display()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_redis_names_the_setup_script() {
        let err = existing_redis(PathBuf::from("/nonexistent/redis-server")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("scripts/setup") && text.contains("redis-server"),
            "{text}"
        );
    }
}
