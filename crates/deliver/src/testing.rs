//! A loopback HTTP server for the channels' tests: answers every request alike and keeps
//! what it received.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) head: String,
    pub(crate) body: Vec<u8>,
}

pub(crate) enum Reply {
    /// These bytes, then the connection is closed.
    Fixed(String),
    /// A 200 with a chunked body that never ends: written until the client hangs up, then the
    /// number of bytes written is sent.
    Endless(tokio::sync::mpsc::UnboundedSender<usize>),
}

/// A loopback HTTP server answering every request with `reply`: its port and what it received.
pub(crate) async fn server(reply: Reply) -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (reply, log) = (Arc::new(reply), seen.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (reply, log) = (reply.clone(), log.clone());
            tokio::spawn(async move {
                let Some(request) = read_request(&mut sock).await else { return };
                log.lock().expect("log").push(request);
                match &*reply {
                    Reply::Fixed(text) => {
                        let _ = sock.write_all(text.as_bytes()).await;
                        let _ = sock.shutdown().await;
                    }
                    Reply::Endless(written) => {
                        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                        let chunk = format!("4000\r\n{}\r\n", "a".repeat(0x4000));
                        let (mut ok, mut total) = (sock.write_all(head.as_bytes()).await.is_ok(), 0);
                        while ok {
                            ok = sock.write_all(chunk.as_bytes()).await.is_ok();
                            total += chunk.len();
                        }
                        let _ = written.send(total);
                    }
                }
            });
        }
    });
    (port, seen)
}

async fn read_request(sock: &mut TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let mut read_more = async |buf: &mut Vec<u8>| -> Option<()> {
        let n = sock.read(&mut tmp).await.ok()?;
        buf.extend_from_slice(&tmp[..n]);
        (n > 0).then_some(())
    };
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        read_more(&mut buf).await?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")).and_then(|(_, v)| v.trim().parse().ok()))
        .unwrap_or(0);
    while buf.len() < head_end + length {
        read_more(&mut buf).await?;
    }
    Some(Received { head, body: buf[head_end..head_end + length].to_vec() })
}
