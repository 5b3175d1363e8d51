//! Administration of users, teams, skills and queues through the API, with audit entries.

use crate::{TestApp, assert_error};
use kefu_core::Role::{Admin, Agent, TeamLead};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn admin_builds_an_organisation() {
    let app = TestApp::spawn().await;
    let (s, team) = app.send(Method::POST, "/api/v1/teams", Admin, json!({ "name": "一组" })).await;
    assert_eq!(s, 201, "{team}");
    let (s, skill) =
        app.send(Method::POST, "/api/v1/skills", Admin, json!({ "name": "complaints", "description": "投诉" })).await;
    assert_eq!(s, 201, "{skill}");
    let (s, queue) = app
        .send(
            Method::POST,
            "/api/v1/queues",
            Admin,
            json!({ "name": "complaints", "strategy": "skill_weighted",
                    "targets": { "service_level_secs": 15 },
                    "skills": [{ "skill_id": skill["id"], "min_proficiency": 4 }] }),
        )
        .await;
    assert_eq!(s, 201, "{queue}");
    assert_eq!(queue["strategy"], "skill_weighted");
    assert_eq!(queue["targets"]["service_level_secs"], 15);
    assert_eq!(queue["targets"]["service_level_pct"], 80.0, "unset targets keep defaults");

    let (s, user) = app
        .send(
            Method::POST,
            "/api/v1/users",
            Admin,
            json!({ "username": "1001", "display_name": "王芳", "role": "agent", "password": "agent-pass-1",
                    "team_id": team["id"], "extension": "1001",
                    "skills": [{ "skill_id": skill["id"], "proficiency": 8 }] }),
        )
        .await;
    assert_eq!(s, 201, "{user}");
    assert_eq!(user["skills"][0]["proficiency"], 8);
    let uid = user["id"].as_str().unwrap().to_owned();

    // change skills and clear the team
    let (s, user2) = app
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{uid}"),
            Admin,
            json!({ "team_id": null, "skills": [{ "skill_id": skill["id"], "proficiency": 9 }] }),
        )
        .await;
    assert_eq!(s, 200, "{user2}");
    assert!(user2["team_id"].is_null());
    assert_eq!(user2["skills"][0]["proficiency"], 9);
    assert_eq!(user2["extension"], "1001");

    // the new agent can log in and read its own profile, and list queues
    let token = app.login("1001", "agent-pass-1").await;
    let (s, me) = app.call(Method::GET, &format!("/api/v1/users/{uid}"), Some(&token), None).await;
    assert_eq!(s, 200);
    assert_eq!(me["display_name"], "王芳");
    let (s, qs) = app.call(Method::GET, "/api/v1/queues", Some(&token), None).await;
    assert_eq!(s, 200);
    assert_eq!(qs["items"][0]["name"], "complaints");

    // a team lead reads the directory; an agent may not
    let (s, dir) = app.get("/api/v1/users?limit=2", TeamLead).await;
    assert_eq!(s, 200);
    assert_eq!(dir["items"].as_array().unwrap().len(), 2);
    assert!(dir["next_cursor"].is_string());
    let (s, b) = app.get("/api/v1/users", Agent).await;
    assert_error(s, &b, 403, "forbidden");

    // a skill in use cannot be deleted; after the queue and user let go, it can
    let sid = skill["id"].as_str().unwrap();
    let (s, b) = app.call(Method::DELETE, &format!("/api/v1/skills/{sid}"), Some(app.token(Admin)), None).await;
    assert_error(s, &b, 409, "conflict");
    let qid = queue["id"].as_str().unwrap();
    let (s, _) = app.send(Method::PATCH, &format!("/api/v1/queues/{qid}"), Admin, json!({ "skills": [] })).await;
    assert_eq!(s, 200);
    let (s, _) = app.call(Method::DELETE, &format!("/api/v1/users/{uid}"), Some(app.token(Admin)), None).await;
    assert_eq!(s, 204);
    let (s, _) = app.call(Method::DELETE, &format!("/api/v1/skills/{sid}"), Some(app.token(Admin)), None).await;
    assert_eq!(s, 204);

    // every change is audited with the actor
    let (_, audit) = app.get("/api/v1/audit?limit=500", Admin).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_name"] == "admin" && e["action"] != "auth.login")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "team.create",
            "skill.create",
            "queue.create",
            "user.create",
            "user.update",
            "queue.update",
            "user.delete",
            "skill.delete"
        ]
    );
    app.stop().await;
}
