//! Selectors from clicks: what the console's point-and-click schema builder asks the host.
//!
//! An element is named by its *path*: the indexes of the element children from `<html>`
//! down (`[]` is `<html>`, `[1]` is `<body>` after `<head>`, `[1, 0]` body's first element
//! child). The console computes it in its frame and the host resolves it in its own
//! parse of the same text ([`crate::sanitize`]), so both name one element.
//!
//! - [`check`]: a selector's matches (inside each element of an item scope, or on the page),
//!   with a sample of them, counted by the same matcher a run uses.
//! - [`propose`]: the shortest selector that matches what some example elements have in
//!   common and none of the rejected ones. One example (with no scope) gives a selector for
//!   that one element; two or more give the set they generalise to (every element built like
//!   them), and the repeating item around them (the container) with the field's selector
//!   inside it. Inside a scope, an example gives the field's selector in every item.
//!
//! How: the examples' ancestor chains are aligned from the element up and what every
//! example shares at each level (tag, classes, `itemprop`, `role`, position among its
//! siblings) makes the most specific selector, whose matches are the target set. Shorter
//! selectors made of parts of it are then tried, simplest first, and the first with exactly
//! the target set wins. Rejects the target set holds are removed by a shared position, or
//! by `:not()` of a class the rejected elements have and no example has.

use std::collections::HashSet;

use ego_tree::NodeId;
use scraper::{ElementRef, Html};

use crate::{Budget, Clock, Document, DomError, Limits, Meter, selector, serial, text};

/// An element's place in the document: element-child indexes from `<html>` down.
pub type Path = Vec<usize>;

/// One element a selector matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Where it is.
    pub path: Path,
    /// Its text, collapsed, cut at [`TEXT_SAMPLE`] bytes.
    pub text: String,
    /// Its outer HTML, cut at [`HTML_SAMPLE`] bytes.
    pub html: String,
}

/// What a selector matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matches {
    /// The selector.
    pub selector: String,
    /// Elements matched in all (each once, even where scopes nest).
    pub count: usize,
    /// Elements the scope selector matched, when there is one.
    pub scopes: Option<usize>,
    /// Scopes in which the selector matched at least once.
    pub in_scopes: Option<usize>,
    /// The first matches, in document order.
    pub sample: Vec<Match>,
}

/// The repeating item around a field's matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// A selector for the items.
    pub selector: String,
    /// How many items it matches.
    pub count: usize,
    /// The field's selector inside each item; `None` when the field is the item itself.
    pub field: Option<String>,
}

/// A proposed selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The selector and its matches.
    pub matches: Matches,
    /// With two or more examples and no scope: the item they repeat in.
    pub container: Option<Container>,
}

/// Bytes of text kept of each sampled match.
pub const TEXT_SAMPLE: usize = 200;
/// Bytes of outer HTML kept of each sampled match.
pub const HTML_SAMPLE: usize = 400;
/// Examples, and rejects, one proposal may name.
pub const MAX_EXAMPLES: usize = 100;
/// Selectors one proposal tries at most before it settles for the most specific one.
const MAX_TRIES: usize = 800;
/// Ancestor levels a proposal looks at above the examples.
const MAX_LEVELS: usize = 12;

/// The element at `path`, if there is one.
pub fn at_path<'a>(html: &'a Html, path: &[usize]) -> Option<ElementRef<'a>> {
    let mut el = html.root_element();
    for &index in path {
        el = el.children().filter_map(ElementRef::wrap).nth(index)?;
    }
    Some(el)
}

/// Where `el` is.
pub fn path_of(el: ElementRef<'_>) -> Path {
    let mut path = Vec::new();
    let mut node = el;
    while let Some(parent) = node.parent().and_then(ElementRef::wrap) {
        let index = parent
            .children()
            .filter_map(ElementRef::wrap)
            .position(|c| c.id() == node.id())
            .unwrap_or(0);
        path.push(index);
        node = parent;
    }
    path.reverse();
    path
}

