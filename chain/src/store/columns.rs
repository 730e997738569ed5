/// The column families, one per kind of data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// height (u64 BE) -> borsh `StoredBlock`
    Blocks,
    /// block hash -> height (u64 BE)
    BlockIndex,
    /// state key -> value (latest state, for reads and prefix scans)
    State,
    /// borsh `jmt::NodeKey` -> borsh `jmt::Node`
    JmtNodes,
    /// key hash ++ version (u64 BE) -> borsh `Option<Vec<u8>>` (value history for the tree)
    JmtValues,
    /// transaction hash -> borsh `ExecutionOutcome`
    Outcomes,
    /// head height, JMT version, genesis hash
    Meta,
    /// evidence id -> borsh `Equivocation` (two conflicting messages one validator signed)
    Evidence,
    /// height (u64 BE) -> borsh `Vec<StateChangeRecord>` (a block's writes with their causes)
    Changes,
}

impl Column {
    pub const ALL: [Column; 9] = [
        Column::Blocks,
        Column::BlockIndex,
        Column::State,
        Column::JmtNodes,
        Column::JmtValues,
        Column::Outcomes,
        Column::Meta,
        Column::Evidence,
        Column::Changes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Column::Blocks => "blocks",
            Column::BlockIndex => "block_index",
            Column::State => "state",
            Column::JmtNodes => "jmt_nodes",
            Column::JmtValues => "jmt_values",
            Column::Outcomes => "outcomes",
            Column::Meta => "meta",
            Column::Evidence => "evidence",
            Column::Changes => "changes",
        }
    }
}
