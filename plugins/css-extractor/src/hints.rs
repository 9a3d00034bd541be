//! Reading the `x-` hints of an item's JSON Schema into a [`Plan`]: which elements are
//! items, which fields to read from each, and how to turn what is read into values.
//!
//! The plan also lays out the batch calls: every scalar of one *level* (the items, or the
//! sub-elements a nested `x-scope` selects) is a column of that level's single `read`.
//! Nested objects without an `x-scope` read from the same element, so their fields join
//! their parent's level.

use regex_lite::Regex;
use serde_json::Value;
use trawl_sdk::{Field, PluginError, Source};

use crate::coerce::Scalar;
use crate::json::{Json, Object};

/// Everything `extract` needs to know about a schema, checked once.
#[derive(Debug)]
pub struct Plan {
    /// Root `x-scope`: each match is one item. `None`: the page is one item.
    pub scope: Option<String>,
    /// Root `x-follow`: where the links to follow are.
    pub follow: Option<Follow>,
    /// Root `required` property names, for the confidence.
    pub required: Vec<String>,
    /// The items' own level.
    pub root: Level,
}

/// Where the links to follow are read.
#[derive(Debug)]
pub enum Follow {
    /// A column of the root level's read (when the document itself is the only item).
    Column(usize),
    /// A separate read on the document.
    Field(Field),
}

/// The elements that one `read` call covers, and the fields read from each.
#[derive(Debug, Default)]
pub struct Level {
    /// The fields of the read call (deduplicated).
    pub fields: Vec<Field>,
    /// For each field, the property it was first asked for (for error messages).
    pub owners: Vec<String>,
    /// What the values make.
    pub object: ObjectSpec,
}

impl Level {
    fn column(&mut self, field: Field, owner: &str) -> usize {
        if let Some(i) = self.fields.iter().position(|f| *f == field) {
            return i;
        }
        self.fields.push(field);
        self.owners.push(owner.to_string());
        self.fields.len() - 1
    }
}

/// The properties of one object, in schema order.
#[derive(Debug, Default)]
pub struct ObjectSpec {
    /// The properties.
    pub props: Vec<Prop>,
}

/// One property of an object.
#[derive(Debug)]
pub struct Prop {
    /// The property's name in the item.
    pub name: String,
    /// How it is extracted.
    pub kind: Kind,
}

/// How one property is extracted.
#[derive(Debug)]
pub enum Kind {
    /// A scalar: the first value of a column.
    Value { column: usize, value: ValueSpec },
    /// An array of scalars: every value of a column.
    Values { column: usize, value: ValueSpec },
    /// An object read from the same element as its parent.
    Object(ObjectSpec),
    /// An object (`many: false`, the first match) or an array of objects (`many: true`,
    /// every match) read from the elements `selector` matches inside the parent.
    Scoped {
        /// The property's path, for error messages.
        path: String,
        /// The CSS selector of the sub-elements.
        selector: String,
        /// Every match, or only the first.
        many: bool,
        /// The sub-elements' level.
        level: Level,
    },
}

/// What turns one raw string into a value.
#[derive(Debug)]
pub struct ValueSpec {
    /// `x-regex`: keep the first capture group (or the whole match).
    pub regex: Option<Regex>,
    /// `x-map`: replace the string by a JSON value.
    pub map: Option<Mapping>,
    /// The declared type.
    pub ty: Scalar,
    /// Whether the declared type allows `null` (for `x-map` values).
    pub nullable: bool,
}

/// An `x-map`: its entries sorted by key, found by binary search. Maps are a handful of
/// words, and hashing one costs more than the comparisons.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mapping(Vec<(String, Value)>);

impl Mapping {
    /// The entries of a JSON object (its keys are unique).
    pub fn new(object: &Object<'_>) -> Self {
        let mut entries: Vec<(String, Value)> = object
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_value()))
            .collect();
        entries.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
        Self(entries)
    }

    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }
}

/// A schema problem at `path`, a JSON pointer into the schema ("" for its root), which
/// the host hands back as the problem's `path` when the schema is saved.
fn invalid(path: &str, message: impl std::fmt::Display) -> PluginError {
    if path.is_empty() {
        PluginError::invalid_input(format!("schema: {message}"))
    } else {
        PluginError::invalid_at(path, message)
    }
}

