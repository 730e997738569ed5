//! Peer-to-peer links between validators on libp2p: TCP with noise encryption and yamux
//! multiplexing, DNS names in multiaddrs (validators may sit in different clusters and
//! clouds), and an allowlist: only the validators of the current and next sets and the
//! configured peers may connect; anyone else's connection is refused and logged, and a
//! validator the treasury removed is disconnected and refused from then on.
//!
//! Consensus messages and transaction gossip travel as borsh frames over one long-lived
//! stream per peer and direction ([`streams`]); block sync is a request-response protocol
//! whose requests are served from the store on a blocking thread, never on the swarm's task.
//! Each protocol has its own frame limit (see [`FrameLimits`]), frames are read as their
//! bytes arrive, and a peer has a bounded number of streams. Configured peers are redialed
//! while disconnected. Inbound messages go to an [`InboundSink`], which must never block: the
//! node's keeps bounded queues per peer and drops what overflows (consensus relays what
//! matters); outbound, a peer that does not keep up loses frames from its bounded queue
//! rather than holding anyone up.

mod codec;
mod message;
pub mod streams;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{allow_block_list, connection_limits, identity, Multiaddr, PeerId, StreamProtocol, SwarmBuilder};
use tokio::sync::{mpsc, oneshot};

pub use codec::{encode, read_frame, SYNC_PROTOCOL};
pub use message::{BlocksRequest, BlocksResponse, NetMessage};
pub use streams::{frame, Frame, STREAM_PROTOCOL};

/// Bytes a block response may hold before the server stops adding blocks (one more block
/// may push it over).
pub const SYNC_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Room for framing, certificates and headers beyond the block bytes a frame may carry.
const FRAME_SLACK: usize = 1024 * 1024;
/// Block requests one connection may have open at once.
const SYNC_STREAMS: usize = 4;
/// Connections one peer may hold (two: both sides may dial at once).
const CONNECTIONS_PER_PEER: u32 = 2;
/// Incoming connections still in their handshake (before the allowlist can judge them).
const PENDING_INCOMING: u32 = 64;

/// Largest frames accepted, per protocol and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    /// A consensus message (a proposal carries a block) or a batch of transactions.
    pub messages: usize,
    /// A block response: [`SYNC_RESPONSE_BYTES`] plus one block more.
    pub sync: usize,
}

impl FrameLimits {
    /// The limits for a chain whose blocks hold at most `max_block_bytes`.
    pub fn for_blocks(max_block_bytes: u64) -> Self {
        let block = usize::try_from(max_block_bytes).unwrap_or(usize::MAX);
        FrameLimits {
            messages: block.saturating_add(FRAME_SLACK),
            sync: SYNC_RESPONSE_BYTES.saturating_add(block).saturating_add(FRAME_SLACK),
        }
    }
}

/// Where inbound messages go. Called on the streams' reader tasks: it must return at once.
pub trait InboundSink: Send + Sync + 'static {
    /// A peer's message and its size in bytes.
    fn deliver(&self, peer: PeerId, message: NetMessage, bytes: usize);
}

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network key: {0}")]
    Key(String),
    #[error("transport: {0}")]
    Transport(String),
    #[error("cannot listen on {addr}: {message}")]
    Listen { addr: Multiaddr, message: String },
    #[error("block request to {peer} failed: {message}")]
    Fetch { peer: PeerId, message: String },
    #[error("the network task has stopped")]
    Stopped,
}

/// Where a node's committed blocks are read from to answer peers' sync requests. Called on a
/// blocking thread.
pub trait BlockSource: Send + Sync + 'static {
    fn blocks(&self, request: BlocksRequest) -> BlocksResponse;
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
    pub limits: FrameLimits,
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    connections: connection_limits::Behaviour,
    streams: libp2p_stream::Behaviour,
    sync: request_response::Behaviour<codec::BorshCodec<BlocksRequest, BlocksResponse>>,
}

type FetchReply = oneshot::Sender<Result<BlocksResponse, NetworkError>>;

enum Command {
    SetPeers(Vec<(PeerId, Multiaddr)>),
    Broadcast(Frame),
    Send(PeerId, Frame),
    Fetch(PeerId, BlocksRequest, FetchReply),
}

/// Sends messages into the network; cloneable.
#[derive(Debug, Clone)]
pub struct NetworkHandle {
    commands: mpsc::UnboundedSender<CommandBox>,
    pub local_peer_id: PeerId,
    /// Peers with at least one open connection, those of them that are validators (of the
    /// current or next set), and connections refused since last taken.
    connected: Arc<AtomicUsize>,
    connected_validators: Arc<AtomicUsize>,
    refused: Arc<AtomicU64>,
    /// The connected peers themselves (for `network_info`).
    connected_ids: Arc<parking_lot::RwLock<Vec<PeerId>>>,
    /// Where messages sent are counted, by kind (set by [`NetworkHandle::with_metrics`]).
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// Opaque so `Command` stays private.
pub struct CommandBox(Command);

impl std::fmt::Debug for CommandBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommandBox")
    }
}

