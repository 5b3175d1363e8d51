//! The small path language of HTTP nodes: `order.status`, `items[0].name`, an optional
//! leading `$.`. Enough to pick a value out of a self-service answer, nothing more.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An object's field.
    Field(String),
    /// An array's element.
    Index(usize),
}

/// Parses a path; `None` when it is malformed.
pub fn parse(path: &str) -> Option<Vec<Step>> {
    let path = path.trim();
    let rooted = path.starts_with('$');
    let path = path.strip_prefix("$.").or_else(|| path.strip_prefix('$')).unwrap_or(path);
    if path.is_empty() {
        return None;
    }
    let mut steps = Vec::new();
    for (i, part) in path.split('.').enumerate() {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        // Only `$[0]…` may start with an index; every other part names a field.
        if name.is_empty() && !(i == 0 && rooted && !rest.is_empty()) {
            return None;
        }
        if !name.is_empty() {
            if !name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
                return None;
            }
            steps.push(Step::Field(name.to_owned()));
        }
        while !rest.is_empty() {
            let close = rest.find(']')?;
            let index: usize = rest.get(1..close)?.parse().ok()?;
            steps.push(Step::Index(index));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return None;
            }
        }
    }
    Some(steps)
}

/// The value at `steps` as text: strings as they are, numbers and booleans written out;
/// `None` when a step is missing or the value is null, an object or an array.
pub fn get(value: &Value, steps: &[Step]) -> Option<String> {
    let mut at = value;
    for step in steps {
        at = match step {
            Step::Field(name) => at.get(name.as_str())?,
            Step::Index(i) => at.get(*i)?,
        };
    }
    match at {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_parse_and_pick_values() {
        let v =
            json!({"order": {"status": "已发货", "items": [{"name": "耳机", "qty": 2}], "paid": true, "note": null}});
        let pick = |p: &str| get(&v, &parse(p).unwrap());
        assert_eq!(pick("order.status").as_deref(), Some("已发货"));
        assert_eq!(pick("$.order.items[0].name").as_deref(), Some("耳机"));
        assert_eq!(pick("order.items[0].qty").as_deref(), Some("2"));
        assert_eq!(pick("order.paid").as_deref(), Some("true"));
        assert_eq!(pick("order.note"), None, "null is missing");
        assert_eq!(pick("order.items"), None, "arrays are not values");
        assert_eq!(pick("order.items[3].name"), None);
        assert_eq!(pick("nothing.here"), None);
        let arr = json!([[1, 2], [3, 4]]);
        assert_eq!(get(&arr, &parse("$[1][0]").unwrap()).as_deref(), Some("3"));
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in ["", "$", "a..b", "a[", "a[x]", "a[1]b", "a b", ".a", "a.[0]", "a[-1]"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
