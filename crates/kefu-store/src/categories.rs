//! The work-order category tree (three levels, e.g. 售后 → 产品质量 → 不新鲜): nodes with their
//! leaf defaults (type, priority, owning group, SLA targets, solutions), edited one node at a
//! time or imported and exported whole (the YAML shape of `kefu_core::service::category`).
//! A node used by work orders is deactivated, never deleted.

use crate::error::constraint_error;
use crate::rows::{parse, parse_opt, to_json, ts};
use crate::{Result, Store, StoreError, new_uuid};
use kefu_core::service::category::{CategoryNode, CategoryTree, LeafDefaults, SlaTargets};
use kefu_core::service::ticket::{Priority, TicketType};
use kefu_core::{CategoryId, TeamId, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::{HashMap, HashSet};

/// The deepest level of the tree.
pub const MAX_CATEGORY_LEVEL: u8 = 3;

/// What a new work order in a leaf category gets unless it says otherwise.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryDefaults {
    /// Default type.
    #[serde(rename = "type")]
    pub ticket_type: TicketType,
    /// Default priority (`p1` … `p4`).
    pub priority: Priority,
    /// The owning group (team) new orders go to.
    pub team_id: TeamId,
    /// SLA targets, copied onto each order created here.
    pub sla: SlaTargets,
    /// The solutions an agent may pick for an order of this category.
    #[serde(default)]
    pub solutions: Vec<String>,
}

/// One node of the tree as stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Category {
    /// Unique id.
    pub id: CategoryId,
    /// The parent node; `None` for a top-level node.
    pub parent_id: Option<CategoryId>,
    /// Name, unique among its siblings.
    pub name: String,
    /// Names from the top, joined with `/` (`售后/产品质量/不新鲜`).
    pub path: String,
    /// 1 (top) to 3.
    pub level: u8,
    /// Order among siblings.
    pub position: i64,
    /// A leaf's defaults; `None` for a node that only groups others.
    pub defaults: Option<CategoryDefaults>,
    /// The owning group's name (with `defaults`).
    pub team_name: Option<String>,
    /// Inactive nodes take no new orders and are left out of exports.
    pub active: bool,
    /// When created (epoch ms).
    pub created_at: Timestamp,
    /// When last changed (epoch ms).
    pub updated_at: Timestamp,
}

impl Category {
    /// Whether new work orders can be filed here: an active node with leaf defaults.
    pub fn takes_orders(&self) -> bool {
        self.active && self.defaults.is_some()
    }
}

/// A node to create.
#[derive(Clone, Debug)]
pub struct NewCategory {
    /// The parent; `None` for a top-level node.
    pub parent_id: Option<CategoryId>,
    /// Name, 1–64 characters, no `/`.
    pub name: String,
    /// Order among siblings; after the last one when `None`.
    pub position: Option<i64>,
    /// Leaf defaults (a node with defaults cannot get children).
    pub defaults: Option<CategoryDefaults>,
}

/// A change to a node; `None` leaves a part as it is.
#[derive(Clone, Debug, Default)]
pub struct CategoryPatch {
    /// New name.
    pub name: Option<String>,
    /// Move under another parent (`Some(None)`: to the top level); the subtree must stay
    /// within three levels.
    pub parent_id: Option<Option<CategoryId>>,
    /// New order among siblings.
    pub position: Option<i64>,
    /// Set (`Some(Some)`) or remove (`Some(None)`) the leaf defaults.
    pub defaults: Option<Option<CategoryDefaults>>,
    /// Deactivate (with the whole subtree) or reactivate (the parent must be active).
    pub active: Option<bool>,
}

/// What an import did.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Nodes that did not exist.
    pub created: u32,
    /// Nodes that existed (by path) and were rewritten.
    pub updated: u32,
    /// Nodes absent from the import but used by work orders, now inactive.
    pub deactivated: u32,
    /// Nodes absent from the import and unused, removed.
    pub deleted: u32,
}

/// Checks a node name: trimmed, 1–64 characters, no `/` and no control characters.
pub fn check_category_name(name: &str) -> Result<String> {
    let n = name.trim();
    let count = n.chars().count();
    if count == 0 || count > 64 {
        return Err(StoreError::Invalid(format!("a category name must be 1–64 characters, got {count}")));
    }
    if n.contains('/') || n.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!("category name `{n}` must not contain `/` or control characters")));
    }
    Ok(n.to_owned())
}

