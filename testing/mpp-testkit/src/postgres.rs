//! A local PostgreSQL: Debian's server binaries, a fresh cluster in a temporary directory, on a
//! free loopback port with trust authentication; stopped on drop.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::error::{Error, Result};
use crate::output::OutputLog;
use crate::process::{env_path, free_port, has_all, is_root, kill, run_checked, system_user};

/// Environment variable naming the directory that holds `initdb`, `postgres` and `pg_ctl`.
pub(crate) const PG_BIN_ENV: &str = "MPP_PG_BIN";

/// Where Debian installs each major version's server programs: `<root>/<version>/bin`.
const DEBIAN_PG_ROOT: &str = "/usr/lib/postgresql";

/// The programs the launcher needs.
const PROGRAMS: [&str; 4] = ["initdb", "postgres", "pg_ctl", "pg_isready"];

/// The superuser of the test cluster (and, as root, the system user the server runs as).
const SUPERUSER: &str = "postgres";

/// How long to wait for the server to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running PostgreSQL server on `127.0.0.1`, stopped when this value drops (also during a
/// panic). The cluster lives in a temporary directory (its Unix socket too) and is deleted with it.
///
/// PostgreSQL refuses to run as root; when the tests run as root, the cluster is created and
/// the server runs as the `postgres` system user that Debian's package creates.
/// [`Postgres::stop`] stops the server the way a crash would (`pg_ctl stop -m immediate`: no
/// checkpoint, recovery at the next start) and [`Postgres::restart`] starts it again on the same
/// port and data.
///
/// ```no_run
/// # async fn example() -> Result<(), mpp_testkit::Error> {
/// let mut pg = mpp_testkit::Postgres::start().await?;
/// let _url = pg.url(); // postgres://postgres@127.0.0.1:<port>/postgres
/// pg.stop()?;
/// pg.restart().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Postgres {
    child: Option<Child>,
    bin: PathBuf,
    port: u16,
    dir: TempDir,
    /// The uid and gid to run as, when this process is root.
    run_as: Option<(u32, u32)>,
    output: OutputLog,
}

impl Postgres {
    /// Creates a cluster (`initdb`) and starts a server on a free port.
    ///
    /// Fails with an error naming `scripts/setup` when the PostgreSQL server is not installed.
    pub async fn start() -> Result<Self> {
        let bin = pg_bin_dir()?;
        let run_as = if is_root() {
            Some(system_user(SUPERUSER).ok_or(Error::ProgramNotFound {
                program: "the postgres system user",
                package: "postgresql",
                env: PG_BIN_ENV,
                looked: String::from("/etc/passwd"),
            })?)
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("mpp-postgres-")
            .tempdir()
            .map_err(|e| Error::io("creating the PostgreSQL directory", e))?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(|e| Error::io("handing the PostgreSQL directory to postgres", e))?;
        }
        let mut server = Postgres {
            child: None,
            bin,
            port: free_port()?,
            dir,
            run_as,
            output: OutputLog::default(),
        };
        let mut initdb = server.command("initdb");
        initdb
            .arg("--pgdata")
            .arg(server.data_path())
            .args(["--username", SUPERUSER, "--auth", "trust"])
            .args(["--encoding", "UTF8", "--locale", "C", "--no-sync"]);
        run_checked(&mut initdb, "initdb")?;
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

    /// A command for one of the server programs, run as the cluster's owner.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        command
            .current_dir(self.dir.path())
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        command
    }