impl NetworkHandle {
    /// Replaces the peers to keep connected to (the validators of the current and next
    /// sets). Each is allowed in from now on; a peer dropped from the list (a validator the
    /// treasury removed) is disconnected and refused, unless it is a configured peer.
    pub fn set_peers(&self, peers: Vec<(PeerId, Multiaddr)>) {
        let _ = self.commands.send(CommandBox(Command::SetPeers(peers)));
    }

    /// To every connected peer (encoded here, once). False once the network task has
    /// stopped.
    pub fn broadcast(&self, msg: NetMessage) -> bool {
        let frame = frame(&msg);
        self.count_sent(msg.kind(), frame.len(), self.connected_peers());
        self.commands.send(CommandBox(Command::Broadcast(frame))).is_ok()
    }

    pub fn send(&self, peer: PeerId, msg: NetMessage) {
        let frame = frame(&msg);
        self.count_sent(msg.kind(), frame.len(), 1);
        let _ = self.commands.send(CommandBox(Command::Send(peer, frame)));
    }

    /// Counts messages sent from now on in `metrics`, by kind.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// A message of `kind` and `bytes` handed to the writers of `peers` peers (a peer whose
    /// queue is full drops it later; counted all the same, as CometBFT counts sends).
    fn count_sent(&self, kind: &'static str, bytes: usize, peers: usize) {
        if let Some(m) = &self.metrics {
            m.sent(kind, bytes, peers);
        }
    }

    /// Peers connected now.
    pub fn connected_peers(&self) -> usize {
        self.connected.load(Ordering::Relaxed)
    }

    /// The peers connected now.
    pub fn connected_peer_ids(&self) -> Vec<PeerId> {
        self.connected_ids.read().clone()
    }

    /// Validators (of the current or next set) connected now.
    pub fn connected_validators(&self) -> usize {
        self.connected_validators.load(Ordering::Relaxed)
    }

    /// Connections refused since the last call.
    pub fn take_refused(&self) -> u64 {
        self.refused.swap(0, Ordering::Relaxed)
    }

    /// Asks `peer` for committed blocks; resolves with its answer or why there is none.
    pub async fn fetch_blocks(&self, peer: PeerId, request: BlocksRequest) -> Result<BlocksResponse, NetworkError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(CommandBox(Command::Fetch(peer, request, tx))).map_err(|_| NetworkError::Stopped)?;
        rx.await.map_err(|_| NetworkError::Stopped)?
    }
}

/// The peer id of an ed25519 network key seed.
pub fn peer_id(key_seed: [u8; 32]) -> Result<PeerId, NetworkError> {
    let mut seed = key_seed;
    identity::Keypair::ed25519_from_bytes(&mut seed)
        .map(|k| k.public().to_peer_id())
        .map_err(|e| NetworkError::Key(e.to_string()))
}

/// Starts the network task. Returns the handle, the stream of inbound messages and the
/// address actually listened on (useful with port 0).
pub async fn start(
    cfg: NetworkConfig,
    source: Arc<dyn BlockSource>,
    sink: Arc<dyn InboundSink>,
) -> Result<(NetworkHandle, Multiaddr), NetworkError> {
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
            let protocol = |name| [(StreamProtocol::new(name), ProtocolSupport::Full)];
            let sync = request_response::Config::default()
                .with_request_timeout(Duration::from_secs(30))
                .with_max_concurrent_streams(SYNC_STREAMS);
            let limits = cfg.limits;
            // Requests are small (a height range); responses are what the limits say.
            let blocks = codec::BorshCodec::new(256, limits.sync);
            Behaviour {
                allow,
                connections: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_established_per_peer(Some(CONNECTIONS_PER_PEER))
                        .with_max_pending_incoming(Some(PENDING_INCOMING)),
                ),
                streams: libp2p_stream::Behaviour::new(),
                sync: request_response::Behaviour::with_codec(blocks, protocol(codec::SYNC_PROTOCOL), sync),
            }
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
    let peers: BTreeMap<PeerId, Multiaddr> = cfg.peers.into_iter().collect();
    let configured: BTreeSet<PeerId> = cfg.allowed.into_iter().collect();
    let mut control = swarm.behaviour().streams.new_control();
    streams::accept(&mut control, cfg.limits.messages, sink);
    let outbound = streams::Outbound::new(control);
    let counts = Counts::default();
    let handle = NetworkHandle {
        commands: commands_tx,
        local_peer_id,
        connected: counts.connected.clone(),
        connected_validators: counts.validators.clone(),
        refused: counts.refused.clone(),
        connected_ids: counts.ids.clone(),
        metrics: None,
    };
    tokio::spawn(run(swarm, peers, configured, source, commands_rx, outbound, counts));
    Ok((handle, listen_addr))
}

