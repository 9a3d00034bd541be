//! Running a plugin call off the async threads: on a blocking thread (wasm never runs
//! on a tokio worker), in one of the owner's slots, under a last-resort timeout.

use std::time::Duration;

use super::error::{CallError, CallErrorKind};
use super::slots::Slots;

/// Run `work` on a blocking thread, in a slot of `owner`'s when `slots` is given, and
/// wait for it at most twice `timeout` and two seconds: the call's clock stops the
/// plugin's code at epoch ticks and the host's work for it as it goes, and a call may
/// pause for other owners for as long as its timeout, so this outer bound is only the
/// last resort.
pub(super) async fn off_thread<T: Send + 'static>(
    label: &str,
    slots: Option<(&Slots, Option<crate::ids::UserId>)>,
    timeout: Duration,
    work: impl FnOnce() -> Result<T, CallError> + Send + 'static,
) -> Result<T, CallError> {
    let slot = match slots {
        Some((slots, owner)) => Some(slots.acquire(owner).await.map_err(|_| {
            CallError::new(
                label,
                CallErrorKind::Trap("the runtime is shutting down".into()),
            )
        })?),
        None => None,
    };
    let task = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    });
    let outer = timeout * 2 + Duration::from_secs(2);
    match tokio::time::timeout(outer, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(CallError::new(
            label,
            CallErrorKind::Trap(format!("host task failed: {join}")),
        )),
        Err(_) => Err(CallError::new(label, CallErrorKind::Timeout(timeout))),
    }
}
