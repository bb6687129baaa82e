//! The wall clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, in milliseconds since the Unix epoch (what `cache-until` and
/// `oauth-tokens.expires` hold); 0 if the clock is before 1970.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `now + after`, in milliseconds since the Unix epoch, e.g. the expiry of
/// a token that lives `expires_in` seconds: `clock::after(Duration::from_secs(expires_in))`.
pub fn after(after: Duration) -> u64 {
    now_ms().saturating_add(u64::try_from(after.as_millis()).unwrap_or(u64::MAX))
}

/// Blocks for `duration` (a host call: the wait costs no CPU time).
pub fn sleep(duration: Duration) {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    wasip2::clocks::monotonic_clock::subscribe_duration(nanos).block();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_after_2024_and_after_adds() {
        let now = now_ms();
        assert!(now > 1_700_000_000_000, "{now}");
        let later = after(Duration::from_secs(60));
        assert!(later >= now + 60_000 && later < now + 70_000, "{later}");
        assert_eq!(after(Duration::MAX), u64::MAX);
    }
}
