//! `byzantine`: a lying validator, for the end-to-end tests only. It takes one validator's
//! keys (its node home: `genesis.json`, `consensus_key.json`, `network_key.json`) in a
//! testnet and, instead of running consensus, attacks the other validators over the real
//! libp2p protocols with validly signed lies and with garbage:
//!
//! - votes for far-future heights with made-up values (it once made every node leave its
//!   height and wait on a block request to the liar);
//! - floods of valid votes for the next height (the future buffer) and for thousands of rounds
//!   of the current one (the vote keeper);
//! - proposals for rounds whose proposer it is not, with blocks valid otherwise;
//! - its own proposals stamped u64::MAX or an hour ahead (once committed, no block was ever
//!   valid again), proposals over the genesis block limits (cost, transaction size) with
//!   their transactions, and proposals of transactions it never sends (withheld);
//! - requests for made-up transactions of made-up blocks, and transactions nobody asked for;
//! - conflicting votes for one round to different peers (evidence);
//! - forged certificates and decisions;
//! - garbage frames on both protocols: random bytes, a length prefix claiming 60 MiB, valid
//!   frames of undecodable borsh, transaction batches over the count cap, absurd block
//!   requests; and garbage answers to whatever the honest nodes ask it.
//!
//! It follows the chain by asking honest peers for blocks, so its lies are about the height
//! the others are deciding. At the end it prints one JSON line: what it sent, by attack, and
//! what it got (message streams opened, blocks fetched): a validator the treasury removed
//! gets nothing.
//!
//! `byzantine --home NODE_HOME --duration SECS`

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chain::network::{encode as frame, NetMessage, STREAM_PROTOCOL, SYNC_PROTOCOL};
use chain_types::{
    Action, Block, BlockHeader, CommitCertificate, CommitSignature, CompactBlock, CryptoHash, FunctionCallAction,
    SecretKey, Signature, SignedTransaction, Transaction, TransferAction, VoteKind,
};
use consensus::{Proposal, Vote};
use consensus_driver::{proposal_bytes, vote_bytes, BlocksRequest, BlocksResponse, ConsensusMessage};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use genesis::{Genesis, KeyFile, NetworkKeyFile};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{identity, Multiaddr, PeerId, StreamProtocol, SwarmBuilder};
use rand::{Rng, SeedableRng};

/// Frames are written as given and answers read whole (bounded): lies need raw bytes.
#[derive(Debug, Clone, Default)]
struct RawCodec;

const MAX_ANSWER: u64 = 64 * 1024 * 1024;

async fn read_raw<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    io.take(MAX_ANSWER).read_to_end(&mut buf).await?;
    Ok(buf)
}

async fn write_raw<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: Vec<u8>) -> io::Result<()> {
    io.write_all(&bytes).await?;
    io.close().await
}

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        read_raw(io).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        read_raw(io).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        r: Vec<u8>,
    ) -> io::Result<()> {
        write_raw(io, r).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        r: Vec<u8>,
    ) -> io::Result<()> {
        write_raw(io, r).await
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    streams: libp2p_stream::Behaviour,
    sync: request_response::Behaviour<RawCodec>,
}

/// Writes one tick's frames to `peer` on a fresh message stream (an honest reader ends a
/// stream at the first bad frame, so garbage goes last). Counts the streams it opened.
async fn deliver(mut control: libp2p_stream::Control, peer: PeerId, frames: Arc<Vec<u8>>, opened: Arc<AtomicU64>) {
    let Ok(mut stream) = control.open_stream(peer, StreamProtocol::new(STREAM_PROTOCOL)).await else { return };
    opened.fetch_add(1, Ordering::Relaxed);
    let _ = stream.write_all(&frames).await;
    let _ = stream.close().await;
}

/// What the liar learns from the honest nodes' messages: a (height, round) they are in and,
/// from a proposal, the state root its height starts from.
type Seen = (u64, u32, Option<CryptoHash>);

