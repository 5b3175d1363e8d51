//! The OpenAPI document, generated from the handlers' annotations.

use super::cti;
use super::kb;
use super::timeline;
use super::{
    agents, audit, auth, calls, events, health, ivr, prompts, queue_experience, queues, recordings, skills, teams,
    trunks, users,
};
use super::{blocklist, handover, supervisor, wallboard};
use super::{categories, ticket_templates, tickets, tickets_actions};
use super::{customer_parts, customers};
use super::{followups, service_config};
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
        recordings::list, recordings::get, recordings::audio,
        queue_experience::list_voicemails, queue_experience::mark_heard, queue_experience::audio,
        queue_experience::list_callbacks, queue_experience::finish_callback, queue_experience::surveys,
        calls::registrations, calls::list, calls::dial, calls::get, calls::hold, calls::unhold, calls::hangup,
        calls::transfer, calls::complete_transfer, calls::cancel_transfer, calls::conference,
        supervisor::support, blocklist::harassment,
        supervisor::start_monitor, supervisor::change_monitor, supervisor::stop_monitor,
        supervisor::force_transfer, supervisor::force_hangup, supervisor::force_logout,
        supervisor::merge_queues, supervisor::split_queues,
        wallboard::wallboard, wallboard::trend, wallboard::get_thresholds, wallboard::put_thresholds,
        blocklist::list, blocklist::add, blocklist::approve, blocklist::reject, blocklist::remove,
        handover::list, handover::create,
        agents::my_state, agents::set_my_state, agents::set_agent_state, agents::status, agents::colleagues,
        events::log, cti::events, audit::list,
        categories::tree, categories::create, categories::update, categories::delete, categories::export, categories::import,
        ticket_templates::list, ticket_templates::create, ticket_templates::get, ticket_templates::update, ticket_templates::delete,
        tickets::list, tickets::create, tickets::export_csv, tickets::by_number, tickets::get, tickets::update,
        tickets_actions::move_status, tickets_actions::assign, tickets_actions::dispatch, tickets_actions::escalate,
        tickets_actions::comment, tickets_actions::history, tickets_actions::step, tickets_actions::link_call,
        tickets_actions::upload, tickets_actions::attachments, tickets_actions::download,
        customers::list, customers::create, customers::export_csv, customers::get, customers::update, customers::erase,
        timeline::timeline,
        customer_parts::list_assets, customer_parts::create_asset, customer_parts::update_asset, customer_parts::delete_asset,
        customer_parts::list_notes, customer_parts::create_note,
        customer_parts::list_fields, customer_parts::create_field, customer_parts::update_field, customer_parts::delete_field,
        kb::list, kb::create, kb::get, kb::update, kb::delete, kb::versions, kb::from_ticket, kb::search, kb::reindex,
        service_config::ticket_sla, service_config::breaches, service_config::get, service_config::put,
        followups::list, followups::attempt, followups::put_survey, followups::get_survey, followups::survey_summary,
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
