//! Login rate limits: failed attempts per username and all attempts per client address,
//! each in a sliding window. In memory, per node.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Sliding-window counters for login attempts.
#[derive(Debug)]
pub struct LoginLimiter {
    max_user_failures: usize,
    max_ip_attempts: usize,
    window: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    user_failures: HashMap<String, VecDeque<Instant>>,
    ip_attempts: HashMap<String, VecDeque<Instant>>,
}

fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
        q.pop_front();
    }
}

/// Seconds until the oldest entry leaves the window.
fn wait_secs(q: &VecDeque<Instant>, now: Instant, window: Duration) -> u64 {
    q.front().map_or(1, |t| (window.saturating_sub(now.duration_since(*t))).as_secs().max(1))
}

impl LoginLimiter {
    /// A limiter with the given limits.
    pub fn new(max_user_failures: u32, max_ip_attempts: u32, window: Duration) -> Self {
        LoginLimiter {
            max_user_failures: max_user_failures as usize,
            max_ip_attempts: max_ip_attempts as usize,
            window,
            state: Mutex::new(State::default()),
        }
    }

    /// Records an attempt from `ip` for `username`; `Err(seconds)` if it must be refused.
    pub fn check(&self, username: &str, ip: &str, now: Instant) -> Result<(), u64> {
        let mut st = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if st.ip_attempts.len() > 10_000 || st.user_failures.len() > 10_000 {
            let w = self.window;
            st.ip_attempts.retain(|_, q| {
                prune(q, now, w);
                !q.is_empty()
            });
            st.user_failures.retain(|_, q| {
                prune(q, now, w);
                !q.is_empty()
            });
        }
        if let Some(q) = st.user_failures.get_mut(username) {
            prune(q, now, self.window);
            if q.len() >= self.max_user_failures {
                return Err(wait_secs(q, now, self.window));
            }
        }
        let q = st.ip_attempts.entry(ip.to_owned()).or_default();
        prune(q, now, self.window);
        if q.len() >= self.max_ip_attempts {
            return Err(wait_secs(q, now, self.window));
        }
        q.push_back(now);
        Ok(())
    }

    /// Records a failed attempt for `username`.
    pub fn failed(&self, username: &str, now: Instant) {
        let mut st = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        st.user_failures.entry(username.to_owned()).or_default().push_back(now);
    }

    /// Clears the failures of `username` after a successful login.
    pub fn succeeded(&self, username: &str) {
        let mut st = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        st.user_failures.remove(username);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_is_locked_after_failures_until_window_passes() {
        let l = LoginLimiter::new(3, 100, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check("a", "1.1.1.1", t0).is_ok());
            l.failed("a", t0);
        }
        let wait = l.check("a", "2.2.2.2", t0).unwrap_err();
        assert_eq!(wait, 60);
        assert!(l.check("b", "1.1.1.1", t0).is_ok(), "other users unaffected");
        assert!(l.check("a", "1.1.1.1", t0 + Duration::from_secs(61)).is_ok(), "window passed");
    }

    #[test]
    fn ip_is_limited_across_usernames_and_success_resets_user() {
        let l = LoginLimiter::new(2, 3, Duration::from_secs(10));
        let t0 = Instant::now();
        for u in ["x", "y", "z"] {
            assert!(l.check(u, "9.9.9.9", t0).is_ok());
        }
        assert!(l.check("w", "9.9.9.9", t0).is_err());
        l.failed("x", t0);
        l.succeeded("x");
        assert!(l.check("x", "8.8.8.8", t0).is_ok());
    }
}
