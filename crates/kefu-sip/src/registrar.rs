//! The registrar's bindings (RFC 3261 §10.3), sans-IO: which contacts each address of record
//! (an agent's extension) can be reached at, until when. The SIP layer authenticates the
//! REGISTER (see [`crate::digest`]), turns it into a [`RegisterRequest`] and answers with the
//! outcome; time is passed in as milliseconds.

use std::collections::HashMap;

/// Expiry limits, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiryPolicy {
    /// Shorter non-zero requests get 423 Interval Too Brief with this Min-Expires.
    pub min_secs: u32,
    /// Longer requests are shortened to this.
    pub max_secs: u32,
    /// Used when neither the contact nor the request gives an expiry.
    pub default_secs: u32,
}

impl Default for ExpiryPolicy {
    fn default() -> Self {
        ExpiryPolicy { min_secs: 60, max_secs: 7_200, default_secs: 3_600 }
    }
}

/// One contact in a REGISTER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactSpec {
    /// The contact URI (`sip:1001@192.0.2.7:5062;transport=udp`).
    pub uri: String,
    /// The contact's own `expires` parameter, if any.
    pub expires: Option<u32>,
}

/// A REGISTER, reduced to what the bindings need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterRequest {
    /// The contacts; empty for a query of the current bindings.
    pub contacts: Vec<ContactSpec>,
    /// `Contact: *` (remove everything; only valid alone and with `Expires: 0`).
    pub wildcard: bool,
    /// The Expires header, if present.
    pub expires: Option<u32>,
    /// Call-ID of the request.
    pub call_id: String,
    /// CSeq number of the request.
    pub cseq: u32,
    /// Where the request came from (`udp:198.51.100.4:5062`), for symmetric routing behind NAT.
    pub source: String,
}

/// A current binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// Contact URI.
    pub uri: String,
    /// When it lapses, epoch ms.
    pub expires_at: i64,
    /// Call-ID that created or last refreshed it.
    pub call_id: String,
    /// CSeq of that request.
    pub cseq: u32,
    /// Where that request came from.
    pub source: String,
}

impl Binding {
    /// Seconds left at `now_ms` (rounded up, 0 once lapsed).
    pub fn remaining_secs(&self, now_ms: i64) -> u32 {
        let left = (self.expires_at - now_ms).max(0);
        u32::try_from((left + 999) / 1000).unwrap_or(u32::MAX)
    }
}

/// Why a REGISTER is refused, with the SIP status to answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// `Contact: *` with other contacts or a non-zero Expires.
    #[error("Contact: * must be alone and come with Expires: 0")]
    BadWildcard,
    /// An expiry shorter than the minimum.
    #[error("expiry too brief; at least {min_expires} s")]
    IntervalTooBrief {
        /// The Min-Expires to send.
        min_expires: u32,
    },
    /// A request older than the one that last updated a binding (same Call-ID, lower or equal CSeq).
    #[error("out-of-order REGISTER (CSeq {cseq} not above {stored})")]
    OutOfOrder {
        /// The request's CSeq.
        cseq: u32,
        /// The CSeq already applied.
        stored: u32,
    },
    /// Too many contacts for one address of record.
    #[error("too many contacts (at most {max})")]
    TooManyContacts {
        /// The limit.
        max: usize,
    },
}

impl RegisterError {
    /// The SIP status code for the answer.
    pub fn sip_status(&self) -> u16 {
        match self {
            RegisterError::BadWildcard => 400,
            RegisterError::IntervalTooBrief { .. } => 423,
            RegisterError::OutOfOrder { .. } => 500,
            RegisterError::TooManyContacts { .. } => 403,
        }
    }
}

/// Most contacts one address of record may hold (softphone, desk phone, mobile, …).
pub const MAX_CONTACTS: usize = 10;

/// All bindings, by address of record (the user part, e.g. the extension `1001`).
#[derive(Clone, Debug, Default)]
pub struct Bindings {
    policy: ExpiryPolicy,
    by_aor: HashMap<String, Vec<Binding>>,
}

impl Bindings {
    /// An empty table with an expiry policy.
    pub fn new(policy: ExpiryPolicy) -> Self {
        Bindings { policy, by_aor: HashMap::new() }
    }