/// Reads the honest nodes' message streams for the rounds their votes are in and the roots
/// their proposals carry (so the liar's own blocks are wrong only where it means them to be).
fn listen(
    control: &mut libp2p_stream::Control,
    rounds: tokio::sync::mpsc::UnboundedSender<Seen>,
) -> anyhow::Result<()> {
    let mut incoming = control.accept(StreamProtocol::new(STREAM_PROTOCOL)).map_err(|e| anyhow::anyhow!("{e}"))?;
    tokio::spawn(async move {
        while let Some((_, mut stream)) = incoming.next().await {
            let rounds = rounds.clone();
            tokio::spawn(async move {
                while let Ok(m) = chain::network::read_frame::<_, NetMessage>(&mut stream, 64 << 20).await {
                    let seen = match m {
                        NetMessage::Consensus(ConsensusMessage::Vote { vote, .. }) => (vote.height, vote.round, None),
                        NetMessage::Consensus(ConsensusMessage::Proposal { proposal, block, .. }) => {
                            (proposal.height, proposal.round, Some(block.header.prev_state_root))
                        }
                        _ => continue,
                    };
                    let _ = rounds.send(seen);
                }
            });
        }
    });
    Ok(())
}

struct Liar {
    chain_id: String,
    key: SecretKey,
    account: chain_types::AccountId,
    /// Its index in the (genesis) validator set, and the set's size.
    me: u16,
    n: u64,
    head: Option<(Block, CommitCertificate)>,
    /// The state root after the head, from an honest proposal of the next height.
    next_root: Option<(u64, CryptoHash)>,
    round: u32,
    flood_round: u32,
    limits: genesis::Limits,
    rng: rand_chacha::ChaCha8Rng,
    sent: BTreeMap<&'static str, u64>,
}

impl Liar {
    fn vote(&self, kind: VoteKind, height: u64, round: u32, value: Option<CryptoHash>) -> ConsensusMessage {
        let vote = Vote { kind, height, round, value, validator: self.me };
        let signature = self.key.sign(&vote_bytes(&self.chain_id, &vote));
        ConsensusMessage::Vote { vote, signature }
    }

    fn proposal(&self, round: u32, timestamp_ms: u64, proposer: u16) -> Option<ConsensusMessage> {
        self.proposal_with(round, timestamp_ms, proposer, Vec::new())
    }

    fn proposal_with(
        &self,
        round: u32,
        timestamp_ms: u64,
        proposer: u16,
        transactions: Vec<SignedTransaction>,
    ) -> Option<ConsensusMessage> {
        let (parent, _) = self.head.as_ref()?;
        let height = parent.header.height + 1;
        let block = Block {
            header: BlockHeader {
                height,
                prev_hash: parent.hash(),
                timestamp_ms,
                proposer: self.account.clone(),
                tx_root: Block::compute_tx_root(&transactions),
                outcome_root: CryptoHash::default(),
                next_bp_hash: parent.header.next_bp_hash,
                prev_state_root: match self.next_root {
                    Some((h, root)) if h == height => root,
                    // No honest proposal seen yet: right only when the parent changed nothing.
                    _ => parent.header.prev_state_root,
                },
            },
            transactions,
        };
        let proposal = Proposal { height, round, value: block.hash(), pol_round: None, proposer };
        let signature = self.key.sign(&proposal_bytes(&self.chain_id, &proposal));
        Some(ConsensusMessage::Proposal { proposal, block: Box::new(CompactBlock::of(&block)), signature })
    }

    fn next_height(&self) -> u64 {
        self.head.as_ref().map_or(1, |(b, _)| b.header.height + 1)
    }

    fn proposer_of(&self, height: u64, round: u32) -> u16 {
        ((height + u64::from(round)) % self.n) as u16
    }

    fn made_up(&mut self) -> CryptoHash {
        CryptoHash(self.rng.gen())
    }

    /// `count` distinct transfers signed by a made-up key, each carrying `memo` bytes of
    /// function-call arguments (so its size can pass a limit).
    fn junk_transactions(&self, count: u64, memo: usize) -> Vec<SignedTransaction> {
        let sk = SecretKey::from_seed([9; 32]);
        (0..count)
            .map(|nonce| {
                let mut actions = vec![Action::Transfer(TransferAction { deposit: 1 })];
                if memo > 0 {
                    actions.push(Action::FunctionCall(Box::new(FunctionCallAction {
                        method_name: "memo".into(),
                        args: vec![0x5A; memo],
                        gas: 0,
                        deposit: 0,
                    })));
                }
                Transaction {
                    signer_id: self.account.clone(),
                    public_key: sk.public_key(),
                    nonce: nonce + 1,
                    receiver_id: self.account.clone(),
                    block_hash: CryptoHash::default(),
                    actions,
                }
                .sign(&sk)
            })
            .collect()
    }

