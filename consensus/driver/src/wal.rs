//! The consensus write-ahead log: every proposal and vote this validator signs is appended
//! and made durable before it leaves the node. On restart the entries of the height being
//! decided are replayed into the state machine, so the validator never signs a second,
//! different message at one (height, round, step).
//!
//! Record format: `u32` length (LE), 4 bytes of sha3-256 over the length, 4 bytes of sha3-256
//! over the payload, borsh payload. The length has its own check so a damaged length is told
//! apart from a record cut short by a crash.
//!
//! # Invariants
//! - Entries of a height stay in the log until that height is committed, whatever else
//!   happens (a compaction keeps every entry above the committed head).
//! - A torn last record (a crash mid-append leaves a prefix of it, or a full-length record
//!   whose bytes never reached the disk) is dropped: it was never sent, because sending waits
//!   for the append. Damage anywhere else (a length that fails its check, a bad record with
//!   more records after it, or one whose checksum holds but does not decode) refuses to open:
//!   its later records may be votes this validator signed, and starting without them could
//!   sign twice.

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::{sha3_256, to_borsh, Block, BlockHeight, Signature};
use consensus::{Proposal, Vote};

use crate::WalStorage;

/// One signed message of ours.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum WalEntry {
    Proposal { proposal: Proposal, block: Box<Block>, signature: Signature },
    Vote { vote: Vote, signature: Signature },
}

impl WalEntry {
    pub fn height(&self) -> BlockHeight {
        match self {
            WalEntry::Proposal { proposal, .. } => proposal.height,
            WalEntry::Vote { vote, .. } => vote.height,
        }
    }
}

/// Size past which a commit compacts the log.
pub const COMPACT_AT: u64 = 16 * 1024 * 1024;

const HEADER: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("the consensus WAL is damaged at byte {offset} (record {record}): {reason}, with {after} more bytes after it, so this is not a torn last write; its later records may hold votes this validator signed, and starting without them could sign twice: inspect or restore the WAL (the KMS double-sign guard still refuses lower positions)")]
    Corrupt { offset: usize, record: usize, reason: String, after: usize },
}

#[derive(Debug)]
pub struct Wal<S> {
    storage: S,
    /// Bytes in the log.
    len: u64,
    /// Entries of heights not committed yet, in the order they were written.
    pending: Vec<WalEntry>,
}

impl<S: WalStorage> Wal<S> {
    /// Opens the log and returns it with the intact entries it holds; a torn last record is
    /// cut off (logged), damage elsewhere is an error.
    pub fn open(mut storage: S) -> Result<(Wal<S>, Vec<WalEntry>), WalError> {
        let bytes = storage.read_all()?;
        let (entries, intact) = decode_all(&bytes)?;
        if intact < bytes.len() {
            tracing::warn!(target: "chain::wal", bytes = bytes.len() - intact, "dropping a torn record at the end of the consensus WAL");
            // Rewrite without it so later appends follow a clean record.
            storage.replace(&bytes[..intact])?;
        }
        let wal = Wal { storage, len: intact as u64, pending: entries.clone() };
        Ok((wal, entries))
    }

    /// Appends one entry and returns once it is durable.
    pub fn append(&mut self, entry: &WalEntry) -> std::io::Result<()> {
        let bytes = encode(entry);
        self.storage.append(&bytes)?;
        self.len += bytes.len() as u64;
        self.pending.push(entry.clone());
        Ok(())
    }

    /// Height `height` (and all below) is committed: its entries are no longer needed.
    /// Once the log holds more than [`COMPACT_AT`] bytes it is rewritten with the entries of
    /// later heights only.
    pub fn committed(&mut self, height: BlockHeight) -> std::io::Result<()> {
        self.pending.retain(|e| e.height() > height);
        if self.len > COMPACT_AT {
            let mut bytes = Vec::new();
            for e in &self.pending {
                bytes.extend(encode(e));
            }
            self.storage.replace(&bytes)?;
            self.len = bytes.len() as u64;
        }
        Ok(())
    }

    /// Entries of heights not committed yet.
    pub fn pending(&self) -> &[WalEntry] {
        &self.pending
    }

    pub fn storage(&self) -> &S {
        &self.storage
    }
}

/// One record: length, checksum, payload.
pub fn encode(entry: &WalEntry) -> Vec<u8> {
    let payload = to_borsh(entry);
    let mut out = Vec::with_capacity(payload.len() + HEADER);
    let len = (payload.len() as u32).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&sha3_256(&len).0[..4]);
    out.extend_from_slice(&sha3_256(&payload).0[..4]);
    out.extend_from_slice(&payload);
    out
}

/// The entries, and how many leading bytes hold them (the rest is a torn last record).
fn decode_all(bytes: &[u8]) -> Result<(Vec<WalEntry>, usize), WalError> {
    let mut entries = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        // Zeros to the end: space the filesystem allocated for a write that never landed.
        if rest.len() < HEADER || rest.iter().all(|b| *b == 0) {
            break;
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if sha3_256(&rest[..4]).0[..4] != rest[4..8] {
            // A whole header is there but its length is wrong: damage, not a short write.
            let after = rest.len() - HEADER;
            return Err(WalError::Corrupt {
                offset,
                record: entries.len(),
                reason: "the record's length fails its check".into(),
                after,
            });
        }
        let Some(payload) = rest.get(HEADER..HEADER + len) else { break };
        let after = rest.len() - HEADER - len;
        let corrupt = |reason: String| WalError::Corrupt { offset, record: entries.len(), reason, after };
        if sha3_256(payload).0[..4] != rest[8..HEADER] {
            if after == 0 {
                break;
            }
            return Err(corrupt("checksum mismatch".into()));
        }
        let entry = borsh::from_slice::<WalEntry>(payload).map_err(|e| corrupt(format!("undecodable record: {e}")))?;
        entries.push(entry);
        offset += HEADER + len;
    }
    Ok((entries, offset))
}