/// Checks leaf defaults with the tree's own rules (solutions, SLA targets).
fn check_defaults(name: &str, d: &CategoryDefaults) -> Result<()> {
    let tree = CategoryTree {
        categories: vec![CategoryNode {
            name: name.to_owned(),
            children: Vec::new(),
            defaults: Some(LeafDefaults {
                ticket_type: d.ticket_type,
                priority: d.priority,
                group: "group".to_owned(),
                sla: d.sla,
                solutions: d.solutions.clone(),
            }),
        }],
    };
    tree.validate().map_err(|problems| {
        StoreError::Invalid(problems.iter().map(|p| p.message.clone()).collect::<Vec<_>>().join("; "))
    })
}

const CAT_COLS: &str = "c.id, c.parent_id, c.name, c.level, c.position, c.ticket_type, c.priority, c.team_id, \
                        c.sla, c.solutions, c.active, c.created_at, c.updated_at, t.name AS team_name";

/// A row without its path (filled in by [`with_paths`]).
fn category_from_row(r: &AnyRow) -> Result<Category> {
    let ticket_type: Option<TicketType> = parse_opt(r, "ticket_type")?;
    let priority: Option<Priority> = parse_opt(r, "priority")?;
    let team_id: Option<TeamId> = parse_opt(r, "team_id")?;
    let sla: Option<String> = r.try_get("sla")?;
    let solutions: String = r.try_get("solutions")?;
    let defaults = match (ticket_type, priority, team_id, sla) {
        (Some(ticket_type), Some(priority), Some(team_id), Some(sla)) => Some(CategoryDefaults {
            ticket_type,
            priority,
            team_id,
            sla: serde_json::from_str(&sla).map_err(|e| StoreError::Corrupt(format!("column sla: {e}")))?,
            solutions: serde_json::from_str(&solutions)
                .map_err(|e| StoreError::Corrupt(format!("column solutions: {e}")))?,
        }),
        _ => None,
    };
    let level: i64 = r.try_get("level")?;
    Ok(Category {
        id: parse(r, "id")?,
        parent_id: parse_opt(r, "parent_id")?,
        name: r.try_get("name")?,
        path: String::new(),
        level: u8::try_from(level).map_err(|_| StoreError::Corrupt(format!("column level: {level}")))?,
        position: r.try_get("position")?,
        team_name: if defaults.is_some() { r.try_get("team_name")? } else { None },
        defaults,
        active: r.try_get::<i64, _>("active")? != 0,
        created_at: ts(r, "created_at")?,
        updated_at: ts(r, "updated_at")?,
    })
}

/// Fills each node's path and orders the list depth-first (by position, then name).
fn with_paths(mut all: Vec<Category>) -> Vec<Category> {
    all.sort_by(|a, b| (a.position, &a.name, a.id).cmp(&(b.position, &b.name, b.id)));
    let mut children: HashMap<Option<CategoryId>, Vec<usize>> = HashMap::new();
    for (i, c) in all.iter().enumerate() {
        children.entry(c.parent_id).or_default().push(i);
    }
    let mut order = Vec::with_capacity(all.len());
    // (index, parent path) — an explicit stack, pushed in reverse to visit in order
    let mut stack: Vec<(usize, String)> =
        children.get(&None).map(|v| v.iter().rev().map(|&i| (i, String::new())).collect()).unwrap_or_default();
    while let Some((i, prefix)) = stack.pop() {
        let path = if prefix.is_empty() { all[i].name.clone() } else { format!("{prefix}/{}", all[i].name) };
        if let Some(kids) = children.get(&Some(all[i].id)) {
            stack.extend(kids.iter().rev().map(|&k| (k, path.clone())));
        }
        order.push((i, path));
    }
    let mut slots: Vec<Option<Category>> = all.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(i, path)| {
            slots[i].take().map(|mut c| {
                c.path = path;
                c
            })
        })
        .collect()
}

