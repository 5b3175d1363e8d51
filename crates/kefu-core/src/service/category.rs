//! The work-order category tree (up to three levels, e.g. 售后 → 产品质量 → 不新鲜): each leaf
//! carries the defaults a new order takes — type, priority, owning group, SLA targets and the
//! list of solutions. The serde form is the YAML the admin imports and exports.

use super::ticket::{Priority, TicketType};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The deepest a category may nest (three levels).
pub const MAX_DEPTH: usize = 3;
/// The longest category, group or solution name, in characters.
pub const NAME_MAX_CHARS: usize = 64;
/// The most solutions a leaf may list.
pub const MAX_SOLUTIONS: usize = 20;

/// The time limits of a category (TK-2), in minutes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaTargets {
    /// Minutes until the first response is due.
    pub first_response_mins: u32,
    /// Progress must be noted at least this often while the order is open (e.g. 180).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_every_mins: Option<u32>,
    /// Minutes until the order must be resolved.
    pub resolution_mins: u32,
    /// Count only the center's business hours (else the clock runs around the clock).
    #[serde(default)]
    pub business_hours: bool,
}

/// What a new work order in a leaf category starts with.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafDefaults {
    /// The default type, written `type`.
    #[serde(rename = "type")]
    pub ticket_type: TicketType,
    /// The default priority (`p1` … `p4`).
    pub priority: Priority,
    /// The owning group (team name).
    pub group: String,
    /// The time limits.
    pub sla: SlaTargets,
    /// The solutions an agent picks from (multi-select).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub solutions: Vec<String>,
}

/// One category: either a branch with children, or a leaf with defaults.
///
/// ```yaml
/// - name: 咨询
///   children:
///     - name: 使用方法
///       type: consultation
///       priority: p3
///       group: 一线客服
///       sla: { first_response_mins: 5, resolution_mins: 5, update_every_mins: 180 }
///       solutions: [提供操作手册, 视频指引]
/// ```
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawNode")]
pub struct CategoryNode {
    /// The name, unique among its siblings, without `/`.
    pub name: String,
    /// Sub-categories (empty for a leaf).
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<CategoryNode>,
    /// The leaf's defaults (none for a branch).
    #[serde(flatten)]
    pub defaults: Option<LeafDefaults>,
}

/// The YAML node as written: leaf fields optional, checked as a group.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    name: String,
    #[serde(default)]
    children: Vec<CategoryNode>,
    #[serde(rename = "type")]
    ticket_type: Option<TicketType>,
    priority: Option<Priority>,
    group: Option<String>,
    sla: Option<SlaTargets>,
    solutions: Option<Vec<String>>,
}

impl TryFrom<RawNode> for CategoryNode {
    type Error = String;

    fn try_from(r: RawNode) -> Result<Self, Self::Error> {
        let defaults = match (r.ticket_type, r.priority, r.group, r.sla, r.solutions) {
            (None, None, None, None, None) => None,
            (Some(ticket_type), Some(priority), Some(group), Some(sla), solutions) => {
                Some(LeafDefaults { ticket_type, priority, group, sla, solutions: solutions.unwrap_or_default() })
            }
            (t, p, g, s, _) => {
                let missing: Vec<&str> =
                    [("type", t.is_none()), ("priority", p.is_none()), ("group", g.is_none()), ("sla", s.is_none())]
                        .into_iter()
                        .filter_map(|(k, m)| m.then_some(k))
                        .collect();
                return Err(format!(
                    "category `{}`: a leaf needs type, priority, group and sla; missing {}",
                    r.name,
                    missing.join(", ")
                ));
            }
        };
        Ok(CategoryNode { name: r.name, children: r.children, defaults })
    }
}

/// The whole tree, as imported and exported.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryTree {
    /// The top-level categories.
    #[serde(default)]
    pub categories: Vec<CategoryNode>,
}

/// Something wrong at one place in the tree.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryProblem {
    /// Where: the names from the top, joined by `/` (e.g. `售后/产品质量/不新鲜`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for CategoryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

/// Checks a display name: 1..=64 characters, trimmed, no control characters (and no `/` if `no_slash`).
fn name_problem(what: &str, name: &str, no_slash: bool) -> Option<String> {
    let chars = name.chars().count();
    if name.trim().is_empty() {
        Some(format!("{what} must not be empty"))
    } else if chars > NAME_MAX_CHARS {
        Some(format!("{what} `{name}` is {chars} characters; at most {NAME_MAX_CHARS} are allowed"))
    } else if name.trim() != name {
        Some(format!("{what} `{name}` has spaces at its start or end"))
    } else if name.chars().any(char::is_control) {
        Some(format!("{what} must not contain control characters"))
    } else if no_slash && name.contains('/') {
        Some(format!("{what} `{name}` must not contain `/`"))
    } else {
        None
    }
}

