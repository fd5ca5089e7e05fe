//! The running account of one unpacking job against its [`Limits`].
//!
//! Every decoder draws from the account *before* it allocates: it reserves a bound (a block, a
//! chunk of a stream, a file whose size its header states), produces at most that much, commits
//! what it produced and releases the rest. A refusal leaves the account as it was. So output held
//! in memory never exceeds [`Limits::max_total_bytes`], however many threads decode at once.
//!
//! Three more bounds are kept here:
//! - the expansion ratio across the whole job: everything decoders produce, kept or thrown away,
//!   is at most [`Limits::max_ratio`] times the job's input, so a small input cannot make the
//!   engine decode gigabytes (nested bombs: a zip of zips of zips);
//! - the entry count, with the same refusal rule;
//! - the deadline ([`Limits::max_seconds`]), checked by every reservation and entry.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{Limit, Limits};

/// Inputs smaller than this count as this large for the expansion ratio, so a tiny header may
/// still hold a normal block.
const RATIO_FLOOR: u64 = 4096;

/// What one unpacking job has used so far. Shared by reference between parallel workers.
#[derive(Debug)]
pub struct Budget {
    limits: Limits,
    entries: AtomicU64,
    account: Mutex<Account>,
    deadline: Option<Instant>,
    expired: AtomicBool,
}

#[derive(Debug, Default)]
struct Account {
    /// Output bytes held or reserved.
    held: u64,
    /// Bytes decoders produced or reserved, kept or not.
    produced: u64,
    /// The job-wide bound on `produced`: `max_ratio` times the input; `None` until known.
    produced_cap: Option<u64>,
}

impl Budget {
    /// A fresh budget. The deadline, if [`Limits::max_seconds`] sets one, starts now.
    pub fn new(limits: Limits) -> Self {
        let deadline = (limits.max_seconds > 0)
            .then(|| Instant::now().checked_add(Duration::from_secs(limits.max_seconds)))
            .flatten();
        Self {
            limits,
            entries: AtomicU64::new(0),
            account: Mutex::new(Account::default()),
            deadline,
            expired: AtomicBool::new(false),
        }
    }

