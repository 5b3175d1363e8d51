//! IVR flows: stored by name, read by everyone who reads configuration, saved and deleted by
//! administrators. A flow is saved whole (`PUT`, JSON or YAML) and only when
//! [`Flow::problems`] finds none: the answer is then 422 with every problem in `details`, each
//! naming its node. YAML export and import round-trip: the exported document is the flow with
//! its dialled numbers as a top-level `numbers:` list.

use super::{ClientIp, audit_change, valid_name};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, Paging, PathId, Query};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kefu_core::FlowId;
use kefu_core::Timestamp;
use kefu_core::ivr::Flow;
use kefu_store::{IvrFlowRow, Page};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The content type of a flow exported as YAML.
pub const YAML_CONTENT_TYPE: &str = "application/yaml; charset=utf-8";

/// A flow in a list: what it is called, which numbers start it, how big it is.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FlowSummary {
    /// Unique id.
    pub id: FlowId,
    /// Unique name.
    pub name: String,
    /// The language of its prompts (`zh-CN` or `en`).
    pub language: String,
    /// Dialled numbers (DIDs) that start it.
    pub numbers: Vec<String>,
    /// How many nodes it has.
    pub nodes: usize,
    /// 1 when created, one more on every save.
    pub version: i64,
    /// When last saved (epoch ms).
    pub updated_at: Timestamp,
}

impl From<IvrFlowRow> for FlowSummary {
    fn from(r: IvrFlowRow) -> Self {
        FlowSummary {
            id: r.id,
            name: r.name,
            language: r.language.as_str().to_owned(),
            numbers: r.numbers,
            nodes: r.flow.nodes.len(),
            version: r.version,
            updated_at: r.updated_at,
        }
    }
}

/// A flow to save, as JSON. As YAML (`Content-Type: application/yaml`) the body is the flow
/// document itself, with the numbers as an optional top-level `numbers:` list.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveFlow {
    /// The flow: `name` (the same as in the path), `language`, `utc_offset_minutes`, `start`,
    /// `survey` and `nodes` by id.
    #[schema(value_type = Object)]
    pub flow: Flow,
    /// Dialled numbers (DIDs) that start the flow; none by default. A number starts at most
    /// one flow.
    #[serde(default)]
    pub numbers: Vec<String>,
}

/// How a flow is returned.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FlowFormat {
    /// The stored row as JSON.
    Json,
    /// The flow document as YAML, with its numbers.
    Yaml,
}

/// `?format=`.
#[derive(Deserialize, utoipa::IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `json` (default) or `yaml`; without it, `Accept: application/yaml` chooses YAML.
    pub format: Option<FlowFormat>,
}

/// Lists flows.
#[utoipa::path(get, path = "/api/v1/ivr/flows", tag = "ivr", security(("bearer" = [])), params(Paging),
    responses((status = 200, body = inline(Page<FlowSummary>)), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, Query(paging): Query<Paging>) -> ApiResult<Json<Page<FlowSummary>>> {
    let page = state.store.list_flows(&paging.request()).await?;
    Ok(Json(Page { items: page.items.into_iter().map(FlowSummary::from).collect(), next_cursor: page.next_cursor }))
}

/// One flow: the stored row as JSON, or with `Accept: application/yaml` (or `?format=yaml`)
/// the flow as a YAML document with its numbers, ready to edit and `PUT` back.
#[utoipa::path(get, path = "/api/v1/ivr/flows/{name}", tag = "ivr", security(("bearer" = [])),
    params(("name" = String, Path, description = "flow name"), FormatQuery),
    responses((status = 200, content((IvrFlowRow = "application/json"), (String = "application/yaml"))),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    PathId(name): PathId<String>,
    Query(q): Query<FormatQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let row = find(&state, &name).await?;
    let format = q.format.unwrap_or_else(|| if wants_yaml(&headers) { FlowFormat::Yaml } else { FlowFormat::Json });
    match format {
        FlowFormat::Json => Ok(Json(row).into_response()),
        FlowFormat::Yaml => {
            let text = export_yaml(&row.flow, &row.numbers).map_err(|e| ApiError::internal(&e))?;
            Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(YAML_CONTENT_TYPE))], text).into_response())
        }
    }
}