fn check_defaults(d: &LeafDefaults, problem: &mut dyn FnMut(String)) {
    if let Some(p) = name_problem("group", &d.group, false) {
        problem(p);
    }
    let sla = &d.sla;
    if sla.first_response_mins == 0 {
        problem("sla.first_response_mins must be greater than 0".to_owned());
    }
    if sla.resolution_mins < sla.first_response_mins {
        problem(format!(
            "sla.resolution_mins ({}) must be at least sla.first_response_mins ({})",
            sla.resolution_mins, sla.first_response_mins
        ));
    }
    if sla.update_every_mins == Some(0) {
        problem("sla.update_every_mins must be greater than 0 (or left out)".to_owned());
    }
    if d.solutions.len() > MAX_SOLUTIONS {
        problem(format!("{} solutions listed; at most {MAX_SOLUTIONS} are allowed", d.solutions.len()));
    }
    let mut seen = BTreeSet::new();
    for s in &d.solutions {
        if let Some(p) = name_problem("a solution", s, false) {
            problem(p);
        } else if !seen.insert(s.as_str()) {
            problem(format!("solution `{s}` is listed twice"));
        }
    }
}

fn check_level(nodes: &[CategoryNode], parent: &str, depth: usize, out: &mut Vec<CategoryProblem>) {
    let mut names = BTreeSet::new();
    for node in nodes {
        let path = if parent.is_empty() { node.name.clone() } else { format!("{parent}/{}", node.name) };
        let mut problem = |message: String| out.push(CategoryProblem { path: path.clone(), message });
        if let Some(p) = name_problem("the name", &node.name, true) {
            problem(p);
        } else if !names.insert(node.name.as_str()) {
            problem(format!("another category at this level is already called `{}`", node.name));
        }
        if depth > MAX_DEPTH {
            problem(format!("categories nest at most {MAX_DEPTH} levels deep"));
            continue;
        }
        match (&node.defaults, node.children.is_empty()) {
            (Some(_), false) => problem(
                "a category with sub-categories cannot have leaf defaults (type, priority, group, sla, solutions)"
                    .to_owned(),
            ),
            (None, true) => problem("a leaf category needs type, priority, group and sla".to_owned()),
            (Some(d), true) => check_defaults(d, &mut problem),
            (None, false) => {}
        }
        check_level(&node.children, &path, depth + 1, out);
    }
}

impl CategoryTree {
    /// Every problem in the tree at once, or `Ok` if none: depth at most 3; branches without
    /// defaults, leaves with them; names 1..=64 characters, unique among siblings, no `/`;
    /// at most 20 distinct solutions of 1..=64 characters; `resolution ≥ first response > 0`.
    pub fn validate(&self) -> Result<(), Vec<CategoryProblem>> {
        let mut out = Vec::new();
        check_level(&self.categories, "", 1, &mut out);
        if out.is_empty() { Ok(()) } else { Err(out) }
    }

