//! The connection cap on a real socket: past the cap a new connection gets 429 with a JSON
//! body and is closed; held connections are unaffected; a freed slot is reused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use rpc::access::CappedListener;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";

/// Sends a request on `s` and reads until the response's body is in.
async fn ask(s: &mut TcpStream) -> String {
    s.write_all(REQUEST).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.expect("reply within 5 s").unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn over_the_cap_is_told_why_and_closed() {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(CappedListener::new(tcp, Some(2)), app).await });

    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        assert!(ask(&mut s).await.ends_with("ok"), "within the cap");
        held.push(s);
    }
    let mut third = TcpStream::connect(addr).await.unwrap();
    let reply = ask(&mut third).await;
    assert!(reply.starts_with("HTTP/1.1 429"), "{reply}");
    let body: serde_json::Value = serde_json::from_str(reply.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["error"], "too_many_connections");
    assert!(body["message"].as_str().unwrap().contains("at most 2 connections"), "{body}");
    let mut rest = Vec::new();
    assert_eq!(third.read_to_end(&mut rest).await.unwrap_or(0), 0, "closed after the reply");
    assert!(ask(&mut held[0]).await.ends_with("ok"), "held connections still served");

    // Closing one frees its slot (the server notices the close asynchronously).
    drop(held.pop());
    let mut freed = false;
    for _ in 0..50 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        if ask(&mut s).await.ends_with("ok") {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed, "a slot came free within 5 s");
}