/// What `selector` matches, inside each element `within` matches when it is given.
pub fn check(
    doc: &Document,
    selector: &str,
    within: Option<&str>,
    sample: usize,
    limits: &Limits,
    clock: &dyn Clock,
) -> Result<Matches, DomError> {
    let mut meter = Meter::new(clock);
    let scopes = match within {
        Some(w) => Some(matching(doc.html(), w, None, limits, &mut meter)?),
        None => None,
    };
    let found = matching(doc.html(), selector, scopes.as_deref(), limits, &mut meter)?;
    let in_scopes = scopes.as_ref().map(|s| scopes_hit(doc.html(), s, &found));
    Ok(Matches {
        selector: selector.to_owned(),
        count: found.len(),
        scopes: scopes.as_ref().map(Vec::len),
        in_scopes,
        sample: samples(doc.html(), &found, sample, &mut meter)?,
    })
}

/// Propose a selector for the elements at `examples` that matches none at `rejects`,
/// inside each element `within` matches when it is given.
pub fn propose(
    doc: &Document,
    examples: &[Path],
    rejects: &[Path],
    within: Option<&str>,
    sample: usize,
    limits: &Limits,
    clock: &dyn Clock,
) -> Result<Proposal, DomError> {
    if examples.is_empty() {
        return Err(DomError::NoSelector(
            "a proposal needs at least one example".into(),
        ));
    }
    if examples.len() > MAX_EXAMPLES || rejects.len() > MAX_EXAMPLES {
        return Err(DomError::Limit(format!(
            "at most {MAX_EXAMPLES} examples and {MAX_EXAMPLES} rejects"
        )));
    }
    let html = doc.html();
    let mut meter = Meter::new(clock);
    let resolve = |paths: &[Path]| -> Result<Vec<NodeId>, DomError> {
        paths
            .iter()
            .map(|p| {
                if p.len() > limits.max_depth {
                    return Err(DomError::NoSelector(
                        "an element path deeper than the page may nest".into(),
                    ));
                }
                at_path(html, p)
                    .map(|el| el.id())
                    .ok_or_else(|| DomError::NoSelector(format!("no element at path {p:?}")))
            })
            .collect()
    };
    let examples = resolve(examples)?;
    let rejects = resolve(rejects)?;
    let scopes = match within {
        Some(w) => Some(matching(html, w, None, limits, &mut meter)?),
        None => None,
    };
    let search = Search {
        html,
        limits,
        scopes: scopes.as_deref(),
    };
    let single = examples.len() == 1 && scopes.is_none();
    let chains = search.chains(&examples)?;
    let mut levels = common_levels(html, &chains, single);
    if let Some(scopes) = &scopes {
        search.keep_common_classes(&mut levels, scopes.len(), &mut meter)?;
    }
    if levels.is_empty() {
        return Err(DomError::NoSelector(
            "the examples share nothing a selector could name (not even their tag)".into(),
        ));
    }
    let (selector, found) = if single {
        search.unique(&levels, examples[0], &mut meter)?
    } else {
        search.general(&levels, &examples, &rejects, &mut meter)?
    };
    let container = if examples.len() >= 2 && scopes.is_none() {
        match search.container(&found, &examples, &mut meter) {
            Ok(container) => container,
            Err(DomError::NoSelector(_)) => None,
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    let in_scopes = scopes.as_ref().map(|s| scopes_hit(html, s, &found));
    Ok(Proposal {
        matches: Matches {
            selector,
            count: found.len(),
            scopes: scopes.as_ref().map(Vec::len),
            in_scopes,
            sample: samples(html, &found, sample, &mut meter)?,
        },
        container,
    })
}

/// What every example has at one level of its ancestor chain.
#[derive(Debug, Clone, Default)]
struct Level {
    tag: Option<String>,
    classes: Vec<String>,
    attrs: Vec<(String, String)>,
    /// Position among the siblings of its type (1-based), when every example has the same.
    nth: Option<usize>,
    /// The id, for a single example when it is unique and looks stable.
    id: Option<String>,
    /// What keeps rejected elements out at this level (`:not(…)`), added to every way of
    /// naming it.
    extra: String,
}

impl Level {
    /// The ways to name this level, simplest first, with their cost. A class says more
    /// than a tag, and a class that only lays the page out says less than one that names
    /// what the element is.
    fn options(&self) -> Vec<(String, u32)> {
        let mut out = Vec::new();
        if let Some(id) = &self.id {
            out.push((format!("#{}", ident(id)), 1));
        }
        let tag = self.tag.as_deref().map(ident);
        let named = self.classes.iter().any(|c| !layout(c));
        if let Some(tag) = &tag {
            out.push((tag.clone(), if named { 2 } else { 1 }));
        }
        for class in &self.classes {
            let cost = if layout(class) { 2 } else { 1 };
            out.push((format!(".{}", ident(class)), cost));
            if let Some(tag) = &tag {
                out.push((format!("{tag}.{}", ident(class)), cost + 1));
            }
        }
        if self.classes.len() >= 2 {
            out.push((self.full(false), 1 + self.classes.len() as u32));
        }
        for (name, value) in &self.attrs {
            let attr = format!("[{name}={}]", quoted(value));
            out.push((format!("{}{attr}", tag.clone().unwrap_or_default()), 2));
        }
        if let (Some(tag), Some(nth)) = (&tag, self.nth) {
            out.push((format!("{tag}:nth-of-type({nth})"), 3));
        }
        // Cheapest first, the order above among equals.
        out.sort_by_key(|o| o.1);
        out.truncate(10);
        for (text, _) in &mut out {
            text.push_str(&self.extra);
        }
        out
    }

    /// Everything shared, as one compound selector (the position too when `nth`).
    fn full(&self, nth: bool) -> String {
        let mut out = self.tag.as_deref().map(ident).unwrap_or_default();
        for class in &self.classes {
            out.push('.');
            out.push_str(&ident(class));
        }
        for (name, value) in &self.attrs {
            out.push_str(&format!("[{name}={}]", quoted(value)));
        }
        if nth && let Some(n) = self.nth {
            if out.is_empty() {
                out.push('*');
            }
            out.push_str(&format!(":nth-of-type({n})"));
        }
        if out.is_empty() {
            out.push('*');
        }
        out.push_str(&self.extra);
        out
    }
}

/// Whether a class only lays the page out (a grid column, a spacing or display utility)
/// rather than saying what the element is.
fn layout(class: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "col-", "row-", "span", "offset-", "pull-", "push-", "grid-", "flex-", "d-", "m-", "mt-",
        "mb-", "ml-", "mr-", "mx-", "my-", "p-", "pt-", "pb-", "pl-", "pr-", "px-", "py-", "w-",
        "h-", "text-", "float-", "hidden-", "visible-", "align-", "justify-", "gap-", "order-",
    ];
    const WHOLE: &[&str] = &[
        "row",
        "col",
        "container",
        "container-fluid",
        "clearfix",
        "grid",
        "flex",
        "block",
        "inline",
        "inline-block",
        "pull-left",
        "pull-right",
        "left",
        "right",
        "center",
        "wrapper",
        "inner",
        "outer",
    ];
    class.contains(':') || WHOLE.contains(&class) || PREFIXES.iter().any(|p| class.starts_with(p))
}

/// Classes that say an element's state rather than what it is.
const STATE_CLASSES: &[&str] = &[
    "active",
    "selected",
    "current",
    "hover",
    "focus",
    "open",
    "is-active",
    "is-selected",
    "visible",
    "hidden",
    "show",
    "in",
    "first",
    "last",
    "odd",
    "even",
];

/// Whether a class or id looks written by a person rather than generated by a build (a
/// hash, a counter): generated ones change between deploys.
fn stable(name: &str) -> bool {
    let digits = name.chars().filter(char::is_ascii_digit).count();
    if name.is_empty() || name.len() > 40 || digits >= 3 {
        return false;
    }
    // css-in-js hashes: `css-1x2ab3`, `sc-bdVaJa`, `jsx-123`.
    if let Some((prefix, rest)) = name.split_once('-')
        && prefix.len() <= 3
        && rest.len() >= 5
        && rest
            .chars()
            .any(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && !rest.contains('-')
    {
        return false;
    }
    true
}

/// What the chains share, level by level from the examples up, until the tags differ.
fn common_levels(html: &Html, chains: &[Vec<NodeId>], single: bool) -> Vec<Level> {
    let depth = chains
        .iter()
        .map(Vec::len)
        .min()
        .unwrap_or(0)
        .min(MAX_LEVELS);
    let mut levels = Vec::new();
    for k in 0..depth {
        let els: Vec<ElementRef<'_>> = chains
            .iter()
            .filter_map(|c| html.tree.get(c[k]).and_then(ElementRef::wrap))
            .collect();
        let first = els[0];
        let tag = first.value().name().to_owned();
        let same_tag = els.iter().all(|e| e.value().name() == tag);
        if !same_tag && k > 0 {
            break;
        }
        let mut classes: Vec<String> = first
            .value()
            .classes()
            .filter(|c| stable(c) && !STATE_CLASSES.contains(c) && !c.starts_with("trawl-"))
            .map(str::to_owned)
            .collect();
        classes.dedup();
        classes.retain(|c| {
            els.iter().all(|e| {
                e.value()
                    .has_class(c, scraper::CaseSensitivity::CaseSensitive)
            })
        });
        let attrs: Vec<(String, String)> = ["itemprop", "role"]
            .iter()
            .filter_map(|name| {
                let value = first.value().attr(name)?;
                (value.len() <= 100 && els.iter().all(|e| e.value().attr(name) == Some(value)))
                    .then(|| ((*name).to_owned(), value.to_owned()))
            })
            .collect();
        let nth = nth_of_type(first);
        let nth = els.iter().all(|e| nth_of_type(*e) == nth).then_some(nth);
        let id = first
            .value()
            .id()
            .filter(|id| single && stable(id) && unique_id(html, id))
            .map(str::to_owned);
        if !same_tag && classes.is_empty() && attrs.is_empty() {
            break;
        }
        levels.push(Level {
            tag: same_tag.then_some(tag),
            classes,
            attrs,
            nth: if same_tag { nth } else { None },
            id,
            extra: String::new(),
        });
    }
    levels
}

fn nth_of_type(el: ElementRef<'_>) -> usize {
    let name = el.value().name();
    1 + el
        .prev_siblings()
        .filter_map(ElementRef::wrap)
        .filter(|s| s.value().name() == name)
        .count()
}

fn unique_id(html: &Html, id: &str) -> bool {
    html.tree
        .nodes()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().id() == Some(id))
        .take(2)
        .count()
        == 1
}

struct Search<'a> {
    html: &'a Html,
    limits: &'a Limits,
    scopes: Option<&'a [NodeId]>,
}

