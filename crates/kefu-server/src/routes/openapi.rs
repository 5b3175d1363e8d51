//! The OpenAPI document, generated from the handlers' annotations.

use super::{
    agents, audit, auth, calls, events, health, ivr, prompts, queue_experience, queues, recordings, skills, teams,
    trunks, users,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The API description served at `/api/v1/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(title = "kefu API", description = "Contact-center platform: HTTP JSON API. Errors are `{\"error\":{\"code\",\"message\"}}`, with `details` listing every problem when there are several."),
    paths(
        health::healthz, health::readyz, health::metrics, document,
        auth::login, auth::logout, auth::change_password,
        users::list, users::create, users::me, users::get, users::update, users::delete,
        teams::list, teams::create, teams::get, teams::update, teams::delete,
        skills::list, skills::create, skills::get, skills::update, skills::delete,
        queues::list, queues::create, queues::get, queues::update, queues::delete,
        ivr::list, ivr::get, ivr::put, ivr::delete, prompts::list, prompts::put, prompts::delete,
        trunks::list, trunks::create, trunks::get, trunks::update, trunks::delete,
        recordings::list, recordings::get,
        queue_experience::list_voicemails, queue_experience::mark_heard, queue_experience::audio,
        queue_experience::list_callbacks, queue_experience::finish_callback, queue_experience::surveys,
        calls::registrations, calls::list, calls::dial, calls::get, calls::hold, calls::unhold, calls::hangup,
        calls::transfer, calls::complete_transfer, calls::cancel_transfer,
        agents::my_state, agents::set_my_state, agents::set_agent_state, agents::status,
        events::log, audit::list,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorCode)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
