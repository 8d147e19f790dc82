//! Terminal output: colour (off with `NO_COLOR` or when not a terminal), steps, warnings and
//! errors on stderr.

use std::io::IsTerminal as _;
use std::time::Duration;

/// True when stderr is a terminal and `NO_COLOR` is unset or empty.
fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

fn paint(code: &str, text: &str) -> String {
    if colour() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// Bold text (for labels).
pub(crate) fn bold(text: &str) -> String {
    paint("1", text)
}

/// Dim text (for details).
pub(crate) fn dim(text: &str) -> String {
    paint("2", text)
}

/// Prints an error sentence and its hint to stderr.
pub(crate) fn error(message: &str, hint: &str) {
    eprintln!("{} {message}", paint("1;31", "error:"));
    eprintln!("  {} {hint}", paint("36", "hint:"));
}

/// Prints a warning to stderr.
pub(crate) fn warn(message: &str) {
    eprintln!("{} {message}", paint("1;33", "warning:"));
}

/// Prints a step of progress to stderr.
pub(crate) fn step(message: &str) {
    eprintln!("{} {message}", paint("1;32", "==>"));
}

/// Shows `label` with a spinner on stderr while `future` runs (only on a terminal).
pub(crate) async fn progress<F: IntoFuture>(label: &str, future: F) -> F::Output {
    progress_if(true, label, future).await
}

/// [`progress`] when `enabled`, else just runs `future`.
pub(crate) async fn progress_if<F: IntoFuture>(enabled: bool, label: &str, future: F) -> F::Output {
    let future = future.into_future();
    if !enabled || !std::io::stderr().is_terminal() {
        return future.await;
    }
    let spinner = async {
        let frames = ['|', '/', '-', '\\'];
        let mut i = 0usize;
        loop {
            let frame = frames.get(i % frames.len()).copied().unwrap_or('|');
            eprint!("\r{} {label}", paint("36", &frame.to_string()));
            i = i.wrapping_add(1);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let output = tokio::select! {
        output = future => output,
        () = spinner => unreachable!("the spinner never ends"),
    };
    eprint!("\r{}\r", " ".repeat(label.len() + 2));
    output
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM: when servers stop and children are cleaned up.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
