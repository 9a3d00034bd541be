//! Reading the item's JSON Schema into a [`Plan`]: which article fields the item has
//! (by property name, schema.org names included), the type each must have, and the
//! `x-selector` / `x-attr` hints that override the automatic value. Unknown `x-` hints
//! are refused with the JSON pointer of the property. Documented in `README.md`.

use serde_json::{Map, Value};
use trawl_sdk::PluginError;
use trawl_sdk::hints::{known_hints, pointer_token};

/// What the plugin knows how to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The headline.
    Headline,
    /// The authors' names.
    Authors,
    /// When it was published (ISO 8601).
    DatePublished,
    /// When it was last modified (ISO 8601).
    DateModified,
    /// Its language (BCP 47).
    Language,
    /// The lead image's absolute URL.
    Image,
    /// The summary the page gives.
    Description,
    /// The main text, plain.
    Body,
    /// The main content as Markdown.
    Markdown,
    /// The canonical URL.
    Url,
    /// The site's name.
    SiteName,
    /// Tags or keywords.
    Tags,
}

/// The property names each field answers to.
pub const NAMES: &[(&str, Field)] = &[
    ("headline", Field::Headline),
    ("title", Field::Headline),
    ("authors", Field::Authors),
    ("author", Field::Authors),
    ("date_published", Field::DatePublished),
    ("datePublished", Field::DatePublished),
    ("published", Field::DatePublished),
    ("date_modified", Field::DateModified),
    ("dateModified", Field::DateModified),
    ("modified", Field::DateModified),
    ("language", Field::Language),
    ("inLanguage", Field::Language),
    ("lang", Field::Language),
    ("image", Field::Image),
    ("description", Field::Description),
    ("body", Field::Body),
    ("articleBody", Field::Body),
    ("text", Field::Body),
    ("markdown", Field::Markdown),
    ("url", Field::Url),
    ("site_name", Field::SiteName),
    ("siteName", Field::SiteName),
    ("tags", Field::Tags),
    ("keywords", Field::Tags),
];

/// The JSON type a property's value is made into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// One string (several values are joined with ", ").
    String,
    /// An array of strings.
    Array,
    /// No type declared: the field's own form.
    Natural,
}

/// One property of the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop {
    /// Its name in the item.
    pub name: String,
    /// The field it is, when its name is one the plugin knows.
    pub field: Option<Field>,
    /// What its value becomes.
    pub ty: Ty,
    /// `x-selector`: a CSS selector whose first match gives the value.
    pub selector: Option<String>,
    /// `x-attr`: the attribute of that match to read instead of its text.
    pub attr: Option<String>,
}

/// The item's properties, in the schema's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The properties to fill.
    pub props: Vec<Prop>,
}

/// The hints this plugin reads on a property.
const PROPERTY_HINTS: &[&str] = &["x-selector", "x-attr"];
const PLUGIN: &str = "article-extractor";

impl Plan {
    /// The plan for an item schema. A schema without properties gets every field under
    /// its own name.
    ///
    /// ```
    /// use article_extractor::schema::{Field, Plan, Ty};
    /// use serde_json::json;
    ///
    /// let plan = Plan::parse(&json!({
    ///     "type": "object",
    ///     "properties": {
    ///         "title": {"type": "string"},
    ///         "author": {"type": "string"},
    ///         "section": {"type": "string", "x-selector": ".breadcrumb a:last-child"}
    ///     }
    /// }))?;
    /// assert_eq!(plan.props[0].field, Some(Field::Headline));
    /// assert_eq!(plan.props[1].ty, Ty::String);
    /// assert_eq!(plan.props[2].selector.as_deref(), Some(".breadcrumb a:last-child"));
    /// # Ok::<(), trawl_sdk::PluginError>(())
    /// ```
    pub fn parse(schema: &Value) -> Result<Self, PluginError> {
        let root = match schema {
            Value::Object(root) => root,
            Value::Bool(true) | Value::Null => return Ok(Self::everything()),
            _ => {
                return Err(PluginError::invalid_input(
                    "the item schema must be a JSON object",
                ));
            }
        };
        known_hints(root.keys().map(String::as_str), &[], "", PLUGIN)?;
        match root.get("properties") {
            None => Ok(Self::everything()),
            Some(Value::Object(props)) if props.is_empty() => Ok(Self::everything()),
            Some(Value::Object(props)) => Ok(Self {
                props: parse_props(props)?,
            }),
            Some(_) => Err(PluginError::invalid_at(
                "/properties",
                "properties must be an object",
            )),
        }
    }

