//! The thread that owns the SQLite connection. SQLite calls block, so they never run on the
//! async runtime: each operation is a closure sent to this thread, answered through a oneshot.

use std::sync::mpsc;
use std::thread;

use mpp_core::StoreError;
use rusqlite::Connection;
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A handle to the connection thread. The thread closes the connection and ends when the last
/// handle drops.
#[derive(Debug, Clone)]
pub(super) struct Worker {
    jobs: mpsc::Sender<Job>,
}

impl Worker {
    /// Starts the thread, opens the connection on it with `open`, and returns once `open`
    /// succeeded or with its error.
    pub(super) async fn start<E>(
        open: impl FnOnce() -> Result<Connection, E> + Send + 'static,
    ) -> Result<Self, E>
    where
        E: From<StoreError> + Send + 'static,
    {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (opened, on_open) = oneshot::channel();
        let spawned = thread::Builder::new()
            .name("mpp-store-sqlite".to_owned())
            .spawn(move || {
                let mut connection = match open() {
                    Ok(connection) => {
                        let _ = opened.send(Ok(()));
                        connection
                    }
                    Err(e) => {
                        let _ = opened.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = queue.recv() {
                    job(&mut connection);
                }
            });
        if let Err(e) = spawned {
            return Err(StoreError::Backend(Box::new(e)).into());
        }
        match on_open.await {
            Ok(Ok(())) => Ok(Self { jobs }),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                Err(StoreError::Backend("the SQLite thread stopped while opening".into()).into())
            }
        }
    }

    /// Runs `job` on the connection thread and waits for its answer.
    pub(super) async fn run<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, on_answer) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let _ = answer.send(job(connection));
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Backend("the SQLite thread has stopped".into()))?;
        on_answer.await.map_err(|_| {
            StoreError::Backend("the SQLite thread stopped during an operation".into())
        })?
    }
}
