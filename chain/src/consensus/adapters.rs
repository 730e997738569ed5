//! The driver's traits over the node's real parts: a monotonic clock, libp2p, the KMS and a
//! WAL file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chain_types::{BlockHeight, PublicKey, Signature};
use consensus_driver::{
    BlocksRequest, Clock, ConsensusMessage, ConsensusSigner, Event, Network, SignFailure, SignRequest, SignStep,
    WalStorage,
};
use libp2p::PeerId;
use tokio::runtime::Handle;

use super::mailbox::Mailbox;
use crate::network::{NetMessage, NetworkHandle};

/// Monotonic milliseconds since the driver started; Unix time for block timestamps.
#[derive(Debug)]
pub(crate) struct SystemClock {
    start: Instant,
}

impl SystemClock {
    pub fn new() -> Self {
        SystemClock { start: Instant::now() }
    }

    /// The instant a monotonic millisecond stands for.
    pub fn instant(&self, ms: u64) -> Instant {
        self.start + std::time::Duration::from_millis(ms)
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn unix_ms(&self) -> u64 {
        genesis::unix_time_ms()
    }
}

/// libp2p, when the node has peers. Block responses come back through the mailbox.
#[derive(Debug)]
pub(crate) struct P2p {
    pub handle: Option<NetworkHandle>,
    pub mailbox: Arc<Mailbox>,
    pub runtime: Handle,
}

impl Network for P2p {
    type Peer = PeerId;

    fn broadcast(&mut self, message: &ConsensusMessage) {
        if let Some(h) = &self.handle {
            h.broadcast(NetMessage::Consensus(message.clone()));
        }
    }

    fn send(&mut self, to: PeerId, message: &ConsensusMessage) {
        if let Some(h) = &self.handle {
            h.send(to, NetMessage::Consensus(message.clone()));
        }
    }

    fn request_blocks(&mut self, peer: PeerId, from: BlockHeight, max: u32) {
        let Some(handle) = self.handle.clone() else { return };
        let mailbox = self.mailbox.clone();
        self.runtime.spawn(async move {
            let result = handle.fetch_blocks(peer, BlocksRequest { from, max }).await.map_err(|e| e.to_string());
            mailbox.push(Event::Blocks { from: peer, result });
        });
    }
}

/// The node's KMS signer, called from the consensus thread (not a runtime thread). Each
/// answer is recorded in the node, whose readiness reports a failing signer.
pub(crate) struct KmsSigner {
    pub signer: Arc<dyn kms::Signer>,
    pub runtime: Handle,
    pub node: Arc<crate::node::Node>,
    /// The longest a signature is waited for (the vote timeout): whatever a backend's
    /// client does (a reconnect that hangs), the consensus thread goes on.
    pub timeout: std::time::Duration,
}

impl std::fmt::Debug for KmsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsSigner").field("public_key", &self.signer.public_key()).finish()
    }
}

impl ConsensusSigner for KmsSigner {
    fn public_key(&self) -> PublicKey {
        self.signer.public_key()
    }

    fn sign(&mut self, r: &SignRequest) -> Result<Signature, SignFailure> {
        let step = match r.step {
            SignStep::Propose => kms::Step::Propose,
            SignStep::Prevote => kms::Step::Prevote,
            SignStep::Precommit => kms::Step::Precommit,
        };
        let request = kms::SignRequest { height: r.height, round: r.round, step, bytes: r.bytes.clone() };
        let started = Instant::now();
        let result = self
            .runtime
            .block_on(async { tokio::time::timeout(self.timeout, self.signer.sign(&request)).await })
            .unwrap_or_else(|_| {
                Err(kms::SignerError::Unavailable(format!("no answer within {} ms", self.timeout.as_millis())))
            });
        // A refusal by the double-sign guard is the guard working, not the signer failing.
        let (failed, outcome) = match &result {
            Ok(_) => (Ok(()), Ok(())),
            Err(e) if e.is_retryable() => (Err(e.to_string()), Err(false)),
            Err(_) => (Ok(()), Err(true)),
        };
        self.node.signer_answered(failed);
        self.node.metrics().signed(self.node.signer_backend(), started.elapsed(), outcome);
        match result {
            Ok(sig) => Ok(sig),
            Err(e) if e.is_retryable() => Err(SignFailure::Unavailable(e.to_string())),
            Err(e) => Err(SignFailure::Refused(e.to_string())),
        }
    }
}

const WAL_FILE: &str = "consensus.wal";

/// The consensus WAL as a file: appends are fsynced (the directory too when the file is
/// new); a replacement goes through a temporary file, a rename and a directory fsync.
#[derive(Debug)]
pub struct FileWal {
    dir: PathBuf,
    file: File,
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl FileWal {
    pub fn open(dir: &Path) -> std::io::Result<FileWal> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(WAL_FILE);
        let existed = path.exists();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        if !existed {
            file.sync_all()?;
            sync_dir(dir)?;
        }
        Ok(FileWal { dir: dir.to_owned(), file })
    }
}

impl WalStorage for FileWal {
    fn read_all(&mut self) -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        File::open(self.dir.join(WAL_FILE))?.read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)?;
        self.file.sync_data()
    }

    fn replace(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let tmp = self.dir.join(format!("{WAL_FILE}.tmp"));
        {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, self.dir.join(WAL_FILE))?;
        sync_dir(&self.dir)?;
        self.file = OpenOptions::new().append(true).open(self.dir.join(WAL_FILE))?;
        Ok(())
    }
}
