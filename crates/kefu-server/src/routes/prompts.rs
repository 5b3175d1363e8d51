//! The IVR's voice prompts: list them, and let an administrator replace one with their own
//! recording (a WAV: 16-bit PCM or G.711, mono, 8 kHz) or go back to the built-in one. Calls
//! use a new recording from their next prompt on.

use super::{ClientIp, audit_change};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::Json;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_core::ivr::Language;
use serde::Serialize;

/// One prompt.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PromptInfo {
    /// `zh-CN` or `en`.
    pub language: String,
    /// The name flows use.
    pub name: String,
    /// Length, ms.
    pub duration_ms: u64,
    /// Replaced by an administrator's recording (else built in).
    pub custom: bool,
}

fn language(text: &str) -> ApiResult<Language> {
    Language::parse(text).ok_or_else(|| ApiError::not_found(format!("no prompt language `{text}` (zh-CN or en)")))
}

fn valid_name(name: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok { Ok(()) } else { Err(ApiError::validation("a prompt name is 1–64 of a–z, 0–9 and _")) }
}

fn info(state: &AppState, lang: Language, name: &str, samples: usize) -> PromptInfo {
    PromptInfo {
        language: lang.as_str().to_owned(),
        name: name.to_owned(),
        duration_ms: samples as u64 / 8,
        custom: state.prompts.override_path(lang, name).is_file(),
    }
}

/// Every prompt in both languages, by language and name.
#[utoipa::path(get, path = "/api/v1/ivr/prompts", tag = "ivr", security(("bearer" = [])),
    responses((status = 200, body = Vec<PromptInfo>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<PromptInfo>>> {
    let prompts = state.prompts.current();
    let mut out: Vec<PromptInfo> = prompts.entries().map(|(lang, name, n)| info(&state, lang, name, n)).collect();
    out.sort_by(|a, b| (&a.language, &a.name).cmp(&(&b.language, &b.name)));
    Ok(Json(out))
}

/// Replaces (or adds) a prompt with the WAV in the body.
#[utoipa::path(put, path = "/api/v1/ivr/prompts/{language}/{name}", tag = "ivr", security(("bearer" = [])),
    params(("language" = String, Path, description = "zh-CN or en"), ("name" = String, Path, description = "prompt name")),
    request_body(content = Vec<u8>, content_type = "audio/wav"),
    responses((status = 200, body = PromptInfo), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Path((lang, name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<PromptInfo>> {
    let lang = language(&lang)?;
    valid_name(&name)?;
    let samples = kefu_sip::media::wav::decode_prompt(&body).map_err(|e| {
        ApiError::validation(format!("not a usable prompt (16-bit PCM or G.711 WAV, mono, 8 kHz): {e}"))
    })?;
    if samples.is_empty() {
        return Err(ApiError::validation("the recording is empty"));
    }
    let path = state.prompts.override_path(lang, &name);
    let library = state.prompts.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // write aside, then rename: a call never reads half a file
        let tmp = path.with_extension("wav.part");
        std::fs::write(&tmp, &body)?;
        std::fs::rename(&tmp, &path)?;
        library.reload();
        Ok(())
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(|e| ApiError::new(ErrorCode::Internal, format!("the prompt could not be stored: {e}")))?;
    audit_change(&state, &p, &ip, "ivr.prompt.replace", format!("{}/{name}", lang.as_str()), serde_json::json!({}))
        .await;
    Ok(Json(info(&state, lang, &name, samples.len())))
}

/// Removes an administrator's recording: the built-in prompt (if any) is used again.
#[utoipa::path(delete, path = "/api/v1/ivr/prompts/{language}/{name}", tag = "ivr", security(("bearer" = [])),
    params(("language" = String, Path, description = "zh-CN or en"), ("name" = String, Path, description = "prompt name")),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    Path((lang, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let lang = language(&lang)?;
    valid_name(&name)?;
    let path = state.prompts.override_path(lang, &name);
    let library = state.prompts.clone();
    let removed = tokio::task::spawn_blocking(move || -> std::io::Result<bool> {
        match std::fs::remove_file(&path) {
            Ok(()) => {
                library.reload();
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(|e| ApiError::new(ErrorCode::Internal, format!("the prompt could not be removed: {e}")))?;
    if !removed {
        return Err(ApiError::not_found(format!("no custom recording of `{name}` in {}", lang.as_str())));
    }
    audit_change(&state, &p, &ip, "ivr.prompt.reset", format!("{}/{name}", lang.as_str()), serde_json::json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}
