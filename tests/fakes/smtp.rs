//! A real SMTP server on 127.0.0.1, port 0, for the email tests.
//!
//! The protocol itself (EHLO with its multi-line reply, MAIL, RCPT, DATA with dot-stuffing and the
//! `.` terminator, RSET, NOOP, QUIT, AUTH PLAIN, STARTTLS) is the `mailin` crate's state machine;
//! this file is the tokio connection around it, plus what tests need to see and steer: every mail
//! received, the TCP connections and how each was protected (to prove pooling and TLS), and
//! failures scripted for the next transactions. `mailin-embedded` was not used: it serves on a
//! blocking thread pool that cannot be shut down, and offers no way to drop a connection or count
//! them.
//!
//! The server speaks plain SMTP, offers STARTTLS, or does TLS from the first byte
//! ([`ServerSecurity`]), with a certificate from a [`TestCa`] made when the test starts: rustls
//! on both sides, and the client verifies for real.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use mailin::response::{AUTH_OK, INVALID_CREDENTIALS, OK};
use mailin::{Action, AuthMechanism, Handler, Response, Session, SessionBuilder};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{crypto, ServerConfig};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// A certificate authority made for one test: what an internal relay's CA is in production.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("a CA key");
        Self { issuer: CertifiedIssuer::self_signed(params, key).expect("a self-signed CA certificate") }
    }

    /// The CA certificate in PEM: the file a client names in `tls_root_certificate`.
    pub fn certificate_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `localhost` (and 127.0.0.1), signed by this CA.
    pub fn localhost(&self) -> ServerTls {
        let key = KeyPair::generate().expect("a server key");
        let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("server certificate parameters");
        params.distinguished_name.push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let certificate = params.signed_by(&key, &self.issuer).expect("a server certificate");
        let chain = vec![certificate.der().clone(), self.issuer.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        // ring, as lettre uses, named rather than left to the process-wide default.
        let config = ServerConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("the server certificate and key match");
        ServerTls { acceptor: TlsAcceptor::from(Arc::new(config)) }
    }
}

/// A server certificate and its key, ready for handshakes.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
}

/// How the server protects its connections.
#[derive(Clone)]
pub enum ServerSecurity {
    /// Plain SMTP; STARTTLS is not offered.
    Plain,
    /// STARTTLS offered in the EHLO reply (port 587); AUTH only once TLS is on.
    StartTls(ServerTls),
    /// A TLS handshake first, then SMTP inside it (port 465).
    ImplicitTls(ServerTls),
}

/// How one connection was protected, as far as it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// No TLS: a plain server, or a TLS handshake that did not complete.
    Plain,
    /// Upgraded after the client's `STARTTLS`.
    StartTls,
    /// TLS from the first byte.
    ImplicitTls,
}

/// One mail as the server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`), without angle brackets.
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent after `DATA`, dot-stuffing undone, without the final `.` line.
    pub data: Vec<u8>,
    /// How the connection that carried it was protected.
    pub protection: Protection,
    /// When its `DATA` ended: when the relay took it (the deliver benchmark's time to inform).
    #[allow(dead_code)]
    pub at: std::time::Instant,
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
    /// Every TCP connection accepted, in order, with its protection so far.
    connections: Mutex<Vec<Protection>>,
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

    /// Numbers a new connection, plain until a handshake completes.
    fn connected(&self) -> usize {
        let mut connections = self.connections.lock().unwrap();
        connections.push(Protection::Plain);
        connections.len() - 1
    }

    fn protect(&self, connection: usize, protection: Protection) {
        self.connections.lock().unwrap()[connection] = protection;
    }

    fn protection(&self, connection: usize) -> Protection {
        self.connections.lock().unwrap()[connection]
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
    /// A plain server that takes mail from anyone.
    pub async fn start() -> Self {
        Self::start_with(ServerSecurity::Plain, None).await
    }

    /// A plain server that requires `AUTH PLAIN` with these credentials (over plain TCP: a test
    /// relay).
    pub async fn start_with_auth(user: &str, password: &str) -> Self {
        Self::start_with(ServerSecurity::Plain, Some((user.to_owned(), password.to_owned()))).await
    }

    /// A server protected as `security` says, that takes mail from anyone.
    pub async fn start_secured(security: ServerSecurity) -> Self {
        Self::start_with(security, None).await
    }

    /// A server protected as `security` says that requires `AUTH PLAIN`, offered only once TLS is
    /// on (unless the server is plain), as a real relay does.
    pub async fn start_secured_with_auth(security: ServerSecurity, user: &str, password: &str) -> Self {
        Self::start_with(security, Some((user.to_owned(), password.to_owned()))).await
    }

    async fn start_with(security: ServerSecurity, credentials: Option<(String, String)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the test SMTP server");
        let addr = listener.local_addr().expect("its address");
        let shared = Arc::new(Shared {
            mails: watch::Sender::new(Vec::new()),
            connections: Mutex::new(Vec::new()),
            faults: Mutex::new(VecDeque::new()),
            credentials,
        });
        let mut builder = SessionBuilder::new("kabar-test-smtp");
        if shared.credentials.is_some() {
            builder.enable_auth(AuthMechanism::Plain);
            if let ServerSecurity::Plain = security {
                builder.insecure_enable_plaintext_auth();
            }
        }
        if let ServerSecurity::StartTls(_) = security {
            builder.enable_start_tls();
        }
        let stop = CancellationToken::new();
        let accepting = tokio::spawn(accept(listener, security, builder, Arc::clone(&shared), stop.clone()));
        Self { addr, shared, stop, accepting: Some(accepting) }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.lock().unwrap().len()
    }

    /// How each connection accepted so far was protected, in order.
    pub fn protections(&self) -> Vec<Protection> {
        self.shared.connections.lock().unwrap().clone()
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
    security: ServerSecurity,
    builder: SessionBuilder,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let connection = shared.connected();
                let session = builder.build(peer.ip(), Recorder::new(Arc::clone(&shared), connection));
                sessions.spawn(serve(stream, connection, security.clone(), session, Arc::clone(&shared)));
            }
            // Reap finished sessions so the set does not grow.
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    // Dropping the listener and aborting the sessions closes every socket.
    drop(listener);
    sessions.shutdown().await;
}

