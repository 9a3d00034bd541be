//! Reading the item's JSON Schema into a [`Plan`]: where the items are in the response
//! (`x-scope`), which URLs to follow (`x-follow`), and for each property where its value
//! is in an item (its name, or `x-path`) and what type it must have. Every problem is a
//! `plugin-error.invalid-input` that starts with the JSON pointer of its place in the
//! schema. The hints are documented in `README.md`.

use serde_json::{Map, Value};
use trawl_sdk::PluginError;
use trawl_sdk::hints::{closest, known_hints, pointer_token};

use crate::coerce::Scalar;
use crate::path::Path;

/// How deep properties may nest (objects in arrays in objects…): deeper schemas are
/// refused rather than walked, so the work per item stays bounded.
pub const MAX_DEPTH: usize = 32;

/// Everything the extraction needs to know about a schema, checked once per call.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Root `x-scope`: where the items are. `None`: the body is the item, or its
    /// elements are when it is an array.
    pub scope: Option<Path>,
    /// Root `x-follow`: which URLs to follow.
    pub follow: Option<Follow>,
    /// Root `required` property names, for the confidence.
    pub required: Vec<String>,
    /// The root's properties; `None` when it has none: each item is kept as it is.
    pub props: Option<Vec<Prop>>,
}

/// The URLs to follow after a page, from its response.
#[derive(Debug, Clone)]
pub enum Follow {
    /// Every string the path selects is a URL, absolute or relative to the page's.
    Next(Path),
    /// The page's URL with the query parameter `param` set to the page number after
    /// this page's, while every condition holds.
    Page {
        /// The query parameter that holds the page number.
        param: String,
        /// The page number of a URL without `param`.
        start: i64,
        /// Go on while the value at this path is true.
        while_true: Option<Path>,
        /// Go on while this page's number is below the value at this path.
        total_pages: Option<Path>,
        /// Go on while this page had items.
        until_empty: bool,
    },
    /// The page's URL with the query parameter `param` set to the cursor at `path`,
    /// while there is one (and the value at `while_true` is true, when given).
    Cursor {
        /// The query parameter the cursor goes into.
        param: String,
        /// Where the next page's cursor is.
        path: Path,
        /// Go on only while the value at this path is true.
        while_true: Option<Path>,
    },
}

/// One property of an object.
#[derive(Debug, Clone)]
pub struct Prop {
    /// The property's name in the item.
    pub name: String,
    /// Where its value is, relative to the object read.
    pub path: Path,
    /// What the value must become.
    pub spec: Spec,
}

/// What a value found becomes.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The declared type.
    pub kind: Kind,
    /// Whether the declared type allows `null`.
    pub nullable: bool,
    /// `x-map`: values (as text) replaced by the JSON value they map to.
    pub map: Option<Map<String, Value>>,
}

/// A declared type.
#[derive(Debug, Clone)]
pub enum Kind {
    /// No type (or an object without properties): the value as it is.
    Any,
    /// `"type": "null"`: only `null`.
    Null,
    /// A string, number, integer or boolean.
    Scalar(Scalar),
    /// An object whose properties are read relative to it.
    Object(Vec<Prop>),
    /// An array whose elements are each converted to the items' spec.
    Array(Box<Spec>),
}

/// The hints this plugin reads on the root schema.
const ROOT_HINTS: &[&str] = &["x-scope", "x-follow"];
/// The hints it reads on a property.
const PROPERTY_HINTS: &[&str] = &["x-path", "x-map"];
/// The hints it reads on an array's `items` (`x-path` goes on the array).
const ITEM_HINTS: &[&str] = &["x-map"];
/// The plugin's name, in the messages about unknown hints.
const PLUGIN: &str = "json-extractor";