    /// Every field, under its first name and in its own form.
    pub fn everything() -> Self {
        let names = [
            "headline",
            "authors",
            "author",
            "date_published",
            "date_modified",
            "language",
            "image",
            "description",
            "body",
            "markdown",
            "url",
            "site_name",
            "tags",
        ];
        Self {
            props: names
                .iter()
                .map(|&name| Prop {
                    name: name.to_string(),
                    field: field_of(name),
                    ty: if name == "author" {
                        Ty::String
                    } else {
                        Ty::Natural
                    },
                    selector: None,
                    attr: None,
                })
                .collect(),
        }
    }
}

/// The field a property name answers to.
pub fn field_of(name: &str) -> Option<Field> {
    NAMES.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}

fn parse_props(props: &Map<String, Value>) -> Result<Vec<Prop>, PluginError> {
    let mut out = Vec::new();
    for (name, schema) in props {
        let at = format!("/properties/{}", pointer_token(name));
        let bad = |what: &str| PluginError::invalid_at(&at, what);
        let schema = match schema {
            Value::Object(o) => o,
            Value::Bool(true) => {
                if let Some(field) = field_of(name) {
                    out.push(Prop {
                        name: name.clone(),
                        field: Some(field),
                        ty: Ty::Natural,
                        selector: None,
                        attr: None,
                    });
                }
                continue;
            }
            _ => return Err(bad("its schema must be an object")),
        };
        known_hints(
            schema.keys().map(String::as_str),
            PROPERTY_HINTS,
            &at,
            PLUGIN,
        )?;
        if let Some(Value::Object(items)) = schema.get("items") {
            known_hints(
                items.keys().map(String::as_str),
                &[],
                &format!("{at}/items"),
                PLUGIN,
            )?;
        }
        let hint = |key: &str| -> Result<Option<String>, PluginError> {
            match schema.get(key) {
                None => Ok(None),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
                Some(_) => Err(PluginError::invalid_at(
                    &format!("{at}/{key}"),
                    format!("{key} must be a non-empty string"),
                )),
            }
        };
        let selector = hint("x-selector")?;
        let attr = hint("x-attr")?;
        if attr.is_some() && selector.is_none() {
            return Err(PluginError::invalid_at(
                &format!("{at}/x-attr"),
                "x-attr needs an x-selector",
            ));
        }
        let ty = match schema.get("type") {
            None => Ty::Natural,
            Some(Value::String(t)) => ty_of(t),
            // `["string", "null"]`: the first type that is not null.
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .map_or(Ty::Natural, ty_of),
            Some(_) => return Err(bad("type must be a type name or an array of names")),
        };
        let field = field_of(name);
        if field.is_none() && selector.is_none() {
            continue;
        }
        out.push(Prop {
            name: name.clone(),
            field,
            ty,
            selector,
            attr,
        });
    }
    Ok(out)
}

fn ty_of(t: &str) -> Ty {
    match t {
        "array" => Ty::Array,
        "string" => Ty::String,
        _ => Ty::Natural,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_hints_are_refused_with_their_pointer() {
        let err =
            Plan::parse(&json!({"properties": {"body": {"type": "string", "x-selecter": "main"}}}))
                .expect_err("a misspelt hint");
        assert_eq!(
            err.message(),
            "/properties/body/x-selecter: unknown hint `x-selecter`: did you mean `x-selector`?"
        );
        let err = Plan::parse(&json!({"x-type": "Article", "properties": {}}))
            .expect_err("no root hints");
        assert!(
            err.message().starts_with("/x-type: unknown hint"),
            "{}",
            err.message()
        );
        let err =
            Plan::parse(&json!({"properties": {"a": {"x-attr": "href"}}})).expect_err("attr alone");
        assert!(
            err.message().starts_with("/properties/a/x-attr"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn names_types_and_unknown_properties() {
        let plan = Plan::parse(&json!({"properties": {
            "articleBody": {"type": "string"},
            "authors": {"type": "array", "items": {"type": "string"}},
            "price": {"type": "number"},
            "kicker": {"type": ["string", "null"], "x-selector": ".kicker"}
        }}))
        .expect("a plan");
        let names: Vec<&str> = plan.props.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["articleBody", "authors", "kicker"]);
        assert_eq!(plan.props[0].field, Some(Field::Body));
        assert_eq!(plan.props[1].ty, Ty::Array);
        assert_eq!(plan.props[2].ty, Ty::String);
        assert_eq!(Plan::parse(&json!({})).expect("a plan").props.len(), 13);
    }
}
