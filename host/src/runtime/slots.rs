//! Plugin call slots: how many calls run at once in this host, and how many of them one
//! owner may hold.
//!
//! A call holds its slot until it ends, and a hostile plugin's call ends only at its
//! deadline, so one owner's runs could otherwise hold every slot and make everyone else's
//! pages wait seconds each. One owner may hold at most `per_owner` slots, and the host
//! has `per_owner + 1`: whatever one owner runs, a call of another owner finds a slot at
//! once. An owner's calls beyond its share wait in a queue of their own, not in front of
//! other owners' calls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};

use crate::ids::UserId;

/// The slots of one host.
#[derive(Debug)]
pub(crate) struct Slots {
    all: Arc<Semaphore>,
    per_owner: usize,
    /// Each owner's share. A std mutex: held for a map lookup, never across an await.
    owners: Mutex<HashMap<UserId, Arc<Semaphore>>>,
}

/// A held slot, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    _all: OwnedSemaphorePermit,
    _own: Option<OwnedSemaphorePermit>,
}

/// Owners remembered before the idle ones are forgotten.
const OWNERS_KEPT: usize = 1024;

impl Slots {
    /// `per_owner` slots for one owner, one more for the host.
    pub(crate) fn new(per_owner: usize) -> Self {
        let per_owner = per_owner.max(1);
        Self {
            all: Arc::new(Semaphore::new(per_owner + 1)),
            per_owner,
            owners: Mutex::new(HashMap::new()),
        }
    }

    /// Slots in all.
    pub(crate) fn total(&self) -> usize {
        self.per_owner + 1
    }

    /// Wait for a slot: first within the owner's share (none for the host's own calls),
    /// then among all.
    pub(crate) async fn acquire(&self, owner: Option<UserId>) -> Result<Slot, AcquireError> {
        let own = match owner {
            Some(owner) => Some(self.share(owner).acquire_owned().await?),
            None => None,
        };
        let all = self.all.clone().acquire_owned().await?;
        Ok(Slot {
            _all: all,
            _own: own,
        })
    }

    fn share(&self, owner: UserId) -> Arc<Semaphore> {
        let mut owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
        if owners.len() >= OWNERS_KEPT {
            // An owner's semaphore nobody holds or waits on is as good as a new one.
            let per_owner = self.per_owner;
            owners.retain(|_, s| Arc::strong_count(s) > 1 || s.available_permits() != per_owner);
        }
        owners
            .entry(owner)
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_owner)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// One owner holding its whole share leaves a slot that another owner takes at once;
    /// the owner's next call waits for one of its own to end.
    #[tokio::test]
    async fn one_owner_cannot_take_every_slot() {
        let slots = Slots::new(2);
        assert_eq!(slots.total(), 3);
        let (greedy, other) = (UserId::new(), UserId::new());
        let a = slots.acquire(Some(greedy)).await.expect("open");
        let b = slots.acquire(Some(greedy)).await.expect("open");
        let third =
            tokio::time::timeout(Duration::from_millis(50), slots.acquire(Some(greedy))).await;
        assert!(third.is_err(), "a third slot for the same owner");
        let c = tokio::time::timeout(Duration::from_millis(50), slots.acquire(Some(other)))
            .await
            .expect("another owner gets the spare slot at once")
            .expect("open");
        drop(a);
        let d = tokio::time::timeout(Duration::from_millis(50), slots.acquire(Some(greedy)))
            .await
            .expect("the owner's slot came back")
            .expect("open");
        drop((b, c, d));
        // The host's own calls count only against the total.
        let all: Vec<Slot> = futures_util::future::join_all((0..3).map(|_| slots.acquire(None)))
            .await
            .into_iter()
            .map(|s| s.expect("open"))
            .collect();
        assert_eq!(all.len(), 3);
    }
}
