//! The Redis and PostgreSQL launchers: start, fsync settings, stop and restart on the same port
//! with the data kept.

use std::net::{Ipv4Addr, TcpStream};

use mpp_testkit::{Postgres, RedisServer};

fn port_open(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}

#[tokio::test]
async fn redis_fsyncs_every_write_and_keeps_data_across_a_crash() {
    let mut redis = RedisServer::start().await.unwrap();
    assert!(redis.url().starts_with("redis://127.0.0.1:"));
    let fsync = redis
        .command_raw(&["CONFIG", "GET", "appendfsync"])
        .unwrap();
    assert!(fsync.contains("always"), "{fsync}");
    assert!(
        redis
            .command_raw(&["SET", "k", "v1"])
            .unwrap()
            .starts_with("+OK")
    );

    let port = redis.port();
    redis.stop();
    assert!(!redis.is_running());
    assert!(!port_open(port));
    assert!(redis.ping().is_err());

    redis.restart().await.unwrap();
    assert_eq!(redis.port(), port);
    let value = redis.command_raw(&["GET", "k"]).unwrap();
    assert_eq!(
        value,
        "$2\r\nv1\r\n",
        "recent output:\n{}",
        redis.recent_output()
    );
}

#[tokio::test]
async fn postgres_starts_stops_and_restarts_on_the_same_port() {
    let mut pg = Postgres::start().await.unwrap();
    let port = pg.port();
    assert!(port_open(port));
    assert_eq!(
        pg.url(),
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    );
    assert!(pg.data_dir().join("PG_VERSION").is_file());

    pg.stop().unwrap();
    assert!(!pg.is_running());
    assert!(!port_open(port));

    pg.restart().await.unwrap();
    assert!(pg.is_running());
    assert!(port_open(port), "recent output:\n{}", pg.recent_output());
}
