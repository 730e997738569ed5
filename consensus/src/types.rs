//! Messages and events of the state machine. Signatures are the driver's business: the core
//! sees only messages whose signatures were verified, attributed to a validator index.

use borsh::{BorshDeserialize, BorshSerialize};
use chain_types::{BlockHeight, CryptoHash};

pub use chain_types::VoteKind;

pub type Height = BlockHeight;
pub type Round = u32;
pub type ValidatorIndex = u16;
/// A proposed value is named by its id (the block hash); the driver holds the block.
pub type ValueId = CryptoHash;

/// PROPOSAL(h, r, v, vr) of the paper; `pol_round` is vr (`None` for -1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    pub height: Height,
    pub round: Round,
    pub value: ValueId,
    pub pol_round: Option<Round>,
    pub proposer: ValidatorIndex,
}

/// PREVOTE or PRECOMMIT(h, r, id(v) | nil).
#[derive(Debug, Clone, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Vote {
    pub kind: VoteKind,
    pub height: Height,
    pub round: Round,
    pub value: Option<ValueId>,
    pub validator: ValidatorIndex,
}

/// The step of the current round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Propose,
    Prevote,
    Precommit,
    /// Decided at this height; waiting for the next height to start.
    Commit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimeoutKind {
    Propose,
    Prevote,
    Precommit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeout {
    pub height: Height,
    pub round: Round,
    pub kind: TimeoutKind,
}

/// Two conflicting signed messages from one validator at one (height, round, kind).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Evidence {
    ConflictingVotes { first: Vote, second: Vote },
    ConflictingProposals { first: Proposal, second: Proposal },
}

impl Evidence {
    pub fn offender(&self) -> ValidatorIndex {
        match self {
            Evidence::ConflictingVotes { first, .. } => first.validator,
            Evidence::ConflictingProposals { first, .. } => first.proposer,
        }
    }
}

/// What the driver feeds in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Start round 0 of a height (after the previous one was decided and applied).
    StartHeight(Height),
    /// A proposal, with `valid` = whether the driver checked its value (block) as valid.
    Proposal {
        proposal: Proposal,
        valid: bool,
    },
    Vote(Vote),
    TimeoutExpired(Timeout),
    /// The value to propose, answering [`Output::GetValue`].
    ProposeValue {
        height: Height,
        round: Round,
        value: ValueId,
    },
    /// One of our own messages from the WAL, replayed after a restart: restores what we
    /// signed (so we never sign differently at that step) and the lock it implies.
    Replay(OwnMessage),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnMessage {
    Proposal(Proposal),
    Vote(Vote),
}

/// What the driver must do. Messages are unsigned here: the driver signs them, writes them
/// to its WAL and broadcasts them; a signed own vote goes back to the state machine too (as
/// [`Input::Vote`]), as the paper's broadcast delivers to the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Propose(Proposal),
    Vote(Vote),
    ScheduleTimeout {
        timeout: Timeout,
        after_ms: u64,
    },
    /// We are the proposer of (height, round) with no valid value: supply one.
    GetValue {
        height: Height,
        round: Round,
    },
    /// The height is decided; `precommits` is a quorum for `value` (the commit certificate).
    Decide {
        height: Height,
        round: Round,
        value: ValueId,
        precommits: Vec<Vote>,
    },
    /// Equivocation seen; kept and reported, never dropped.
    Evidence(Evidence),
}
