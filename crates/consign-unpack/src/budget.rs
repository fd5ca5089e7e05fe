//! The running account of one unpacking job against its [`Limits`].

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Limit, Limits};

/// What one unpacking job has used so far. Shared by reference between parallel workers.
#[derive(Debug)]
pub struct Budget {
    limits: Limits,
    entries: AtomicU64,
    bytes: AtomicU64,
}

impl Budget {
    /// A fresh budget.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            entries: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// The limits this budget enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Accounts for one more entry.
    pub fn take_entry(&self) -> Result<(), Limit> {
        let used = self.entries.fetch_add(1, Ordering::Relaxed) + 1;
        if used > self.limits.max_entries {
            return Err(Limit::Entries);
        }
        Ok(())
    }

    /// Accounts for `len` more bytes of output. Checks the single-file bound too.
    pub fn take_bytes(&self, len: u64) -> Result<(), Limit> {
        if len > self.limits.max_file_bytes {
            return Err(Limit::FileBytes);
        }
        let used = self
            .bytes
            .fetch_add(len, Ordering::Relaxed)
            .saturating_add(len);
        if used > self.limits.max_total_bytes {
            return Err(Limit::TotalBytes);
        }
        Ok(())
    }

    /// The largest output one decompression of `input_len` bytes may produce: the smallest of the
    /// ratio bound, the single-file bound and what is left of the total.
    pub fn max_output_for(&self, input_len: u64) -> u64 {
        let by_ratio = input_len.max(4096).saturating_mul(self.limits.max_ratio);
        let left = self
            .limits
            .max_total_bytes
            .saturating_sub(self.bytes.load(Ordering::Relaxed));
        by_ratio.min(self.limits.max_file_bytes).min(left)
    }

    /// Entries accounted so far.
    pub fn entries_used(&self) -> u64 {
        self.entries.load(Ordering::Relaxed)
    }

    /// Bytes accounted so far.
    pub fn bytes_used(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_enforced() {
        let budget = Budget::new(Limits {
            max_entries: 2,
            max_total_bytes: 100,
            max_file_bytes: 60,
            ..Limits::default()
        });
        assert_eq!(budget.take_entry(), Ok(()));
        assert_eq!(budget.take_entry(), Ok(()));
        assert_eq!(budget.take_entry(), Err(Limit::Entries));
        assert_eq!(budget.take_bytes(61), Err(Limit::FileBytes));
        assert_eq!(budget.take_bytes(60), Ok(()));
        assert_eq!(budget.max_output_for(1), 40);
        assert_eq!(budget.take_bytes(50), Err(Limit::TotalBytes));
    }
}
