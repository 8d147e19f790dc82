//! Helpers shared by the database launchers: finding Debian programs, free ports, running as
//! an unprivileged user, and stopping processes.

use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use crate::error::{Error, Result};

/// A loopback port that was free a moment ago.
pub(crate) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| Error::io("binding a loopback port", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::io("reading the bound port", e))?
        .port();
    Ok(port)
}

/// `name` in one of the directories of `$PATH`, if it is there.
pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The value of environment variable `env` as a path, when it is set and not empty.
pub(crate) fn env_path(env: &str) -> Option<PathBuf> {
    std::env::var_os(env)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// True when this process runs as root (the owner of `/proc/self` is the effective user).
pub(crate) fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// The uid and gid of system user `name`, read from `/etc/passwd`.
pub(crate) fn system_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some((uid, gid))
    })
}

/// Runs `command` to completion and fails with its output when it exits unsuccessfully.
pub(crate) fn run_checked(command: &mut Command, what: &str) -> Result<()> {
    let output = command
        .output()
        .map_err(|e| Error::io(format!("running {what}"), e))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(Error::CommandFailed {
            what: what.to_owned(),
            status: output.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

/// Kills the process (SIGKILL) and reaps it, so it is gone when this returns.
pub(crate) fn kill(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        // Errors here mean the process already exited; nothing else to do.
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// True when `dir` holds every one of `programs`.
pub(crate) fn has_all(dir: &Path, programs: &[&str]) -> bool {
    programs.iter().all(|program| dir.join(program).is_file())
}
