//! CPU shares between owners: while more than one owner is busy on this host, no owner's
//! plugin calls execute on more than its share of the cores.
//!
//! Slots ([`super::slots`]) bound how many calls an owner starts; a slow call, though,
//! keeps its core until its deadline, and three of them on two cores leave every other
//! owner's pages (their plugin calls, and the fetching and storing around them) a third
//! of the machine. So a call looks at its share as it runs (the plugin's code at each
//! epoch tick, the host's work for it at its clock): when other owners are busy and its
//! owner is over its share, it pauses until its owner is within it again. A paused call
//! holds its slot but no core, and the time it spends paused (up to its own timeout) is
//! not counted against it. An owner alone on the host has every core.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::ids::UserId;

/// How long after its last call an owner still counts as busy: its runs fetch and store
/// between calls, and those need the cores as much as the calls do.
const BUSY_FOR: Duration = Duration::from_millis(500);

/// How often a paused call looks again.
const RECHECK: Duration = Duration::from_millis(10);

/// Owners remembered before the idle ones are forgotten.
const OWNERS_KEPT: usize = 1024;

/// The cores of one host and who is using them.
#[derive(Debug)]
pub(crate) struct Share {
    cores: usize,
    /// Per owner. A std mutex: held for counting, never across an await; paused calls
    /// wait on the condition variable, on blocking threads.
    owners: Mutex<HashMap<UserId, Use>>,
    changed: Condvar,
}

#[derive(Debug)]
struct Use {
    /// Calls executing now.
    executing: usize,
    /// Calls paused for other owners.
    paused: usize,
    /// When the owner last started, paced or ended a call.
    seen: Instant,
}

impl Share {
    pub(crate) fn new(cores: usize) -> Arc<Self> {
        Arc::new(Self {
            cores: cores.max(1),
            owners: Mutex::new(HashMap::new()),
            changed: Condvar::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Use>> {
        self.owners.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A call of `owner` starts executing (the host's own calls are not shared).
    pub(crate) fn begin(self: &Arc<Self>, owner: Option<UserId>) -> Option<Turn> {
        let owner = owner?;
        let now = Instant::now();
        let mut owners = self.lock();
        if owners.len() >= OWNERS_KEPT {
            owners.retain(|_, u| u.executing + u.paused > 0 || now - u.seen < BUSY_FOR);
        }
        let used = owners.entry(owner).or_insert(Use {
            executing: 0,
            paused: 0,
            seen: now,
        });
        used.executing += 1;
        used.seen = now;
        Some(Turn {
            share: self.clone(),
            owner,
        })
    }

    /// Calls one owner may execute at once now: all while it is the only busy owner,
    /// else an equal part of the cores (at least one).
    fn limit(&self, owners: &HashMap<UserId, Use>, now: Instant) -> usize {
        let busy = owners
            .values()
            .filter(|u| u.executing + u.paused > 0 || now - u.seen < BUSY_FOR)
            .count();
        if busy <= 1 {
            usize::MAX
        } else {
            (self.cores / busy).max(1)
        }
    }

    /// Pause the calling call while its owner is over its share, for at most `allowance`;
    /// returns how long it paused.
    fn pace(&self, owner: UserId, allowance: Duration) -> Duration {
        let started = Instant::now();
        let mut owners = self.lock();
        let limit = self.limit(&owners, started);
        let Some(used) = owners.get_mut(&owner) else {
            return Duration::ZERO;
        };
        used.seen = started;
        if used.executing <= limit || allowance.is_zero() {
            return Duration::ZERO;
        }
        used.executing -= 1;
        used.paused += 1;
        loop {
            let (guard, _) = self
                .changed
                .wait_timeout(owners, RECHECK)
                .unwrap_or_else(|e| e.into_inner());
            owners = guard;
            let now = Instant::now();
            let limit = self.limit(&owners, now);
            let executing = owners.get(&owner).map_or(0, |u| u.executing);
            if executing < limit || now - started >= allowance {
                break;
            }
        }
        let now = Instant::now();
        if let Some(used) = owners.get_mut(&owner) {
            used.paused -= 1;
            used.executing += 1;
            used.seen = now;
        }
        now - started
    }

    fn end(&self, owner: UserId) {
        let mut owners = self.lock();
        if let Some(used) = owners.get_mut(&owner) {
            used.executing = used.executing.saturating_sub(1);
            used.seen = Instant::now();
        }
        drop(owners);
        self.changed.notify_all();
    }
}

/// A call's place in the share: it counts as executing until dropped.
#[derive(Debug)]
pub(crate) struct Turn {
    share: Arc<Share>,
    owner: UserId,
}

impl Turn {
    /// Pause while the owner is over its share, for at most `allowance`; returns how
    /// long the call paused.
    pub(crate) fn pace(&self, allowance: Duration) -> Duration {
        self.share.pace(self.owner, allowance)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.share.end(self.owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Alone, an owner executes as many calls as it has; with a second owner busy, its
    /// calls over its half of the cores pause until that owner has been idle a while.
    #[test]
    fn a_second_busy_owner_halves_the_first_ones_share() {
        let share = Share::new(2);
        let (greedy, other) = (UserId::new(), UserId::new());
        let turns: Vec<Turn> = (0..3)
            .map(|_| share.begin(Some(greedy)).expect("owned"))
            .collect();
        // Alone: nobody pauses.
        for turn in &turns {
            assert_eq!(turn.pace(Duration::from_secs(1)), Duration::ZERO);
        }
        let honest = share.begin(Some(other)).expect("owned");
        // Two of the three pause; the third keeps its core (its half of two). Each
        // pauses until the other owner's turn ends and it has been idle for BUSY_FOR.
        let ended = Instant::now();
        std::thread::scope(|scope| {
            let paused: Vec<_> = turns
                .iter()
                .map(|turn| scope.spawn(|| turn.pace(Duration::from_secs(5))))
                .collect();
            std::thread::sleep(Duration::from_millis(100));
            drop(honest);
            let mut times: Vec<Duration> = paused
                .into_iter()
                .map(|p| p.join().expect("no panic"))
                .collect();
            times.sort();
            assert!(times[0] < Duration::from_millis(50), "{times:?}");
            assert!(times[1] >= BUSY_FOR, "{times:?}");
            assert!(
                ended.elapsed() < Duration::from_secs(2),
                "{:?}",
                ended.elapsed()
            );
        });
        // A pause never outlasts its allowance.
        let honest = share.begin(Some(other)).expect("owned");
        let started = Instant::now();
        let paused: Vec<Duration> = turns
            .iter()
            .map(|t| t.pace(Duration::from_millis(30)))
            .collect();
        assert!(started.elapsed() < Duration::from_millis(300), "{paused:?}");
        drop(honest);
        // The host's own calls are never paced.
        assert!(share.begin(None).is_none());
    }
}