/// WAL storage in memory (simulations, tests). Clones share the bytes, so a node's next
/// incarnation can be handed the same WAL.
#[derive(Debug, Clone, Default)]
pub struct MemoryWal(pub std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl WalStorage for MemoryWal {
    fn read_all(&mut self) -> std::io::Result<Vec<u8>> {
        Ok(self.0.borrow().clone())
    }

    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(())
    }

    fn replace(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        *self.0.borrow_mut() = bytes.to_vec();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_types::{BlockHeader, CryptoHash, VoteKind};

    type Mem = MemoryWal;

    fn vote(height: u64, round: u32) -> WalEntry {
        WalEntry::Vote {
            vote: Vote { kind: VoteKind::Prevote, height, round, value: Some(CryptoHash([1; 32])), validator: 0 },
            signature: Signature([2; 64]),
        }
    }

    fn proposal(height: u64) -> WalEntry {
        let block = Block {
            header: BlockHeader {
                height,
                prev_hash: CryptoHash::default(),
                timestamp_ms: 1,
                proposer: "v0.acme".parse().unwrap(),
                tx_root: CryptoHash::default(),
                outcome_root: CryptoHash::default(),
                next_bp_hash: CryptoHash::default(),
                prev_state_root: CryptoHash::default(),
            },
            transactions: vec![],
        };
        WalEntry::Proposal {
            proposal: Proposal { height, round: 0, value: block.hash(), pol_round: None, proposer: 0 },
            block: Box::new(block),
            signature: Signature([3; 64]),
        }
    }

    #[test]
    fn survives_reopen_and_drops_a_torn_tail() {
        let mem = Mem::default();
        let (mut wal, entries) = Wal::open(mem.clone()).unwrap();
        assert!(entries.is_empty());
        wal.append(&proposal(3)).unwrap();
        wal.append(&vote(3, 0)).unwrap();
        // A crash mid-append leaves half a record.
        mem.0.borrow_mut().extend_from_slice(&encode(&vote(3, 1))[..10]);
        let (mut wal, entries) = Wal::open(mem.clone()).unwrap();
        assert_eq!(entries, vec![proposal(3), vote(3, 0)]);
        wal.append(&vote(3, 2)).unwrap();
        assert_eq!(Wal::open(mem.clone()).unwrap().1.len(), 3, "appends after a repaired tail are readable");
        // A full-length last record whose bytes never landed, and zeros after it.
        let mut last = encode(&vote(3, 3));
        let n = last.len();
        last[n - 5..].fill(0);
        mem.0.borrow_mut().extend_from_slice(&last);
        assert_eq!(Wal::open(mem.clone()).unwrap().1.len(), 3);
        mem.0.borrow_mut().extend_from_slice(&[0; 64]);
        assert_eq!(Wal::open(mem.clone()).unwrap().1.len(), 3, "trailing zeros are a torn write");
    }

    #[test]
    fn damage_before_the_last_record_refuses_to_open() {
        let mem = Mem::default();
        let (mut wal, _) = Wal::open(mem.clone()).unwrap();
        for r in 0..4 {
            wal.append(&vote(5, r)).unwrap();
        }
        let record = encode(&vote(5, 0)).len();
        mem.0.borrow_mut()[record + 20] ^= 0x40;
        let err = Wal::open(mem.clone()).unwrap_err();
        assert!(
            matches!(err, WalError::Corrupt { record: 1, after, .. } if after == 2 * record),
            "the bad record and what follows are named: {err}"
        );
        assert!(err.to_string().contains("could sign twice"));
        mem.0.borrow_mut()[record + 20] ^= 0x40;
        assert_eq!(Wal::open(mem.clone()).unwrap().1.len(), 4, "repaired");

        // A length damaged to point past the end of the file is not a torn tail either.
        mem.0.borrow_mut()[record + 2] = 0x7F;
        let err = Wal::open(mem.clone()).unwrap_err();
        assert!(matches!(err, WalError::Corrupt { record: 1, .. }), "{err}");
        assert!(err.to_string().contains("length fails its check"), "{err}");
    }

    #[test]
    fn compaction_keeps_every_entry_above_the_committed_head() {
        let mem = Mem::default();
        let (mut wal, _) = Wal::open(mem.clone()).unwrap();
        wal.append(&proposal(1)).unwrap();
        wal.append(&vote(2, 0)).unwrap();
        wal.len = COMPACT_AT + 1;
        wal.committed(1).unwrap();
        assert_eq!(wal.pending(), &[vote(2, 0)]);
        assert_eq!(Wal::open(mem).unwrap().1, vec![vote(2, 0)], "height 2 stays on disk until committed");
    }
}