impl<'a> Search<'a> {
    /// Each example's chain: itself, then its ancestors up to its scope (excluded) or to
    /// `<body>` (excluded).
    fn chains(&self, examples: &[NodeId]) -> Result<Vec<Vec<NodeId>>, DomError> {
        let scopes: Option<HashSet<NodeId>> = self.scopes.map(|s| s.iter().copied().collect());
        let mut chains = Vec::with_capacity(examples.len());
        for &e in examples {
            let mut chain = Vec::new();
            let mut node = self.html.tree.get(e).and_then(ElementRef::wrap);
            let mut inside = scopes.is_none();
            while let Some(el) = node {
                if let Some(scopes) = &scopes
                    && scopes.contains(&el.id())
                {
                    inside = true;
                    break;
                }
                if matches!(el.value().name(), "body" | "html") {
                    break;
                }
                chain.push(el.id());
                node = el.parent().and_then(ElementRef::wrap);
            }
            if !inside {
                return Err(DomError::NoSelector(
                    "an example is not inside any element of the item scope".into(),
                ));
            }
            if chain.is_empty() {
                return Err(DomError::NoSelector(
                    "an example is the item itself, or the page's <body> or <html>".into(),
                ));
            }
            chains.push(chain);
        }
        Ok(chains)
    }