    fn data_path(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    async fn spawn(&mut self) -> Result<()> {
        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(self.data_path())
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "fsync=on", "-c", "synchronous_commit=on"])
            .args(["-c", "max_connections=60", "-c", "shared_buffers=16MB"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| Error::io("spawning postgres", e))?;
        if let Some(stdout) = child.stdout.take() {
            self.output.follow(stdout, "");
        }
        if let Some(stderr) = child.stderr.take() {
            self.output.follow(stderr, "");
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
                    name: "postgres",
                    status: status.to_string(),
                    output: self.output.text(),
                });
            }
            let ready = self
                .command("pg_isready")
                .args(["-h", "127.0.0.1", "-p"])
                .arg(self.port.to_string())
                .args(["-U", SUPERUSER, "-t", "1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success());
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::StartTimeout {
                    name: "postgres",
                    timeout: STARTUP_TIMEOUT,
                    output: self.output.text(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication: no password).
    pub fn url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    /// The loopback port; the same across [`Postgres::restart`].
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.data_path()
    }

    /// The directory holding the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's (postmaster's) process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the server runs.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Stops the server like a crash (`pg_ctl stop -m immediate`) and waits until it is gone.
    /// Connected clients lose their connections; committed transactions are on disk.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl.arg("stop").arg("-D").arg(self.data_path()).args([
            "-m",
            "immediate",
            "-w",
            "-t",
            "20",
        ]);
        let stopped = run_checked(&mut pg_ctl, "pg_ctl stop");
        // Whatever pg_ctl said, make sure the postmaster is gone before returning.
        kill(&mut child);
        stopped
    }

    /// Starts the server again on the same port and data (stopping it first if it runs), and
    /// waits until it accepts connections (after crash recovery).
    pub async fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.spawn().await
    }

    /// The last lines the server logged.
    pub fn recent_output(&self) -> String {
        self.output.text()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Errors cannot leave a destructor; `stop` kills the process whatever pg_ctl says.
        let _ = self.stop();
    }
}

/// `$MPP_PG_BIN`, else the newest `/usr/lib/postgresql/<version>/bin` holding the programs,
/// else the directory of `initdb` on `$PATH`.
fn pg_bin_dir() -> Result<PathBuf> {
    if let Some(dir) = env_path(PG_BIN_ENV) {
        return if has_all(&dir, &PROGRAMS) {
            Ok(dir)
        } else {
            Err(not_found(format!("${PG_BIN_ENV}={}", dir.display())))
        };
    }
    if let Some(dir) = newest_debian_bin_dir(Path::new(DEBIAN_PG_ROOT)) {
        return Ok(dir);
    }
    crate::process::on_path("initdb")
        .and_then(|initdb| std::fs::canonicalize(initdb).ok())
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
        .filter(|dir| has_all(dir, &PROGRAMS))
        .ok_or_else(|| {
            not_found(format!(
                "${PG_BIN_ENV}, {DEBIAN_PG_ROOT}/<version>/bin, $PATH"
            ))
        })
}

/// The `bin` directory of the highest numbered version under `root` that holds the programs.
fn newest_debian_bin_dir(root: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(root).ok()?;
    entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version: f64 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_all(&bin, &PROGRAMS).then_some((version, bin))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, bin)| bin)
}

fn not_found(looked: String) -> Error {
    Error::ProgramNotFound {
        program: "the PostgreSQL server (initdb, postgres, pg_ctl)",
        package: "postgresql",
        env: PG_BIN_ENV,
        looked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_override_names_the_setup_script() {
        let err = not_found(String::from("$MPP_PG_BIN=/nowhere"));
        let text = err.to_string();
        assert!(
            text.contains("scripts/setup") && text.contains("postgresql"),
            "{text}"
        );
    }

    #[test]
    fn picks_the_newest_complete_version() {
        let root = tempfile::tempdir().unwrap();
        for (version, complete) in [("13", true), ("15", true), ("16", false)] {
            let bin = root.path().join(version).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            let programs: &[&str] = if complete { &PROGRAMS } else { &["initdb"] };
            for program in programs {
                std::fs::write(bin.join(program), "").unwrap();
            }
        }
        let picked = newest_debian_bin_dir(root.path()).unwrap();
        assert!(picked.ends_with("15/bin"), "{}", picked.display());
    }
}