fn parent_key(parent: Option<CategoryId>) -> String {
    parent.map(|p| p.to_string()).unwrap_or_default()
}

fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict(format!("a category named `{name}` already exists at that place in the tree"))
}

fn missing_team(team: Option<TeamId>) -> StoreError {
    match team {
        Some(t) => StoreError::Invalid(format!("team `{t}` does not exist")),
        None => StoreError::Invalid("a referenced team or category does not exist".into()),
    }
}

/// Takes SQLite's write lock first thing in a transaction, so reads that follow cannot be
/// invalidated by another writer (a no-op on PostgreSQL's row locks).
async fn lock_tree(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<()> {
    sqlx::query("UPDATE categories SET position = position WHERE id = ''").execute(&mut **tx).await?;
    Ok(())
}

async fn used_by_tickets(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: CategoryId) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 AS x FROM tickets WHERE category_id = $1 LIMIT 1")
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .is_some())
}

/// Binds the four default columns (type, priority, team, sla) and the solutions.
type DefaultCols = (Option<&'static str>, Option<&'static str>, Option<String>, Option<String>, String);

fn default_cols(d: Option<&CategoryDefaults>) -> Result<DefaultCols> {
    Ok(match d {
        Some(d) => (
            Some(d.ticket_type.as_str()),
            Some(d.priority.code()),
            Some(d.team_id.to_string()),
            Some(to_json(&d.sla)?),
            to_json(&d.solutions)?,
        ),
        None => (None, None, None, None, "[]".to_owned()),
    })
}

impl Store {
    /// The whole tree (inactive nodes too), depth-first, each node with its path.
    pub async fn category_tree(&self) -> Result<Vec<Category>> {
        let rows = sqlx::query(&format!("SELECT {CAT_COLS} FROM categories c LEFT JOIN teams t ON t.id = c.team_id"))
            .fetch_all(self.pool())
            .await?;
        Ok(with_paths(rows.iter().map(category_from_row).collect::<Result<Vec<_>>>()?))
    }

