//! The ledger's one error type.

use std::path::PathBuf;

/// What went wrong, naming the file, database, field or key at fault. Every variant holds
/// text, so one error can be handed to every row of a failed group.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LedgerError {
    /// The SQLite ledger file does not exist (reading commands never create it).
    #[error("the ledger `{}` does not exist", path.display())]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// The file or database holds no ledger (no `requests` table), or is not SQLite at all.
    #[error("`{target}` is not a wattage ledger: {why}")]
    NotLedger {
        /// The ledger (a path or a URL without its password).
        target: String,
        /// Why.
        why: String,
    },
    /// The signing key file cannot be read, created or parsed.
    #[error("signing key `{}`: {why}", path.display())]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// Another live writer holds this instance's chain.
    #[error(
        "ledger `{target}`: instance `{instance_id}` is already being written by another process ({why}); give each gateway its own signing key"
    )]
    Locked {
        /// The ledger.
        target: String,
        /// The instance (fingerprint of the signing key).
        instance_id: String,
        /// How the lock was found taken.
        why: String,
    },
    /// The database refused a read or a write (unreachable, read-only, full, corrupt).
    #[error("ledger `{target}`: {why}")]
    Database {
        /// The ledger.
        target: String,
        /// The database's message, with what was being done.
        why: String,
    },
    /// A field of an [`crate::Entry`] that cannot be recorded (not finite, too long, out of range).
    #[error("entry field `{field}`: {why}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        why: String,
    },
    /// A budget that does not parse (`500Wh`, `20gCO2e`, `5L`, `10USD`; `day`, `month`, `total`).
    #[error("invalid budget `{input}`: {why}")]
    Budget {
        /// The text given.
        input: String,
        /// Why.
        why: String,
    },
    /// A key name that cannot be stored.
    #[error("invalid key name `{name}`: {why}")]
    KeyName {
        /// The name given.
        name: String,
        /// Why.
        why: String,
    },
    /// No key has this id.
    #[error("ledger `{target}` has no key `{id}`")]
    UnknownKey {
        /// The ledger.
        target: String,
        /// The id given.
        id: String,
    },
    /// The writer thread has stopped (its database connection failed for good, or it panicked).
    #[error("ledger `{target}`: the writer has stopped")]
    Closed {
        /// The ledger.
        target: String,
    },
}

impl LedgerError {
    /// True when the error is the caller's input (a missing or foreign file, a malformed key
    /// file, a bad budget or name, an unknown key id, an entry that cannot be recorded), as
    /// opposed to a failure of the database or the system. The CLI exits 2 for these.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            Self::Missing { .. }
                | Self::NotLedger { .. }
                | Self::KeyFile { .. }
                | Self::Invalid { .. }
                | Self::Budget { .. }
                | Self::KeyName { .. }
                | Self::UnknownKey { .. }
        )
    }
}