/// Saves a flow under the name in the path: created (201) or replaced (200, version + 1).
/// The body is JSON (`{"flow": {…}, "numbers": ["4000"]}`) or, with `Content-Type:
/// application/yaml`, the flow document with an optional top-level `numbers:` list. A flow
/// with problems is refused with 422 and every problem in `details`.
#[utoipa::path(put, path = "/api/v1/ivr/flows/{name}", tag = "ivr", security(("bearer" = [])),
    params(("name" = String, Path, description = "flow name; must equal the flow's `name`")),
    request_body(content((SaveFlow = "application/json"), (String = "application/yaml"))),
    responses((status = 200, body = IvrFlowRow, description = "replaced"), (status = 201, body = IvrFlowRow, description = "created"),
        (status = 400, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(name): PathId<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<IvrFlowRow>)> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ErrorCode::PayloadTooLarge, "request body is larger than the server accepts")
        } else {
            ApiError::bad_request(format!("could not read the request body: {e}"))
        }
    })?;
    let SaveFlow { flow, numbers } = match body_kind(&headers)? {
        BodyKind::Json => parse_json(&body)?,
        BodyKind::Yaml => parse_yaml(&body)?,
    };
    if flow.name != name {
        return Err(ApiError::validation(format!(
            "the flow is named `{}` but the path names `{}`; they must be the same",
            shorten(&flow.name),
            shorten(&name)
        )));
    }
    if valid_name("name", &name)? != name {
        return Err(ApiError::validation("name must not start or end with spaces"));
    }
    let numbers = valid_numbers(numbers)?;
    let problems: Vec<String> = flow.problems().iter().map(ToString::to_string).collect();
    if !problems.is_empty() {
        let message = match problems.as_slice() {
            [one] => format!("flow `{name}` cannot be saved: {one}"),
            more => format!("flow `{name}` cannot be saved: {} problems, listed in details", more.len()),
        };
        return Err(ApiError::validation_details(message, problems));
    }
    let (row, created) = state.store.save_flow(&flow, &numbers, state.clock.now()).await?;
    let action = if created { "ivr_flow.create" } else { "ivr_flow.update" };
    audit_change(
        &state,
        &p,
        &ip,
        action,
        row.name.clone(),
        serde_json::json!({ "id": row.id, "version": row.version, "numbers": row.numbers }),
    )
    .await;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(row)))
}

/// Deletes a flow; its numbers then start no flow.
#[utoipa::path(delete, path = "/api/v1/ivr/flows/{name}", tag = "ivr", security(("bearer" = [])),
    params(("name" = String, Path, description = "flow name")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    p: Principal,
    PathId(name): PathId<String>,
) -> ApiResult<StatusCode> {
    let current = find(&state, &name).await?;
    state.store.delete_flow(&name).await?;
    audit_change(
        &state,
        &p,
        &ip,
        "ivr_flow.delete",
        current.name,
        serde_json::json!({ "id": current.id, "version": current.version }),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn find(state: &AppState, name: &str) -> ApiResult<IvrFlowRow> {
    state
        .store
        .flow_by_name(name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("IVR flow `{}` not found", shorten(name))))
}

fn shorten(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Each number (as dialled, like a trunk's inbound route): 1–64 characters without spaces or
/// control characters; none twice.
fn valid_numbers(numbers: Vec<String>) -> ApiResult<Vec<String>> {
    let mut seen = BTreeSet::new();
    for (i, n) in numbers.iter().enumerate() {
        let len = n.chars().count();
        if len == 0 || len > 64 || n.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(ApiError::validation(format!(
                "numbers[{i}]: `{}` is not a dialled number (1–64 characters without spaces)",
                shorten(n)
            )));
        }
        if !seen.insert(n.as_str()) {
            return Err(ApiError::validation(format!("numbers[{i}]: `{n}` is listed twice")));
        }
    }
    Ok(numbers)
}

/// Whether the `Accept` header prefers YAML to JSON (by quality; JSON wins ties and `*/*`).
fn wants_yaml(headers: &HeaderMap) -> bool {
    let (mut yaml, mut json) = (0.0_f32, 0.0_f32);
    for value in headers.get_all(header::ACCEPT) {
        let Ok(text) = value.to_str() else { continue };
        for range in text.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if is_yaml(&media) {
                yaml = yaml.max(q);
            } else if is_json(&media) || media == "*/*" || media == "application/*" {
                json = json.max(q);
            }
        }
    }
    yaml > 0.0 && yaml > json
}

fn is_yaml(media: &str) -> bool {
    matches!(media, "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml")
}

fn is_json(media: &str) -> bool {
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

enum BodyKind {
    Json,
    Yaml,
}

fn body_kind(headers: &HeaderMap) -> ApiResult<BodyKind> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    match media.as_deref() {
        Some(m) if is_json(m) => Ok(BodyKind::Json),
        Some(m) if is_yaml(m) => Ok(BodyKind::Yaml),
        _ => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "expected a body with `Content-Type: application/json` or `Content-Type: application/yaml`",
        )),
    }
}

