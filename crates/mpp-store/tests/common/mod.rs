//! What the backend tests share: several store handles (one per replica) racing to write one
//! record.

use std::sync::Arc;

use mpp_store::{Put, Record, RecordStore};

/// Over five rounds, `writers` writes of one record spread over `replicas`, all naming the
/// version the last round wrote: each round exactly one is written, at the next version, and
/// every replica then reads its value.
pub(crate) async fn one_writer_wins_each_round<S: RecordStore>(
    replicas: &[Arc<S>],
    writers: usize,
) {
    let mut expected = None;
    for round in 1..=5u64 {
        let tasks: Vec<_> = (0..writers)
            .map(|i| {
                let replica = Arc::clone(&replicas[i % replicas.len()]);
                let value = format!("round {round} writer {i}");
                tokio::spawn(async move {
                    let put = replica.put_record("channel", expected, value.as_bytes(), None);
                    let put = put.await.unwrap();
                    (value, put)
                })
            })
            .collect();
        let mut written = Vec::new();
        for task in tasks {
            let (value, put) = task.await.unwrap();
            if put != Put::Conflict {
                written.push((value, put));
            }
        }
        let [(value, put)] = written.as_slice() else {
            panic!(
                "round {round}: {} writes, expected 1: {written:?}",
                written.len()
            );
        };
        assert_eq!(*put, Put::Written(round));
        let stored = Some(Record::new(value.clone().into_bytes(), round));
        for replica in replicas {
            assert_eq!(replica.get_record("channel").await.unwrap(), stored);
        }
        expected = Some(round);
    }
}
