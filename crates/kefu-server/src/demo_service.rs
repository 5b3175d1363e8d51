//! The service side of the demo tenant: the departments work orders are dispatched to, the
//! category tree with its SLAs (the service handbook's classification and time-limit table),
//! the service-process templates, a handful of customers with assets and notes, and the
//! knowledge base. Each part is seeded only while it is empty, so an administrator's edits
//! survive running the demo again.

use kefu_core::service::category::CategoryTree;
use kefu_core::service::customer::{AssetKind, CustomerTier};
use kefu_core::{TeamId, Timestamp};
use kefu_store::{NewAsset, NewCustomer, NewPhone, NewTemplate, PageRequest, Store, TemplateField, TemplateStep};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The departments (teams without agents of their own) that own categories and take
/// dispatched work orders, besides the two front-line teams.
pub const DEPARTMENTS: [&str; 6] = [
    "售后组 After-sales",
    "主管组 Supervisors",
    "技术组 Technical",
    "运营组 Operations",
    "维修部 Repair",
    "工程部 Engineering",
];

/// The demo category tree as YAML.
pub const DEMO_CATEGORIES_YAML: &str = include_str!("demo_categories.yaml");
/// The demo service-process templates as YAML.
pub const DEMO_TEMPLATES_YAML: &str = include_str!("demo_templates.yaml");
/// The demo customers as YAML.
pub const DEMO_CUSTOMERS_YAML: &str = include_str!("demo_customers.yaml");

