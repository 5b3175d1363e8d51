//! REGISTER handling: authenticate, apply to the binding table, answer with the bindings.

use rsipstack::sip::prelude::ToTypedHeader;
use rsipstack::sip::{Header, HeadersExt, StatusCode};
use rsipstack::transaction::Transaction;
use tracing::{debug, info};

use super::Inner;
use super::auth::Realm;
use crate::registrar::{ContactSpec, RegisterError, RegisterRequest};

impl Inner {
    pub(super) async fn handle_register(&self, mut tx: Transaction) {
        let Some(auth) = self.authenticate(&mut tx, Realm::Registrar).await else { return };
        let aor = match tx.original.to_header().ok().and_then(|to| to.uri().ok()) {
            Some(uri) => uri.user().map(str::to_owned).unwrap_or_default(),
            None => {
                tx.reply(StatusCode::BadRequest).await.ok();
                return;
            }
        };
        if aor != auth.extension {
            info!(extension = %auth.extension, aor = %aor, "REGISTER for another user's address refused");
            tx.reply(StatusCode::Forbidden).await.ok();
            return;
        }
        let request = match register_request(&tx) {
            Ok(r) => r,
            Err(reason) => {
                debug!(%reason, "malformed REGISTER");
                tx.reply_with(
                    StatusCode::BadRequest,
                    vec![Header::Warning(format!("399 kefu \"{reason}\"").into())],
                    None,
                )
                .await
                .ok();
                return;
            }
        };
        let now = super::now_ms();
        let result = self.bindings.lock().map(|mut b| b.register(now, &aor, &request)).ok();
        let Some(result) = result else {
            tx.reply(StatusCode::ServerInternalError).await.ok();
            return;
        };
        match result {
            Ok(bindings) => {
                let agent = tx.original.user_agent_header().map(|ua| ua.value().to_owned());
                if let Ok(mut uas) = self.user_agents.lock() {
                    for c in &request.contacts {
                        match (&agent, bindings.iter().any(|b| b.uri == c.uri)) {
                            (Some(ua), true) => {
                                uas.insert((aor.clone(), c.uri.clone()), ua.clone());
                            }
                            _ => {
                                uas.remove(&(aor.clone(), c.uri.clone()));
                            }
                        }
                    }
                }
                let headers: Vec<Header> = bindings
                    .iter()
                    .map(|b| Header::Contact(format!("<{}>;expires={}", b.uri, b.remaining_secs(now)).into()))
                    .collect();
                debug!(extension = %aor, contacts = bindings.len(), "registered");
                tx.reply_with(StatusCode::OK, headers, None).await.ok();
            }
            Err(e) => {
                let mut headers = Vec::new();
                if let RegisterError::IntervalTooBrief { min_expires } = e {
                    headers.push(Header::MinExpires(min_expires.to_string().into()));
                }
                let status = StatusCode::from(e.sip_status());
                tx.reply_with(status, headers, None).await.ok();
            }
        }
    }
}

/// The REGISTER reduced to what the binding table needs.
fn register_request(tx: &Transaction) -> Result<RegisterRequest, String> {
    let req = &tx.original;
    let mut contacts = Vec::new();
    let mut wildcard = false;
    for header in req.contact_headers() {
        if header.value().trim() == "*" {
            wildcard = true;
            continue;
        }
        let typed = header.typed().map_err(|e| format!("bad Contact: {e}"))?;
        let expires = typed.expires();
        contacts.push(ContactSpec { uri: typed.uri.to_string(), expires });
    }
    let expires = match req.expires_header() {
        Some(h) => Some(h.value().trim().parse::<u32>().map_err(|_| format!("bad Expires `{}`", h.value()))?),
        None => None,
    };
    let call_id = req.call_id_header().map_err(|e| e.to_string())?.value().to_owned();
    let cseq = req.cseq_header().and_then(|c| c.seq()).map_err(|e| e.to_string())?;
    let source = tx
        .connection
        .as_ref()
        .and_then(|c| c.get_remote_addr().map(|a| (c.transport(), a.clone())))
        .map(|(t, a)| format!("{}:{}", t.to_string().to_ascii_lowercase(), a.addr))
        .unwrap_or_default();
    Ok(RegisterRequest { contacts, wildcard, expires, call_id, cseq, source })
}