/// JSON as the API reads it everywhere: bad syntax is 400, wrong fields or types 422.
fn parse_json(body: &[u8]) -> ApiResult<SaveFlow> {
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => ApiError::validation(format!("invalid request body: {e}")),
        _ => ApiError::bad_request(format!("request body is not valid JSON: {e}")),
    })
}

/// A YAML flow document with an optional top-level `numbers:` list. Text that is not YAML is
/// 400; YAML that is not a flow is 422, with the parser's message naming field and line.
fn parse_yaml(body: &[u8]) -> ApiResult<SaveFlow> {
    let text =
        std::str::from_utf8(body).map_err(|e| ApiError::bad_request(format!("request body is not UTF-8 text: {e}")))?;
    if let Err(e) = serde_norway::from_str::<serde_norway::Value>(text) {
        return Err(ApiError::bad_request(format!("request body is not valid YAML: {e}")));
    }
    let doc: Document =
        serde_norway::from_str(text).map_err(|e| ApiError::validation(format!("not a valid flow: {e}")))?;
    Ok(SaveFlow { flow: doc.flow, numbers: doc.numbers.unwrap_or_default() })
}

/// The flow as YAML with `numbers:` before its nodes: what [`parse_yaml`] reads back.
pub fn export_yaml(flow: &Flow, numbers: &[String]) -> Result<String, serde_norway::Error> {
    let serde_norway::Value::Mapping(fields) = serde_norway::to_value(flow)? else {
        return serde_norway::to_string(flow);
    };
    let mut doc = serde_norway::Mapping::new();
    let numbers_value = serde_norway::to_value(numbers)?;
    for (key, value) in fields {
        if key.as_str() == Some("nodes") {
            doc.insert("numbers".into(), numbers_value.clone());
        }
        doc.insert(key, value);
    }
    if !doc.contains_key("numbers") {
        doc.insert("numbers".into(), numbers_value);
    }
    serde_norway::to_string(&doc)
}

/// A flow document: the flow's own fields plus `numbers`, read in one pass so that the
/// parser's messages keep their positions and the flow still refuses unknown fields.
struct Document {
    flow: Flow,
    numbers: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(DocumentVisitor)
    }
}

struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a flow (a mapping with name, start and nodes)")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Document, A::Error> {
        let mut numbers = None;
        let flow = Flow::deserialize(de::value::MapAccessDeserializer::new(WithoutNumbers {
            inner: map,
            numbers: &mut numbers,
        }))?;
        Ok(Document { flow, numbers })
    }
}