    /// Applies an (already authenticated) REGISTER for `aor` at `now_ms` and returns the
    /// bindings to list in the 200 OK. Nothing changes when it is refused.
    pub fn register(&mut self, now_ms: i64, aor: &str, req: &RegisterRequest) -> Result<Vec<Binding>, RegisterError> {
        self.drop_lapsed(now_ms, aor);
        if req.wildcard {
            if !req.contacts.is_empty() || req.expires != Some(0) {
                return Err(RegisterError::BadWildcard);
            }
            self.check_order(aor, req, None)?;
            self.by_aor.remove(aor);
            return Ok(Vec::new());
        }
        // validate everything first, so a refused request changes nothing
        let mut planned: Vec<(&ContactSpec, u32)> = Vec::with_capacity(req.contacts.len());
        for c in &req.contacts {
            let secs = c.expires.or(req.expires).unwrap_or(self.policy.default_secs);
            if secs > 0 && secs < self.policy.min_secs {
                return Err(RegisterError::IntervalTooBrief { min_expires: self.policy.min_secs });
            }
            self.check_order(aor, req, Some(&c.uri))?;
            planned.push((c, secs.min(self.policy.max_secs)));
        }
        let current = self.by_aor.get(aor).map_or(0, Vec::len);
        let added = planned.iter().filter(|(c, s)| *s > 0 && !self.has(aor, &c.uri)).count();
        let removed = planned.iter().filter(|(c, s)| *s == 0 && self.has(aor, &c.uri)).count();
        if current + added - removed > MAX_CONTACTS {
            return Err(RegisterError::TooManyContacts { max: MAX_CONTACTS });
        }
        let list = self.by_aor.entry(aor.to_owned()).or_default();
        for (c, secs) in planned {
            list.retain(|b| !same_uri(&b.uri, &c.uri));
            if secs > 0 {
                list.push(Binding {
                    uri: c.uri.clone(),
                    expires_at: now_ms + i64::from(secs) * 1000,
                    call_id: req.call_id.clone(),
                    cseq: req.cseq,
                    source: req.source.clone(),
                });
            }
        }
        let out = list.clone();
        if list.is_empty() {
            self.by_aor.remove(aor);
        }
        Ok(out)
    }

    /// The live contacts of `aor` at `now_ms` (the B2BUA rings all of them in parallel).
    pub fn lookup(&self, now_ms: i64, aor: &str) -> Vec<&Binding> {
        self.by_aor.get(aor).map_or_else(Vec::new, |l| l.iter().filter(|b| b.expires_at > now_ms).collect())
    }

    /// Removes every lapsed binding and returns them with their address of record.
    pub fn expire(&mut self, now_ms: i64) -> Vec<(String, Binding)> {
        let mut gone = Vec::new();
        self.by_aor.retain(|aor, list| {
            list.retain(|b| {
                let live = b.expires_at > now_ms;
                if !live {
                    gone.push((aor.clone(), b.clone()));
                }
                live
            });
            !list.is_empty()
        });
        gone.sort_by(|a, b| (&a.0, &a.1.uri).cmp(&(&b.0, &b.1.uri)));
        gone
    }

    /// The earliest expiry of any binding (when to call [`Bindings::expire`] next).
    pub fn next_expiry(&self) -> Option<i64> {
        self.by_aor.values().flatten().map(|b| b.expires_at).min()
    }

