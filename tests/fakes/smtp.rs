//! A real SMTP server on 127.0.0.1, port 0, for the email tests.
//!
//! The protocol itself (EHLO with its multi-line reply, MAIL, RCPT, DATA with dot-stuffing and the
//! `.` terminator, RSET, NOOP, QUIT, AUTH PLAIN) is the `mailin` crate's state machine; this file
//! is the tokio connection around it, plus what tests need to see and steer: every mail received,
//! a count of TCP connections (to prove pooling), and failures scripted for the next
//! transactions. `mailin-embedded` was not used: it serves on a blocking thread pool that cannot
//! be shut down, and offers no way to drop a connection or count them.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mailin::response::{AUTH_OK, INVALID_CREDENTIALS, OK};
use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// One mail as the server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`), without angle brackets.
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent after `DATA`, dot-stuffing undone, without the final `.` line.
    pub data: Vec<u8>,
}

/// A failure the server plays once, on the next transaction that reaches its command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `450` to `RCPT TO`: mailbox busy, try later.
    RcptTemporary,
    /// `550` to `RCPT TO`: no such mailbox.
    RcptPermanent,
    /// `421` to `MAIL FROM`, then the server closes the connection.
    ShuttingDown,
    /// The server closes the connection on `MAIL FROM` without a word.
    DropConnection,
    /// The server never answers `MAIL FROM`, keeping the connection open.
    Stall,
}

struct Shared {
    mails: watch::Sender<Vec<ReceivedMail>>,
    connections: AtomicUsize,
    faults: Mutex<VecDeque<Fault>>,
    /// `AUTH PLAIN` is offered and required when set: the expected user and password.
    credentials: Option<(String, String)>,
}

impl Shared {
    /// Takes the next fault if it is one of `wanted`.
    fn take_fault(&self, wanted: &[Fault]) -> Option<Fault> {
        let mut faults = self.faults.lock().unwrap();
        let next = *faults.front()?;
        wanted.contains(&next).then(|| faults.pop_front()).flatten()
    }
}

/// The running server; stopped by [`SmtpServer::shutdown`] or with the test's runtime.
pub struct SmtpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
    accepting: Option<JoinHandle<()>>,
}

impl SmtpServer {
    /// A server that takes mail from anyone.
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// A server that requires `AUTH PLAIN` with these credentials (over plain TCP: a test relay).
    pub async fn start_with_auth(user: &str, password: &str) -> Self {
        Self::start_with(Some((user.to_owned(), password.to_owned()))).await
    }

    async fn start_with(credentials: Option<(String, String)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the test SMTP server");
        let addr = listener.local_addr().expect("its address");
        let shared = Arc::new(Shared {
            mails: watch::Sender::new(Vec::new()),
            connections: AtomicUsize::new(0),
            faults: Mutex::new(VecDeque::new()),
            credentials,
        });
        let mut builder = SessionBuilder::new("kabar-test-smtp");
        if shared.credentials.is_some() {
            builder.enable_auth(AuthMechanism::Plain).insecure_enable_plaintext_auth();
        }
        let stop = CancellationToken::new();
        let accepting = tokio::spawn(accept(listener, builder, Arc::clone(&shared), stop.clone()));
        Self { addr, shared, stop, accepting: Some(accepting) }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Plays `fault` on a coming transaction; faults play in the order given.
    pub fn fail_next(&self, fault: Fault) {
        self.shared.faults.lock().unwrap().push_back(fault);
    }

    /// Waits for the `n`-th mail (from 0) to arrive, and returns it.
    pub async fn mail(&self, n: usize) -> ReceivedMail {
        let mut mails = self.shared.mails.subscribe();
        let mails = mails.wait_for(|mails| mails.len() > n).await.expect("the server is running");
        mails[n].clone()
    }

    /// Every mail received so far.
    pub fn mails(&self) -> Vec<ReceivedMail> {
        self.shared.mails.borrow().clone()
    }

    /// Stops listening and closes every open connection; returns once they are closed.
    pub async fn shutdown(&mut self) {
        self.stop.cancel();
        if let Some(accepting) = self.accepting.take() {
            accepting.await.expect("the accept loop ends cleanly");
        }
    }
}

async fn accept(
    listener: TcpListener,
    builder: SessionBuilder,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                shared.connections.fetch_add(1, Ordering::SeqCst);
                sessions.spawn(serve(stream, builder.clone(), Arc::clone(&shared)));
            }
            // Reap finished sessions so the set does not grow.
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    // Dropping the listener and aborting the sessions closes every socket.
    drop(listener);
    sessions.shutdown().await;
}

async fn serve(stream: TcpStream, builder: SessionBuilder, shared: Arc<Shared>) -> std::io::Result<()> {
    let peer = stream.peer_addr()?.ip();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let recorder =
        Recorder { shared: Arc::clone(&shared), from: String::new(), to: Vec::new(), data: Vec::new() };
    let mut session = builder.build(peer, recorder);
    write.write_all(&session.greeting().buffer()?).await?;
    let mut in_data = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        if !in_data && line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"MAIL") {
            match shared.take_fault(&[Fault::ShuttingDown, Fault::DropConnection, Fault::Stall]) {
                Some(Fault::ShuttingDown) => {
                    write.write_all(b"421 4.3.2 Service shutting down, closing connection\r\n").await?;
                    return Ok(());
                }
                // Until the server shuts down, which aborts this task.
                Some(Fault::Stall) => std::future::pending::<()>().await,
                Some(_) => return Ok(()),
                None => {}
            }
        }
        let response = session.process(&line);
        if in_data && line == b".\r\n" {
            in_data = false;
        } else if response.code == 354 {
            in_data = true;
        }
        match response.action {
            Action::Reply => write.write_all(&response.buffer()?).await?,
            Action::Close => {
                write.write_all(&response.buffer()?).await?;
                return Ok(());
            }
            // STARTTLS is never offered.
            Action::UpgradeTls => return Ok(()),
            Action::NoReply => {}
        }
    }
}

/// The `mailin` handler of one connection: records mails, plays RCPT faults, checks AUTH.
struct Recorder {
    shared: Arc<Shared>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Recorder {
    fn rcpt(&mut self, _to: &str) -> Response {
        match self.shared.take_fault(&[Fault::RcptTemporary, Fault::RcptPermanent]) {
            Some(Fault::RcptTemporary) => Response::custom(450, "4.2.1 Mailbox busy, try again later".into()),
            Some(_) => Response::custom(550, "5.1.1 Mailbox unknown".into()),
            None => OK,
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.data.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = ReceivedMail {
            from: std::mem::take(&mut self.from),
            to: std::mem::take(&mut self.to),
            data: std::mem::take(&mut self.data),
        };
        self.shared.mails.send_modify(|mails| mails.push(mail));
        OK
    }

    fn auth_plain(&mut self, _authorization_id: &str, authentication_id: &str, password: &str) -> Response {
        match &self.shared.credentials {
            Some((user, expected)) if user == authentication_id && expected == password => AUTH_OK,
            _ => INVALID_CREDENTIALS,
        }
    }
}
