//! The role matrix: every route × every role is allowed or refused with 403, exactly as the
//! table below says. A route added to the server without a row here fails the first test;
//! a rule that is declared but not enforced fails the second.

use crate::{TestApp, assert_error};
use kefu_core::Role::{self, Admin, Agent, Qa, Supervisor, TeamLead};
use kefu_server::auth::Access;
use reqwest::{Method, StatusCode};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Who {
    /// No token needed.
    Public,
    /// Any logged-in user.
    AnyUser,
    /// Only these roles.
    Roles(Vec<Role>),
    /// The user named in the path, or these roles.
    SelfOr(Vec<Role>),
    /// Every logged-in user for their own records; these roles for everyone's.
    OwnOr(Vec<Role>),
}

fn expected() -> Vec<(&'static str, &'static str, Who)> {
    use Who::{AnyUser, OwnOr, Public, Roles, SelfOr};
    let all = || vec![Agent, TeamLead, Qa, Supervisor, Admin];
    let directory = || vec![TeamLead, Qa, Supervisor, Admin];
    let admin = || vec![Admin];
    let sup = || vec![Supervisor, Admin];
    vec![
        ("GET", "/healthz", Public),
        ("GET", "/readyz", Public),
        ("GET", "/metrics", Public),
        ("GET", "/api/v1/openapi.json", Public),
        ("POST", "/api/v1/auth/login", Public),
        ("POST", "/api/v1/auth/logout", AnyUser),
        ("POST", "/api/v1/auth/password", AnyUser),
        ("GET", "/api/v1/users", Roles(directory())),
        ("POST", "/api/v1/users", Roles(admin())),
        ("GET", "/api/v1/users/me", AnyUser),
        ("GET", "/api/v1/users/{id}", SelfOr(directory())),
        ("PATCH", "/api/v1/users/{id}", Roles(admin())),
        ("DELETE", "/api/v1/users/{id}", Roles(admin())),
        ("GET", "/api/v1/teams", Roles(all())),
        ("POST", "/api/v1/teams", Roles(admin())),
        ("GET", "/api/v1/teams/{id}", Roles(all())),
        ("PATCH", "/api/v1/teams/{id}", Roles(admin())),
        ("DELETE", "/api/v1/teams/{id}", Roles(admin())),
        ("GET", "/api/v1/skills", Roles(all())),
        ("POST", "/api/v1/skills", Roles(admin())),
        ("GET", "/api/v1/skills/{id}", Roles(all())),
        ("PATCH", "/api/v1/skills/{id}", Roles(admin())),
        ("DELETE", "/api/v1/skills/{id}", Roles(admin())),
        ("GET", "/api/v1/queues", Roles(all())),
        ("POST", "/api/v1/queues", Roles(admin())),
        ("GET", "/api/v1/queues/{id}", Roles(all())),
        ("PATCH", "/api/v1/queues/{id}", Roles(admin())),
        ("DELETE", "/api/v1/queues/{id}", Roles(admin())),
        ("GET", "/api/v1/ivr/flows", Roles(all())),
        ("GET", "/api/v1/ivr/flows/{name}", Roles(all())),
        ("PUT", "/api/v1/ivr/flows/{name}", Roles(admin())),
        ("DELETE", "/api/v1/ivr/flows/{name}", Roles(admin())),
        ("GET", "/api/v1/ivr/prompts", Roles(all())),
        ("PUT", "/api/v1/ivr/prompts/{language}/{name}", Roles(admin())),
        ("DELETE", "/api/v1/ivr/prompts/{language}/{name}", Roles(admin())),
        ("GET", "/api/v1/trunks", Roles(admin())),
        ("POST", "/api/v1/trunks", Roles(admin())),
        ("GET", "/api/v1/trunks/{id}", Roles(admin())),
        ("PATCH", "/api/v1/trunks/{id}", Roles(admin())),
        ("DELETE", "/api/v1/trunks/{id}", Roles(admin())),
        ("GET", "/api/v1/recordings", OwnOr(directory())),
        ("GET", "/api/v1/recordings/{id}", OwnOr(directory())),
        ("GET", "/api/v1/recordings/{id}/audio", OwnOr(directory())),
        ("GET", "/api/v1/voicemails", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/voicemails/{id}/heard", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/voicemails/{id}/audio", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/callbacks", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/callbacks/{id}/finish", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/surveys", Roles(directory())),
        ("GET", "/api/v1/registrations", Roles(vec![TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/calls", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/calls", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/calls/{id}", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/calls/{id}/hold", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/calls/{id}/unhold", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/calls/{id}/hangup", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/calls/{id}/transfer", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/calls/{id}/transfer/complete", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/calls/{id}/transfer/cancel", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/calls/{id}/conference", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/calls/{id}/support", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/calls/{id}/harassment", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/calls/{id}/monitor", Roles(vec![TeamLead, Supervisor, Admin])),
        ("PUT", "/api/v1/calls/{id}/monitor", Roles(vec![TeamLead, Supervisor, Admin])),
        ("DELETE", "/api/v1/calls/{id}/monitor", Roles(vec![TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/calls/{id}/force-transfer", Roles(vec![TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/calls/{id}/force-hangup", Roles(vec![TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/agents/me/state", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("PUT", "/api/v1/agents/me/state", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/agents/colleagues", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("PUT", "/api/v1/agents/{id}/state", Roles(vec![TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/acd", Roles(vec![TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/agents/{id}/logout", Roles(vec![TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/queues/{id}/merge", Roles(vec![TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/queues/{id}/split", Roles(vec![TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/wallboard", Roles(vec![TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/wallboard/trend", Roles(vec![TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/wallboard/thresholds", Roles(vec![TeamLead, Supervisor, Admin])),
        ("PUT", "/api/v1/wallboard/thresholds", Roles(sup())),
        ("GET", "/api/v1/blocklist", OwnOr(vec![TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/blocklist", Roles(sup())),
        ("POST", "/api/v1/blocklist/{id}/approve", Roles(sup())),
        ("POST", "/api/v1/blocklist/{id}/reject", Roles(sup())),
        ("DELETE", "/api/v1/blocklist/{id}", Roles(sup())),
        ("GET", "/api/v1/handover", Roles(vec![TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/handover", Roles(vec![TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/events/log", Roles(sup())),
        ("GET", "/api/v1/events", AnyUser),
        ("GET", "/api/v1/audit", Roles(admin())),
        // work orders
        ("GET", "/api/v1/categories", Roles(all())),
        ("POST", "/api/v1/categories", Roles(admin())),
        ("PATCH", "/api/v1/categories/{id}", Roles(admin())),
        ("DELETE", "/api/v1/categories/{id}", Roles(admin())),
        ("GET", "/api/v1/categories/export", Roles(all())),
        ("PUT", "/api/v1/categories/import", Roles(admin())),
        ("GET", "/api/v1/ticket-templates", Roles(all())),
        ("POST", "/api/v1/ticket-templates", Roles(admin())),
        ("GET", "/api/v1/ticket-templates/{id}", Roles(all())),
        ("PATCH", "/api/v1/ticket-templates/{id}", Roles(admin())),
        ("DELETE", "/api/v1/ticket-templates/{id}", Roles(admin())),
        ("GET", "/api/v1/tickets", Roles(all())),
        ("POST", "/api/v1/tickets", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/tickets/export.csv", Roles(vec![TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/tickets/by-number/{number}", Roles(all())),
        ("GET", "/api/v1/tickets/{id}", Roles(all())),
        ("PATCH", "/api/v1/tickets/{id}", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/tickets/{id}/status", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/tickets/{id}/assign", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/tickets/{id}/dispatch", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/tickets/{id}/escalate", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/tickets/{id}/comments", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/tickets/{id}/history", Roles(all())),
        ("POST", "/api/v1/tickets/{id}/step", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/tickets/{id}/calls", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/tickets/{id}/attachments", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/tickets/{id}/attachments", Roles(all())),
        ("GET", "/api/v1/tickets/{id}/attachments/{attachment}", Roles(all())),
        ("GET", "/api/v1/tickets/{id}/sla", Roles(all())),
        ("GET", "/api/v1/sla/breaches", Roles(all())),
        ("GET", "/api/v1/service/config", Roles(all())),
        ("PUT", "/api/v1/service/config", Roles(admin())),
        ("GET", "/api/v1/followups", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/followups/{id}/attempts", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("PUT", "/api/v1/tickets/{id}/survey", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/tickets/{id}/survey", Roles(all())),
        ("GET", "/api/v1/surveys/tickets/summary", Roles(all())),
        ("GET", "/api/v1/customers", Roles(all())),
        ("POST", "/api/v1/customers", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/customers/export.csv", Roles(vec![TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/customers/{id}", Roles(all())),
        ("PATCH", "/api/v1/customers/{id}", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("POST", "/api/v1/customers/{id}/erase", Roles(sup())),
        ("GET", "/api/v1/customers/{id}/timeline", Roles(all())),
        ("GET", "/api/v1/customers/{id}/assets", Roles(all())),
        ("POST", "/api/v1/customers/{id}/assets", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("PATCH", "/api/v1/customers/{id}/assets/{asset}", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("DELETE", "/api/v1/customers/{id}/assets/{asset}", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/customers/{id}/notes", Roles(all())),
        ("POST", "/api/v1/customers/{id}/notes", Roles(vec![Agent, TeamLead, Supervisor, Admin])),
        ("GET", "/api/v1/customer-fields", Roles(all())),
        ("POST", "/api/v1/customer-fields", Roles(admin())),
        ("PATCH", "/api/v1/customer-fields/{id}", Roles(admin())),
        ("DELETE", "/api/v1/customer-fields/{id}", Roles(admin())),
        ("GET", "/api/v1/kb/articles", Roles(all())),
        ("POST", "/api/v1/kb/articles", Roles(vec![TeamLead, Qa, Supervisor, Admin])),
        ("GET", "/api/v1/kb/articles/{id}", Roles(all())),
        ("PATCH", "/api/v1/kb/articles/{id}", Roles(vec![TeamLead, Qa, Supervisor, Admin])),
        ("DELETE", "/api/v1/kb/articles/{id}", Roles(vec![TeamLead, Qa, Supervisor, Admin])),
        ("GET", "/api/v1/kb/articles/{id}/versions", Roles(vec![TeamLead, Qa, Supervisor, Admin])),
        ("POST", "/api/v1/kb/articles/from-ticket/{id}", Roles(vec![TeamLead, Qa, Supervisor, Admin])),
        ("GET", "/api/v1/kb/search", Roles(all())),
        ("POST", "/api/v1/kb/reindex", Roles(admin())),
    ]
}

fn who(access: Access) -> Who {
    let holders = |p: kefu_core::Permission| Role::ALL.into_iter().filter(|r| r.allows(p)).collect::<Vec<_>>();
    match access {
        Access::Public => Who::Public,
        Access::Authenticated => Who::AnyUser,
        Access::Allowed(p) => Who::Roles(holders(p)),
        Access::SelfOr(p) => Who::SelfOr(holders(p)),
        Access::OwnOr(p) => Who::OwnOr(holders(p)),
    }
}

#[test]
fn every_route_has_the_expected_rule_and_none_is_forgotten() {
    let actual: BTreeMap<(String, String), Who> =
        kefu_server::routes::rules().into_iter().map(|(m, p, a)| ((m.to_string(), p.to_owned()), who(a))).collect();
    let wanted: BTreeMap<(String, String), Who> =
        expected().into_iter().map(|(m, p, w)| ((m.to_owned(), p.to_owned()), w)).collect();
    for (route, rule) in &actual {
        match wanted.get(route) {
            None => panic!("route {} {} has no row in the role-matrix test; add one", route.0, route.1),
            Some(w) => assert_eq!(w, rule, "route {} {}: rule differs", route.0, route.1),
        }
    }
    for route in wanted.keys() {
        assert!(
            actual.contains_key(route),
            "the test expects {} {} but the server has no such route",
            route.0,
            route.1
        );
    }
}

#[test]
fn openapi_documents_exactly_the_routes() {
    use utoipa::OpenApi;
    let doc = serde_json::to_value(kefu_server::routes::openapi::ApiDoc::openapi()).unwrap();
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let mut routed: Vec<(String, String)> =
        kefu_server::routes::rules().into_iter().map(|(m, p, _)| (m.to_string(), p.to_owned())).collect();
    routed.sort();
    assert_eq!(documented, routed);
}

#[tokio::test]
async fn every_route_enforces_its_rule_for_every_role() {
    let app = TestApp::spawn().await;
    for (method, path, access) in kefu_server::routes::rules() {
        let rule = who(access);
        for role in Role::ALL {
            // a user other than the caller, for /users/{id}; for mutations of users a random
            // id (404 when allowed), so the matrix never deletes or disables its own accounts
            let id = if path.starts_with("/api/v1/users/{id}") && method == Method::GET {
                let other = if role == Admin { Agent } else { Admin };
                app.users[&other].id.to_string()
            } else {
                kefu_store::new_uuid().to_string()
            };
            // named resources (IVR flows): a name nobody uses (404 when allowed, 422 for a PUT)
            let url = path.replace("{id}", &id).replace("{name}", &format!("no-such-{id}"));
            // logout would end the shared session: use a fresh one
            let token = if path == "/api/v1/auth/logout" {
                app.login(role.as_str(), crate::PASSWORD).await
            } else {
                app.token(role).to_owned()
            };
            let body = matches!(method, Method::POST | Method::PATCH | Method::PUT).then(|| serde_json::json!({}));
            let (status, resp) = app.call(method.clone(), &url, Some(&token), body.clone()).await;
            // own-records routes answer everyone (with their own records, or 404 for an
            // unknown id); `telephony.rs` checks who sees whose
            let allowed = match &rule {
                Who::Public | Who::AnyUser | Who::OwnOr(_) => true,
                Who::Roles(r) | Who::SelfOr(r) => r.contains(&role),
            };
            if allowed {
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{method} {path} as {role}: expected access, got {status} {resp}"
                );
            } else {
                assert_error(status, &resp, 403, "forbidden");
            }
            if rule != Who::Public {
                let (status, resp) = app.call(method.clone(), &url, None, body).await;
                assert_error(status, &resp, 401, "unauthenticated");
            }
        }
        // self-service: every role reads its own profile by id
        if let Who::SelfOr(_) = rule {
            for role in Role::ALL {
                let url = path.replace("{id}", &app.users[&role].id.to_string());
                let (status, resp) = app.call(method.clone(), &url, Some(app.token(role)), None).await;
                assert_eq!(status, StatusCode::OK, "{role} reading itself: {resp}");
            }
        }
    }
    app.stop().await;
}