    /// Inside item scopes, what one item's element has that most items' do not (a rating's
    /// `Three`, a sale's `discounted`) says nothing about the field: keep the classes that
    /// at least half of the scopes have on an element of the same tag.
    fn keep_common_classes(
        &self,
        levels: &mut [Level],
        scopes: usize,
        meter: &mut Meter<'_>,
    ) -> Result<(), DomError> {
        for level in levels.iter_mut() {
            let tag = level.tag.as_deref().map(ident).unwrap_or_default();
            let mut kept = Vec::new();
            for class in &level.classes {
                let found = self.matching(&format!("{tag}.{}", ident(class)), meter)?;
                let hit = scopes_hit(self.html, self.scopes.unwrap_or(&[]), &found);
                if hit * 2 >= scopes {
                    kept.push(class.clone());
                }
            }
            level.classes = kept;
        }
        Ok(())
    }

    fn matching(&self, selector: &str, meter: &mut Meter<'_>) -> Result<Vec<NodeId>, DomError> {
        matching(self.html, selector, self.scopes, self.limits, meter)
    }

    /// The shortest selector for exactly the one element `target`.
    fn unique(
        &self,
        levels: &[Level],
        target: NodeId,
        meter: &mut Meter<'_>,
    ) -> Result<(String, Vec<NodeId>), DomError> {
        let want: HashSet<NodeId> = [target].into();
        if let Some(found) = self.shortest(levels, &want, meter)? {
            return Ok(found);
        }
        // A full path of positions from <body> is always unique.
        let el = self
            .html
            .tree
            .get(target)
            .and_then(ElementRef::wrap)
            .ok_or_else(|| DomError::NoSelector("the example vanished".into()))?;
        let mut parts = Vec::new();
        let mut node = Some(el);
        while let Some(el) = node {
            if el.value().name() == "html" {
                break;
            }
            parts.push(format!(
                "{}:nth-of-type({})",
                ident(el.value().name()),
                nth_of_type(el)
            ));
            node = el.parent().and_then(ElementRef::wrap);
        }
        parts.reverse();
        let selector = parts.join(" > ");
        let found = self.matching(&selector, meter)?;
        Ok((selector, found))
    }

