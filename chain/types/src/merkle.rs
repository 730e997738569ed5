//! Binary Merkle trees over 32-byte leaves, with inclusion paths in NEAR's shape (a sibling
//! hash and the side it sits on).
//!
//! # Invariants
//! - An inner node is `sha3_256(left ++ right)`. A level with an odd count carries its last
//!   node up unchanged (nearcore's `merklize` does the same), so the root of one leaf is that
//!   leaf and the root of no leaves is the zero hash.
//! - [`merkle_path`] of leaf `i` verifies ([`verify_path`]) against [`merkle_root`] of the same
//!   leaves, and only for that leaf at that position: changing a leaf, a path item or a
//!   direction gives another root.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::{sha3_256, CryptoHash};

/// Which side of the running hash a path item's sibling sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum Direction {
    Left,
    Right,
}

/// One step from a leaf toward the root.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct MerklePathItem {
    pub hash: CryptoHash,
    pub direction: Direction,
}

pub type MerklePath = Vec<MerklePathItem>;

/// The parent of two nodes.
pub fn combine(left: &CryptoHash, right: &CryptoHash) -> CryptoHash {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_bytes());
    buf[32..].copy_from_slice(right.as_bytes());
    sha3_256(&buf)
}

fn next_level(level: &[CryptoHash]) -> Vec<CryptoHash> {
    level.chunks(2).map(|pair| if let [l, r] = pair { combine(l, r) } else { pair[0] }).collect()
}

/// The root over `leaves` in order.
pub fn merkle_root(leaves: &[CryptoHash]) -> CryptoHash {
    let Some(first) = leaves.first() else { return CryptoHash::default() };
    if leaves.len() == 1 {
        return *first;
    }
    let mut level = next_level(leaves);
    while level.len() > 1 {
        level = next_level(&level);
    }
    level[0]
}

/// The path from leaf `index` to the root, `None` when there is no such leaf.
pub fn merkle_path(leaves: &[CryptoHash], mut index: usize) -> Option<MerklePath> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        let sibling = index ^ 1;
        if let Some(hash) = level.get(sibling) {
            let direction = if sibling < index { Direction::Left } else { Direction::Right };
            path.push(MerklePathItem { hash: *hash, direction });
        }
        level = next_level(&level);
        index /= 2;
    }
    Some(path)
}

/// The root a path leads to from `leaf`.
pub fn root_from_path(leaf: &CryptoHash, path: &[MerklePathItem]) -> CryptoHash {
    path.iter().fold(*leaf, |acc, item| match item.direction {
        Direction::Left => combine(&item.hash, &acc),
        Direction::Right => combine(&acc, &item.hash),
    })
}

/// Whether `path` leads from `leaf` to `root`.
pub fn verify_path(root: &CryptoHash, leaf: &CryptoHash, path: &[MerklePathItem]) -> bool {
    root_from_path(leaf, path) == *root
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn leaves(n: usize) -> Vec<CryptoHash> {
        (0..n).map(|i| sha3_256(&i.to_le_bytes())).collect()
    }

    #[test]
    fn small_trees_have_the_documented_roots() {
        let l = leaves(3);
        assert_eq!(merkle_root(&[]), CryptoHash::default());
        assert_eq!(merkle_root(&l[..1]), l[0]);
        assert_eq!(merkle_root(&l[..2]), combine(&l[0], &l[1]));
        assert_eq!(merkle_root(&l), combine(&combine(&l[0], &l[1]), &l[2]), "the odd leaf is carried up");
        assert!(merkle_path(&l, 3).is_none());
    }

    proptest! {
        #[test]
        fn every_leaf_proves_only_itself_at_its_place(n in 1usize..40, pick in any::<prop::sample::Index>()) {
            let l = leaves(n);
            let root = merkle_root(&l);
            let i = pick.index(n);
            let path = merkle_path(&l, i).unwrap();
            prop_assert!(verify_path(&root, &l[i], &path));
            prop_assert!(!verify_path(&root, &sha3_256(b"other"), &path));
            for j in 0..path.len() {
                let mut flipped = path.clone();
                flipped[j].direction = match flipped[j].direction { Direction::Left => Direction::Right, Direction::Right => Direction::Left };
                prop_assert!(!verify_path(&root, &l[i], &flipped));
                let mut altered = path.clone();
                altered[j].hash.0[0] ^= 1;
                prop_assert!(!verify_path(&root, &l[i], &altered));
            }
            if n > 1 {
                let other = (i + 1) % n;
                prop_assert!(!verify_path(&root, &l[other], &path), "a path names one position");
            }
        }
    }
}