    /// The limits this budget enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sets the job's input size, which bounds what all decoders together may produce
    /// ([`Limits::max_ratio`] times it). Called once, when the job starts.
    pub(crate) fn start(&self, input_len: u64) {
        let cap = input_len
            .max(RATIO_FLOOR)
            .saturating_mul(self.limits.max_ratio);
        self.lock().produced_cap = Some(cap);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Account> {
        // A panic while holding the lock leaves plain numbers behind, still consistent.
        self.account
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(Limit::Time)` once the deadline has passed (and from then on).
    pub fn check_time(&self) -> Result<(), Limit> {
        if self.expired.load(Ordering::Relaxed) {
            return Err(Limit::Time);
        }
        if let Some(deadline) = self.deadline
            && Instant::now() >= deadline
        {
            self.expired.store(true, Ordering::Relaxed);
            return Err(Limit::Time);
        }
        Ok(())
    }

    /// Accounts for one more entry; a refusal leaves the count as it was.
    pub fn take_entry(&self) -> Result<(), Limit> {
        self.check_time()?;
        let max = self.limits.max_entries;
        self.entries
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                (used < max).then_some(used + 1)
            })
            .map(|_| ())
            .map_err(|_| Limit::Entries)
    }

    /// Accounts for one more entry and the `names` bytes its names take in memory (its path and
    /// provenance): they count against the output total like contents, so a deep tree of long
    /// names cannot outgrow the memory the limits allow. A refusal changes nothing.
    pub fn take_entry_with(&self, names: u64) -> Result<(), Limit> {
        let reservation = self.reserve(names)?;
        self.take_entry()?;
        reservation.commit(names);
        Ok(())
    }

    /// Reserves `len` bytes of output before they are allocated: refused when `len` is over the
    /// single-file bound, or would take the held total or the job's produced total past its
    /// bound, or the deadline has passed. A refusal leaves the account as it was.
    pub fn reserve(&self, len: u64) -> Result<Reservation<'_>, Limit> {
        let mut reservation = self.reservation();
        reservation.grow(len)?;
        Ok(reservation)
    }

    /// [`Budget::reserve`] for an output made from `stored` bytes of input (a file whose blocks
    /// are partly holes, a sparse image): also refused when `len` is more than
    /// [`Limits::max_ratio`] times `stored`, so zeros that take no space still count.
    pub fn reserve_expansion(&self, len: u64, stored: u64) -> Result<Reservation<'_>, Limit> {
        if len > self.ratio_bound(stored) {
            return Err(Limit::Ratio);
        }
        self.reserve(len)
    }

    /// An empty reservation, to grow chunk by chunk while a stream is decoded.
    pub fn reservation(&self) -> Reservation<'_> {
        Reservation {
            budget: self,
            len: 0,
            one_file: true,
        }
    }

    /// An empty reservation for a parser's working memory (caches of decoded metadata, shared
    /// blocks): drawn from the same total, but not one file, so the single-file bound does not
    /// apply. Released when dropped.
    pub fn working_memory(&self) -> Reservation<'_> {
        Reservation {
            budget: self,
            len: 0,
            one_file: false,
        }
    }

    /// Accounts for `len` bytes a decoder produced and threw away (a stream decoded only to
    /// learn its length): they count against the job's expansion ratio, not the held total.
    ///
    /// The work is done whether or not it is refused: past the bound the account stays full, so
    /// every later decoder is refused at once.
    pub fn discard(&self, len: u64) -> Result<(), Limit> {
        let mut account = self.lock();
        account.produced = account.produced.saturating_add(len);
        if let Some(cap) = account.produced_cap
            && account.produced > cap
        {
            account.produced = cap;
            return Err(Limit::Ratio);
        }
        drop(account);
        self.check_time()
    }

    fn ratio_bound(&self, input_len: u64) -> u64 {
        input_len
            .max(RATIO_FLOOR)
            .saturating_mul(self.limits.max_ratio)
    }

    /// The largest output one decompression of `input_len` bytes may produce now, and the limit
    /// that sets it: the smallest of the ratio bound, the single-file bound, what is left of the
    /// total and what is left of the job's expansion ratio.
    pub fn bound(&self, input_len: u64) -> (u64, Limit) {
        let account = self.lock();
        let left = self.limits.max_total_bytes.saturating_sub(account.held);
        let produced_left = account
            .produced_cap
            .map_or(u64::MAX, |cap| cap.saturating_sub(account.produced));
        drop(account);
        [
            (self.ratio_bound(input_len), Limit::Ratio),
            (self.limits.max_file_bytes, Limit::FileBytes),
            (left, Limit::TotalBytes),
            (produced_left, Limit::Ratio),
        ]
        .into_iter()
        .min_by_key(|(bound, _)| *bound)
        .unwrap_or((0, Limit::TotalBytes))
    }

    /// The largest output one decompression of `input_len` bytes may produce now (see
    /// [`Budget::bound`]).
    pub fn max_output_for(&self, input_len: u64) -> u64 {
        self.bound(input_len).0
    }

    /// Entries accounted so far.
    pub fn entries_used(&self) -> u64 {
        self.entries.load(Ordering::Relaxed)
    }

    /// Output bytes held or reserved so far.
    pub fn bytes_used(&self) -> u64 {
        self.lock().held
    }

    /// Bytes decoders produced so far, kept or thrown away.
    pub fn bytes_produced(&self) -> u64 {
        self.lock().produced
    }
}

/// Bytes reserved from a [`Budget`] and not yet committed. Dropping it releases them.
#[derive(Debug)]
#[must_use = "a reservation is released when dropped; commit what was produced"]
pub struct Reservation<'a> {
    budget: &'a Budget,
    len: u64,
    /// Whether this is one file or stream, bounded by [`Limits::max_file_bytes`].
    one_file: bool,
}

impl Reservation<'_> {
    /// Bytes reserved.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing is reserved.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reserves `more` bytes on top; on refusal nothing changes.
    pub fn grow(&mut self, more: u64) -> Result<(), Limit> {
        let budget = self.budget;
        budget.check_time()?;
        let len = self.len.saturating_add(more);
        if self.one_file && len > budget.limits.max_file_bytes {
            return Err(Limit::FileBytes);
        }
        let mut account = budget.lock();
        let held = account.held.saturating_add(more);
        let produced = account.produced.saturating_add(more);
        if account.produced_cap.is_some_and(|cap| produced > cap) {
            return Err(Limit::Ratio);
        }
        if held > budget.limits.max_total_bytes {
            return Err(Limit::TotalBytes);
        }
        account.held = held;
        account.produced = produced;
        drop(account);
        self.len = len;
        Ok(())
    }

    /// Keeps `used` bytes (at most what is reserved) on the account for good and releases the
    /// rest, which was never produced.
    pub fn commit(mut self, used: u64) {
        let used = used.min(self.len);
        let unused = self.len - used;
        let mut account = self.budget.lock();
        account.held = account.held.saturating_sub(unused);
        account.produced = account.produced.saturating_sub(unused);
        drop(account);
        self.len = 0;
    }
}

impl Drop for Reservation<'_> {
    /// Releases what is held. What was reserved still counts as produced: a decoder that drops
    /// its reservation threw its output away (a stream cut, a cache emptied), and that work must
    /// not be done again for free.
    fn drop(&mut self) {
        if self.len > 0 {
            let mut account = self.budget.lock();
            account.held = account.held.saturating_sub(self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_enforced_and_refusals_change_nothing() {
        let budget = Budget::new(Limits {
            max_entries: 2,
            max_total_bytes: 100,
            max_file_bytes: 60,
            ..Limits::default()
        });
        assert_eq!(budget.take_entry(), Ok(()));
        assert_eq!(budget.take_entry(), Ok(()));
        assert_eq!(budget.take_entry(), Err(Limit::Entries));
        assert_eq!(budget.entries_used(), 2, "a refused entry is not counted");
        assert_eq!(budget.reserve(61).unwrap_err(), Limit::FileBytes);
        assert_eq!(
            budget.bytes_used(),
            0,
            "a refusal leaves the account as it was"
        );
        budget.reserve(60).unwrap().commit(60);
        assert_eq!(budget.max_output_for(1), 40);
        assert_eq!(budget.bound(1), (40, Limit::TotalBytes));
        assert_eq!(budget.reserve(50).unwrap_err(), Limit::TotalBytes);
        assert_eq!(budget.bytes_used(), 60);
    }

    #[test]
    fn reservations_are_released_unless_committed() {
        let budget = Budget::new(Limits {
            max_total_bytes: 100,
            ..Limits::default()
        });
        let first = budget.reserve(70).unwrap();
        // Held by another worker: a second one cannot take the same bytes.
        assert_eq!(budget.reserve(40).unwrap_err(), Limit::TotalBytes);
        first.commit(10);
        assert_eq!(budget.bytes_used(), 10);
        let mut second = budget.reserve(40).unwrap();
        second.grow(50).unwrap();
        assert_eq!(second.grow(1).unwrap_err(), Limit::TotalBytes);
        assert_eq!(second.len(), 90);
        drop(second);
        assert_eq!(budget.bytes_used(), 10);
        // Dropped, not committed: thrown away, but produced all the same.
        assert_eq!(budget.bytes_produced(), 100);
    }

    #[test]
    fn the_whole_job_is_bounded_by_the_ratio() {
        let budget = Budget::new(Limits {
            max_ratio: 10,
            ..Limits::default()
        });
        budget.start(10_000);
        assert_eq!(budget.bound(100).0, 40_960);
        budget.reserve(60_000).unwrap().commit(60_000);
        budget.discard(30_000).unwrap();
        assert_eq!(budget.bound(100_000), (10_000, Limit::Ratio));
        assert_eq!(budget.reserve(10_001).unwrap_err(), Limit::Ratio);
        assert_eq!(budget.bytes_produced(), 90_000);
        // Work past the bound is refused, and the account stays full.
        assert_eq!(budget.discard(10_001).unwrap_err(), Limit::Ratio);
        assert_eq!(budget.bytes_produced(), 100_000);
        assert_eq!(budget.bound(1).0, 0);
        // Holes count: a file of 1 MB from 100 stored bytes is over the ratio.
        assert_eq!(
            budget.reserve_expansion(1_000_000, 100).unwrap_err(),
            Limit::Ratio
        );
    }

    #[test]
    fn the_deadline_refuses_everything_once_passed() {
        let budget = Budget::new(Limits {
            max_seconds: 1,
            ..Limits::default()
        });
        assert_eq!(budget.check_time(), Ok(()));
        let passed = Budget {
            deadline: Instant::now().checked_sub(Duration::from_secs(1)),
            ..Budget::new(Limits::default())
        };
        assert_eq!(passed.take_entry(), Err(Limit::Time));
        assert_eq!(passed.reserve(1).unwrap_err(), Limit::Time);
        assert_eq!(passed.check_time(), Err(Limit::Time));
    }
}