    /// The shortest selector for everything built like the examples, none of the rejects.
    fn general(
        &self,
        levels: &[Level],
        examples: &[NodeId],
        rejects: &[NodeId],
        meter: &mut Meter<'_>,
    ) -> Result<(String, Vec<NodeId>), DomError> {
        let rejected: HashSet<NodeId> = rejects.iter().copied().collect();
        let mut levels = levels.to_vec();
        let mut most = chain_of(&levels);
        let mut found = self.matching(&most, meter)?;
        // The most specific selector, made more specific while it holds a reject: by a
        // position the examples share, then by excluding the rejects' own positions, then
        // by excluding their own classes.
        let el = |id: NodeId| self.html.tree.get(id).and_then(ElementRef::wrap);
        let up = |id: NodeId, k: usize| {
            let mut node = el(id);
            for _ in 0..k {
                node = node.and_then(|n| n.parent()).and_then(ElementRef::wrap);
            }
            node
        };
        let mut steps = 0;
        while found.iter().any(|f| rejected.contains(f)) {
            let still: Vec<NodeId> = rejects
                .iter()
                .copied()
                .filter(|r| found.contains(r))
                .collect();
            let k = steps % levels.len().max(1);
            let round = steps / levels.len().max(1);
            steps += 1;
            if round >= 3 {
                return Err(DomError::NoSelector(
                    "no selector matches every example and none of the rejected elements".into(),
                ));
            }
            let level = &mut levels[k];
            let theirs: Vec<usize> = still
                .iter()
                .filter_map(|&r| up(r, k))
                .map(nth_of_type)
                .collect();
            match round {
                0 => {
                    let Some(n) = level.nth else { continue };
                    if theirs.iter().all(|&t| t == n) || level.tag.is_none() {
                        continue;
                    }
                    level.extra.push_str(&format!(":nth-of-type({n})"));
                }
                1 => {
                    let ours: HashSet<usize> = examples
                        .iter()
                        .filter_map(|&e| up(e, k))
                        .map(nth_of_type)
                        .collect();
                    if theirs.is_empty()
                        || theirs.iter().any(|t| ours.contains(t))
                        || level.tag.is_none()
                    {
                        continue;
                    }
                    let mut theirs = theirs;
                    theirs.sort_unstable();
                    theirs.dedup();
                    for t in theirs {
                        level.extra.push_str(&format!(":not(:nth-of-type({t}))"));
                    }
                }
                _ => {
                    if k != 0 {
                        continue;
                    }
                    let not = self.not_classes(examples, &still);
                    if not.is_empty() {
                        continue;
                    }
                    level.extra.push_str(&not);
                }
            }
            most = chain_of(&levels);
            found = self.matching(&most, meter)?;
        }
        let want: HashSet<NodeId> = found.iter().copied().collect();
        if examples.iter().any(|e| !want.contains(e)) {
            return Err(DomError::NoSelector(
                "no selector matches every example and none of the rejected elements".into(),
            ));
        }
        match self.shortest(&levels, &want, meter)? {
            Some(best) => Ok(best),
            None => Ok((most, found)),
        }
    }

    /// `:not(.a):not(.b)` of the classes the rejects have at level 0 and no example has.
    fn not_classes(&self, examples: &[NodeId], rejects: &[NodeId]) -> String {
        let el = |id: NodeId| self.html.tree.get(id).and_then(ElementRef::wrap);
        let example_classes: HashSet<&str> = examples
            .iter()
            .filter_map(|&e| el(e))
            .flat_map(|e| e.value().classes())
            .collect();
        let mut out = String::new();
        let mut seen = HashSet::new();
        for r in rejects.iter().filter_map(|&r| el(r)) {
            if let Some(c) = r
                .value()
                .classes()
                .find(|c| !example_classes.contains(c) && stable(c))
                && seen.insert(c)
            {
                out.push_str(&format!(":not(.{})", ident(c)));
            }
        }
        out
    }