    /// One round of attacks: frames for every honest peer.
    fn attacks(&mut self, tick: u64) -> Vec<(&'static str, Vec<u8>)> {
        let h = self.next_height();
        let mut out: Vec<(&'static str, Vec<u8>)> = Vec::new();
        let consensus = |m: ConsensusMessage| frame(&NetMessage::Consensus(m));
        // Defect 2: far-future votes for values nobody proposed.
        for _ in 0..10 {
            let (height, round, value) = (h + self.rng.gen_range(2..1_000), self.rng.gen_range(0..5), self.made_up());
            out.push(("future_height_votes", consensus(self.vote(VoteKind::Precommit, height, round, Some(value)))));
        }
        // Defect 3: the next height's buffer, flooded.
        for _ in 0..50 {
            let (round, value) = (self.rng.gen_range(0..1_000), self.made_up());
            out.push(("next_height_flood", consensus(self.vote(VoteKind::Prevote, h + 1, round, Some(value)))));
        }
        // Defect 5: thousands of rounds at the current height.
        let from = self.flood_round.max(self.round + 1);
        for round in from..from + 200 {
            let value = Some(self.made_up());
            out.push(("round_flood", consensus(self.vote(VoteKind::Prevote, h, round, value))));
            out.push(("round_flood", consensus(self.vote(VoteKind::Precommit, h, round, value))));
        }
        self.flood_round = from + 200;
        // Defect 4: proposals for rounds of others, claiming to be their proposer or not.
        for round in self.round..self.round + 4 {
            let owner = self.proposer_of(h, round);
            if owner != self.me {
                let ts = genesis::unix_time_ms();
                if let Some(m) = self.proposal(round, ts, self.me) {
                    out.push(("wrong_proposer", consensus(m)));
                }
                if let Some(m) = self.proposal(round, ts, owner) {
                    out.push(("wrong_proposer", consensus(m)));
                }
            }
        }
        // Its own proposals, two per round (what a round keeps), a different pair each tick.
        for round in self.round..self.round + 8 {
            if self.proposer_of(h, round) != self.me {
                continue;
            }
            let ts = genesis::unix_time_ms();
            match tick % 3 {
                // Defect 6: from the end of time, or an hour ahead.
                0 => {
                    for ts in [u64::MAX, ts + 3_600_000] {
                        if let Some(m) = self.proposal(round, ts, self.me) {
                            out.push(("far_future_timestamp", consensus(m)));
                        }
                    }
                }
                // Over the block limits, which only proposers used to check: over the cost limit
                // (blocks are sized by cost, not count), and one transaction over the size
                // limit; each with its transactions right behind, unasked, so receivers
                // assemble the block and judge it whole.
                1 => {
                    let each = self.junk_transactions(1, 0)[0].cost().max(1);
                    let over_cost = (self.limits.max_block_cost / each + 1).min(self.limits.max_block_transactions + 1);
                    let too_costly = self.junk_transactions(over_cost, 0);
                    let too_large = self.junk_transactions(1, self.limits.max_tx_bytes as usize + 1);
                    for txs in [too_costly, too_large] {
                        if let Some(m) = self.proposal_with(round, ts, self.me, txs.clone()) {
                            let block = proposed_value(&m);
                            out.push(("over_limit_block", consensus(m)));
                            let answer = ConsensusMessage::BlockTransactions { height: h, block, transactions: txs };
                            out.push(("over_limit_block", consensus(answer)));
                        }
                    }
                }
                // A block of transactions nobody else holds, never sent: receivers ask for
                // them, get nothing, and the round moves on without it.
                _ => {
                    if let Some(m) = self.proposal_with(round, ts, self.me, self.junk_transactions(3, 0)) {
                        out.push(("withheld_transactions", consensus(m)));
                    }
                }
            }
        }
        // Requests for made-up transactions of made-up blocks, and answers nobody asked for.
        for _ in 0..4 {
            let (block, digests) = (self.made_up(), (0..1_000).map(|_| self.made_up()).collect());
            out.push(("fetch_flood", consensus(ConsensusMessage::FetchTransactions { height: h, block, digests })));
        }
        let (block, transactions) = (self.made_up(), self.junk_transactions(20, 0));
        out.push((
            "unasked_transactions",
            consensus(ConsensusMessage::BlockTransactions { height: h, block, transactions }),
        ));
        // Equivocation: a value and nil for one round, to everyone.
        let round = self.round;
        let value = Some(self.made_up());
        out.push(("conflicting_votes", consensus(self.vote(VoteKind::Prevote, h, round, value))));
        out.push(("conflicting_votes", consensus(self.vote(VoteKind::Prevote, h, round, None))));
        // Forged proofs of being ahead.
        let forged = CommitCertificate {
            height: h + 50,
            round: 0,
            block_hash: self.made_up(),
            signatures: (0..self.n as u16)
                .map(|v| CommitSignature { validator: v, signature: Signature([7; 64]) })
                .collect(),
        };
        out.push(("forged_certificate", consensus(ConsensusMessage::Certificate(forged.clone()))));
        if let Some(ConsensusMessage::Proposal { block, .. }) = self.proposal(0, genesis::unix_time_ms(), self.me) {
            let certificate = CommitCertificate { height: h, block_hash: block.hash(), ..forged };
            let block = Box::new(Block { header: block.header, transactions: Vec::new() });
            out.push(("forged_decision", consensus(ConsensusMessage::Decision { block, certificate })));
        }
        // Garbage frames of every kind, in turn.
        out.push(("garbage", self.garbage(tick)));
        out
    }

    fn garbage(&mut self, tick: u64) -> Vec<u8> {
        match tick % 6 {
            // Random bytes, no frame at all.
            0 => (0..self.rng.gen_range(1..4_096)).map(|_| self.rng.gen()).collect(),
            // A length prefix claiming 60 MiB, then a kilobyte.
            1 => {
                let mut f = (60u32 << 20).to_le_bytes().to_vec();
                f.extend(std::iter::repeat_n(0xAB, 1024));
                f
            }
            // A well-formed frame of undecodable borsh.
            2 => {
                let body: Vec<u8> = (0..512).map(|_| self.rng.gen()).collect();
                let mut f = (body.len() as u32).to_le_bytes().to_vec();
                f.extend(body);
                f
            }
            // A vote with a bad signature.
            3 => {
                let h = self.next_height();
                let vote = Vote { kind: VoteKind::Prevote, height: h, round: 0, value: None, validator: self.me };
                frame(&NetMessage::Consensus(ConsensusMessage::Vote { vote, signature: Signature([1; 64]) }))
            }
            // A transaction batch far over the count cap.
            4 => {
                let sk = SecretKey::from_seed([9; 32]);
                let tx = Transaction {
                    signer_id: "alice.acme".parse().unwrap_or_else(|_| self.account.clone()),
                    public_key: sk.public_key(),
                    nonce: 1,
                    receiver_id: self.account.clone(),
                    block_hash: CryptoHash::default(),
                    actions: vec![Action::Transfer(TransferAction { deposit: 1 })],
                }
                .sign(&sk);
                let batch: Vec<SignedTransaction> = std::iter::repeat_n(tx, 5_000).collect();
                frame(&NetMessage::Transactions(batch))
            }
            // A truncated frame: the prefix says more than follows.
            _ => {
                let mut f = 4096u32.to_le_bytes().to_vec();
                f.extend([0u8; 100]);
                f
            }
        }
    }
}

/// The block a proposal names.
fn proposed_value(m: &ConsensusMessage) -> CryptoHash {
    match m {
        ConsensusMessage::Proposal { proposal, .. } => proposal.value,
        _ => CryptoHash::default(),
    }
}

fn count(sent: &mut BTreeMap<&'static str, u64>, kind: &'static str) {
    *sent.entry(kind).or_default() += 1;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut home = None;
    let mut duration = 30u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--home" => home = args.next().map(PathBuf::from),
            "--duration" => duration = args.next().context("--duration SECS")?.parse()?,
            other => anyhow::bail!("unknown argument {other}; usage: byzantine --home NODE_HOME --duration SECS"),
        }
    }
    let home = home.context("--home NODE_HOME")?;
    let genesis = Genesis::load(&home.join("genesis.json"))?;
    let key = KeyFile::load(&home.join("consensus_key.json"))?;
    let net_key = NetworkKeyFile::load(&home.join("network_key.json"))?;
    let me = genesis
        .validators
        .iter()
        .position(|v| v.consensus_key == key.public_key)
        .context("the key is not a genesis validator's")? as u16;
    let peers: Vec<(PeerId, Multiaddr)> = genesis
        .validators
        .iter()
        .filter(|v| v.peer_id != net_key.peer_id)
        .map(|v| Ok((v.peer_id.parse()?, v.address.parse()?)))
        .collect::<anyhow::Result<_>>()?;

    let mut seed = net_key.secret_key.seed();
    let keypair = identity::Keypair::ed25519_from_bytes(&mut seed)?;
    let mut swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )?
        .with_behaviour(|_| {
            let config = request_response::Config::default().with_request_timeout(Duration::from_secs(5));
            let protocol = |name| [(StreamProtocol::new(name), ProtocolSupport::Full)];
            Behaviour {
                streams: libp2p_stream::Behaviour::new(),
                sync: request_response::Behaviour::with_codec(RawCodec, protocol(SYNC_PROTOCOL), config),
            }
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    let mut control = swarm.behaviour().streams.new_control();
    let (rounds_tx, mut rounds) = tokio::sync::mpsc::unbounded_channel();
    listen(&mut control, rounds_tx)?;
    let opened = Arc::new(AtomicU64::new(0));

    let mut liar = Liar {
        chain_id: genesis.chain_id.clone(),
        key: key.secret_key.clone(),
        account: key.account_id.clone(),
        me,
        n: genesis.validators.len() as u64,
        head: None,
        next_root: None,
        round: 0,
        flood_round: 0,
        limits: genesis.limits.clone(),
        rng: rand_chacha::ChaCha8Rng::seed_from_u64(7),
        sent: BTreeMap::new(),
    };
    let started = Instant::now();
    let end = started + Duration::from_secs(duration);
    let mut attack = tokio::time::interval(Duration::from_millis(250));
    let mut follow = tokio::time::interval(Duration::from_millis(500));
    let mut tick = 0u64;
    let mut connected: Vec<PeerId> = Vec::new();
    let mut refused = 0u64;
    let mut blocks_fetched = 0u64;
    while Instant::now() < end {
        tokio::select! {
            _ = follow.tick() => {
                for (peer, addr) in &peers {
                    if !swarm.is_connected(peer) {
                        let _ = swarm.dial(addr.clone().with(libp2p::multiaddr::Protocol::P2p(*peer)));
                    }
                }
                if let Some(peer) = connected.first() {
                    let request = BlocksRequest { from: liar.next_height(), max: 64 };
                    swarm.behaviour_mut().sync.send_request(peer, frame(&request));
                    // An absurd request, too.
                    swarm.behaviour_mut().sync.send_request(peer, frame(&BlocksRequest { from: 0, max: u32::MAX }));
                    count(&mut liar.sent, "absurd_block_request");
                }
            }
            _ = attack.tick() => {
                tick += 1;
                let mut frames = Vec::new();
                for (kind, bytes) in liar.attacks(tick) {
                    frames.extend(bytes);
                    for _ in &connected {
                        count(&mut liar.sent, kind);
                    }
                }
                let frames = Arc::new(frames);
                for peer in &connected {
                    tokio::spawn(deliver(control.clone(), *peer, frames.clone(), opened.clone()));
                }
            }
            Some((height, round, root)) = rounds.recv() => {
                if height == liar.next_height() {
                    liar.round = liar.round.max(round);
                    if let Some(root) = root {
                        liar.next_root = Some((height, root));
                    }
                }
            }
            event = swarm.select_next_some() => match event {
                SwarmEvent::ConnectionEstablished { peer_id, .. } if !connected.contains(&peer_id) => connected.push(peer_id),
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => connected.retain(|p| *p != peer_id),
                SwarmEvent::OutgoingConnectionError { .. } => refused += 1,
                SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message { message, .. })) => match message {
                    request_response::Message::Response { response, .. } => {
                        if let Some(r) = response.get(4..).and_then(|b| borsh::from_slice::<BlocksResponse>(b).ok()) {
                            blocks_fetched += r.blocks.len() as u64;
                            if let Some(last) = r.blocks.into_iter().last() {
                                liar.head = Some(last);
                                liar.round = 0;
                                liar.flood_round = 0;
                            }
                        }
                    }
                    // An honest node asked us for blocks: garbage back.
                    request_response::Message::Request { channel, .. } => {
                        let junk: Vec<u8> = (0..256).map(|_| liar.rng.gen()).collect();
                        let _ = swarm.behaviour_mut().sync.send_response(channel, junk);
                        count(&mut liar.sent, "garbage_block_answer");
                    }
                },
                _ => {}
            },
        }
    }
    let report = serde_json::json!({
        "seconds": started.elapsed().as_secs(),
        "followed_to_height": liar.next_height() - 1,
        "refused_dials": refused,
        "streams_opened": opened.load(Ordering::Relaxed),
        "blocks_fetched": blocks_fetched,
        "sent": liar.sent,
    });
    println!("{report}");
    Ok(())
}