    /// Every address of record with live contacts, sorted.
    pub fn registered(&self, now_ms: i64) -> Vec<(&str, Vec<&Binding>)> {
        let mut out: Vec<(&str, Vec<&Binding>)> = self
            .by_aor
            .iter()
            .map(|(aor, l)| (aor.as_str(), l.iter().filter(|b| b.expires_at > now_ms).collect::<Vec<_>>()))
            .filter(|(_, l)| !l.is_empty())
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    fn has(&self, aor: &str, uri: &str) -> bool {
        self.by_aor.get(aor).is_some_and(|l| l.iter().any(|b| same_uri(&b.uri, uri)))
    }

    /// RFC 3261 §10.3 step 7: a binding last changed by this Call-ID with a CSeq at or above
    /// the request's is an out-of-order (or replayed) request. `uri` `None` checks them all.
    fn check_order(&self, aor: &str, req: &RegisterRequest, uri: Option<&str>) -> Result<(), RegisterError> {
        let Some(list) = self.by_aor.get(aor) else { return Ok(()) };
        for b in list.iter().filter(|b| uri.is_none_or(|u| same_uri(&b.uri, u))) {
            if b.call_id == req.call_id && req.cseq <= b.cseq {
                return Err(RegisterError::OutOfOrder { cseq: req.cseq, stored: b.cseq });
            }
        }
        Ok(())
    }

    fn drop_lapsed(&mut self, now_ms: i64, aor: &str) {
        if let Some(list) = self.by_aor.get_mut(aor) {
            list.retain(|b| b.expires_at > now_ms);
            if list.is_empty() {
                self.by_aor.remove(aor);
            }
        }
    }
}

/// Contact URIs compare case-insensitively in scheme and host, which is all the registrar
/// needs to recognise a refresh of the same device (full RFC 3261 §19.1.4 comparison belongs
/// to the SIP parser).
fn same_uri(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(contacts: &[(&str, Option<u32>)], expires: Option<u32>, call_id: &str, cseq: u32) -> RegisterRequest {
        RegisterRequest {
            contacts: contacts.iter().map(|(u, e)| ContactSpec { uri: (*u).to_owned(), expires: *e }).collect(),
            wildcard: false,
            expires,
            call_id: call_id.to_owned(),
            cseq,
            source: "udp:127.0.0.1:5062".to_owned(),
        }
    }

    const A: &str = "sip:1001@10.0.0.7:5062";
    const B: &str = "sip:1001@10.0.0.8:5060;transport=tcp";

    #[test]
    fn register_refresh_and_expire() {
        let mut t = Bindings::new(ExpiryPolicy::default());
        let out = t.register(0, "1001", &req(&[(A, None)], Some(120), "c1", 1)).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].remaining_secs(0), 120);
        assert_eq!(t.lookup(119_999, "1001").len(), 1);
        assert!(t.lookup(120_000, "1001").is_empty(), "lapsed exactly at its expiry");
        // refresh before lapse with the next CSeq
        t.register(100_000, "1001", &req(&[(A, None)], Some(120), "c1", 2)).unwrap();
        assert_eq!(t.lookup(200_000, "1001")[0].remaining_secs(200_000), 20);
        assert_eq!(t.next_expiry(), Some(220_000));
        let gone = t.expire(220_000);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].0, "1001");
        assert!(t.registered(220_000).is_empty());
    }

    #[test]
    fn several_contacts_per_user_and_per_contact_expiry() {
        let mut t = Bindings::new(ExpiryPolicy::default());
        let out = t.register(0, "1001", &req(&[(A, Some(300)), (B, None)], Some(600), "c1", 1)).unwrap();
        assert_eq!(out.iter().map(|b| b.remaining_secs(0)).collect::<Vec<_>>(), vec![300, 600]);
        // another device (another Call-ID) adds itself without touching the others
        t.register(10, "1001", &req(&[("sip:1001@10.0.0.9", None)], None, "c2", 1)).unwrap();
        assert_eq!(t.lookup(10, "1001").len(), 3);
        assert_eq!(t.lookup(10, "1001")[2].remaining_secs(10), 3_600, "default expiry");
        // expires=0 removes one binding
        let out = t.register(20, "1001", &req(&[(B, Some(0))], None, "c1", 2)).unwrap();
        assert_eq!(out.len(), 2);
        assert!(t.lookup(20, "1001").iter().all(|b| b.uri != B));
    }

    #[test]
    fn query_lists_without_changing() {
        let mut t = Bindings::new(ExpiryPolicy::default());
        t.register(0, "1001", &req(&[(A, None)], Some(120), "c1", 1)).unwrap();
        let out = t.register(5_000, "1001", &req(&[], None, "c9", 1)).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].remaining_secs(5_000), 115);
    }

    #[test]
    fn expiry_limits() {
        let mut t = Bindings::new(ExpiryPolicy { min_secs: 60, max_secs: 3_600, default_secs: 600 });
        let err = t.register(0, "1001", &req(&[(A, None)], Some(30), "c1", 1)).unwrap_err();
        assert_eq!(err, RegisterError::IntervalTooBrief { min_expires: 60 });
        assert_eq!(err.sip_status(), 423);
        assert!(t.lookup(0, "1001").is_empty(), "refused: nothing stored");
        let out = t.register(0, "1001", &req(&[(A, None)], Some(86_400), "c1", 2)).unwrap();
        assert_eq!(out[0].remaining_secs(0), 3_600, "capped at the maximum");
    }

    #[test]
    fn wildcard_removes_all_but_only_alone_with_expires_zero() {
        let mut t = Bindings::new(ExpiryPolicy::default());
        t.register(0, "1001", &req(&[(A, None), (B, None)], None, "c1", 1)).unwrap();
        let mut bad = req(&[(A, None)], Some(0), "c1", 2);
        bad.wildcard = true;
        assert_eq!(t.register(1, "1001", &bad), Err(RegisterError::BadWildcard));
        let mut bad = req(&[], Some(60), "c1", 2);
        bad.wildcard = true;
        assert_eq!(t.register(1, "1001", &bad).unwrap_err().sip_status(), 400);
        let mut ok = req(&[], Some(0), "c1", 3);
        ok.wildcard = true;
        assert_eq!(t.register(1, "1001", &ok), Ok(vec![]));
        assert!(t.lookup(1, "1001").is_empty());
    }

    #[test]
    fn out_of_order_and_replayed_requests_are_refused() {
        let mut t = Bindings::new(ExpiryPolicy::default());
        t.register(0, "1001", &req(&[(A, None)], None, "c1", 5)).unwrap();
        for cseq in [4, 5] {
            let err = t.register(1, "1001", &req(&[(A, Some(0))], None, "c1", cseq)).unwrap_err();
            assert_eq!(err, RegisterError::OutOfOrder { cseq, stored: 5 });
            assert_eq!(err.sip_status(), 500);
        }
        assert_eq!(t.lookup(1, "1001").len(), 1, "the stale un-register did not remove it");
    }

    #[test]
    fn contacts_per_user_are_limited() {
        let mut t = Bindings::new(ExpiryPolicy::default());
        let many: Vec<String> = (0..=MAX_CONTACTS).map(|i| format!("sip:1001@10.0.1.{i}")).collect();
        let specs: Vec<(&str, Option<u32>)> = many.iter().map(|u| (u.as_str(), None)).collect();
        let err = t.register(0, "1001", &req(&specs, None, "c1", 1)).unwrap_err();
        assert_eq!(err, RegisterError::TooManyContacts { max: MAX_CONTACTS });
        assert!(t.register(0, "1001", &req(&specs[..MAX_CONTACTS], None, "c1", 1)).is_ok());
    }
}