/// What the network task counts for the node's health and metrics.
#[derive(Debug, Clone, Default)]
struct Counts {
    connected: Arc<AtomicUsize>,
    validators: Arc<AtomicUsize>,
    refused: Arc<AtomicU64>,
    ids: Arc<parking_lot::RwLock<Vec<PeerId>>>,
}

impl Counts {
    fn update(&self, connected: &BTreeSet<PeerId>, validators: &BTreeMap<PeerId, Multiaddr>) {
        self.connected.store(connected.len(), Ordering::Relaxed);
        *self.ids.write() = connected.iter().copied().collect();
        self.validators.store(connected.iter().filter(|p| validators.contains_key(p)).count(), Ordering::Relaxed);
    }
}

fn dial_addr(peer: PeerId, addr: &Multiaddr) -> Multiaddr {
    let mut a = addr.clone();
    if !a.iter().any(|p| matches!(p, Protocol::P2p(_))) {
        a.push(Protocol::P2p(peer));
    }
    a
}

type SyncChannel = request_response::ResponseChannel<BlocksResponse>;

async fn run(
    mut swarm: libp2p::Swarm<Behaviour>,
    mut peers: BTreeMap<PeerId, Multiaddr>,
    configured: BTreeSet<PeerId>,
    source: Arc<dyn BlockSource>,
    mut commands: mpsc::UnboundedReceiver<CommandBox>,
    mut outbound: streams::Outbound,
    counts: Counts,
) {
    let mut connected: BTreeSet<PeerId> = BTreeSet::new();
    let mut fetches: HashMap<request_response::OutboundRequestId, FetchReply> = HashMap::new();
    let (served_tx, mut served) = mpsc::unbounded_channel::<(SyncChannel, BlocksResponse)>();
    let mut redial = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            cmd = commands.recv() => match cmd {
                None => return,
                Some(CommandBox(Command::SetPeers(list))) => {
                    let me = *swarm.local_peer_id();
                    let updated: BTreeMap<PeerId, Multiaddr> = list.into_iter().filter(|(p, _)| *p != me).collect();
                    for gone in peers.keys().filter(|p| !updated.contains_key(p) && !configured.contains(p)) {
                        // Closes its connections too.
                        swarm.behaviour_mut().allow.disallow_peer(*gone);
                        tracing::info!(target: "chain::network", peer = %gone, "no longer a validator: disconnected and refused");
                    }
                    for p in updated.keys() {
                        swarm.behaviour_mut().allow.allow_peer(*p);
                    }
                    peers = updated;
                    counts.update(&connected, &peers);
                    tracing::info!(target: "chain::network", peers = peers.len(), "validator peers updated");
                }
                Some(CommandBox(Command::Broadcast(frame))) => outbound.broadcast(&frame),
                Some(CommandBox(Command::Send(peer, frame))) => outbound.send(&peer, frame),
                Some(CommandBox(Command::Fetch(peer, request, reply))) => {
                    let id = swarm.behaviour_mut().sync.send_request(&peer, request);
                    fetches.insert(id, reply);
                }
            },
            Some((channel, response)) = served.recv() => {
                let _ = swarm.behaviour_mut().sync.send_response(channel, response);
            }
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
                SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                    message: request_response::Message::Request { request, channel, .. },
                    ..
                })) => {
                    let (source, served) = (source.clone(), served_tx.clone());
                    tokio::task::spawn_blocking(move || {
                        let _ = served.send((channel, source.blocks(request)));
                    });
                }
                SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                    message: request_response::Message::Response { request_id, response },
                    ..
                })) => {
                    if let Some(reply) = fetches.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::OutboundFailure { peer, request_id, error, .. })) => {
                    if let Some(reply) = fetches.remove(&request_id) {
                        let _ = reply.send(Err(NetworkError::Fetch { peer, message: error.to_string() }));
                    }
                }
                SwarmEvent::ConnectionEstablished { peer_id, endpoint, .. } if connected.insert(peer_id) => {
                    counts.update(&connected, &peers);
                    outbound.connected(peer_id);
                    tracing::info!(target: "chain::network", peer = %peer_id, addr = %endpoint.get_remote_address(), "peer connected");
                }
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                    connected.remove(&peer_id);
                    counts.update(&connected, &peers);
                    outbound.disconnected(&peer_id);
                    tracing::info!(target: "chain::network", peer = %peer_id, "peer disconnected");
                }
                SwarmEvent::IncomingConnectionError { send_back_addr, error, .. } => {
                    counts.refused.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(target: "chain::network", from = %send_back_addr, %error, "refused incoming connection");
                }
                _ => {}
            },
        }
    }
}
