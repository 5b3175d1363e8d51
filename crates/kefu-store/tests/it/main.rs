//! Storage tests. Each runs on a fresh SQLite file, or on a fresh PostgreSQL database when
//! `TEST_DATABASE_URL` is set (CI runs them both ways).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod categories;
mod customers;
mod events;
mod ivr;
mod kb;
mod migrate;
mod org;
mod queue_experience;
mod sessions;
mod sla;
mod supervisor;
mod telephony;
mod tickets;
mod users;

use kefu_core::{Role, Timestamp};
use kefu_store::testing::TestDb;
use kefu_store::{NewUser, Store};

pub async fn db() -> TestDb {
    TestDb::new().await.expect("test database")
}

pub const T0: Timestamp = Timestamp::from_millis(1_790_000_000_000);

pub fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        username: name.to_owned(),
        display_name: format!("User {name}"),
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        team_id: None,
        extension: None,
        skills: Vec::new(),
        sip: None,
    }
}

pub async fn user(store: &Store, name: &str) -> kefu_store::User {
    store.create_user(&new_user(name, Role::Agent), T0).await.unwrap()
}