    /// The simplest selector made of the levels' parts whose matches are exactly `want`.
    fn shortest(
        &self,
        levels: &[Level],
        want: &HashSet<NodeId>,
        meter: &mut Meter<'_>,
    ) -> Result<Option<(String, Vec<NodeId>)>, DomError> {
        let options: Vec<Vec<(String, u32)>> = levels.iter().map(Level::options).collect();
        let mut candidates: Vec<(u32, String)> = Vec::new();
        let own = &options[0];
        for (o0, c0) in own {
            candidates.push((*c0, o0.clone()));
        }
        for (j, level) in options.iter().enumerate().skip(1) {
            for (oj, cj) in level {
                for (o0, c0) in own {
                    let comb = if j == 1 { " > " } else { " " };
                    candidates.push((cj + c0 + 1, format!("{oj}{comb}{o0}")));
                }
            }
        }
        for j2 in 2..levels.len() {
            for j1 in 1..j2 {
                for (o2, c2) in options[j2].iter().filter(|o| o.1 <= 2).take(4) {
                    for (o1, c1) in options[j1].iter().filter(|o| o.1 <= 2).take(4) {
                        for (o0, c0) in own.iter().filter(|o| o.1 <= 2).take(4) {
                            let comb2 = if j2 == j1 + 1 { " > " } else { " " };
                            let comb1 = if j1 == 1 { " > " } else { " " };
                            candidates
                                .push((c2 + c1 + c0 + 2, format!("{o2}{comb2}{o1}{comb1}{o0}")));
                        }
                    }
                }
            }
        }
        // Simplest first; among equals, fewer levels and then the nearer ancestors.
        candidates.sort_by_key(|(cost, text)| (*cost, text.matches(' ').count()));
        for (_, candidate) in candidates.into_iter().take(MAX_TRIES) {
            let found = self.matching(&candidate, meter)?;
            if found.len() == want.len() && found.iter().all(|f| want.contains(f)) {
                return Ok(Some((candidate, found)));
            }
        }
        Ok(None)
    }

    /// The repeating item around `found` (a field's matches): the highest ancestors that are
    /// still one per match, unwrapped while each holds a single element; and the field's
    /// selector inside it.
    fn container(
        &self,
        found: &[NodeId],
        examples: &[NodeId],
        meter: &mut Meter<'_>,
    ) -> Result<Option<Container>, DomError> {
        let el = |id: NodeId| self.html.tree.get(id).and_then(ElementRef::wrap);
        let mut best: Option<Vec<NodeId>> = None;
        let mut level: Vec<NodeId> = found.to_vec();
        for _ in 0..MAX_LEVELS {
            let parents: Option<Vec<NodeId>> = level
                .iter()
                .map(|&n| {
                    el(n)?
                        .parent()
                        .and_then(ElementRef::wrap)
                        .filter(|p| !matches!(p.value().name(), "body" | "html"))
                        .map(|p| p.id())
                })
                .collect();
            let Some(parents) = parents else { break };
            let distinct: HashSet<NodeId> = parents.iter().copied().collect();
            if distinct.len() != parents.len() {
                break;
            }
            best = Some(parents.clone());
            level = parents;
        }
        let Some(mut items) = best else {
            // The matches are siblings: each one is an item.
            let field = Search {
                html: self.html,
                limits: self.limits,
                scopes: None,
            };
            let chains = field.chains(examples)?;
            let levels = common_levels(self.html, &chains, false);
            let (selector, found) = field.general(&levels, examples, &[], meter)?;
            return Ok(Some(Container {
                selector,
                count: found.len(),
                field: None,
            }));
        };
        // Unwrap wrappers (a grid cell holding one card): the card is the item.
        loop {
            let inner: Option<Vec<NodeId>> = items
                .iter()
                .map(|&n| {
                    let mut kids = el(n)?.children().filter_map(ElementRef::wrap);
                    let only = kids.next()?;
                    kids.next().is_none().then_some(only.id())
                })
                .collect();
            match inner {
                Some(inner) if inner.iter().all(|i| !found.contains(i)) => items = inner,
                _ => break,
            }
        }
        let page = Search {
            html: self.html,
            limits: self.limits,
            scopes: None,
        };
        let chains = page.chains(&items)?;
        let levels = common_levels(self.html, &chains, false);
        if levels.is_empty() {
            return Ok(None);
        }
        let (item_selector, item_found) = page.general(&levels, &items, &[], meter)?;
        let scopes = item_found.clone();
        let inside = Search {
            html: self.html,
            limits: self.limits,
            scopes: Some(&scopes),
        };
        let chains = match inside.chains(examples) {
            Ok(chains) => chains,
            Err(_) => return Ok(None),
        };
        let levels = common_levels(self.html, &chains, false);
        if levels.is_empty() {
            return Ok(None);
        }
        let (field, _) = inside.general(&levels, examples, &[], meter)?;
        Ok(Some(Container {
            selector: item_selector,
            count: item_found.len(),
            field: Some(field),
        }))
    }
}