impl Plan {
    /// The plan for an item schema.
    ///
    /// ```
    /// use json_extractor::plan::{Follow, Plan};
    /// use serde_json::json;
    ///
    /// let plan = Plan::parse(&json!({
    ///     "type": "object",
    ///     "x-scope": "data.items",
    ///     "x-follow": {"page": {"param": "page", "while": "meta.has_next"}},
    ///     "properties": {"id": {"type": "integer"}, "price": {"type": "number", "x-path": "price.amount"}}
    /// }))?;
    /// assert!(plan.scope.is_some());
    /// assert!(matches!(plan.follow, Some(Follow::Page { start: 1, .. })));
    /// assert_eq!(plan.props.map(|p| p.len()), Some(2));
    /// # Ok::<(), trawl_sdk::PluginError>(())
    /// ```
    pub fn parse(schema: &Value) -> Result<Self, PluginError> {
        let root = schema
            .as_object()
            .ok_or_else(|| PluginError::invalid_input("the item schema must be a JSON object"))?;
        known_hints(root.keys().map(String::as_str), ROOT_HINTS, "", PLUGIN)?;
        let scope = match root.get("x-scope") {
            None | Some(Value::Null) => None,
            Some(value) => Some(path_hint(value, "/x-scope")?),
        };
        let follow = match root.get("x-follow") {
            None | Some(Value::Null) => None,
            Some(value) => Some(parse_follow(value)?),
        };
        let required = match root.get("required") {
            None => Vec::new(),
            Some(Value::Array(names)) => names
                .iter()
                .map(|n| n.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    PluginError::invalid_at("/required", "must be an array of property names")
                })?,
            Some(_) => {
                return Err(PluginError::invalid_at(
                    "/required",
                    "must be an array of property names",
                ));
            }
        };
        let props = match root.get("properties") {
            None | Some(Value::Null) => None,
            Some(Value::Object(props)) if props.is_empty() => None,
            Some(Value::Object(props)) => Some(parse_props(props, "", 1)?),
            Some(_) => {
                return Err(PluginError::invalid_at("/properties", "must be an object"));
            }
        };
        Ok(Self {
            scope,
            follow,
            required,
            props,
        })
    }
}

/// A path hint at `at` (a JSON pointer): a string that parses.
fn path_hint(value: &Value, at: &str) -> Result<Path, PluginError> {
    let text = value.as_str().ok_or_else(|| {
        PluginError::invalid_at(at, format!("must be a path string, not {value}"))
    })?;
    Path::parse(text).map_err(|why| PluginError::invalid_at(at, format!("{text:?}: {why}")))
}

/// `x-follow`: a path string (the `next` form), or an object with one of `next`, `page`
/// and `cursor`.
fn parse_follow(value: &Value) -> Result<Follow, PluginError> {
    const AT: &str = "/x-follow";
    const FORMS: &[&str] = &["next", "page", "cursor"];
    if value.is_string() {
        return Ok(Follow::Next(path_hint(value, AT)?));
    }
    let object = value.as_object().ok_or_else(|| {
        PluginError::invalid_at(
            AT,
            "must be a path, or an object with `next`, `page` or `cursor`",
        )
    })?;
    known_keys(object, FORMS, AT)?;
    if object.len() != 1 {
        return Err(PluginError::invalid_at(
            AT,
            "give exactly one of `next`, `page` and `cursor`",
        ));
    }
    if let Some(next) = object.get("next") {
        return Ok(Follow::Next(path_hint(next, "/x-follow/next")?));
    }
    if let Some(page) = object.get("page") {
        const AT: &str = "/x-follow/page";
        let page = page.as_object().ok_or_else(|| {
            PluginError::invalid_at(AT, "must be an object: {\"param\": …, \"while\": …}")
        })?;
        known_keys(
            page,
            &["param", "start", "while", "total_pages", "until_empty"],
            AT,
        )?;
        let param = param(page, AT)?;
        let start = match page.get("start") {
            None | Some(Value::Null) => 1,
            Some(v) => v.as_i64().ok_or_else(|| {
                PluginError::invalid_at("/x-follow/page/start", "must be a whole number")
            })?,
        };
        let while_true = optional_path(page, "while", AT)?;
        let total_pages = optional_path(page, "total_pages", AT)?;
        let until_empty = match page.get("until_empty") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(PluginError::invalid_at(
                    "/x-follow/page/until_empty",
                    "must be true or false",
                ));
            }
        };
        if while_true.is_none() && total_pages.is_none() && !until_empty {
            return Err(PluginError::invalid_at(
                AT,
                "say when to stop: `while` (a path to a boolean), `total_pages` (a path to a number) or `until_empty: true`",
            ));
        }
        return Ok(Follow::Page {
            param,
            start,
            while_true,
            total_pages,
            until_empty,
        });
    }
    const CURSOR: &str = "/x-follow/cursor";
    let cursor = object
        .get("cursor")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            PluginError::invalid_at(CURSOR, "must be an object: {\"param\": …, \"path\": …}")
        })?;
    known_keys(cursor, &["param", "path", "while"], CURSOR)?;
    let param = param(cursor, CURSOR)?;
    let path = optional_path(cursor, "path", CURSOR)?.ok_or_else(|| {
        PluginError::invalid_at(CURSOR, "`path` is missing: where the next cursor is")
    })?;
    Ok(Follow::Cursor {
        param,
        path,
        while_true: optional_path(cursor, "while", CURSOR)?,
    })
}