use trawl_sdk::hints::pointer_token as token;

/// The hints this plugin reads on the root schema.
const ROOT_HINTS: &[&str] = &["x-scope", "x-follow"];
/// The hints this plugin reads on a property (and on an array's `items`).
const PROPERTY_HINTS: &[&str] = &[
    "x-selector",
    "x-attr",
    "x-url",
    "x-html",
    "x-regex",
    "x-map",
    "x-scope",
];

/// Every `x-` key of `obj` must be one of `known`: a misspelt hint (`x-selecter`) would
/// otherwise be ignored, and the run "succeed" with empty items.
/// The schema is read at every call, so the common case (every hint known) is checked
/// first without building anything.
fn known_hints(obj: &Object<'_>, known: &[&str], path: &str) -> Result<(), PluginError> {
    let unknown = |k: &str| k.starts_with("x-") && !known.contains(&k);
    if !obj.iter().any(|(k, _)| unknown(k)) {
        return Ok(());
    }
    trawl_sdk::hints::known_hints(obj.iter().map(|(k, _)| k), known, path, "css-extractor")
}

impl Plan {
    /// Read a schema's hints from its JSON text; every bad hint is an
    /// [`PluginError::InvalidInput`] naming the property.
    pub fn parse(text: &str) -> Result<Plan, PluginError> {
        let schema = Json::parse(text)
            .map_err(|e| PluginError::invalid_input(format!("schema is not valid JSON: {e}")))?;
        let root = schema
            .as_object()
            .ok_or_else(|| PluginError::invalid_input("the schema must be a JSON object"))?;
        known_hints(root, ROOT_HINTS, "")?;
        let scope = opt_str(root, "x-scope", "")?.map(str::to_string);
        let follow = opt_str(root, "x-follow", "")?.map(|s| Field::url("href").selector(s).all());
        let required = match root.get("required") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(names)) => names
                .iter()
                .map(|n| {
                    n.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| invalid("", "`required` must list property names"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(invalid("", "`required` must be an array")),
        };
        let mut level = Level::default();
        level.object = parse_object(root, "", &mut level)?;
        let follow = match follow {
            // The document is the only node read: the links join its read.
            Some(field) if scope.is_none() => {
                Some(Follow::Column(level.column(field, "/x-follow")))
            }
            Some(field) => Some(Follow::Field(field)),
            None => None,
        };
        Ok(Plan {
            scope,
            follow,
            required,
            root: level,
        })
    }
}

fn opt_str<'a>(obj: &'a Object<'_>, key: &str, path: &str) -> Result<Option<&'a str>, PluginError> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) if s.trim().is_empty() => {
            Err(invalid(path, format!("`{key}` is empty")))
        }
        Some(Json::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(
            path,
            format!("`{key}` must be a string, not {other}"),
        )),
    }
}

/// The declared types of a property schema: `"type": "x"` or `"type": ["x", "null"]`.
/// Returns the first non-null type name and whether `null` is allowed.
fn declared_type<'a>(
    obj: &'a Object<'_>,
    path: &str,
) -> Result<(Option<&'a str>, bool), PluginError> {
    match obj.get("type") {
        None => Ok((None, false)),
        Some(Json::String(t)) => Ok((Some(t.as_ref()).filter(|t| *t != "null"), t == "null")),
        Some(Json::Array(ts)) => {
            let mut first = None;
            let mut nullable = false;
            for t in ts {
                match t.as_str() {
                    Some("null") => nullable = true,
                    Some(t) => {
                        first.get_or_insert(t);
                    }
                    None => return Err(invalid(path, "`type` must name JSON types")),
                }
            }
            Ok((first, nullable))
        }
        Some(_) => Err(invalid(
            path,
            "`type` must be a string or an array of strings",
        )),
    }
}