/// The levels as one selector, outermost first, each joined to the next by `>`.
fn chain_of(levels: &[Level]) -> String {
    let mut parts: Vec<String> = levels.iter().map(|level| level.full(false)).collect();
    parts.reverse();
    parts.join(" > ")
}

/// The elements `selector` matches on the page, or inside each of `scopes` (each element
/// once, in document order).
fn matching(
    html: &Html,
    selector: &str,
    scopes: Option<&[NodeId]>,
    limits: &Limits,
    meter: &mut Meter<'_>,
) -> Result<Vec<NodeId>, DomError> {
    let parsed = selector::parse(selector, limits)?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let roots: Vec<Option<ElementRef<'_>>> = match scopes {
        None => vec![None],
        Some(scopes) => scopes
            .iter()
            .filter_map(|&s| html.tree.get(s).and_then(ElementRef::wrap))
            .map(Some)
            .collect(),
    };
    for scope in roots {
        let mut matcher = selector::Matcher::new(&parsed, scope);
        let root = match scope {
            Some(el) => *el,
            None => html.tree.root(),
        };
        for el in root.descendants().skip(1).filter_map(ElementRef::wrap) {
            meter.tick()?;
            if matcher.matches(&el) && seen.insert(el.id()) {
                if out.len() >= limits.max_query_nodes {
                    return Err(DomError::Limit(format!(
                        "a selector matching more than {} elements",
                        limits.max_query_nodes
                    )));
                }
                out.push(el.id());
            }
        }
    }
    Ok(out)
}

/// Scopes holding at least one of `found`.
fn scopes_hit(html: &Html, scopes: &[NodeId], found: &[NodeId]) -> usize {
    let scopes: HashSet<NodeId> = scopes.iter().copied().collect();
    let mut hit = HashSet::new();
    for &f in found {
        let mut node = html.tree.get(f).and_then(|n| n.parent());
        while let Some(n) = node {
            if scopes.contains(&n.id()) {
                hit.insert(n.id());
            }
            node = n.parent();
        }
    }
    hit.len()
}

fn samples(
    html: &Html,
    found: &[NodeId],
    sample: usize,
    meter: &mut Meter<'_>,
) -> Result<Vec<Match>, DomError> {
    let mut out = Vec::new();
    for &id in found.iter().take(sample) {
        let Some(el) = html.tree.get(id).and_then(ElementRef::wrap) else {
            continue;
        };
        let text = text::collapsed(el, &mut Budget::new(64 << 10), meter)
            .map(|t| cut(t, TEXT_SAMPLE))
            .or_else(|e| match e {
                DomError::Limit(_) => Ok(String::new()),
                e => Err(e),
            })?;
        let html = serial::outer_html(el, &mut Budget::new(16 << 10), meter)
            .map(|t| cut(t, HTML_SAMPLE))
            .or_else(|e| match e {
                DomError::Limit(_) => Ok(format!("<{}>…", el.value().name())),
                e => Err(e),
            })?;
        out.push(Match {
            path: path_of(el),
            text,
            html,
        });
    }
    Ok(out)
}

/// `text` cut to at most `max` bytes at a character boundary, with an ellipsis if cut.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// A CSS identifier, escaped.
fn ident(name: &str) -> String {
    let mut out = String::new();
    let _ = cssparser::serialize_identifier(name, &mut out);
    out
}

/// A CSS string, quoted and escaped.
fn quoted(value: &str) -> String {
    let mut out = String::new();
    let _ = cssparser::serialize_string(value, &mut out);
    out
}