/// The demo category tree.
///
/// # Errors
///
/// Only if the embedded YAML is broken (a test keeps it whole).
pub fn demo_categories() -> anyhow::Result<CategoryTree> {
    let tree: CategoryTree = serde_norway::from_str(DEMO_CATEGORIES_YAML)?;
    if let Err(problems) = tree.validate() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::bail!("the demo categories have problems: {}", list.join("; "));
    }
    Ok(tree)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplatesDoc {
    templates: Vec<TemplateDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateDoc {
    name: String,
    steps: Vec<TemplateStep>,
    #[serde(default)]
    fields: Vec<TemplateField>,
}

/// The demo service-process templates.
///
/// # Errors
///
/// Only if the embedded YAML is broken.
pub fn demo_templates() -> anyhow::Result<Vec<NewTemplate>> {
    let doc: TemplatesDoc = serde_norway::from_str(DEMO_TEMPLATES_YAML)?;
    Ok(doc.templates.into_iter().map(|t| NewTemplate { name: t.name, steps: t.steps, fields: t.fields }).collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomersDoc {
    customers: Vec<CustomerDoc>,
}

/// One demo customer as written in the YAML.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerDoc {
    /// Name.
    pub name: String,
    /// Tier.
    #[serde(default)]
    pub tier: CustomerTier,
    /// Phone numbers in any accepted form.
    #[serde(default)]
    pub phones: Vec<String>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// PRC resident ID number.
    #[serde(default)]
    pub id_card: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Products, orders and accounts.
    #[serde(default)]
    pub assets: Vec<AssetDoc>,
    /// Notes on the timeline.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// One demo asset.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetDoc {
    kind: AssetKind,
    name: String,
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    fields: Map<String, Value>,
}

/// The demo customers.
///
/// # Errors
///
/// Only if the embedded YAML is broken.
pub fn demo_customers() -> anyhow::Result<Vec<CustomerDoc>> {
    Ok(serde_norway::from_str::<CustomersDoc>(DEMO_CUSTOMERS_YAML)?.customers)
}

/// Seeds departments, categories, templates, customers and the knowledge base (each only
/// while empty).
pub async fn seed(store: &Store, now: Timestamp) -> anyhow::Result<()> {
    let mut teams: HashMap<String, TeamId> = store
        .list_teams(&PageRequest { limit: Some(500), cursor: None })
        .await?
        .items
        .into_iter()
        .map(|t| (t.name, t.id))
        .collect();
    for name in DEPARTMENTS {
        if !teams.contains_key(name) {
            let team = store.create_team(&kefu_store::NewTeam { name: name.to_owned() }, now).await?;
            teams.insert(team.name, team.id);
        }
    }
    if store.category_tree().await?.is_empty() {
        store.import_categories(&demo_categories()?, &teams, now).await?;
    }
    if store.list_templates().await?.is_empty() {
        for t in demo_templates()? {
            store.create_template(&t, now).await?;
        }
    }
    if store.count_customers().await? == 0 {
        seed_customers(store, now).await?;
    }
    // the server sees the articles differ from its index at start and builds it
    if store.kb_marker().await?.articles == 0 {
        for article in crate::routes::kb::demo_articles()? {
            store.create_article(&article, now).await?;
        }
    }
    Ok(())
}

async fn seed_customers(store: &Store, now: Timestamp) -> anyhow::Result<()> {
    for doc in demo_customers()? {
        let new = NewCustomer {
            name: doc.name,
            tier: doc.tier,
            phones: doc.phones.into_iter().map(NewPhone::new).collect(),
            email: doc.email,
            id_card: doc.id_card,
            tags: doc.tags,
            ..Default::default()
        };
        let customer = store.create_customer(&new, now).await?;
        for a in doc.assets {
            let asset = NewAsset { kind: a.kind, name: a.name, number: a.number, fields: a.fields };
            store.add_customer_asset(customer.id, &asset, now).await?;
        }
        for body in doc.notes {
            store.add_customer_note(customer.id, None, &body, now).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_categories_reproduce_the_handbook_table() {
        let tree = demo_categories().unwrap();
        let leaf = |path: &[&str]| {
            tree.leaves()
                .find(|(p, _)| p.as_slice() == path)
                .map(|(_, d)| d.clone())
                .unwrap_or_else(|| panic!("no leaf {path:?}"))
        };
        // the handbook's limits: consultation 5 / 3 min, complaint 24 / 12 h, emergency 10 / 5 min
        assert_eq!(leaf(&["咨询", "产品功能", "使用方法"]).sla.resolution_mins, 5);
        assert_eq!(leaf(&["咨询", "物流查询", "物流未更新"]).sla.resolution_mins, 3);
        assert_eq!(leaf(&["投诉", "产品质量", "鲜花不新鲜"]).sla.resolution_mins, 24 * 60);
        assert_eq!(leaf(&["投诉", "服务态度", "座席态度"]).sla.resolution_mins, 12 * 60);
        assert_eq!(leaf(&["紧急", "账户安全", "账户被盗"]).sla.resolution_mins, 10);
        assert_eq!(leaf(&["紧急", "系统故障", "无法下单"]).sla.resolution_mins, 5);
        assert_eq!(leaf(&["紧急", "系统故障", "无法下单"]).group, "技术组 Technical");
        // every leaf's group is a demo team, and progress is noted at least every 3 h on
        // everything that is not a suggestion
        let front = ["一组 Team 1", "二组 Team 2"];
        for (path, d) in tree.leaves() {
            assert!(DEPARTMENTS.contains(&d.group.as_str()) || front.contains(&d.group.as_str()), "{path:?}");
            if path[0] != "建议" {
                assert_eq!(d.sla.update_every_mins, Some(180), "{path:?}");
            }
        }
    }

    #[test]
    fn the_demo_templates_customers_and_articles_parse() {
        assert!(crate::routes::kb::demo_articles().unwrap().len() >= 40);
        let templates = demo_templates().unwrap();
        assert_eq!(templates.len(), 4);
        let onsite = &templates[0];
        assert_eq!(onsite.steps.iter().find(|s| s.key == "visited").and_then(|s| s.due_hours), Some(24));
        let customers = demo_customers().unwrap();
        assert!(customers.iter().any(|c| c.phones.iter().any(|p| p == "13800138000")));
        for c in &customers {
            for p in &c.phones {
                kefu_core::service::customer::PhoneNumber::parse(p).unwrap();
            }
            if let Some(id) = &c.id_card {
                kefu_core::service::customer::IdCardNumber::parse(id).unwrap();
            }
        }
    }
}