/// The entries of a mapping except `numbers`, which is taken aside. Keys and values are read
/// by the YAML parser itself, so its errors keep their line and column.
struct WithoutNumbers<'a, A> {
    inner: A,
    numbers: &'a mut Option<Vec<String>>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for WithoutNumbers<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        let mut seed = Some(seed);
        loop {
            match self.inner.next_key_seed(KeySeed(&mut seed))? {
                None => return Ok(None),
                Some(Key::Other(key)) => return Ok(Some(key)),
                Some(Key::Numbers) if self.numbers.is_some() => return Err(de::Error::duplicate_field("numbers")),
                Some(Key::Numbers) => {
                    let list: Vec<Number> = self.inner.next_value()?;
                    *self.numbers = Some(list.into_iter().map(|Number(n)| n).collect());
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}

/// A key of the document: `numbers`, or one of the flow's, read with the flow's own seed.
enum Key<T> {
    Numbers,
    Other(T),
}

struct KeySeed<'a, K>(&'a mut Option<K>);

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, K> {
    type Value = Key<K::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for KeySeed<'_, K> {
    type Value = Key<K::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        if key == "numbers" {
            return Ok(Key::Numbers);
        }
        let seed = self.0.take().ok_or_else(|| E::custom("a key was read twice"))?;
        seed.deserialize(de::value::StrDeserializer::<E>::new(key)).map(Key::Other)
    }
}

/// A dialled number, kept as written: `0571…` and `+86…` stay text even unquoted.
struct Number(String);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a dialled number, like '4000'")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
                Ok(Number(v.to_owned()))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOW: &str = "name: f\nstart: q\nnumbers: ['4000', '+8610']\nnodes:\n  q: { type: queue, queue: general }\n";

    #[test]
    fn yaml_documents_carry_numbers_and_round_trip() {
        let doc = parse_yaml(FLOW.as_bytes()).unwrap();
        assert_eq!(doc.numbers, ["4000", "+8610"]);
        assert_eq!(doc.flow, Flow::from_yaml(&FLOW.replace("numbers: ['4000', '+8610']\n", "")).unwrap());
        let text = export_yaml(&doc.flow, &doc.numbers).unwrap();
        assert!(text.find("numbers:").unwrap() < text.find("nodes:").unwrap(), "{text}");
        let again = parse_yaml(text.as_bytes()).unwrap();
        assert_eq!((again.flow, again.numbers), (doc.flow, doc.numbers));
        // numbers are kept as written, quoted or not
        let plain = parse_yaml(b"name: f\nstart: q\nnumbers: [4000, 0571, +8610]\nnodes: {}\n").unwrap();
        assert_eq!(plain.numbers, ["4000", "0571", "+8610"]);
        // without numbers
        let bare = parse_yaml(b"name: f\nstart: q\nnodes:\n  q: { type: queue, queue: general }\n").unwrap();
        assert!(bare.numbers.is_empty());
    }

    #[test]
    fn yaml_errors_say_what_and_where() {
        let msg = |text: &str| parse_yaml(text.as_bytes()).map(|_| ()).expect_err(text);
        let e = msg("name: f\nstart: [\n");
        assert_eq!(e.code, ErrorCode::BadRequest, "{}", e.message);
        let e = msg("name: f\nstart: q\ncolour: red\nnodes: {}\n");
        assert_eq!(e.code, ErrorCode::ValidationFailed);
        assert!(e.message.contains("unknown field `colour`") && e.message.contains("line 3"), "{}", e.message);
        let e = msg("name: f\nstart: q\nnodes:\n  q: { type: dance }\n");
        assert!(e.message.contains("dance") && e.message.contains("line 4"), "{}", e.message);
        let e = msg("name: f\nstart: q\nnumbers: [{ n: 1 }]\nnodes: {}\n");
        assert!(e.message.contains("dialled number") && e.message.contains("line 3"), "{}", e.message);
        let e = msg("name: f\nnumbers: []\nnumbers: []\nstart: q\nnodes: {}\n");
        assert_eq!(e.code, ErrorCode::BadRequest, "duplicate keys are not YAML: {}", e.message);
        let e = msg("just text");
        assert_eq!(e.code, ErrorCode::ValidationFailed);
        assert!(e.message.contains("a flow"), "{}", e.message);
    }

    #[test]
    fn accept_negotiation() {
        let with = |accept: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
            wants_yaml(&h)
        };
        assert!(!wants_yaml(&HeaderMap::new()));
        assert!(with("application/yaml"));
        assert!(with("text/yaml; charset=utf-8"));
        assert!(!with("application/json"));
        assert!(!with("*/*"));
        assert!(!with("application/json, application/yaml"));
        assert!(with("application/json;q=0.5, application/yaml"));
        assert!(!with("application/yaml;q=0"));
    }
}