    /// Every leaf with its path from the top (names), depth first in file order.
    pub fn leaves(&self) -> impl Iterator<Item = (Vec<&str>, &LeafDefaults)> {
        fn walk<'a>(
            nodes: &'a [CategoryNode],
            path: &mut Vec<&'a str>,
            out: &mut Vec<(Vec<&'a str>, &'a LeafDefaults)>,
        ) {
            for node in nodes {
                path.push(&node.name);
                if node.children.is_empty() {
                    if let Some(d) = &node.defaults {
                        out.push((path.clone(), d));
                    }
                } else {
                    walk(&node.children, path, out);
                }
                path.pop();
            }
        }
        let mut out = Vec::new();
        walk(&self.categories, &mut Vec::new(), &mut out);
        out.into_iter()
    }

    /// The node at `path` (names from the top), if any.
    pub fn find(&self, path: &[&str]) -> Option<&CategoryNode> {
        let (first, rest) = path.split_first()?;
        let mut node = self.categories.iter().find(|n| n.name == *first)?;
        for name in rest {
            node = node.children.iter().find(|n| n.name == *name)?;
        }
        Some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's classification and time-limit table (表2), as an admin would write it.
    const SEED: &str = r#"
categories:
  - name: 咨询
    children:
      - name: 产品功能
        children:
          - name: 使用方法
            type: consultation
            priority: p3
            group: 一线客服
            sla: { first_response_mins: 5, resolution_mins: 5, update_every_mins: 180 }
            solutions: [提供操作手册, 视频指引]
      - name: 物流查询
        type: consultation
        priority: p3
        group: 一线客服
        sla: { first_response_mins: 3, resolution_mins: 3 }
        solutions: [查询物流系统并告知结果]
  - name: 投诉
    children:
      - name: 产品质量
        children:
          - name: 不新鲜
            type: complaint
            priority: p2
            group: 售后组
            sla: { first_response_mins: 30, resolution_mins: 1440, update_every_mins: 180, business_hours: true }
            solutions: [检测, 退换货, 补偿方案]
      - name: 服务态度
        type: complaint
        priority: p2
        group: 主管
        sla: { first_response_mins: 30, resolution_mins: 720, update_every_mins: 180 }
        solutions: [沟通致歉, 责任人培训]
  - name: 紧急
    children:
      - name: 账户安全
        type: emergency
        priority: p1
        group: 主管
        sla: { first_response_mins: 10, resolution_mins: 10 }
        solutions: [冻结账户, 联系客户核实]
      - name: 系统故障
        type: emergency
        priority: p1
        group: 技术组
        sla: { first_response_mins: 5, resolution_mins: 5 }
        solutions: [启用备用系统, 公告通知]
"#;

    fn seed() -> CategoryTree {
        serde_norway::from_str(SEED).unwrap()
    }

    fn leaf(name: &str) -> CategoryNode {
        CategoryNode {
            name: name.to_owned(),
            children: Vec::new(),
            defaults: Some(LeafDefaults {
                ticket_type: TicketType::Consultation,
                priority: Priority::P4,
                group: "一线客服".to_owned(),
                sla: SlaTargets {
                    first_response_mins: 5,
                    update_every_mins: None,
                    resolution_mins: 60,
                    business_hours: false,
                },
                solutions: vec!["告知结果".to_owned()],
            }),
        }
    }

    fn branch(name: &str, children: Vec<CategoryNode>) -> CategoryNode {
        CategoryNode { name: name.to_owned(), children, defaults: None }
    }

    fn problems(tree: &CategoryTree) -> Vec<String> {
        tree.validate().unwrap_err().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_seed_table_reads_validates_and_lists_its_leaves() {
        let tree = seed();
        assert_eq!(tree.validate(), Ok(()));
        let leaves: Vec<(String, u32, &str)> =
            tree.leaves().map(|(path, d)| (path.join("/"), d.sla.resolution_mins, d.group.as_str())).collect();
        assert_eq!(
            leaves,
            [
                ("咨询/产品功能/使用方法".to_owned(), 5, "一线客服"),
                ("咨询/物流查询".to_owned(), 3, "一线客服"),
                ("投诉/产品质量/不新鲜".to_owned(), 1_440, "售后组"),
                ("投诉/服务态度".to_owned(), 720, "主管"),
                ("紧急/账户安全".to_owned(), 10, "主管"),
                ("紧急/系统故障".to_owned(), 5, "技术组"),
            ]
        );
        let fresh = tree.find(&["投诉", "产品质量", "不新鲜"]).and_then(|n| n.defaults.as_ref()).unwrap();
        assert_eq!(fresh.ticket_type, TicketType::Complaint);
        assert_eq!(fresh.priority, Priority::P2);
        assert!(fresh.sla.business_hours);
        assert_eq!(fresh.sla.update_every_mins, Some(180));
        assert_eq!(fresh.solutions, ["检测", "退换货", "补偿方案"]);
        assert!(!tree.find(&["咨询", "物流查询"]).unwrap().defaults.as_ref().unwrap().sla.business_hours);
        assert!(tree.find(&["咨询", "不存在"]).is_none());
        assert!(tree.find(&[]).is_none());
    }

    #[test]
    fn the_tree_round_trips_through_yaml_and_json() {
        let tree = seed();
        let yaml = serde_norway::to_string(&tree).unwrap();
        assert!(yaml.contains("type: complaint") && yaml.contains("priority: p2"), "{yaml}");
        assert!(!yaml.contains("defaults"), "leaf fields are flattened: {yaml}");
        assert_eq!(serde_norway::from_str::<CategoryTree>(&yaml).unwrap(), tree);
        let json = serde_json::to_string(&tree).unwrap();
        assert_eq!(serde_json::from_str::<CategoryTree>(&json).unwrap(), tree);
        let value = serde_json::to_value(&tree).unwrap();
        assert!(value["categories"][0].get("type").is_none(), "branches carry no leaf fields");
        assert_eq!(value["categories"][0]["children"][1]["sla"]["first_response_mins"], 3);
    }

    #[test]
    fn half_a_leaf_or_unknown_keys_are_rejected_when_read() {
        let err = serde_norway::from_str::<CategoryTree>(
            "categories:\n  - name: 咨询\n    type: consultation\n    group: x\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("category `咨询`: a leaf needs type, priority, group and sla; missing priority, sla"),
            "{err}"
        );
        assert!(serde_norway::from_str::<CategoryTree>("categories:\n  - name: a\n    colour: red\n").is_err());
        assert!(serde_norway::from_str::<CategoryTree>("categorys: []\n").is_err());
        let err = serde_json::from_str::<CategoryTree>(
            r#"{"categories":[{"name":"a","type":"consultation","priority":"p9","group":"g","sla":{"first_response_mins":1,"resolution_mins":1}}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown priority `p9`"), "{err}");
        // A leaf with no solutions is fine.
        let tree: CategoryTree = serde_json::from_str(
            r#"{"categories":[{"name":"a","type":"consultation","priority":"p4","group":"g","sla":{"first_response_mins":1,"resolution_mins":1}}]}"#,
        )
        .unwrap();
        assert_eq!(tree.validate(), Ok(()));
    }

    #[test]
    fn structure_problems_are_reported_with_their_paths() {
        let mut with_defaults = branch("售后", vec![leaf("退货")]);
        with_defaults.defaults = leaf("x").defaults;
        let tree = CategoryTree {
            categories: vec![
                branch("a", vec![branch("b", vec![branch("c", vec![leaf("d")])])]),
                branch("empty", vec![]),
                with_defaults,
                leaf("dup"),
                leaf("dup"),
                leaf("a/b"),
                leaf(""),
                leaf(" padded"),
                leaf(&"长".repeat(65)),
            ],
        };
        let got = problems(&tree);
        let expected = [
            "a/b/c/d: categories nest at most 3 levels deep".to_owned(),
            "empty: a leaf category needs type, priority, group and sla".to_owned(),
            "售后: a category with sub-categories cannot have leaf defaults (type, priority, group, sla, solutions)"
                .to_owned(),
            "dup: another category at this level is already called `dup`".to_owned(),
            "a/b: the name `a/b` must not contain `/`".to_owned(),
            "the name must not be empty".to_owned(),
            " padded: the name ` padded` has spaces at its start or end".to_owned(),
            format!("{}: the name `{}` is 65 characters; at most 64 are allowed", "长".repeat(65), "长".repeat(65)),
        ];
        assert_eq!(got, expected);
        // The same name under different parents is fine; 3 levels are fine.
        let ok = CategoryTree {
            categories: vec![branch("a", vec![branch("x", vec![leaf("same")])]), branch("b", vec![leaf("same")])],
        };
        assert_eq!(ok.validate(), Ok(()));
    }

    #[test]
    fn leaf_defaults_are_checked() {
        let mut node = leaf("l");
        let d = node.defaults.as_mut().unwrap();
        d.group = String::new();
        d.sla = SlaTargets {
            first_response_mins: 0,
            update_every_mins: Some(0),
            resolution_mins: 0,
            business_hours: false,
        };
        d.solutions = vec![String::new(), "a".into(), "a".into(), "x".repeat(65)];
        let got = problems(&CategoryTree { categories: vec![branch("top", vec![node])] });
        assert_eq!(
            got,
            [
                "top/l: group must not be empty",
                "top/l: sla.first_response_mins must be greater than 0",
                "top/l: sla.update_every_mins must be greater than 0 (or left out)",
                "top/l: a solution must not be empty",
                "top/l: solution `a` is listed twice",
                &format!("top/l: a solution `{}` is 65 characters; at most 64 are allowed", "x".repeat(65)),
            ]
        );
        let mut node = leaf("l");
        let d = node.defaults.as_mut().unwrap();
        d.sla.first_response_mins = 90;
        d.solutions = (0..21).map(|i| format!("s{i}")).collect();
        assert_eq!(
            problems(&CategoryTree { categories: vec![node] }),
            [
                "l: sla.resolution_mins (60) must be at least sla.first_response_mins (90)",
                "l: 21 solutions listed; at most 20 are allowed",
            ]
        );
    }

    #[cfg(feature = "openapi")]
    #[test]
    fn openapi_schemas_build_for_the_recursive_tree() {
        use utoipa::{PartialSchema, ToSchema};
        let mut deps = Vec::new();
        CategoryTree::schemas(&mut deps);
        let json = serde_json::to_string(&CategoryNode::schema()).unwrap();
        assert!(json.contains("children"), "{json}");
        assert!(serde_json::to_string(&Priority::schema()).unwrap().contains("p4"));
    }
}
