//! Reading the item's JSON Schema into a [`Plan`]: which entities become items
//! (`x-type`), and for each property where its value is in an entity (its name, or
//! `x-path`) and what type it must have. The hints are documented in `README.md`.

use serde_json::{Map, Value};
use trawl_sdk::PluginError;
use trawl_sdk::hints::{known_hints, pointer_token};

use crate::graph::short_name;

/// Everything the mapping needs to know about a schema, checked once.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Root `x-type`, short names: entities of these types, at any depth, become items.
    /// Empty: every top-level entity does.
    pub types: Vec<String>,
    /// Root `required` property names, for the confidence.
    pub required: Vec<String>,
    /// The root's properties; `None` when it has none: each entity is an item as it is.
    pub props: Option<Vec<Prop>>,
}

/// One property of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Prop {
    /// The property's name in the item.
    pub name: String,
    /// Where to look, in order: the first path that finds something wins. Each path is a
    /// list of property names from the entity (`offers.price` is `["offers", "price"]`).
    pub paths: Vec<Vec<String>>,
    /// What the values found must become.
    pub spec: Spec,
}

/// What the values found for a property become.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    /// No type: the value as found (several values make an array).
    Any,
    /// A string, number, integer or boolean (the first value that converts).
    Scalar(Scalar),
    /// An object with properties of its own, read from the first object found.
    Object(Vec<Prop>),
    /// Every value found, each as the items' spec.
    Array(Box<Spec>),
}

/// A scalar property: its type, and the optional `x-map`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The declared type.
    pub ty: ScalarType,
    /// Whether the declared type allows `null` (only a mapped `null` can produce it).
    pub nullable: bool,
    /// `x-map`: strings replaced by the JSON value they map to.
    pub map: Option<Map<String, Value>>,
}

/// The JSON types a scalar property can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    /// Text.
    String,
    /// Any number.
    Number,
    /// A whole number.
    Integer,
    /// True or false.
    Boolean,
    /// No type, but an `x-map`: the mapped value as it is.
    Any,
}

impl Plan {
    /// The plan for an item schema; [`PluginError::InvalidInput`] naming the property when
    /// a hint or type cannot be used.
    ///
    /// ```
    /// use jsonld_extractor::schema::{Plan, Spec};
    /// use serde_json::json;
    ///
    /// let plan = Plan::parse(&json!({
    ///     "type": "object",
    ///     "x-type": "Product",
    ///     "required": ["name"],
    ///     "properties": {
    ///         "name": {"type": "string"},
    ///         "price": {"type": "number", "x-path": "offers.price"}
    ///     }
    /// }))?;
    /// assert_eq!(plan.types, ["Product"]);
    /// let props = plan.props.expect("properties");
    /// assert_eq!(props[1].paths, [["offers", "price"]]);
    /// # Ok::<(), trawl_sdk::PluginError>(())
    /// ```
    pub fn parse(schema: &Value) -> Result<Self, PluginError> {
        let root = schema
            .as_object()
            .ok_or_else(|| PluginError::invalid_input("the item schema must be a JSON object"))?;
        known_hints(
            root.keys().map(String::as_str),
            ROOT_HINTS,
            "",
            "jsonld-extractor",
        )?;
        let types = match root.get("x-type") {
            None => Vec::new(),
            Some(value) => strings(value)
                .filter(|ts| !ts.is_empty() && ts.iter().all(|t| !t.is_empty()))
                .ok_or_else(|| {
                    PluginError::invalid_input(
                        "x-type must be a type name or an array of type names",
                    )
                })?
                .iter()
                .map(|t| short_name(t).to_string())
                .collect(),
        };
        let required = match root.get("required") {
            None => Vec::new(),
            Some(value) => strings(value).ok_or_else(|| {
                PluginError::invalid_input("required must be an array of property names")
            })?,
        };
        let props = match root.get("properties") {
            None => None,
            Some(Value::Object(props)) if props.is_empty() => None,
            Some(Value::Object(props)) => Some(parse_props(props, "")?),
            Some(_) => return Err(PluginError::invalid_input("properties must be an object")),
        };
        Ok(Self {
            types,
            required,
            props,
        })
    }
}

