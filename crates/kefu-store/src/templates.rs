//! Service-process templates (TK-6): on-site repair, carry-in, mail-in, return / exchange /
//! refund — each a list of steps an order goes through and the extra fields it carries,
//! with the rules a template and an order's field values must follow.

use crate::error::constraint_error;
use crate::rows::{json, parse, to_json, ts};
use crate::{Result, Store, StoreError, new_uuid};
use kefu_core::service::calendar::Date;
use kefu_core::{TemplateId, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashSet;

/// Most steps in a template.
pub const MAX_TEMPLATE_STEPS: usize = 30;
/// Most fields in a template.
pub const MAX_TEMPLATE_FIELDS: usize = 50;
/// Most options of a choice field.
pub const MAX_FIELD_OPTIONS: usize = 50;
/// Longest text value of a template field, in characters.
pub const MAX_FIELD_TEXT_CHARS: usize = 2000;

/// One step of a service process.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateStep {
    /// Stable key (`visit`, `repair`, …): letters, digits, `_` and `-`, 1–32 characters.
    pub key: String,
    /// Name shown to people (上门, 维修 …), 1–64 characters.
    pub name: String,
    /// Hours after the order's creation by which this step is due (e.g. a visit within 24 h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_hours: Option<u32>,
}

/// What a template field holds: the same kinds as customers' custom fields.
pub use kefu_core::service::customer::FieldKind;

/// One extra field an order made from the template carries.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateField {
    /// Stable key in the order's `template_fields`: letters, digits, `_` and `-`, 1–32 characters.
    pub key: String,
    /// Label shown to people, 1–64 characters.
    pub label: String,
    /// What the value is.
    pub kind: FieldKind,
    /// The allowed values of a `choice` field (none for other kinds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Whether an order must give a value.
    #[serde(default)]
    pub required: bool,
}

/// A stored service-process template.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TicketTemplate {
    /// Unique id.
    pub id: TemplateId,
    /// Unique name (上门维修, 退换货 …).
    pub name: String,
    /// The steps, in order; a new order starts at the first.
    pub steps: Vec<TemplateStep>,
    /// The extra fields.
    pub fields: Vec<TemplateField>,
    /// When created (epoch ms).
    pub created_at: Timestamp,
    /// When last changed (epoch ms).
    pub updated_at: Timestamp,
}

/// A template to create.
#[derive(Clone, Debug)]
pub struct NewTemplate {
    /// Unique name.
    pub name: String,
    /// The steps, at least one.
    pub steps: Vec<TemplateStep>,
    /// The extra fields.
    pub fields: Vec<TemplateField>,
}

/// A change to a template; `None` leaves a part as it is.
#[derive(Clone, Debug, Default)]
pub struct TemplatePatch {
    /// New name.
    pub name: Option<String>,
    /// New steps.
    pub steps: Option<Vec<TemplateStep>>,
    /// New fields.
    pub fields: Option<Vec<TemplateField>>,
}