/// The `param` of a `page` or `cursor` form: a query parameter's name.
fn param(object: &Map<String, Value>, at: &str) -> Result<String, PluginError> {
    match object.get("param") {
        Some(Value::String(name)) if !name.trim().is_empty() => Ok(name.clone()),
        None | Some(Value::Null) => Err(PluginError::invalid_at(
            at,
            "`param` is missing: the query parameter to set",
        )),
        Some(_) => Err(PluginError::invalid_at(
            &format!("{at}/param"),
            "must be a query parameter's name",
        )),
    }
}

fn optional_path(
    object: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<Path>, PluginError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => path_hint(value, &format!("{at}/{key}")).map(Some),
    }
}

/// Every key of `object` must be one of `known`, so that a misspelt one is refused when
/// the schema is saved instead of silently changing where pagination stops.
fn known_keys(object: &Map<String, Value>, known: &[&str], at: &str) -> Result<(), PluginError> {
    let Some(key) = object.keys().find(|k| !known.contains(&k.as_str())) else {
        return Ok(());
    };
    let said = match closest(key, known) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!("the keys are {}", known.join(", ")),
    };
    Err(PluginError::invalid_at(
        &format!("{at}/{}", pointer_token(key)),
        format!("unknown key `{key}`: {said}"),
    ))
}

/// `parent` is the JSON pointer of the object whose `properties` these are, `depth` how
/// many objects deep they are.
fn parse_props(
    props: &Map<String, Value>,
    parent: &str,
    depth: usize,
) -> Result<Vec<Prop>, PluginError> {
    if depth > MAX_DEPTH {
        return Err(PluginError::invalid_at(
            parent,
            format!("properties nest deeper than {MAX_DEPTH} levels"),
        ));
    }
    props
        .iter()
        .map(|(name, schema)| {
            let at = format!("{parent}/properties/{}", pointer_token(name));
            parse_prop(name, schema, &at, depth)
        })
        .collect()
}

fn parse_prop(name: &str, schema: &Value, at: &str, depth: usize) -> Result<Prop, PluginError> {
    let any = Spec {
        kind: Kind::Any,
        nullable: true,
        map: None,
    };
    let schema = match schema {
        Value::Object(schema) => schema,
        // `true` is the schema that accepts anything.
        Value::Bool(true) => {
            return Ok(Prop {
                name: name.to_owned(),
                path: Path::key(name),
                spec: any,
            });
        }
        _ => {
            return Err(PluginError::invalid_at(
                at,
                "the property schema must be an object",
            ));
        }
    };
    known_hints(
        schema.keys().map(String::as_str),
        PROPERTY_HINTS,
        at,
        PLUGIN,
    )?;
    let path = match schema.get("x-path") {
        None | Some(Value::Null) => Path::key(name),
        Some(Value::String(text)) => Path::parse(text)
            .map_err(|why| PluginError::invalid_at(at, format!("x-path {text:?}: {why}")))?,
        Some(other) => {
            return Err(PluginError::invalid_at(
                at,
                format!("x-path must be a path string, not {other}"),
            ));
        }
    };
    Ok(Prop {
        name: name.to_owned(),
        path,
        spec: parse_spec(schema, at, depth)?,
    })
}

