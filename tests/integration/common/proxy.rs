//! A TCP proxy in front of a database that a test can cut: every open connection is closed and new ones are
//! either refused (the server is down) or accepted and never answered (the network drops the packets).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How a cut proxy treats new connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Nothing listens: connecting fails at once with "connection refused".
    Refuse,
    /// Connections are accepted, then nothing is ever read or sent: only timeouts end them.
    Blackhole,
}

#[derive(Default)]
struct State {
    cut: Option<Cut>,
    /// The accept loop and the forwarding tasks; aborting one closes its sockets.
    accept: Option<JoinHandle<()>>,
    links: Vec<JoinHandle<()>>,
    /// Blackholed connections, kept open (and silent) until the proxy is restored.
    held: Vec<TcpStream>,
}

pub struct Proxy {
    pub addr: SocketAddr,
    target: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Proxy {
    /// Starts forwarding a free local port to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            target,
            state: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    /// Closes every open connection and treats new ones as `cut` says.
    pub fn cut(&self, cut: Cut) {
        let mut state = self.state.lock().unwrap();
        state.cut = Some(cut);
        for link in state.links.drain(..) {
            link.abort();
        }
        if cut == Cut::Refuse {
            if let Some(accept) = state.accept.take() {
                accept.abort();
            }
        }
    }

    /// Forwards again; blackholed connections are closed, as a peer coming back would reset them.
    pub async fn restore(&self) {
        let listening = {
            let mut state = self.state.lock().unwrap();
            state.cut = None;
            state.held.clear();
            state.accept.is_some()
        };
        if !listening {
            // The aborted accept loop may still hold the port for a moment.
            let listener = loop {
                match TcpListener::bind(self.addr).await {
                    Ok(listener) => break listener,
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
                }
            };
            self.serve(listener);
        }
    }

    fn serve(&self, listener: TcpListener) {
        let state = self.state.clone();
        let target = self.target;
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut state = state.lock().unwrap();
                match state.cut {
                    Some(_) => state.held.push(client),
                    None => {
                        let link = tokio::spawn(forward(client, target));
                        state.links.push(link);
                    }
                }
            }
        });
        self.state.lock().unwrap().accept = Some(accept);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let mut state = self.state.lock().unwrap();
        if let Some(accept) = state.accept.take() {
            accept.abort();
        }
        for link in state.links.drain(..) {
            link.abort();
        }
    }
}

async fn forward(mut client: TcpStream, target: SocketAddr) {
    if let Ok(mut server) = TcpStream::connect(target).await {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}