fn valid_key(key: &str) -> bool {
    let n = key.chars().count();
    (1..=32).contains(&n) && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn check_label(problems: &mut Vec<String>, what: &str, text: &str) {
    let n = text.trim().chars().count();
    if n == 0 || n > 64 {
        problems.push(format!("{what} must be 1–64 characters, got {n}"));
    } else if text.chars().any(char::is_control) {
        problems.push(format!("{what} must not contain control characters"));
    }
}

/// Every problem with a template's name, steps and fields (empty when it is valid).
pub fn template_problems(name: &str, steps: &[TemplateStep], fields: &[TemplateField]) -> Vec<String> {
    let mut problems = Vec::new();
    check_label(&mut problems, "name", name);
    if steps.is_empty() {
        problems.push("a template needs at least one step".into());
    }
    if steps.len() > MAX_TEMPLATE_STEPS {
        problems.push(format!("a template has at most {MAX_TEMPLATE_STEPS} steps, got {}", steps.len()));
    }
    let mut keys = HashSet::new();
    for (i, s) in steps.iter().enumerate() {
        if !valid_key(&s.key) {
            problems.push(format!("steps[{i}].key `{}` must be 1–32 letters, digits, `_` or `-`", s.key));
        } else if !keys.insert(s.key.as_str()) {
            problems.push(format!("steps[{i}].key `{}` is used twice", s.key));
        }
        check_label(&mut problems, &format!("steps[{i}].name"), &s.name);
        if s.due_hours == Some(0) {
            problems.push(format!("steps[{i}].due_hours must be at least 1"));
        }
    }
    if fields.len() > MAX_TEMPLATE_FIELDS {
        problems.push(format!("a template has at most {MAX_TEMPLATE_FIELDS} fields, got {}", fields.len()));
    }
    let mut keys = HashSet::new();
    for (i, f) in fields.iter().enumerate() {
        if !valid_key(&f.key) {
            problems.push(format!("fields[{i}].key `{}` must be 1–32 letters, digits, `_` or `-`", f.key));
        } else if !keys.insert(f.key.as_str()) {
            problems.push(format!("fields[{i}].key `{}` is used twice", f.key));
        }
        check_label(&mut problems, &format!("fields[{i}].label"), &f.label);
        match f.kind {
            FieldKind::Choice => {
                if f.options.is_empty() || f.options.len() > MAX_FIELD_OPTIONS {
                    problems.push(format!("fields[{i}] (choice) needs 1–{MAX_FIELD_OPTIONS} options"));
                }
                let mut seen = HashSet::new();
                for o in &f.options {
                    check_label(&mut problems, &format!("fields[{i}].options"), o);
                    if !seen.insert(o.as_str()) {
                        problems.push(format!("fields[{i}].options lists `{o}` twice"));
                    }
                }
            }
            _ if !f.options.is_empty() => {
                problems.push(format!("fields[{i}] has options but only choice fields take them"));
            }
            _ => {}
        }
    }
    problems
}

impl TicketTemplate {
    /// Whether `key` is one of this template's steps.
    pub fn has_step(&self, key: &str) -> bool {
        self.steps.iter().any(|s| s.key == key)
    }

    /// Every problem with an order's field values: unknown keys, missing required fields,
    /// values of the wrong kind (empty when they are valid).
    pub fn value_problems(&self, values: &Map<String, Value>) -> Vec<String> {
        let mut problems = Vec::new();
        for key in values.keys() {
            if !self.fields.iter().any(|f| &f.key == key) {
                problems.push(format!(
                    "template `{}` has no field `{}`",
                    self.name,
                    key.chars().take(32).collect::<String>()
                ));
            }
        }
        for f in &self.fields {
            match values.get(&f.key) {
                None | Some(Value::Null) => {
                    if f.required {
                        problems.push(format!("field `{}` ({}) is required", f.key, f.label));
                    }
                }
                Some(v) => {
                    if let Err(m) = check_value(f, v) {
                        problems.push(format!("field `{}` ({}): {m}", f.key, f.label));
                    }
                }
            }
        }
        problems
    }
}

fn check_value(f: &TemplateField, v: &Value) -> std::result::Result<(), String> {
    match (f.kind, v) {
        (FieldKind::Text, Value::String(s)) => {
            let n = s.chars().count();
            if n > MAX_FIELD_TEXT_CHARS {
                return Err(format!("at most {MAX_FIELD_TEXT_CHARS} characters, got {n}"));
            }
            Ok(())
        }
        (FieldKind::Number, Value::Number(_)) => Ok(()),
        (FieldKind::Date, Value::String(s)) => {
            s.parse::<Date>().map(|_| ()).map_err(|_| format!("`{}` is not a date (YYYY-MM-DD)", clip(s)))
        }
        (FieldKind::Choice, Value::String(s)) => {
            if f.options.iter().any(|o| o == s) {
                Ok(())
            } else {
                Err(format!("`{}` is not one of {}", clip(s), f.options.join(", ")))
            }
        }
        (FieldKind::Text, _) => Err("expected text".into()),
        (FieldKind::Number, _) => Err("expected a number".into()),
        (FieldKind::Date, _) => Err("expected a date string (YYYY-MM-DD)".into()),
        (FieldKind::Choice, _) => Err("expected one of the options as a string".into()),
    }
}

fn clip(s: &str) -> String {
    s.chars().take(32).collect()
}

const TEMPLATE_COLS: &str = "id, name, steps, fields, created_at, updated_at";

fn template_from_row(r: &AnyRow) -> Result<TicketTemplate> {
    Ok(TicketTemplate {
        id: parse(r, "id")?,
        name: r.try_get("name")?,
        steps: json(r, "steps")?,
        fields: json(r, "fields")?,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

fn invalid(problems: Vec<String>) -> StoreError {
    StoreError::Invalid(problems.join("; "))
}

impl Store {
    /// Creates a template; a taken name is a conflict, an invalid one lists every problem.
    pub async fn create_template(&self, new: &NewTemplate, now: Timestamp) -> Result<TicketTemplate> {
        let name = new.name.trim();
        let problems = template_problems(name, &new.steps, &new.fields);
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let id = TemplateId::from_uuid(new_uuid());
        sqlx::query(&format!("INSERT INTO ticket_templates ({TEMPLATE_COLS}) VALUES ($1, $2, $3, $4, $5, $5)"))
            .bind(id.to_string())
            .bind(name)
            .bind(to_json(&new.steps)?)
            .bind(to_json(&new.fields)?)
            .bind(now.as_millis())
            .execute(self.pool())
            .await
            .map_err(|e| {
                let taken = |_: &str| StoreError::Conflict(format!("a template named `{name}` already exists"));
                constraint_error(e, taken, |d| StoreError::Invalid(d.to_owned()))
            })?;
        self.template(id).await
    }

    /// A template by id.
    pub async fn template(&self, id: TemplateId) -> Result<TicketTemplate> {
        let row = sqlx::query(&format!("SELECT {TEMPLATE_COLS} FROM ticket_templates WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound { what: "template", id: id.to_string() })?;
        template_from_row(&row)
    }

    /// Every template, by name.
    pub async fn list_templates(&self) -> Result<Vec<TicketTemplate>> {
        let rows = sqlx::query(&format!("SELECT {TEMPLATE_COLS} FROM ticket_templates ORDER BY name, id"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(template_from_row).collect()
    }

    /// Changes a template. Orders already made from it keep their step and values; a step
    /// still in use by an order may not be removed (409).
    pub async fn update_template(
        &self,
        id: TemplateId,
        patch: &TemplatePatch,
        now: Timestamp,
    ) -> Result<TicketTemplate> {
        let current = self.template(id).await?;
        let name = patch.name.as_deref().map_or(current.name.clone(), |n| n.trim().to_owned());
        let steps = patch.steps.clone().unwrap_or(current.steps.clone());
        let fields = patch.fields.clone().unwrap_or(current.fields.clone());
        let problems = template_problems(&name, &steps, &fields);
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE ticket_templates SET name = $1, steps = $2, fields = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(&name)
        .bind(to_json(&steps)?)
        .bind(to_json(&fields)?)
        .bind(now.as_millis())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            let taken = |_: &str| StoreError::Conflict(format!("a template named `{name}` already exists"));
            constraint_error(e, taken, |d| StoreError::Invalid(d.to_owned()))
        })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "template", id: id.to_string() });
        }
        let in_use = sqlx::query("SELECT DISTINCT template_step FROM tickets WHERE template_id = $1")
            .bind(id.to_string())
            .fetch_all(&mut *tx)
            .await?;
        for row in in_use {
            let step: Option<String> = row.try_get("template_step")?;
            if let Some(step) = step
                && !steps.iter().any(|s| s.key == step)
            {
                return Err(StoreError::Conflict(format!(
                    "step `{step}` is the current step of work orders made from this template; keep it"
                )));
            }
        }
        tx.commit().await?;
        self.template(id).await
    }

    /// Deletes a template no order was made from (409 otherwise).
    pub async fn delete_template(&self, id: TemplateId) -> Result<()> {
        let done = sqlx::query("DELETE FROM ticket_templates WHERE id = $1")
            .bind(id.to_string())
            .execute(self.pool())
            .await
            .map_err(|e| {
                let used = |_: &str| {
                    StoreError::Conflict("work orders were made from this template; it cannot be deleted".into())
                };
                constraint_error(e, used, used)
            })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "template", id: id.to_string() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(key: &str, kind: FieldKind, options: &[&str], required: bool) -> TemplateField {
        TemplateField {
            key: key.into(),
            label: key.into(),
            kind,
            options: options.iter().map(|s| (*s).to_owned()).collect(),
            required,
        }
    }

    fn template() -> TicketTemplate {
        TicketTemplate {
            id: TemplateId::from_uuid(uuid::Uuid::nil()),
            name: "上门维修".into(),
            steps: vec![TemplateStep { key: "visit".into(), name: "上门".into(), due_hours: Some(24) }],
            fields: vec![
                field("address", FieldKind::Text, &[], true),
                field("units", FieldKind::Number, &[], false),
                field("visit_on", FieldKind::Date, &[], false),
                field("payer", FieldKind::Choice, &["customer", "company"], false),
            ],
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn values_are_checked_by_kind() {
        let t = template();
        let ok = serde_json::json!({"address": "x", "units": 3, "visit_on": "2026-10-01", "payer": "company"});
        assert_eq!(t.value_problems(ok.as_object().unwrap()), Vec::<String>::new());
        let bad = serde_json::json!({"units": "3", "visit_on": "2026-13-01", "payer": "boss", "extra": 1});
        let problems = t.value_problems(bad.as_object().unwrap());
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("no field `extra`")));
        assert!(problems.iter().any(|p| p.contains("`address` (address) is required")));
        assert!(problems.iter().any(|p| p.contains("`units`") && p.contains("number")));
        assert!(problems.iter().any(|p| p.contains("`visit_on`")));
        assert!(problems.iter().any(|p| p.contains("`boss` is not one of customer, company")));
    }

    #[test]
    fn template_rules() {
        let t = template();
        assert!(template_problems(&t.name, &t.steps, &t.fields).is_empty());
        let problems = template_problems(
            "",
            &[
                TemplateStep { key: "a b".into(), name: "x".into(), due_hours: Some(0) },
                TemplateStep { key: "ok".into(), name: "x".into(), due_hours: None },
                TemplateStep { key: "ok".into(), name: "x".into(), due_hours: None },
            ],
            &[field("c", FieldKind::Choice, &[], false), field("t", FieldKind::Text, &["x"], false)],
        );
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert!(template_problems("x", &[], &[]).iter().any(|p| p.contains("at least one step")));
    }
}