/// The properties of an object schema; their scalar fields become columns of `level`.
fn parse_object(
    obj: &Object<'_>,
    path: &str,
    level: &mut Level,
) -> Result<ObjectSpec, PluginError> {
    let props = match obj.get("properties") {
        None | Some(Json::Null) => return Ok(ObjectSpec::default()),
        Some(Json::Object(props)) => props,
        Some(_) => return Err(invalid(path, "`properties` must be an object")),
    };
    let mut spec = ObjectSpec::default();
    for (name, prop) in props.iter() {
        let prop_path = format!("{path}/properties/{}", token(name));
        let prop_obj = prop
            .as_object()
            .ok_or_else(|| invalid(&prop_path, "the property schema must be an object"))?;
        known_hints(prop_obj, PROPERTY_HINTS, &prop_path)?;
        let kind = parse_prop(prop_obj, &prop_path, level)?;
        spec.props.push(Prop {
            name: name.to_string(),
            kind,
        });
    }
    Ok(spec)
}

fn parse_prop(obj: &Object<'_>, path: &str, level: &mut Level) -> Result<Kind, PluginError> {
    let (ty, nullable) = declared_type(obj, path)?;
    let ty = ty.or_else(|| {
        if obj.contains_key("properties") {
            Some("object")
        } else if obj.contains_key("items") {
            Some("array")
        } else {
            None
        }
    });
    match ty {
        Some("object") => {
            let scope = scope_of(obj, None, path)?;
            match scope {
                None => Ok(Kind::Object(parse_object(obj, path, level)?)),
                Some(selector) => {
                    let mut sub = Level::default();
                    sub.object = parse_object(obj, path, &mut sub)?;
                    Ok(Kind::Scoped {
                        path: path.to_string(),
                        selector: selector.to_string(),
                        many: false,
                        level: sub,
                    })
                }
            }
        }
        Some("array") => {
            let items = match obj.get("items") {
                None | Some(Json::Null) => None,
                Some(Json::Object(items)) => Some(items),
                Some(_) => return Err(invalid(path, "`items` must be a schema object")),
            };
            let item_path = format!("{path}/items");
            if let Some(items) = items {
                known_hints(items, PROPERTY_HINTS, &item_path)?;
            }
            let (item_ty, item_nullable) = match items {
                Some(items) => declared_type(items, &item_path)?,
                None => (None, false),
            };
            let is_object = item_ty == Some("object")
                || (item_ty.is_none() && items.is_some_and(|i| i.contains_key("properties")));
            if is_object {
                let items = items.unwrap_or(obj);
                let selector = scope_of(obj, Some(items), path)?.ok_or_else(|| {
                    invalid(path, "an array of objects needs `x-scope`: the CSS selector of each object's element")
                })?;
                let mut sub = Level::default();
                sub.object = parse_object(items, &item_path, &mut sub)?;
                return Ok(Kind::Scoped {
                    path: path.to_string(),
                    selector: selector.to_string(),
                    many: true,
                    level: sub,
                });
            }
            let scalar = match item_ty {
                None => Scalar::Any,
                Some(t) => Scalar::from_type_name(t).ok_or_else(|| {
                    invalid(&item_path, format!("items of type `{t}` are not supported"))
                })?,
            };
            let (field, value) = parse_value(obj, items, path, scalar, item_nullable)?;
            let column = level.column(field.all(), path);
            Ok(Kind::Values { column, value })
        }
        None => {
            let (field, value) = parse_value(obj, None, path, Scalar::Any, nullable)?;
            Ok(Kind::Value {
                column: level.column(field, path),
                value,
            })
        }
        Some(t) => {
            let scalar = Scalar::from_type_name(t)
                .ok_or_else(|| invalid(path, format!("type `{t}` is not supported")))?;
            let (field, value) = parse_value(obj, None, path, scalar, nullable)?;
            Ok(Kind::Value {
                column: level.column(field, path),
                value,
            })
        }
    }
}

/// The selector of an object's (or array of objects') element: `x-scope`, or `x-selector`
/// as an alias, on the property or else on its `items`.
fn scope_of<'a>(
    obj: &'a Object<'_>,
    items: Option<&'a Object<'_>>,
    path: &str,
) -> Result<Option<&'a str>, PluginError> {
    for o in std::iter::once(obj).chain(items) {
        for key in ["x-scope", "x-selector"] {
            if let Some(s) = opt_str(o, key, path)? {
                return Ok(Some(s));
            }
        }
    }
    Ok(None)
}

