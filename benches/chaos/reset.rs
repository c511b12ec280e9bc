//! Connections the fake can reset from a handler, as a provider's crashing front end does: the
//! request was read, no answer comes, the client sees a TCP reset. (The same device as the test
//! suite's fakes, `tests/fakes/mod.rs`.)

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Per-connection information handed to the handler: the switch that resets the connection.
#[derive(Clone)]
pub struct Connection {
    pub reset: CancellationToken,
}

impl Connected<IncomingStream<'_, ResettableListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, ResettableListener>) -> Self {
        Connection { reset: stream.io().reset.clone() }
    }
}

/// A TCP listener whose connections can be reset from a handler.
pub struct ResettableListener(pub TcpListener);

impl Listener for ResettableListener {
    type Io = ResettableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, address) = Listener::accept(&mut self.0).await;
        (ResettableStream { stream, reset: CancellationToken::new() }, address)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A TCP stream that, once `reset` is cancelled, fails every read and write and sends an RST
/// (`SO_LINGER` 0) when hyper drops it.
pub struct ResettableStream {
    stream: TcpStream,
    reset: CancellationToken,
}

impl ResettableStream {
    fn check(&self) -> io::Result<()> {
        if self.reset.is_cancelled() {
            self.stream.set_zero_linger()?;
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset by the fake"));
        }
        Ok(())
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