/// One connection: the TLS handshake first or after `STARTTLS` as `security` says, and the SMTP
/// conversation around it. A failed handshake ends the connection, still [`Protection::Plain`].
async fn serve(
    stream: TcpStream,
    connection: usize,
    security: ServerSecurity,
    mut session: Session<Recorder>,
    shared: Arc<Shared>,
) -> io::Result<()> {
    match security {
        ServerSecurity::Plain => {
            converse(stream, &mut session, &shared, true).await?;
        }
        ServerSecurity::ImplicitTls(tls) => {
            let stream = tls.acceptor.accept(stream).await?;
            shared.protect(connection, Protection::ImplicitTls);
            session.tls_active();
            converse(stream, &mut session, &shared, true).await?;
        }
        ServerSecurity::StartTls(tls) => {
            if let Some(stream) = converse(stream, &mut session, &shared, true).await? {
                let stream = tls.acceptor.accept(stream).await?;
                shared.protect(connection, Protection::StartTls);
                // mailin forgets the EHLO and offers AUTH but no more STARTTLS; the client
                // starts over with EHLO, without a new greeting (RFC 3207).
                session.tls_active();
                converse(stream, &mut session, &shared, false).await?;
            }
        }
    }
    Ok(())
}

/// The SMTP conversation on one stream, plain or TLS, until the client quits or the connection
/// ends; returns the stream when the client asked for `STARTTLS` and was told to go ahead.
async fn converse<S>(
    stream: S,
    session: &mut Session<Recorder>,
    shared: &Shared,
    greet: bool,
) -> io::Result<Option<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    // Reads buffered, writes straight through to the stream.
    let mut stream = BufReader::new(stream);
    if greet {
        reply(&mut stream, &session.greeting().buffer()?).await?;
    }
    let mut in_data = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        if stream.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        if !in_data && line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"MAIL") {
            match shared.take_fault(&[Fault::ShuttingDown, Fault::DropConnection, Fault::Stall]) {
                Some(Fault::ShuttingDown) => {
                    reply(&mut stream, b"421 4.3.2 Service shutting down, closing connection\r\n").await?;
                    return Ok(None);
                }
                // Until the server shuts down, which aborts this task.
                Some(Fault::Stall) => std::future::pending::<()>().await,
                Some(_) => return Ok(None),
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
            Action::Reply => reply(&mut stream, &response.buffer()?).await?,
            Action::Close => {
                reply(&mut stream, &response.buffer()?).await?;
                return Ok(None);
            }
            // mailin asks for it only when STARTTLS was offered.
            Action::UpgradeTls => {
                reply(&mut stream, &response.buffer()?).await?;
                // Anything the client sent after STARTTLS, before the handshake, would be
                // plaintext smuggled into the TLS session: a real relay drops such a client.
                if !stream.buffer().is_empty() {
                    return Ok(None);
                }
                return Ok(Some(stream.into_inner()));
            }
            Action::NoReply => {}
        }
    }
}

/// Writes one reply and flushes it: a TLS stream holds written data until flushed.
async fn reply<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8]) -> io::Result<()> {
    stream.write_all(bytes).await?;
    stream.flush().await
}

/// The `mailin` handler of one connection: records mails, plays RCPT faults, checks AUTH.
struct Recorder {
    shared: Arc<Shared>,
    /// Its connection's number, for the mail's protection.
    connection: usize,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Recorder {
    fn new(shared: Arc<Shared>, connection: usize) -> Self {
        Self { shared, connection, from: String::new(), to: Vec::new(), data: Vec::new() }
    }
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
            protection: self.shared.protection(self.connection),
            at: std::time::Instant::now(),
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