/// A hint from the property, else from its `items` (for arrays of scalars).
fn hint<'a>(obj: &'a Object<'_>, items: Option<&'a Object<'_>>, key: &str) -> Option<&'a Json<'a>> {
    obj.get(key)
        .filter(|v| !v.is_null())
        .or_else(|| items.and_then(|i| i.get(key)).filter(|v| !v.is_null()))
}

fn parse_value(
    obj: &Object<'_>,
    items: Option<&Object<'_>>,
    path: &str,
    ty: Scalar,
    nullable: bool,
) -> Result<(Field, ValueSpec), PluginError> {
    let str_hint = |key: &str| -> Result<Option<&str>, PluginError> {
        match hint(obj, items, key) {
            None => Ok(None),
            Some(Json::String(s)) if s.trim().is_empty() => {
                Err(invalid(path, format!("`{key}` is empty")))
            }
            Some(Json::String(s)) => Ok(Some(s.as_ref())),
            Some(other) => Err(invalid(
                path,
                format!("`{key}` must be a string, not {other}"),
            )),
        }
    };
    let selector = str_hint("x-selector")?;
    let attr = str_hint("x-attr")?;
    let url = match hint(obj, items, "x-url") {
        None => false,
        Some(Json::Bool(b)) => *b,
        Some(other) => {
            return Err(invalid(
                path,
                format!("`x-url` must be true or false, not {other}"),
            ));
        }
    };
    let html = str_hint("x-html")?;
    let source = match (attr, url, html) {
        (Some(_), _, Some(_)) => {
            return Err(invalid(path, "`x-attr` and `x-html` cannot be combined"));
        }
        (None, true, Some(_)) => {
            return Err(invalid(path, "`x-url` and `x-html` cannot be combined"));
        }
        (Some(a), true, None) => Source::url(a),
        (None, true, None) => Source::url("href"),
        (Some(a), false, None) => Source::attr(a),
        (None, false, Some("inner")) => Source::InnerHtml,
        (None, false, Some("outer")) => Source::OuterHtml,
        (None, false, Some(other)) => {
            return Err(invalid(
                path,
                format!("`x-html` must be \"inner\" or \"outer\", not \"{other}\""),
            ));
        }
        (None, false, None) => Source::Text,
    };
    let regex = match str_hint("x-regex")? {
        None => None,
        Some(re) => Some(
            Regex::new(re)
                .map_err(|e| invalid(path, format!("`x-regex` does not compile: {e}")))?,
        ),
    };
    let map = match hint(obj, items, "x-map") {
        None => None,
        Some(Json::Object(m)) => Some(Mapping::new(m)),
        Some(other) => {
            return Err(invalid(
                path,
                format!("`x-map` must be an object, not {other}"),
            ));
        }
    };
    let mut field = Field::new(source);
    field.selector = selector.map(str::to_string);
    Ok((
        field,
        ValueSpec {
            regex,
            map,
            ty,
            nullable,
        },
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(schema: Value) -> Plan {
        Plan::parse(&schema.to_string()).unwrap()
    }

    fn error(schema: Value) -> String {
        match Plan::parse(&schema.to_string()).unwrap_err() {
            PluginError::InvalidInput(m) => m,
            other => panic!("not InvalidInput: {other:?}"),
        }
    }

    #[test]
    fn listing_schema() {
        let p = plan(json!({
            "type": "object",
            "x-scope": "article.product_pod",
            "x-follow": "li.next a",
            "required": ["title", "price"],
            "properties": {
                "title": {"type": "string", "x-selector": "h3 a", "x-attr": "title"},
                "price": {"type": "number", "x-selector": "p.price_color"},
                "rating": {"type": ["integer", "null"], "x-selector": "p.star-rating", "x-attr": "class",
                           "x-regex": "star-rating (\\w+)", "x-map": {"One": 1, "Two": 2}},
                "url": {"type": "string", "x-selector": "h3 a", "x-url": true},
                "link": {"type": "string", "x-selector": "h3 a", "x-attr": "href", "x-url": true}
            }
        }));
        assert_eq!(p.scope.as_deref(), Some("article.product_pod"));
        assert_eq!(p.required, ["title", "price"]);
        assert!(
            matches!(&p.follow, Some(Follow::Field(f)) if f.all && f.source == Source::url("href"))
        );
        // `url` and `link` read the same thing: one column.
        assert_eq!(
            p.root.fields,
            [
                Field::attr("title").selector("h3 a"),
                Field::text().selector("p.price_color"),
                Field::attr("class").selector("p.star-rating"),
                Field::url("href").selector("h3 a"),
            ]
        );
        let names: Vec<_> = p
            .root
            .object
            .props
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["title", "price", "rating", "url", "link"]);
        match &p.root.object.props[2].kind {
            Kind::Value { column: 2, value } => {
                assert_eq!(value.ty, Scalar::Integer);
                assert!(value.nullable && value.regex.is_some() && value.map.is_some());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            p.root.object.props[4].kind,
            Kind::Value { column: 3, .. }
        ));
    }

    /// A hint this plugin does not read is an error, with the hint it was likely meant
    /// to be, on the root, on a property and on an array's items.
    #[test]
    fn unknown_hints_are_refused_with_a_near_miss() {
        assert_eq!(
            error(json!({"properties": {"title": {"type": "string", "x-selecter": "h1"}}})),
            "/properties/title/x-selecter: unknown hint `x-selecter`: did you mean `x-selector`?"
        );
        assert_eq!(
            error(json!({"x-scop": "li", "properties": {}})),
            "/x-scop: unknown hint `x-scop`: did you mean `x-scope`?"
        );
        assert_eq!(
            error(
                json!({"properties": {"tags": {"type": "array", "items": {"type": "string", "x-regx": "a"}}}})
            ),
            "/properties/tags/items/x-regx: unknown hint `x-regx`: did you mean `x-regex`?"
        );
        let far = error(json!({"properties": {"p": {"x-path": "offers.price"}}}));
        assert!(
            far.starts_with(
                "/properties/p/x-path: unknown hint `x-path`: the css-extractor reads x-selector"
            ),
            "{far}"
        );
    }

    #[test]
    fn follow_joins_the_document_read() {
        let p = plan(json!({"x-follow": "a.next", "properties": {"h": {"x-selector": "h1"}}}));
        assert!(p.scope.is_none());
        assert!(matches!(p.follow, Some(Follow::Column(1))));
        assert_eq!(p.root.owners, ["/properties/h", "/x-follow"]);
    }

    #[test]
    fn html_and_untyped() {
        let p = plan(json!({"properties": {
            "inner": {"x-selector": "div", "x-html": "inner"},
            "outer": {"type": "string", "x-html": "outer"}
        }}));
        assert_eq!(
            p.root.fields,
            [Field::inner_html().selector("div"), Field::outer_html()]
        );
        assert!(
            matches!(&p.root.object.props[0].kind, Kind::Value { value, .. } if value.ty == Scalar::Any)
        );
    }

    #[test]
    fn nested_levels() {
        let p = plan(json!({"properties": {
            "product": {"type": "object", "properties": {
                "name": {"type": "string", "x-selector": "h1"},
                "stock": {"type": "integer", "x-selector": "p.availability"}
            }},
            "seller": {"type": "object", "x-scope": "div.seller", "properties": {
                "name": {"type": "string", "x-selector": "span.name"}
            }},
            "info": {"type": "array", "x-scope": "table tr", "items": {"type": "object", "properties": {
                "key": {"type": "string", "x-selector": "th"},
                "value": {"type": "string", "x-selector": "td"}
            }}},
            "rows": {"type": "array", "items": {"type": "object", "x-scope": "li", "properties": {}}},
            "tags": {"type": "array", "x-selector": "a.tag", "items": {"type": "string"}}
        }}));
        // `product` reads from the same element: its fields join the root level.
        assert_eq!(p.root.fields.len(), 3);
        assert!(matches!(&p.root.object.props[0].kind, Kind::Object(o) if o.props.len() == 2));
        match &p.root.object.props[1].kind {
            Kind::Scoped {
                selector,
                many: false,
                level,
                ..
            } => {
                assert_eq!(selector, "div.seller");
                assert_eq!(level.fields, [Field::text().selector("span.name")]);
            }
            other => panic!("{other:?}"),
        }
        match &p.root.object.props[2].kind {
            Kind::Scoped {
                selector,
                many: true,
                level,
                ..
            } => {
                assert_eq!(selector, "table tr");
                assert_eq!(
                    level.owners,
                    [
                        "/properties/info/items/properties/key",
                        "/properties/info/items/properties/value"
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&p.root.object.props[3].kind, Kind::Scoped { selector, many: true, .. } if selector == "li")
        );
        assert!(matches!(
            p.root.object.props[4].kind,
            Kind::Values { column: 2, .. }
        ));
        assert_eq!(p.root.fields[2], Field::text().selector("a.tag").all());
    }

    #[test]
    fn bad_hints_name_the_property() {
        assert_eq!(error(json!([1])), "the schema must be a JSON object");
        assert!(
            matches!(Plan::parse("{\"properties\":"), Err(PluginError::InvalidInput(m)) if m.starts_with("schema is not valid JSON"))
        );
        assert!(
            error(json!({"properties": {"price": {"x-regex": "("}}}))
                .starts_with("/properties/price: `x-regex` does not compile")
        );
        assert!(
            error(json!({"properties": {"a": {"properties": {"b": {"x-html": "all"}}}}}))
                .starts_with("/properties/a/properties/b: `x-html` must be")
        );
        assert!(
            error(json!({"properties": {"p": {"x-map": [1]}}}))
                .contains("/properties/p: `x-map` must be an object")
        );
        // A name with `/` or `~` is escaped in the pointer.
        assert!(
            error(json!({"properties": {"a/b~c": {"x-regex": "("}}}))
                .starts_with("/properties/a~1b~0c: ")
        );
        assert!(
            error(json!({"properties": {"p": {"x-url": "yes"}}}))
                .contains("`x-url` must be true or false")
        );
        assert!(
            error(json!({"properties": {"p": {"x-attr": "href", "x-html": "inner"}}}))
                .contains("cannot be combined")
        );
        assert!(
            error(json!({"properties": {"p": {"x-selector": 3}}}))
                .contains("`x-selector` must be a string")
        );
        assert!(
            error(json!({"properties": {"p": {"x-selector": " "}}}))
                .contains("`x-selector` is empty")
        );
        assert!(
            error(json!({"properties": {"r": {"type": "array", "items": {"type": "object"}}}}))
                .contains("/properties/r: an array of objects needs `x-scope`")
        );
        assert!(
            error(json!({"properties": {"p": {"type": "date"}}}))
                .contains("type `date` is not supported")
        );
        assert!(
            error(json!({"x-scope": 1, "properties": {}}))
                .starts_with("schema: `x-scope` must be a string")
        );
        assert!(
            error(json!({"properties": {"p": 1}}))
                .contains("/properties/p: the property schema must be an object")
        );
        assert!(error(json!({"required": "title"})).contains("`required` must be an array"));
    }

    #[test]
    fn readme_schemas_are_valid() {
        let readme = include_str!("../README.md");
        let schemas: Vec<Value> = readme
            .split("```json\n")
            .skip(1)
            .filter_map(|block| block.split("```").next())
            .map(|block| serde_json::from_str(block).unwrap())
            .filter(|v: &Value| {
                v.get("properties")
                    .is_some_and(|p| p.to_string().contains("x-"))
            })
            .collect();
        assert_eq!(schemas.len(), 2);
        for schema in &schemas {
            plan(schema.clone());
        }
    }

    #[test]
    fn mapping_finds_every_key() {
        let json = Json::parse(r#"{"b": 2, "a": 1, "": null, "ä": [1], "A": "x"}"#).unwrap();
        let mapping = Mapping::new(json.as_object().unwrap());
        assert_eq!(mapping.get("a"), Some(&json!(1)));
        assert_eq!(mapping.get("b"), Some(&json!(2)));
        assert_eq!(mapping.get("A"), Some(&json!("x")));
        assert_eq!(mapping.get("ä"), Some(&json!([1])));
        assert_eq!(mapping.get(""), Some(&Value::Null));
        assert_eq!(mapping.get("c"), None);
        assert_eq!(Mapping::default().get("a"), None);
    }

    #[test]
    fn no_properties_no_columns() {
        let p = plan(json!({"type": "object", "x-follow": "a"}));
        assert!(p.root.object.props.is_empty());
        assert!(matches!(p.follow, Some(Follow::Column(0))));
    }
}
