//! Layered pending state over the store: a stack of change sets. Reads look from the top
//! layer down to the store; a layer is committed into the one below or discarded whole,
//! which is how a transaction (and its actions) apply atomically.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::to_borsh;

use crate::store::{StateChanges, Store, StoreError};

#[derive(Debug)]
pub struct Overlay<'a> {
    store: &'a Store,
    /// Read the state as of this Merkle tree version instead of the head's.
    version: Option<u64>,
    layers: Vec<StateChanges>,
    /// Keys read from the store (not from a layer), when recording (views to prove).
    reads: Option<std::cell::RefCell<std::collections::BTreeSet<Vec<u8>>>>,
}

impl<'a> Overlay<'a> {
    pub fn new(store: &'a Store) -> Self {
        Overlay { store, version: None, layers: vec![StateChanges::new()], reads: None }
    }

    /// Over the state as of tree `version` (a past block's). For reads by key only: prefix
    /// scans still see the head's keys.
    pub fn at_version(store: &'a Store, version: u64) -> Self {
        Overlay { store, version: Some(version), layers: vec![StateChanges::new()], reads: None }
    }

    /// Records every key read from the store from now on (see [`Overlay::reads`]).
    pub fn record_reads(mut self) -> Self {
        self.reads = Some(Default::default());
        self
    }

    /// The keys read from the store, in key order (empty unless recording).
    pub fn reads(&self) -> Vec<Vec<u8>> {
        self.reads.as_ref().map(|r| r.borrow().iter().cloned().collect()).unwrap_or_default()
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        for layer in self.layers.iter().rev() {
            if let Some(v) = layer.get(key) {
                return Ok(v.clone());
            }
        }
        if let Some(reads) = &self.reads {
            reads.borrow_mut().insert(key.to_vec());
        }
        match self.version {
            Some(v) => self.store.state_at(key, v),
            None => self.store.state(key),
        }
    }

    pub fn get_borsh<T: BorshDeserialize>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        self.get(key)?
            .map(|b| T::try_from_slice(&b).map_err(|e| StoreError::corrupt(crate::store::Column::State, e)))
            .transpose()
    }

    pub fn set(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.top().insert(key, Some(value));
    }

    pub fn set_borsh<T: BorshSerialize>(&mut self, key: Vec<u8>, value: &T) {
        self.set(key, to_borsh(value));
    }

    pub fn remove(&mut self, key: Vec<u8>) {
        self.top().insert(key, None);
    }

    /// Keys that currently exist under `prefix`, store and layers merged.
    pub fn keys_with_prefix(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut live: BTreeMap<Vec<u8>, bool> =
            self.store.state_prefix(prefix)?.into_iter().map(|(k, _)| (k, true)).collect();
        for layer in &self.layers {
            for (k, v) in layer.range(prefix.to_vec()..).take_while(|(k, _)| k.starts_with(prefix)) {
                live.insert(k.clone(), v.is_some());
            }
        }
        Ok(live.into_iter().filter_map(|(k, alive)| alive.then_some(k)).collect())
    }

    fn top(&mut self) -> &mut StateChanges {
        if self.layers.is_empty() {
            self.layers.push(StateChanges::new());
        }
        let last = self.layers.len() - 1;
        &mut self.layers[last]
    }

    /// Starts a layer that can be committed or discarded as a unit.
    pub fn begin(&mut self) {
        self.layers.push(StateChanges::new());
    }

    /// The writes of the top layer so far.
    pub fn open_layer(&self) -> &StateChanges {
        self.layers.last().unwrap_or(&self.layers[0])
    }

    /// Merges the top layer into the one below.
    pub fn commit(&mut self) {
        if self.layers.len() > 1 {
            if let Some(top) = self.layers.pop() {
                self.top().extend(top);
            }
        }
    }

    /// Drops the top layer's changes.
    pub fn discard(&mut self) {
        if self.layers.len() > 1 {
            self.layers.pop();
        }
    }

    /// All committed changes (the bottom layer). Open layers must be closed first.
    pub fn into_changes(mut self) -> StateChanges {
        while self.layers.len() > 1 {
            self.commit();
        }
        self.layers.pop().unwrap_or_default()
    }
}