/// The hints this plugin reads on the root schema.
const ROOT_HINTS: &[&str] = &["x-type"];
/// The hints it reads on a property.
const PROPERTY_HINTS: &[&str] = &["x-path", "x-map"];
/// The hints it reads on an array's `items` (`x-path` goes on the array).
const ITEM_HINTS: &[&str] = &["x-map"];

/// `parent` is the JSON pointer of the object whose `properties` these are; problems
/// are reported at the pointer of the property.
fn parse_props(props: &Map<String, Value>, parent: &str) -> Result<Vec<Prop>, PluginError> {
    props
        .iter()
        .map(|(name, schema)| {
            let path = format!("{parent}/properties/{}", pointer_token(name));
            parse_prop(name, schema, &path)
        })
        .collect()
}

fn parse_prop(name: &str, schema: &Value, path: &str) -> Result<Prop, PluginError> {
    let bad = |what: &str| PluginError::invalid_at(path, what);
    let schema = match schema {
        Value::Object(schema) => schema,
        // `true` is the schema that accepts anything.
        Value::Bool(true) => {
            return Ok(Prop {
                name: name.to_string(),
                paths: vec![vec![name.to_string()]],
                spec: Spec::Any,
            });
        }
        _ => return Err(bad("its schema must be an object")),
    };
    known_hints(
        schema.keys().map(String::as_str),
        PROPERTY_HINTS,
        path,
        "jsonld-extractor",
    )?;
    let paths = match schema.get("x-path") {
        None => vec![vec![name.to_string()]],
        Some(value) => strings(value)
            .filter(|ps| !ps.is_empty())
            .ok_or_else(|| bad("x-path must be a path or an array of paths"))?
            .iter()
            .map(|p| {
                let segments: Vec<String> = p.split('.').map(str::to_string).collect();
                if segments.iter().any(String::is_empty) {
                    Err(bad(&format!("x-path {p:?} has an empty step")))
                } else {
                    Ok(segments)
                }
            })
            .collect::<Result<_, _>>()?,
    };
    let spec = parse_spec(schema, path)?;
    Ok(Prop {
        name: name.to_string(),
        paths,
        spec,
    })
}

fn parse_spec(schema: &Map<String, Value>, path: &str) -> Result<Spec, PluginError> {
    let bad = |what: String| PluginError::invalid_at(path, what);
    let (ty, nullable) = match schema.get("type") {
        None => (None, false),
        Some(Value::String(t)) => (Some(t.as_str()), t == "null"),
        Some(Value::Array(ts)) => {
            let names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
            if names.len() != ts.len() {
                return Err(bad("type must be a name or an array of names".into()));
            }
            let nullable = names.contains(&"null");
            (names.into_iter().find(|t| *t != "null"), nullable)
        }
        Some(_) => return Err(bad("type must be a name or an array of names".into())),
    };
    let map = match schema.get("x-map") {
        None => None,
        Some(Value::Object(map)) => Some(map.clone()),
        Some(_) => return Err(bad("x-map must be an object".into())),
    };
    let scalar = |ty| {
        Ok(Spec::Scalar(Scalar {
            ty,
            nullable,
            map: map.clone(),
        }))
    };
    match ty {
        None | Some("null") if map.is_some() => scalar(ScalarType::Any),
        None | Some("null") => Ok(Spec::Any),
        Some("string") => scalar(ScalarType::String),
        Some("number") => scalar(ScalarType::Number),
        Some("integer") => scalar(ScalarType::Integer),
        Some("boolean") => scalar(ScalarType::Boolean),
        Some("object") => match schema.get("properties") {
            None => Ok(Spec::Any),
            Some(Value::Object(props)) if props.is_empty() => Ok(Spec::Any),
            Some(Value::Object(props)) => Ok(Spec::Object(parse_props(props, path)?)),
            Some(_) => Err(bad("properties must be an object".into())),
        },
        Some("array") => match schema.get("items") {
            None | Some(Value::Bool(true)) => Ok(Spec::Array(Box::new(Spec::Any))),
            Some(Value::Object(items)) => {
                if items.contains_key("x-path") {
                    return Err(bad("x-path goes on the array, not on its items".into()));
                }
                let items_path = format!("{path}/items");
                known_hints(
                    items.keys().map(String::as_str),
                    ITEM_HINTS,
                    &items_path,
                    "jsonld-extractor",
                )?;
                let inner = parse_spec(items, &items_path)?;
                if matches!(inner, Spec::Array(_)) {
                    return Err(bad("arrays of arrays are not supported".into()));
                }
                Ok(Spec::Array(Box::new(inner)))
            }
            Some(_) => Err(bad("items must be a schema object".into())),
        },
        Some(other) => Err(bad(format!("unsupported type {other:?}"))),
    }
}