    /// One node, with its path.
    pub async fn category(&self, id: CategoryId) -> Result<Category> {
        self.category_tree()
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| StoreError::NotFound { what: "category", id: id.to_string() })
    }

    /// The ids of a node and every node below it.
    pub async fn category_subtree(&self, id: CategoryId) -> Result<Vec<CategoryId>> {
        let rows = sqlx::query(
            "SELECT id FROM categories WHERE id = $1 OR parent_id = $2 \
             OR parent_id IN (SELECT id FROM categories WHERE parent_id = $3)",
        )
        .bind(id.to_string())
        .bind(id.to_string())
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| parse(r, "id")).collect()
    }

    /// Creates a node. Its parent must exist, be at most at level 2 and carry no defaults.
    pub async fn create_category(&self, new: &NewCategory, now: Timestamp) -> Result<Category> {
        let name = check_category_name(&new.name)?;
        if let Some(d) = &new.defaults {
            check_defaults(&name, d)?;
        }
        let level = match new.parent_id {
            None => 1,
            Some(pid) => {
                let parent = self.category(pid).await.map_err(|e| match e {
                    StoreError::NotFound { .. } => {
                        StoreError::Invalid(format!("parent category `{pid}` does not exist"))
                    }
                    other => other,
                })?;
                if parent.level >= MAX_CATEGORY_LEVEL {
                    return Err(StoreError::Invalid(format!(
                        "`{}` is at level {MAX_CATEGORY_LEVEL}: the tree has at most {MAX_CATEGORY_LEVEL} levels",
                        parent.path
                    )));
                }
                if parent.defaults.is_some() {
                    return Err(StoreError::Invalid(format!(
                        "`{}` is a leaf with defaults; remove its defaults before adding sub-categories",
                        parent.path
                    )));
                }
                parent.level + 1
            }
        };
        let id = CategoryId::from_uuid(new_uuid());
        let (ty, prio, team, sla, solutions) = default_cols(new.defaults.as_ref())?;
        let key = parent_key(new.parent_id);
        let mut tx = self.pool().begin().await?;
        lock_tree(&mut tx).await?;
        let position = match new.position {
            Some(p) => p,
            None => sqlx::query("SELECT COALESCE(MAX(position), -1) + 1 AS p FROM categories WHERE parent_key = $1")
                .bind(&key)
                .fetch_one(&mut *tx)
                .await?
                .try_get("p")?,
        };
        sqlx::query(
            "INSERT INTO categories (id, parent_key, parent_id, name, level, position, ticket_type, priority, \
             team_id, sla, solutions, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12)",
        )
        .bind(id.to_string())
        .bind(&key)
        .bind(new.parent_id.map(|p| p.to_string()))
        .bind(&name)
        .bind(i64::from(level))
        .bind(position)
        .bind(ty)
        .bind(prio)
        .bind(team)
        .bind(sla)
        .bind(solutions)
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            constraint_error(e, |_| name_taken(&name), |_| missing_team(new.defaults.as_ref().map(|d| d.team_id)))
        })?;
        tx.commit().await?;
        self.category(id).await
    }

    /// Changes a node: rename, move (keeping the subtree within three levels), reorder, set or
    /// remove its defaults (only a node without sub-categories carries them), deactivate (the
    /// whole subtree) or reactivate (under an active parent).
    pub async fn update_category(&self, id: CategoryId, patch: &CategoryPatch, now: Timestamp) -> Result<Category> {
        let tree = self.category_tree().await?;
        let current = tree
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| StoreError::NotFound { what: "category", id: id.to_string() })?;
        let name = match &patch.name {
            Some(n) => check_category_name(n)?,
            None => current.name.clone(),
        };
        // the subtree below this node (ids and how many levels it spans)
        let mut below: Vec<&Category> = Vec::new();
        let mut frontier = vec![id];
        while let Some(p) = frontier.pop() {
            for c in tree.iter().filter(|c| c.parent_id == Some(p)) {
                below.push(c);
                frontier.push(c.id);
            }
        }
        let depth_below = below.iter().map(|c| c.level.saturating_sub(current.level)).max().unwrap_or(0);
        let parent_id = patch.parent_id.unwrap_or(current.parent_id);
        let parent = match parent_id {
            None => None,
            Some(pid) => Some(
                tree.iter()
                    .find(|c| c.id == pid)
                    .ok_or_else(|| StoreError::Invalid(format!("parent category `{pid}` does not exist")))?,
            ),
        };
        let level = parent.map_or(1, |p| p.level + 1);
        if parent_id != current.parent_id {
            if parent_id == Some(id) || below.iter().any(|c| Some(c.id) == parent_id) {
                return Err(StoreError::Invalid(
                    "a category cannot move under itself or its own sub-categories".into(),
                ));
            }
            if let Some(p) = parent
                && p.defaults.is_some()
            {
                return Err(StoreError::Invalid(format!(
                    "`{}` is a leaf with defaults; remove its defaults before moving sub-categories under it",
                    p.path
                )));
            }
            if level + depth_below > MAX_CATEGORY_LEVEL {
                return Err(StoreError::Invalid(format!(
                    "moving `{}` there would make the tree deeper than {MAX_CATEGORY_LEVEL} levels",
                    current.path
                )));
            }
        }
        let defaults = patch.defaults.clone().unwrap_or(current.defaults.clone());
        if let Some(d) = &defaults {
            if !below.is_empty() && patch.defaults.is_some() {
                return Err(StoreError::Invalid(format!(
                    "`{}` has sub-categories; only a leaf carries defaults",
                    current.path
                )));
            }
            check_defaults(&name, d)?;
        }
        let active = patch.active.unwrap_or(current.active);
        if active && !current.active && parent.is_some_and(|p| !p.active) {
            return Err(StoreError::Invalid(format!(
                "the parent of `{}` is inactive; reactivate it first",
                current.path
            )));
        }
        let (ty, prio, team, sla, solutions) = default_cols(defaults.as_ref())?;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE categories SET parent_key = $1, parent_id = $2, name = $3, level = $4, position = $5, \
             ticket_type = $6, priority = $7, team_id = $8, sla = $9, solutions = $10, active = $11, updated_at = $12 \
             WHERE id = $13",
        )
        .bind(parent_key(parent_id))
        .bind(parent_id.map(|p| p.to_string()))
        .bind(&name)
        .bind(i64::from(level))
        .bind(patch.position.unwrap_or(current.position))
        .bind(ty)
        .bind(prio)
        .bind(team)
        .bind(sla)
        .bind(solutions)
        .bind(i64::from(active))
        .bind(now.as_millis())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            constraint_error(e, |_| name_taken(&name), |_| missing_team(defaults.as_ref().map(|d| d.team_id)))
        })?;
        let shift = i64::from(level) - i64::from(current.level);
        for c in &below {
            let deactivate = patch.active == Some(false);
            if shift != 0 || deactivate {
                sqlx::query(
                    "UPDATE categories SET level = level + $1, active = CASE WHEN $2 = 1 THEN 0 ELSE active END, \
                     updated_at = $3 WHERE id = $4",
                )
                .bind(shift)
                .bind(i64::from(deactivate))
                .bind(now.as_millis())
                .bind(c.id.to_string())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.category(id).await
    }

    /// Deletes a node without sub-categories that no work order uses; otherwise 409 (deactivate
    /// it instead).
    pub async fn delete_category(&self, id: CategoryId) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        lock_tree(&mut tx).await?;
        let children: i64 = sqlx::query("SELECT COUNT(*) AS n FROM categories WHERE parent_id = $1")
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if children > 0 {
            return Err(StoreError::Conflict(format!(
                "the category has {children} sub-categories; delete or move them first, or deactivate it (active: false)"
            )));
        }
        if used_by_tickets(&mut tx, id).await? {
            return Err(StoreError::Conflict(
                "work orders use this category; deactivate it (active: false) instead of deleting it".into(),
            ));
        }
        let done = sqlx::query("DELETE FROM categories WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                let used = |_: &str| StoreError::Conflict("the category is still in use; deactivate it instead".into());
                constraint_error(e, used, used)
            })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "category", id: id.to_string() });
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the tree with `tree` in one transaction, matching nodes by path: existing
    /// nodes are rewritten (and reactivated), new ones created; nodes absent from the import
    /// are deactivated when work orders use them (or a node below them stays), deleted
    /// otherwise. `teams` maps the leaves' group names to team ids; the tree must be valid
    /// and every group known (else nothing changes).
    pub async fn import_categories(
        &self,
        tree: &CategoryTree,
        teams: &HashMap<String, TeamId>,
        now: Timestamp,
    ) -> Result<ImportSummary> {
        let mut problems: Vec<String> = match tree.validate() {
            Ok(()) => Vec::new(),
            Err(ps) => ps.iter().map(|p| p.to_string()).collect(),
        };
        for (path, leaf) in tree.leaves() {
            if !teams.contains_key(&leaf.group) {
                problems.push(format!("{}: unknown group `{}`", path.join("/"), leaf.group));
            }
        }
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems.join("; ")));
        }
        let mut tx = self.pool().begin().await?;
        lock_tree(&mut tx).await?;
        let rows = sqlx::query("SELECT id, parent_id, name, active FROM categories").fetch_all(&mut *tx).await?;
        let mut existing: HashMap<(Option<CategoryId>, String), CategoryId> = HashMap::new();
        let mut parents: Vec<(CategoryId, Option<CategoryId>, bool)> = Vec::new();
        for r in &rows {
            let id: CategoryId = parse(r, "id")?;
            let parent: Option<CategoryId> = parse_opt(r, "parent_id")?;
            existing.insert((parent, r.try_get("name")?), id);
            parents.push((id, parent, r.try_get::<i64, _>("active")? != 0));
        }
        let mut summary = ImportSummary::default();
        let mut kept: HashSet<CategoryId> = HashSet::new();
        // (node, parent id, level), depth-first
        let mut stack: Vec<(&CategoryNode, Option<CategoryId>, u8, i64)> =
            tree.categories.iter().enumerate().rev().map(|(i, n)| (n, None, 1u8, i as i64)).collect();
        while let Some((node, parent, level, position)) = stack.pop() {
            let name = node.name.trim().to_owned();
            let defaults = match &node.defaults {
                Some(d) if node.children.is_empty() => Some(CategoryDefaults {
                    ticket_type: d.ticket_type,
                    priority: d.priority,
                    team_id: teams[&d.group],
                    sla: d.sla,
                    solutions: d.solutions.clone(),
                }),
                _ => None,
            };
            let (ty, prio, team, sla, solutions) = default_cols(defaults.as_ref())?;
            let id = match existing.get(&(parent, name.clone())) {
                Some(&id) => {
                    sqlx::query(
                        "UPDATE categories SET level = $1, position = $2, ticket_type = $3, priority = $4, team_id = $5, \
                         sla = $6, solutions = $7, active = 1, updated_at = $8 WHERE id = $9",
                    )
                    .bind(i64::from(level))
                    .bind(position)
                    .bind(ty)
                    .bind(prio)
                    .bind(team)
                    .bind(sla)
                    .bind(solutions)
                    .bind(now.as_millis())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                    summary.updated += 1;
                    id
                }
                None => {
                    let id = CategoryId::from_uuid(new_uuid());
                    sqlx::query(
                        "INSERT INTO categories (id, parent_key, parent_id, name, level, position, ticket_type, priority, \
                         team_id, sla, solutions, active, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $12)",
                    )
                    .bind(id.to_string())
                    .bind(parent_key(parent))
                    .bind(parent.map(|p| p.to_string()))
                    .bind(&name)
                    .bind(i64::from(level))
                    .bind(position)
                    .bind(ty)
                    .bind(prio)
                    .bind(team)
                    .bind(sla)
                    .bind(solutions)
                    .bind(now.as_millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| constraint_error(e, |_| name_taken(&name), |_| missing_team(None)))?;
                    summary.created += 1;
                    id
                }
            };
            kept.insert(id);
            for (i, child) in node.children.iter().enumerate().rev() {
                stack.push((child, Some(id), level + 1, i as i64));
            }
        }
        // nodes left out: deepest first, so a parent sees whether a child stayed
        let level_of = |id: CategoryId| -> usize {
            let mut depth = 0;
            let mut cur = Some(id);
            while let Some(c) = cur {
                depth += 1;
                cur = parents.iter().find(|(i, _, _)| *i == c).and_then(|(_, p, _)| *p);
                if depth > 8 {
                    break;
                }
            }
            depth
        };
        let mut gone: Vec<(usize, CategoryId, Option<CategoryId>, bool)> = parents
            .iter()
            .filter(|(id, _, _)| !kept.contains(id))
            .map(|&(id, parent, active)| (level_of(id), id, parent, active))
            .collect();
        gone.sort_by_key(|g| std::cmp::Reverse(g.0));
        let mut remaining: HashSet<CategoryId> = parents.iter().map(|(id, _, _)| *id).collect();
        for (_, id, _, active) in gone {
            let has_child = parents.iter().any(|(c, p, _)| *p == Some(id) && remaining.contains(c));
            if has_child || used_by_tickets(&mut tx, id).await? {
                if active {
                    sqlx::query("UPDATE categories SET active = 0, updated_at = $1 WHERE id = $2")
                        .bind(now.as_millis())
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await?;
                    summary.deactivated += 1;
                }
            } else {
                sqlx::query("DELETE FROM categories WHERE id = $1").bind(id.to_string()).execute(&mut *tx).await?;
                remaining.remove(&id);
                summary.deleted += 1;
            }
        }
        tx.commit().await?;
        Ok(summary)
    }

    /// The active tree in the import shape (leaves name their group by team name).
    pub async fn export_categories(&self) -> Result<CategoryTree> {
        let all: Vec<Category> = self.category_tree().await?.into_iter().filter(|c| c.active).collect();
        fn build(all: &[Category], parent: Option<CategoryId>) -> Vec<CategoryNode> {
            all.iter()
                .filter(|c| c.parent_id == parent)
                .map(|c| CategoryNode {
                    name: c.name.clone(),
                    children: build(all, Some(c.id)),
                    defaults: c.defaults.as_ref().map(|d| LeafDefaults {
                        ticket_type: d.ticket_type,
                        priority: d.priority,
                        group: c.team_name.clone().unwrap_or_default(),
                        sla: d.sla,
                        solutions: d.solutions.clone(),
                    }),
                })
                .collect()
        }
        Ok(CategoryTree { categories: build(&all, None) })
    }
}
