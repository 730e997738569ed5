//! Peer-to-peer links between validators on libp2p: TCP with noise encryption and yamux
//! multiplexing, DNS names in multiaddrs (validators may sit in different clusters and
//! clouds), and an allowlist: only the genesis validators and configured peers may connect;
//! anyone else's connection is refused and logged.
//!
//! Messages travel as requests of one request-response protocol (borsh frames) to each
//! connected peer. Configured peers are redialed while disconnected.

mod codec;
mod message;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::StreamExt;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{allow_block_list, identity, Multiaddr, PeerId, StreamProtocol, SwarmBuilder};
use tokio::sync::mpsc;

pub use codec::MAX_FRAME;
pub use message::{Ack, NetMessage};

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network key: {0}")]
    Key(String),
    #[error("transport: {0}")]
    Transport(String),
    #[error("cannot listen on {addr}: {message}")]
    Listen { addr: Multiaddr, message: String },
}

#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// ed25519 seed of this node's network key (its peer id).
    pub key_seed: [u8; 32],
    pub listen: Multiaddr,
    /// Peers to keep connected to (the other validators), with where to dial them.
    pub peers: Vec<(PeerId, Multiaddr)>,
    /// Further peers allowed to connect (observers, operators' tools).
    pub allowed: Vec<PeerId>,
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    messages: request_response::Behaviour<codec::BorshCodec>,
}

enum Command {
    Broadcast(NetMessage),
    Send(PeerId, NetMessage),
}

/// Sends messages into the network; cloneable.
#[derive(Debug, Clone)]
pub struct NetworkHandle {
    commands: mpsc::UnboundedSender<CommandBox>,
    pub local_peer_id: PeerId,
}

/// Opaque so `Command` stays private.
pub struct CommandBox(Command);

impl std::fmt::Debug for CommandBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommandBox")
    }
}

impl NetworkHandle {
    /// To every connected peer.
    pub fn broadcast(&self, msg: NetMessage) {
        let _ = self.commands.send(CommandBox(Command::Broadcast(msg)));
    }

    pub fn send(&self, peer: PeerId, msg: NetMessage) {
        let _ = self.commands.send(CommandBox(Command::Send(peer, msg)));
    }
}

/// What the network delivers: a message and the peer it came from.
pub type Inbound = (PeerId, NetMessage);

/// The peer id of an ed25519 network key seed.
pub fn peer_id(key_seed: [u8; 32]) -> Result<PeerId, NetworkError> {
    let mut seed = key_seed;
    identity::Keypair::ed25519_from_bytes(&mut seed)
        .map(|k| k.public().to_peer_id())
        .map_err(|e| NetworkError::Key(e.to_string()))
}

/// Starts the network task. Returns the handle, the stream of inbound messages and the
/// address actually listened on (useful with port 0).
pub async fn start(cfg: NetworkConfig) -> Result<(NetworkHandle, mpsc::Receiver<Inbound>, Multiaddr), NetworkError> {
    let mut seed = cfg.key_seed;
    let keypair = identity::Keypair::ed25519_from_bytes(&mut seed).map_err(|e| NetworkError::Key(e.to_string()))?;
    let local_peer_id = keypair.public().to_peer_id();
    let mut swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .map_err(|e| NetworkError::Transport(e.to_string()))?
        .with_dns()
        .map_err(|e| NetworkError::Transport(e.to_string()))?
        .with_behaviour(|_| {
            let mut allow = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
            for p in cfg.peers.iter().map(|(p, _)| *p).chain(cfg.allowed.iter().copied()) {
                allow.allow_peer(p);
            }
            let protocols = [(StreamProtocol::new(codec::PROTOCOL), ProtocolSupport::Full)];
            let rr = request_response::Config::default().with_request_timeout(Duration::from_secs(10));
            Behaviour { allow, messages: request_response::Behaviour::new(protocols, rr) }
        })
        .map_err(|e| NetworkError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    swarm
        .listen_on(cfg.listen.clone())
        .map_err(|e| NetworkError::Listen { addr: cfg.listen.clone(), message: e.to_string() })?;
    let listen_addr = loop {
        match swarm.select_next_some().await {
            SwarmEvent::NewListenAddr { address, .. } => break address,
            SwarmEvent::ListenerError { error, .. } => {
                return Err(NetworkError::Listen { addr: cfg.listen.clone(), message: error.to_string() })
            }
            SwarmEvent::ListenerClosed { reason: Err(error), .. } => {
                return Err(NetworkError::Listen { addr: cfg.listen.clone(), message: error.to_string() })
            }
            _ => {}
        }
    };
    tracing::info!(target: "chain::network", peer_id = %local_peer_id, addr = %listen_addr, "p2p listening");
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let (inbound_tx, inbound_rx) = mpsc::channel(4096);
    let peers: BTreeMap<PeerId, Multiaddr> = cfg.peers.into_iter().collect();
    tokio::spawn(run(swarm, peers, commands_rx, inbound_tx));
    Ok((NetworkHandle { commands: commands_tx, local_peer_id }, inbound_rx, listen_addr))
}

fn dial_addr(peer: PeerId, addr: &Multiaddr) -> Multiaddr {
    let mut a = addr.clone();
    if !a.iter().any(|p| matches!(p, Protocol::P2p(_))) {
        a.push(Protocol::P2p(peer));
    }
    a
}

async fn run(
    mut swarm: libp2p::Swarm<Behaviour>,
    peers: BTreeMap<PeerId, Multiaddr>,
    mut commands: mpsc::UnboundedReceiver<CommandBox>,
    inbound: mpsc::Sender<Inbound>,
) {
    let mut connected: BTreeSet<PeerId> = BTreeSet::new();
    let mut redial = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            cmd = commands.recv() => match cmd {
                None => return,
                Some(CommandBox(Command::Broadcast(msg))) => {
                    for peer in &connected {
                        swarm.behaviour_mut().messages.send_request(peer, msg.clone());
                    }
                }
                Some(CommandBox(Command::Send(peer, msg))) => {
                    swarm.behaviour_mut().messages.send_request(&peer, msg);
                }
            },
            _ = redial.tick() => {
                for (peer, addr) in &peers {
                    if !connected.contains(peer) && !swarm.is_connected(peer) {
                        if let Err(e) = swarm.dial(dial_addr(*peer, addr)) {
                            tracing::debug!(target: "chain::network", %peer, error = %e, "dial failed");
                        }
                    }
                }
            }
            event = swarm.select_next_some() => match event {
                SwarmEvent::Behaviour(BehaviourEvent::Messages(request_response::Event::Message {
                    peer,
                    message: request_response::Message::Request { request, channel, .. },
                    ..
                })) => {
                    let _ = swarm.behaviour_mut().messages.send_response(channel, Ack);
                    if inbound.send((peer, request)).await.is_err() {
                        return;
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::Messages(request_response::Event::OutboundFailure { peer, error, .. })) => {
                    tracing::debug!(target: "chain::network", %peer, %error, "message not delivered");
                }
                SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } if connected.insert(peer_id) => {
                        tracing::info!(target: "chain::network", peer = %peer_id, addr = %endpoint.get_remote_address(), "peer connected");
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                    connected.remove(&peer_id);
                    tracing::info!(target: "chain::network", peer = %peer_id, "peer disconnected");
                }
                SwarmEvent::IncomingConnectionError { send_back_addr, error, .. } => {
                    tracing::warn!(target: "chain::network", from = %send_back_addr, %error, "refused incoming connection");
                }
                _ => {}
            },
        }
    }
}