/// A string or an array of strings, as strings.
fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(values) => values
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use serde_json::json;

    fn error(schema: Value) -> String {
        Plan::parse(&schema).unwrap_err().to_string()
    }

    #[test]
    fn types_and_paths() {
        let plan = Plan::parse(&json!({
            "x-type": ["http://schema.org/NewsArticle", "BlogPosting"],
            "properties": {
                "title": {"type": "string", "x-path": ["headline", "name"]},
                "tags": {"type": "array", "items": {"type": "string"}, "x-path": "keywords"},
                "author": {"type": "object", "properties": {"name": {"type": "string"}}},
                "raw": {},
                "anything": true,
                "stock": {"type": ["boolean", "null"], "x-path": "offers.availability", "x-map": {"InStock": true}}
            }
        }))
        .unwrap();
        assert_eq!(plan.types, ["NewsArticle", "BlogPosting"]);
        assert_eq!(plan.props.as_ref().unwrap().len(), 6);
        let props = plan.props.unwrap();
        assert_eq!(props[0].paths, [vec!["headline"], vec!["name"]]);
        assert_eq!(
            props[1].spec,
            Spec::Array(Box::new(Spec::Scalar(Scalar {
                ty: ScalarType::String,
                nullable: false,
                map: None
            })))
        );
        assert!(matches!(&props[2].spec, Spec::Object(inner) if inner[0].name == "name"));
        assert_eq!(props[3].spec, Spec::Any);
        assert_eq!(props[4].spec, Spec::Any);
        assert!(
            matches!(&props[5].spec, Spec::Scalar(s) if s.nullable && s.ty == ScalarType::Boolean && s.map.is_some())
        );
        assert_eq!(props[5].paths, [["offers", "availability"]]);
    }

    #[test]
    fn no_properties_means_whole_entities() {
        assert_eq!(Plan::parse(&json!({"type": "object"})).unwrap().props, None);
        assert_eq!(Plan::parse(&json!({"properties": {}})).unwrap().props, None);
    }

    #[test]
    fn bad_hints_name_the_property() {
        assert!(error(json!([])).contains("must be a JSON object"));
        assert!(error(json!({"x-type": 3})).contains("x-type"));
        assert!(error(json!({"x-type": ""})).contains("x-type"));
        assert!(
            error(json!({"properties": {"a": {"x-path": "offers..price"}}}))
                .contains("/properties/a: x-path \"offers..price\" has an empty step")
        );
        assert!(error(json!({"properties": {"a": {"x-path": []}}})).contains("/properties/a:"));
        assert!(
            error(json!({"properties": {"a": {"type": "date"}}}))
                .contains("/properties/a: unsupported type \"date\"")
        );
        assert!(
            error(
                json!({"properties": {"o": {"type": "object", "properties": {"b": {"x-map": 1}}}}})
            )
            .contains("/properties/o/properties/b: x-map")
        );
        assert!(
            error(json!({"properties": {"a": {"type": "array", "items": {"type": "array"}}}}))
                .contains("arrays of arrays")
        );
        assert!(error(json!({"properties": {"a": false}})).contains("/properties/a:"));
        // Hints it does not read, with the one likely meant.
        assert!(
            error(json!({"x-typ": "Product"}))
                .contains("/x-typ: unknown hint `x-typ`: did you mean `x-type`?")
        );
        assert!(
            error(json!({"properties": {"p": {"x-paths": "offers.price"}}}))
                .contains("/properties/p/x-paths: unknown hint `x-paths`: did you mean `x-path`?")
        );
        assert!(
            error(json!({"properties": {"p": {"x-selector": "h1"}}}))
                .contains("unknown hint `x-selector`: the jsonld-extractor reads x-path, x-map")
        );
        assert!(error(json!({"required": [1]})).contains("required"));
        assert_eq!(
            Plan::parse(&json!({"required": ["a"]})).unwrap().required,
            ["a"]
        );
    }
}
