use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::client::Coalesce;
use super::*;
use crate::{Channel, Limits};

#[tokio::test]
async fn what_is_written_leaves_at_once_when_the_reply_is_read() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).await.expect("connect");
    let (server, _) = listener.accept().await.expect("accept");
    let mut c = Coalesce::new(client);
    // A message and its final dot, each flushed, as lettre writes them.
    c.write_all(b"body\r\n").await.expect("write");
    c.flush().await.expect("flush");
    c.write_all(b".\r\n").await.expect("write");
    c.flush().await.expect("flush");
    let mut buf = [0u8; 64];
    assert!(
        matches!(server.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing sent before the reply is awaited"
    );
    let reader = tokio::spawn(async move {
        let mut reply = [0u8; 8];
        let n = c.read(&mut reply).await.expect("read");
        reply[..n].to_vec()
    });
    let mut server = server;
    let n = server.read(&mut buf).await.expect("read");
    assert_eq!(&buf[..n], b"body\r\n.\r\n", "the message and its dot in one read");
    server.write_all(b"250 OK\r\n").await.expect("reply");
    assert_eq!(reader.await.expect("join"), b"250 OK\r\n");
}

/// A scripted SMTP server that closes each connection after one message (as a server closes
/// a connection that sat idle): how many connections and messages it saw.
async fn one_message_per_connection() -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (connections, messages) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (c, m) = (connections.clone(), messages.clone());
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            let m = m.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(sock);
                r.get_mut().write_all(b"220 test ready\r\n").await.expect("greet");
                let mut line = String::new();
                let mut data = false;
                while r.read_line(&mut line).await.unwrap_or(0) > 0 {
                    let reply: &[u8] = if data {
                        if line == ".\r\n" {
                            m.fetch_add(1, Ordering::SeqCst);
                            r.get_mut().write_all(b"250 queued\r\n").await.expect("reply");
                            return;
                        }
                        b""
                    } else if line.starts_with("EHLO") {
                        b"250 test\r\n"
                    } else if line.starts_with("DATA") {
                        data = true;
                        b"354 go on\r\n"
                    } else {
                        b"250 OK\r\n"
                    };
                    r.get_mut().write_all(reply).await.expect("reply");
                    line.clear();
                }
            });
        }
    });
    (port, connections, messages)
}

#[tokio::test]
async fn a_pooled_connection_the_server_closed_is_replaced_and_the_email_sent() {
    let (port, connections, messages) = one_message_per_connection().await;
    let options = SmtpOptions {
        host: "127.0.0.1".into(),
        port,
        tls: TlsMode::None,
        username: None,
        password: None,
        from: "Acme <hello@acme.test>".into(),
        timeout: std::time::Duration::from_secs(10),
        limits: Limits { concurrency: 1, rate_per_sec: 0.0 },
    };
    let mailer = Mailer::new(&options).expect("mailer");
    let email = Email {
        to: "ann@x.test".into(),
        rendered: Rendered { subject: "Hi".into(), html: "<p>Hi</p>".into(), text: "Hi".into() },
        unsubscribe: None,
    };
    for key in ["k1", "k2", "k3"] {
        let sent = Channel::send(&mailer, key, &email).await.expect("sent");
        assert_eq!(sent["message_id"], serde_json::json!(format!("<{key}@wayfarer>")));
    }
    assert_eq!(messages.load(Ordering::SeqCst), 3, "every email arrived");
    assert_eq!(connections.load(Ordering::SeqCst), 3, "each on a new connection, the closed one dropped from the pool");
    assert_eq!(Channel::limits(&mailer), Limits { concurrency: 1, rate_per_sec: 0.0 });
}

#[test]
fn the_wire_message_is_dot_stuffed_and_ends_with_the_line_of_one_dot() {
    let rendered = crate::Rendered { subject: "Hi".into(), text: "one\r\n.two\r\nthree".into(), html: "<p>x</p>".into() };
    let email = Email { to: "ann@example.test".into(), rendered, unsubscribe: None };
    let bytes = wire_message("Acme <hello@acme.test>", "run-1-1-0", &email).expect("built");
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(text.contains("Message-ID: <run-1-1-0@wayfarer>\r\n"), "{text}");
    assert!(text.contains("\r\n..two\r\n"), "a line starting with a dot gets another: {text}");
    assert!(!text.contains("\r\n.two"), "{text}");
    assert!(text.ends_with("\r\n.\r\n") && text.matches("\r\n.\r\n").count() == 1, "one final dot line: {text}");
    assert!(wire_message("Acme <hello@acme.test>", "k", &Email { to: "not an address".into(), ..email }).is_err());
}
