//! The consensus write-ahead log: every proposal and vote this validator signs is appended
//! and fsynced (file, and the directory when the file is new) before it leaves the node.
//! On restart the entries of the height being decided are replayed into the state machine,
//! so the validator never signs a second, different message at one (height, round, step).
//!
//! Record format: `u32` length (LE), 4 bytes of sha3-256 over the payload, borsh payload. A
//! torn last record (crash mid-write) fails its length or checksum and is dropped: it was
//! never sent, because sending waits for the fsync.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::{sha3_256, to_borsh, Block, BlockHeight, Signature};
use consensus::{Proposal, Vote};

const FILE: &str = "consensus.wal";

/// One signed message of ours.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum WalEntry {
    Proposal { proposal: Proposal, block: Block, signature: Signature },
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

#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    file: File,
    /// Bytes in the log file.
    len: u64,
}

/// Size past which [`Wal::start_height`] compacts the log.
pub const COMPACT_AT: u64 = 16 * 1024 * 1024;

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Wal {
    /// Opens (or creates) the WAL in `dir` and returns it with the intact entries it holds.
    pub fn open(dir: &Path) -> std::io::Result<(Wal, Vec<WalEntry>)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        let existed = path.exists();
        let entries = if existed { read_entries(&path)? } else { Vec::new() };
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        if !existed {
            file.sync_all()?;
            sync_dir(dir)?;
        }
        let mut wal = Wal { dir: dir.to_owned(), file, len: 0 };
        // Rewrite without a torn tail so later appends follow a clean record.
        wal.rewrite(&entries)?;
        Ok((wal, entries))
    }

    /// Appends one entry and waits until it is on disk.
    pub fn append(&mut self, entry: &WalEntry) -> std::io::Result<()> {
        let bytes = encode(entry);
        self.file.write_all(&bytes)?;
        self.len += bytes.len() as u64;
        self.file.sync_data()
    }

    /// Starts a new height. Entries of decided heights may stay in the log (replay skips
    /// them); once it holds more than [`COMPACT_AT`] bytes it is rewritten with `keep`
    /// only, so a height does not pay for a rewrite and its fsyncs.
    pub fn start_height(&mut self, keep: &[WalEntry]) -> std::io::Result<()> {
        if self.len > COMPACT_AT {
            self.rewrite(keep)?;
        }
        Ok(())
    }

    /// Starts a new height: atomically replaces the log with `keep` (entries of heights not
    /// yet decided), via a temporary file, rename and directory fsync.
    pub fn rewrite(&mut self, keep: &[WalEntry]) -> std::io::Result<()> {
        let tmp = self.dir.join(format!("{FILE}.tmp"));
        {
            let mut f = File::create(&tmp)?;
            self.len = 0;
            for e in keep {
                let bytes = encode(e);
                f.write_all(&bytes)?;
                self.len += bytes.len() as u64;
            }
            f.sync_all()?;
        }
        std::fs::rename(&tmp, self.dir.join(FILE))?;
        sync_dir(&self.dir)?;
        self.file = OpenOptions::new().append(true).open(self.dir.join(FILE))?;
        Ok(())
    }
}

fn encode(entry: &WalEntry) -> Vec<u8> {
    let payload = to_borsh(entry);
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&sha3_256(&payload).0[..4]);
    out.extend_from_slice(&payload);
    out
}

fn read_entries(path: &Path) -> std::io::Result<Vec<WalEntry>> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let mut entries = Vec::new();
    let mut rest = bytes.as_slice();
    while rest.len() >= 8 {
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let Some(payload) = rest.get(8..8 + len) else { break };
        if sha3_256(payload).0[..4] != rest[4..8] {
            break;
        }
        match borsh::from_slice::<WalEntry>(payload) {
            Ok(e) => entries.push(e),
            Err(_) => break,
        }
        rest = &rest[8 + len..];
    }
    if !rest.is_empty() {
        tracing::warn!(target: "chain::wal", bytes = rest.len(), "dropping a torn record at the end of the consensus WAL");
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_types::{BlockHeader, CryptoHash, VoteKind};

    fn vote(height: u64, round: u32) -> WalEntry {
        WalEntry::Vote {
            vote: Vote { kind: VoteKind::Prevote, height, round, value: Some(CryptoHash([1; 32])), validator: 0 },
            signature: Signature([2; 64]),
        }
    }

    #[test]
    fn survives_reopen_drops_a_torn_tail_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, entries) = Wal::open(dir.path()).unwrap();
        assert!(entries.is_empty());
        let block = Block {
            header: BlockHeader {
                height: 3,
                prev_hash: CryptoHash::default(),
                timestamp_ms: 1,
                proposer: "v0.acme".parse().unwrap(),
                tx_root: CryptoHash::default(),
                state_root: CryptoHash::default(),
            },
            transactions: vec![],
        };
        let proposal = WalEntry::Proposal {
            proposal: Proposal { height: 3, round: 0, value: block.hash(), pol_round: None, proposer: 0 },
            block,
            signature: Signature([3; 64]),
        };
        wal.append(&proposal).unwrap();
        wal.append(&vote(3, 0)).unwrap();
        drop(wal);
        // A crash mid-append leaves half a record.
        let half = &encode(&vote(3, 1))[..10];
        OpenOptions::new().append(true).open(dir.path().join(FILE)).unwrap().write_all(half).unwrap();
        let (mut wal, entries) = Wal::open(dir.path()).unwrap();
        assert_eq!(entries, vec![proposal, vote(3, 0)]);
        wal.append(&vote(3, 2)).unwrap();
        let (mut wal, entries) = Wal::open(dir.path()).unwrap();
        assert_eq!(entries.len(), 3, "appends after a repaired tail are readable");
        wal.rewrite(&[vote(4, 0)]).unwrap();
        drop(wal);
        assert_eq!(Wal::open(dir.path()).unwrap().1, vec![vote(4, 0)]);
    }
}