fn parse_spec(schema: &Map<String, Value>, at: &str, depth: usize) -> Result<Spec, PluginError> {
    let bad = |what: String| PluginError::invalid_at(at, what);
    let (ty, nullable) = match schema.get("type") {
        None => (None, true),
        Some(Value::String(t)) => (Some(t.as_str()).filter(|t| *t != "null"), t == "null"),
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
    let ty = ty.or_else(|| {
        if schema.contains_key("properties") {
            Some("object")
        } else if schema.contains_key("items") {
            Some("array")
        } else {
            None
        }
    });
    let map = match schema.get("x-map") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map.clone()),
        Some(_) => return Err(bad("x-map must be an object".into())),
    };
    let null_only = nullable && ty.is_none() && schema.get("type").is_some();
    let kind = match ty {
        None if null_only => Kind::Null,
        None => Kind::Any,
        Some("string") => Kind::Scalar(Scalar::String),
        Some("number") => Kind::Scalar(Scalar::Number),
        Some("integer") => Kind::Scalar(Scalar::Integer),
        Some("boolean") => Kind::Scalar(Scalar::Boolean),
        Some("object") => match schema.get("properties") {
            None | Some(Value::Null) => Kind::Any,
            Some(Value::Object(props)) if props.is_empty() => Kind::Any,
            Some(Value::Object(props)) => Kind::Object(parse_props(props, at, depth + 1)?),
            Some(_) => return Err(bad("properties must be an object".into())),
        },
        Some("array") => match schema.get("items") {
            None | Some(Value::Null | Value::Bool(true)) => Kind::Array(Box::new(Spec {
                kind: Kind::Any,
                nullable: true,
                map: None,
            })),
            Some(Value::Object(items)) => {
                let items_at = format!("{at}/items");
                if items.contains_key("x-path") {
                    return Err(bad("x-path goes on the array, not on its items".into()));
                }
                known_hints(
                    items.keys().map(String::as_str),
                    ITEM_HINTS,
                    &items_at,
                    PLUGIN,
                )?;
                if depth + 1 > MAX_DEPTH {
                    return Err(PluginError::invalid_at(
                        &items_at,
                        format!("properties nest deeper than {MAX_DEPTH} levels"),
                    ));
                }
                Kind::Array(Box::new(parse_spec(items, &items_at, depth + 1)?))
            }
            Some(_) => return Err(bad("items must be a schema object".into())),
        },
        Some(other) => return Err(bad(format!("unsupported type {other:?}"))),
    };
    if map.is_some() && matches!(kind, Kind::Object(_) | Kind::Array(_)) {
        return Err(bad(
            "x-map maps scalars: put it on the array's items, or on the object's properties".into(),
        ));
    }
    Ok(Spec {
        kind,
        nullable,
        map,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use serde_json::json;

    fn error(schema: Value) -> String {
        match Plan::parse(&schema).unwrap_err() {
            PluginError::InvalidInput(m) => m,
            other => panic!("not invalid-input: {other:?}"),
        }
    }

    #[test]
    fn types_paths_and_defaults() {
        let plan = Plan::parse(&json!({
            "required": ["id"],
            "properties": {
                "id": {"type": "integer"},
                "price": {"type": ["number", "null"], "x-path": "price.amount"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "seller": {"type": "object", "properties": {"name": {"type": "string"}}},
                "raw": {},
                "anything": true,
                "gone": {"type": "null"},
                "status": {"type": "boolean", "x-map": {"A": true, "D": false}}
            }
        }))
        .unwrap();
        assert!(plan.scope.is_none() && plan.follow.is_none());
        assert_eq!(plan.required, ["id"]);
        let props = plan.props.unwrap();
        let names: Vec<&str> = props.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "id", "price", "tags", "seller", "raw", "anything", "gone", "status"
            ]
        );
        assert!(
            matches!(props[0].spec.kind, Kind::Scalar(Scalar::Integer)) && !props[0].spec.nullable
        );
        assert!(
            matches!(props[1].spec.kind, Kind::Scalar(Scalar::Number)) && props[1].spec.nullable
        );
        assert!(props[1].path.find(&json!({"price": {"amount": 1}})) == [&json!(1)]);
        assert!(
            matches!(&props[2].spec.kind, Kind::Array(items) if matches!(items.kind, Kind::Scalar(Scalar::String)))
        );
        assert!(matches!(&props[3].spec.kind, Kind::Object(inner) if inner[0].name == "name"));
        assert!(matches!(props[4].spec.kind, Kind::Any));
        assert!(matches!(props[5].spec.kind, Kind::Any));
        assert!(matches!(props[6].spec.kind, Kind::Null));
        assert!(props[7].spec.map.is_some());
    }

    #[test]
    fn follow_forms() {
        let follow = |f: Value| {
            Plan::parse(&json!({"x-follow": f}))
                .unwrap()
                .follow
                .unwrap()
        };
        assert!(matches!(follow(json!("links.next")), Follow::Next(_)));
        assert!(matches!(follow(json!({"next": "$.next"})), Follow::Next(_)));
        match follow(json!({"page": {"param": "p", "start": 0, "total_pages": "meta.pages"}})) {
            Follow::Page {
                param,
                start,
                while_true,
                total_pages,
                until_empty,
            } => {
                assert_eq!((param.as_str(), start), ("p", 0));
                assert!(while_true.is_none() && total_pages.is_some() && !until_empty);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            follow(json!({"page": {"param": "page", "until_empty": true}})),
            Follow::Page {
                start: 1,
                until_empty: true,
                ..
            }
        ));
        assert!(matches!(
            follow(
                json!({"cursor": {"param": "after", "path": "next_cursor", "while": "has_more"}})
            ),
            Follow::Cursor {
                while_true: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn bad_follow_says_where() {
        let bad = |f: Value| error(json!({"x-follow": f}));
        assert_eq!(
            bad(json!({"page": {"param": "page"}})),
            "/x-follow/page: say when to stop: `while` (a path to a boolean), `total_pages` (a path to a number) or `until_empty: true`"
        );
        assert_eq!(
            bad(json!({"page": {"param": "page", "totalpages": "n"}})),
            "/x-follow/page/totalpages: unknown key `totalpages`: did you mean `total_pages`?"
        );
        assert_eq!(
            bad(json!({"cursor": {"path": "next"}})),
            "/x-follow/cursor: `param` is missing: the query parameter to set"
        );
        assert_eq!(
            bad(json!({"cursor": {"param": "c"}})),
            "/x-follow/cursor: `path` is missing: where the next cursor is"
        );
        assert_eq!(
            bad(json!({"next": "a", "page": {}})),
            "/x-follow: give exactly one of `next`, `page` and `cursor`"
        );
        assert!(
            bad(json!({"nxt": "a"}))
                .starts_with("/x-follow/nxt: unknown key `nxt`: did you mean `next`?")
        );
        assert!(
            bad(json!({"page": {"param": "p", "while": "a["}}))
                .starts_with("/x-follow/page/while: \"a[\": the path is not a JSONPath")
        );
        assert_eq!(
            bad(json!({"page": {"param": "p", "until_empty": true, "start": 1.5}})),
            "/x-follow/page/start: must be a whole number"
        );
        assert_eq!(
            bad(json!(3)),
            "/x-follow: must be a path, or an object with `next`, `page` or `cursor`"
        );
    }

    #[test]
    fn bad_hints_name_the_property() {
        assert_eq!(error(json!([])), "the item schema must be a JSON object");
        assert!(
            error(json!({"x-scope": "data["}))
                .starts_with("/x-scope: \"data[\": the path is not a JSONPath: ")
        );
        assert_eq!(
            error(json!({"x-scope": 1})),
            "/x-scope: must be a path string, not 1"
        );
        assert!(
            error(json!({"properties": {"a b": {"x-path": "$.x["}}}))
                .starts_with("/properties/a b: x-path \"$.x[\": the path is not a JSONPath")
        );
        assert!(
            error(json!({"properties": {"o": {"properties": {"p": {"x-path": ""}}}}}))
                .starts_with("/properties/o/properties/p: x-path \"\": the path is empty")
        );
        assert_eq!(
            error(json!({"properties": {"a": {"type": "date"}}})),
            "/properties/a: unsupported type \"date\""
        );
        assert_eq!(
            error(json!({"properties": {"a": {"type": "array", "items": {"x-path": "b"}}}})),
            "/properties/a: x-path goes on the array, not on its items"
        );
        assert!(
            error(json!({"properties": {"a": {"type": "array", "x-map": {}}}}))
                .starts_with("/properties/a: x-map maps scalars")
        );
        assert_eq!(
            error(json!({"properties": {"p": {"x-selector": "h1"}}})),
            "/properties/p/x-selector: unknown hint `x-selector`: the json-extractor reads x-path, x-map"
        );
        assert_eq!(
            error(json!({"x-scop": "data"})),
            "/x-scop: unknown hint `x-scop`: did you mean `x-scope`?"
        );
        assert_eq!(
            error(json!({"required": [1]})),
            "/required: must be an array of property names"
        );
        assert_eq!(
            error(json!({"properties": {"a": false}})),
            "/properties/a: the property schema must be an object"
        );
    }

    #[test]
    fn nesting_is_capped() {
        let mut schema = json!({"type": "string"});
        for _ in 0..MAX_DEPTH {
            schema = json!({"type": "object", "properties": {"a": schema}});
        }
        assert!(Plan::parse(&schema).is_ok(), "{MAX_DEPTH} levels are fine");
        let deeper = json!({"properties": {"a": schema}});
        assert!(
            error(deeper).ends_with(&format!("properties nest deeper than {MAX_DEPTH} levels"))
        );
        let mut arrays = json!({"type": "string"});
        for _ in 0..=MAX_DEPTH {
            arrays = json!({"type": "array", "items": arrays});
        }
        assert!(error(json!({"properties": {"a": arrays}})).contains("nest deeper than"));
    }
}
