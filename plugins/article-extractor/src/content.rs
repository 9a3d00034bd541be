//! Finding an article's main content in the page tree, and what inside it is not
//! content (share bars, related links, teaser cards, newsletter boxes, bylines, captions,
//! comments).
//!
//! A forward pass over the flat tree marks what can never be content (scripts, form
//! controls, `<nav>`, hidden elements) and credits each text to its nearest block, so each
//! block knows its own text and link text. Class and id words (`share`, `related`,
//! `comment`, `sidebar`… against; `article`, `content`, `post`, `entry`… for) and tags
//! (`<aside>`, `<footer>`, `<figcaption>`) make boilerplate regions, unless the region
//! holds most of the page's paragraphs (a wrapper whose class merely mentions a sidebar)
//! or is mostly quotation (an embedded post). Reverse passes sum up the tree what each
//! element holds: a block long enough and with few links is a paragraph (good text);
//! link-heavy blocks and boilerplate regions are bad text.
//!
//! The seed is the element whose own children (and, less, grandchildren) hold the most
//! paragraph text, discounted by its link density: paragraphs of an article sit
//! together, teasers each sit in a card of their own. It grows to the siblings that hold
//! more of the article, level by level. Inside the result, link-dense boxes, boilerplate,
//! teaser lists, ad labels, the headline and contact notes after the last paragraph are
//! left out. Every pass is linear in the tree's size.

use trawl_sdk::Tree;

use crate::markdown::is_block_tag;

/// Where the main content is, and what inside it to leave out.
#[derive(Debug, Clone)]
pub struct Content {
    /// The element the content is rendered from.
    pub root: usize,
    /// Entries to leave out when rendering (subtrees: a dropped element's descendants
    /// are not looked at).
    pub dropped: Vec<bool>,
    /// Characters of paragraph text found in it.
    pub good: f32,
    /// Characters of link and boilerplate text it still holds.
    pub bad: f32,
}

/// Per-entry measures, filled by [`Stats::new`].
#[derive(Debug)]
pub struct Stats {
    /// Never content, with everything inside.
    pub skip: Vec<bool>,
    /// Inside (or being) a boilerplate region.
    pub neg: Vec<bool>,
    /// The element's own class/id weight: below 0 boilerplate, above 0 content.
    pub weight: Vec<i8>,
    /// Non-space characters of text in the subtree (skipped parts left out).
    pub text: Vec<u32>,
    /// Of which inside links.
    pub link: Vec<u32>,
    /// Paragraph text in the subtree.
    pub good: Vec<f32>,
    /// Link-heavy and boilerplate text in the subtree.
    pub bad: Vec<f32>,
    /// Text credited to the block itself (not to blocks inside it).
    pub own: Vec<u32>,
    /// Paragraph text of the element's children (in full), grandchildren (half) and
    /// great-grandchildren (a third): high where the paragraphs of an article sit
    /// together, low over lists of teasers whose paragraphs each sit in a card.
    pub local: Vec<f32>,
}

/// Elements whose content is never part of an article's text.
fn never_content(tag: &str) -> bool {
    matches!(
        tag,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "svg"
            | "math"
            | "iframe"
            | "object"
            | "embed"
            | "canvas"
            | "video"
            | "audio"
            | "source"
            | "track"
            | "map"
            | "select"
            | "option"
            | "button"
            | "input"
            | "textarea"
            | "head"
            | "title"
            | "meta"
            | "link"
            | "dialog"
            | "nav"
    )
}

/// Hidden by the page: `hidden`, `aria-hidden`, or an inline style that hides it.
fn hidden(tree: &Tree, i: usize) -> bool {
    if tree.attr(i, "hidden").is_some() || tree.attr(i, "aria-hidden") == Some("true") {
        return true;
    }
    tree.attr(i, "style").is_some_and(|s| {
        let s: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        s.contains("display:none") || s.contains("visibility:hidden")
    })
}

/// Words that name boilerplate in class and id attributes, matched whole.
#[rustfmt::skip]
const BOILERPLATE: &[&str] = &[
    "ad", "ads", "adv", "advert", "advertisement", "adsense", "dfp", "banner", "sponsor",
    "sponsored", "promo", "promoted", "promotion", "share", "sharing", "shares", "social",
    "socials", "related", "recommended", "recommendation", "recommendations", "newsletter",
    "newsletters", "subscribe", "subscription", "signup", "login", "comment", "comments",
    "disqus", "sidebar", "widget", "widgets", "popup", "modal", "overlay", "cookie",
    "cookies", "consent", "breadcrumb", "breadcrumbs", "nav", "navigation", "navbar",
    "menu", "footer", "masthead", "outbrain", "taboola", "rss", "toolbar", "trending",
    "popular", "byline", "bio", "tags", "tag", "keywords", "pagination", "pager", "print",
    "credit", "credits", "copyright", "disclaimer", "skip", "hidden", "hide", "sr",
    "visually", "offscreen", "meta", "date", "dateline", "timestamp", "time", "readmore",
    "next", "prev", "previous", "also", "more", "follow", "donate", "cta", "author",
    "authors", "rating", "reactions", "teaser", "teasers", "thumbnail", "thumb", "caption",
    "figcaption", "gallery", "video", "player", "subnav", "topics", "jump", "toc", "image",
    "img", "photo", "figure", "pic",
];

/// Stems distinctive enough to name boilerplate inside a longer word of a class
/// (`inlinegallery`, `sharebar`, `relatedposts`).
#[rustfmt::skip]
const BOILERPLATE_ROOTS: &[&str] = &[
    "gallery", "carousel", "slideshow", "slider", "share", "social", "related", "newsletter",
    "promo", "sponsor", "advert", "subscri", "breadcrumb", "sidebar", "widget", "popup",
    "cookie", "outbrain", "taboola", "recommend", "trending",
];

/// Texts that alone in a block only label what the page put there (in the common
/// languages of the web), compared letters and digits only, lower-cased.
#[rustfmt::skip]
const LABELS: &[&str] = &[
    "ad", "ads", "advert", "advertisement", "advertising", "sponsored", "sponsoredcontent",
    "anzeige", "werbung", "publicité", "publicite", "publicidad", "pubblicità", "publicidade",
    "reklama", "реклама", "iklan", "advertentie", "annonce", "mainoslinkki", "annons",
    "reklame", "广告", "広告", "광고", "comments", "comment", "sharethisarticle", "share",
    "storycontinuesbelowadvertisement", "continuereadingbelow", "advertisementcontinuereadingbelow",
    "skipadvertisement", "relatedarticles", "readmore", "printthisarticle",
];

/// Words that name the content.
#[rustfmt::skip]
const CONTENTISH: &[&str] = &[
    "article", "articles", "content", "post", "entry", "body", "text", "story", "main",
    "blog", "prose", "richtext", "markdown", "articlebody", "postbody", "entrycontent",
    "storybody", "paragraph", "paragraphs",
];

/// The class/id weight of an element: boilerplate words count two, content words one,
/// so `article-share` is boilerplate and `entry-content` content.
fn weight(tree: &Tree, i: usize) -> i8 {
    let mut score: i32 = 0;
    let mut words = 0;
    for name in ["class", "id"] {
        let Some(value) = tree.attr(i, name) else {
            continue;
        };
        if value.len() > 300 {
            continue;
        }
        for token in tokens(value) {
            words += 1;
            if words > 24 {
                break;
            }
            if BOILERPLATE.contains(&token.as_str())
                || token.len() > 6 && BOILERPLATE_ROOTS.iter().any(|r| token.contains(r))
                || is_comment_word(&token)
            {
                score -= 2;
            } else if CONTENTISH.contains(&token.as_str()) {
                score += 1;
            }
        }
    }
    if let Some(prop) = tree.attr(i, "itemprop")
        && (prop.eq_ignore_ascii_case("articleBody") || prop.eq_ignore_ascii_case("text"))
    {
        score += 4;
    }
    match tree.attr(i, "role").map(str::to_ascii_lowercase).as_deref() {
        Some("navigation" | "complementary" | "contentinfo" | "banner" | "search" | "menu") => {
            score -= 4
        }
        Some("main" | "article") => score += 2,
        _ => {}
    }
    match tree.tag(i) {
        "aside" | "footer" | "form" => score -= 2,
        // Captions and credits describe a picture, they are not the article's text.
        "figcaption" => score -= 4,
        "article" | "main" => score += 1,
        _ => {}
    }
    score.clamp(-100, 100) as i8
}

/// Whether the element is a comment section, boilerplate however much text it has.
fn comments(tree: &Tree, i: usize) -> bool {
    ["class", "id"].iter().any(|name| {
        tree.attr(i, name)
            .is_some_and(|v| v.len() < 300 && tokens(v).iter().any(|t| is_comment_word(t)))
    })
}

/// `comment`, `comments`, `commentlist`, `disqus`…, but not `commentary`.
fn is_comment_word(t: &str) -> bool {
    t == "disqus" || t.contains("comment") && !t.contains("commentar")
}

/// The words of a class or id: split at punctuation, digits and camel case, lower-cased.
pub fn tokens(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in value.chars() {
        if ch.is_ascii_alphabetic() {
            if ch.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = ch.is_ascii_lowercase();
            cur.push(ch.to_ascii_lowercase());
        } else {
            prev_lower = false;
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Characters that are not whitespace, and commas of any script (a sign of prose).
fn measure(text: &str) -> (u32, u32) {
    let mut chars = 0u32;
    let mut commas = 0u32;
    for ch in text.chars() {
        if !ch.is_whitespace() {
            chars += 1;
            if matches!(ch, ',' | '.' | '，' | '、' | '،' | '。') {
                commas += 1;
            }
        }
    }
    (chars, commas)
}

/// A block's own text at least this long, with few links, is a paragraph.
const PARAGRAPH: u32 = 40;

impl Stats {
    /// Measures every entry of `tree`, in two passes.
    pub fn new(tree: &Tree) -> Self {
        let n = tree.len();
        let mut skip = vec![false; n];
        let mut neg = vec![false; n];
        let mut weights = vec![0i8; n];
        let mut in_link = vec![false; n];
        // The nearest block element at or above each entry.
        let mut block = vec![0usize; n];
        let mut own = vec![0u32; n];
        let mut own_link = vec![0u32; n];
        let mut own_punct = vec![0u32; n];
        let mut text = vec![0u32; n];
        let mut link = vec![0u32; n];
        for i in 1..n {
            let p = tree.parent(i).unwrap_or(0);
            if tree.is_text(i) {
                if skip[p] {
                    skip[i] = true;
                    continue;
                }
                let (chars, punct) = measure(tree.text(i));
                let b = block[p];
                own[b] += chars;
                own_punct[b] += punct;
                text[i] = chars;
                if in_link[p] {
                    own_link[b] += chars;
                    link[i] = chars;
                }
                continue;
            }
            let tag = tree.tag(i);
            skip[i] = skip[p] || never_content(tag) || hidden(tree, i);
            if skip[i] {
                continue;
            }
            weights[i] = if matches!(tag, "html" | "body") {
                0
            } else {
                weight(tree, i)
            };
            in_link[i] = in_link[p] || tag == "a";
            block[i] = if is_block_tag(tag) { i } else { block[p] };
        }
        // Paragraph text by the text alone, to tell a boilerplate region from a wrapper
        // whose class merely mentions one (`<div class="has-sidebar">` around it all).
        let mut plain = vec![0f32; n];
        // Text inside quotations: an embedded post is quoted content, whatever the
        // class of the box around it says.
        let mut quoted = vec![0u32; n];
        for i in (1..n).rev() {
            if skip[i] {
                continue;
            }
            if tree.is_element(i)
                && block[i] == i
                && own[i] >= PARAGRAPH
                && own_link[i] * 3 < own[i]
            {
                plain[i] += own[i] as f32;
            }
            if let Some(p) = tree.parent(i) {
                plain[p] += plain[i];
                text[p] += text[i];
                link[p] += link[i];
                quoted[p] += if tree.tag(i) == "blockquote" {
                    text[i]
                } else {
                    quoted[i]
                };
            }
        }
        let page_plain = plain[0].max(1.0);
        for i in 1..n {
            if skip[i] || tree.is_text(i) {
                continue;
            }
            let p = tree.parent(i).unwrap_or(0);
            let embed = quoted[i] * 2 > text[i] && !comments(tree, i);
            let region =
                weights[i] < 0 && !embed && (plain[i] < 0.6 * page_plain || comments(tree, i));
            neg[i] = neg[p] || region;
            if weights[i] < 0 && !region {
                weights[i] = 0;
            }
        }
        let mut good = vec![0f32; n];
        let mut bad = vec![0f32; n];
        let mut local = vec![0f32; n];
        for i in (1..n).rev() {
            if skip[i] {
                continue;
            }
            if tree.is_element(i) && own[i] > 0 && block[i] == i {
                let t = own[i];
                let l = own_link[i];
                let heading = matches!(tree.tag(i), "h1" | "h2" | "h3" | "h4" | "h5" | "h6");
                if neg[i] {
                    bad[i] += t as f32;
                } else if heading {
                } else if t >= PARAGRAPH && (l as f32) < 0.35 * t as f32 {
                    // Prose has punctuation; lists of names and labels rarely do.
                    let prose = if own_punct[i] > 0 { 1.0 } else { 0.6 };
                    let g = (t - l) as f32 * prose;
                    good[i] += g;
                    for (level, a) in tree.ancestors(i).take(3).enumerate() {
                        local[a] += g / (level + 1) as f32;
                    }
                } else if l * 2 > t {
                    bad[i] += t as f32;
                } else if l > 0 {
                    bad[i] += l as f32;
                }
            }
            if let Some(p) = tree.parent(i) {
                good[p] += good[i];
                bad[p] += bad[i];
            }
        }
        Self {
            skip,
            neg,
            weight: weights,
            text,
            link,
            good,
            bad,
            own,
            local,
        }
    }
}

/// The main content of the page, if it has any paragraph text. `headline`, when known,
/// is left out of it where a heading repeats it.
pub fn find(tree: &Tree, stats: &Stats, headline: Option<&str>) -> Option<Content> {
    let candidate =
        |i: usize| tree.is_element(i) && !stats.skip[i] && !stats.neg[i] && stats.local[i] > 0.0;
    let score = |i: usize| {
        let density = stats.link[i] as f32 / stats.text[i].max(1) as f32;
        let class = 1.0 + 0.1 * f32::from(stats.weight[i].clamp(-3, 3));
        stats.local[i] * (1.0 - density).max(0.0) * class
    };
    let mut best: Option<(usize, f32)> = None;
    // The best score inside each subtree, for siblings that hold a part of the article
    // deeper down than the seed does.
    let mut inner = vec![0f32; tree.len()];
    // Where a headline of its own starts another article (the next story a page
    // appends below the first).
    let mut titled = vec![false; tree.len()];
    for i in (1..tree.len()).rev() {
        if tree.tag(i) == "h1" {
            titled[i] = true;
        }
        if candidate(i) {
            let s = score(i);
            inner[i] = inner[i].max(s);
            if best.is_none_or(|(b, bs)| s > bs || s == bs && i < b) {
                best = Some((i, s));
            }
        }
        if let Some(p) = tree.parent(i) {
            inner[p] = inner[p].max(inner[i]);
            titled[p] |= titled[i];
        }
    }
    let (mut seed, mut seed_score) = best?;
    // Paragraphs split among several children: their common parent scores higher.
    while let Some(p) = tree.parent(seed).filter(|&p| p != 0 && candidate(p)) {
        let s = score(p);
        if s < seed_score {
            break;
        }
        seed = p;
        seed_score = s;
    }
    // Climb while the seed's siblings (or an ancestor's) carry more of the article: an
    // article split into chunks, or paragraphs beside the container that holds most.
    // Each level keeps the span from the first to the last such sibling and leaves out
    // the rest; the first level also takes plain paragraphs beside the seed.
    let threshold = (0.2 * seed_score).max(40.0);
    let mut root = seed;
    let mut node = seed;
    let mut pending: Vec<usize> = Vec::new();
    let mut committed: Vec<usize> = Vec::new();
    for level in 0..6 {
        let Some(parent) = tree
            .parent(node)
            .filter(|&p| p != 0 && candidate_container(tree, stats, p))
        else {
            break;
        };
        let kids: Vec<usize> = tree.children(parent).collect();
        let mut first = None;
        let mut last = None;
        for (k, &c) in kids.iter().enumerate() {
            let keep = c == node
                || tree.is_element(c)
                    && !stats.skip[c]
                    && !stats.neg[c]
                    && !titled[c]
                    && inner[c] >= threshold
                    && stats.link[c] * 2 < stats.text[c]
                || level == 0
                    && tree.is_element(c)
                    && !stats.skip[c]
                    && !stats.neg[c]
                    && stats.good[c] >= 80.0
                    && stats.link[c] * 4 < stats.text[c];
            if keep {
                first.get_or_insert(k);
                last = Some(k);
            }
        }
        let (Some(first), Some(last)) = (first, last) else {
            break;
        };
        let outside = kids
            .iter()
            .enumerate()
            .filter(|&(k, _)| k < first || k > last)
            .map(|(_, &c)| c);
        if first == last {
            pending.extend(kids.iter().copied().filter(|&c| c != node));
        } else {
            committed.append(&mut pending);
            committed.extend(outside);
            root = parent;
        }
        node = parent;
    }
    let mut content = around(tree, stats, root, headline);
    for c in committed {
        content.dropped[c] = true;
    }
    Some(content)
}

/// Whether an element may hold the content (not boilerplate, not the page's skeleton).
fn candidate_container(tree: &Tree, stats: &Stats, i: usize) -> bool {
    tree.is_element(i) && !stats.skip[i] && !stats.neg[i] && !matches!(tree.tag(i), "html" | "body")
}

/// The content rendered from `root` with the boilerplate inside it left out.
pub fn around(tree: &Tree, stats: &Stats, root: usize, headline: Option<&str>) -> Content {
    let dropped = prune(tree, stats, root, headline);
    Content {
        root,
        dropped,
        good: stats.good[root],
        bad: stats.bad[root],
    }
}

/// What to leave out under `root`.
fn prune(tree: &Tree, stats: &Stats, root: usize, headline: Option<&str>) -> Vec<bool> {
    let mut dropped = vec![false; tree.len()];
    let root_text = stats.text[root].max(1) as f32;
    let root_good = stats.good[root].max(1.0);
    let headline = headline.map(normalise).filter(|h| !h.is_empty());
    let first_paragraph = first_good(tree, stats, root);
    let mut d = root + 1;
    let end = tree.end(root);
    while d < end {
        if tree.is_text(d) {
            d += 1;
            continue;
        }
        let drop = || -> bool {
            if stats.skip[d] {
                return true;
            }
            let tag = tree.tag(d);
            let text = stats.text[d] as f32;
            let link = stats.link[d] as f32;
            let good = stats.good[d];
            // A boilerplate region that is not most of the content.
            if stats.weight[d] < 0 && good < 0.5 * root_good && text < 0.5 * root_text {
                return true;
            }
            if matches!(tag, "h1" | "h2" | "h3" | "h4" | "h5" | "h6") {
                if let Some(h) = &headline
                    && text < 400.0
                    && normalise(&tree.text_content(d)) == *h
                {
                    return true;
                }
                return tag == "h1" && d < first_paragraph;
            }
            if tag == "header" && good < 0.1 * root_good {
                return true;
            }
            // A list is judged as a whole: one link-heavy item of a kept list stays.
            let container = is_block_tag(tag)
                && !matches!(tag, "p" | "li" | "dd" | "dt" | "td" | "th" | "tr")
                || tag == "p" && stats.own[d] < 200;
            if container && text > 0.0 && link > 0.5 * text && good < 0.2 * root_good {
                return true;
            }
            // The label of an ad slot, or of a box left empty by its script.
            if text > 0.0
                && text <= 40.0
                && LABELS.contains(&normalise(&tree.text_content(d)).as_str())
            {
                return true;
            }
            // Inline boxes of links inside a paragraph: a person's card, a list of
            // stories, shown on hover.
            if !is_block_tag(tag)
                && tag != "a"
                && text >= 40.0
                && link >= 0.8 * text
                && tree
                    .descendants(d)
                    .take(400)
                    .filter(|&x| tree.tag(x) == "a")
                    .nth(2)
                    .is_some()
            {
                return true;
            }
            container && tag != "p" && good < 0.5 * root_good && teasers(tree, stats, d)
        };
        if drop() {
            dropped[d] = true;
            d = tree.end(d);
        } else {
            d += 1;
        }
    }
    trim_tail(tree, stats, root, &mut dropped);
    dropped
}

/// Leaves out the short notes after the article's last paragraph that address the
/// reader with an e-mail address or a social handle ("write to the author at…, follow
/// her @…"): they are about the page, not the story. Quoted posts keep theirs.
fn trim_tail(tree: &Tree, stats: &Stats, root: usize, dropped: &mut [bool]) {
    let end = tree.end(root);
    // The last long paragraph still kept.
    let mut last = None;
    let mut d = root + 1;
    while d < end {
        if dropped[d] {
            d = tree.end(d);
            continue;
        }
        if tree.is_element(d) && stats.own[d] >= 150 && stats.good[d] > 0.0 {
            last = Some(d);
        }
        d += 1;
    }
    let Some(last) = last else { return };
    let mut d = tree.end(last);
    while d < end {
        if dropped[d] || tree.tag(d) == "blockquote" {
            d = tree.end(d);
            continue;
        }
        if tree.is_element(d)
            && is_block_tag(tree.tag(d))
            && stats.own[d] > 0
            && stats.text[d] < 300
        {
            let text = tree.text_content(d);
            let addresses = text.split_whitespace().any(|w| {
                let w = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '@');
                w.len() > 2 && (w.starts_with('@') || w.contains('@') && w.contains('.'))
            });
            if addresses {
                dropped[d] = true;
                d = tree.end(d);
                continue;
            }
        }
        d += 1;
    }
}

/// Whether the element is a list of teasers for other pages: at least three children
/// alike (same tag and class) holding most of its text, most of them opening with a
/// link (the other page's title). An article's paragraphs rarely open with a link.
pub fn teasers(tree: &Tree, stats: &Stats, i: usize) -> bool {
    let kids: Vec<usize> = tree
        .children(i)
        .filter(|&c| tree.is_element(c) && stats.text[c] > 0)
        .take(200)
        .collect();
    if kids.len() < 3 {
        return false;
    }
    let key = |c: usize| (tree.tag(c), tree.attr(c, "class").unwrap_or_default());
    let mut best: Option<(usize, u32)> = None;
    for (k, &c) in kids.iter().enumerate() {
        if kids[..k].iter().any(|&e| key(e) == key(c)) {
            continue;
        }
        let alike = kids[k..].iter().filter(|&&e| key(e) == key(c)).count();
        if alike >= 3 && best.is_none_or(|(_, n)| alike as u32 > n) {
            best = Some((c, alike as u32));
        }
    }
    let Some((model, alike)) = best else {
        return false;
    };
    if matches!(tree.tag(model), "p" | "li" | "tr" | "dd" | "dt" | "br") {
        return false;
    }
    let members: Vec<usize> = kids
        .iter()
        .copied()
        .filter(|&c| key(c) == key(model))
        .collect();
    let member_text: u32 = members.iter().map(|&c| stats.text[c]).sum();
    if member_text * 10 < stats.text[i] * 6 {
        return false;
    }
    let opening_with_link = members
        .iter()
        .filter(|&&c| opens_with_link(tree, stats, c))
        .count() as u32;
    opening_with_link * 10 >= alike * 8
}

/// Whether the first text of an element is inside a link.
fn opens_with_link(tree: &Tree, stats: &Stats, i: usize) -> bool {
    let mut at = i;
    for _ in 0..40 {
        let Some(next) = tree
            .children(at)
            .find(|&c| stats.text[c] > 0 && !stats.skip[c])
        else {
            return false;
        };
        if tree.tag(next) == "a" {
            return true;
        }
        if tree.is_text(next) {
            return false;
        }
        at = next;
    }
    false
}

/// The first entry under `root` that is paragraph text.
fn first_good(tree: &Tree, stats: &Stats, root: usize) -> usize {
    let end = tree.end(root);
    let mut d = root + 1;
    while d < end {
        if stats.good[d] > 0.0
            && stats.good[d] as u32 == stats.own[d].min(stats.good[d] as u32)
            && stats.own[d] >= PARAGRAPH
        {
            return d;
        }
        d += 1;
    }
    end
}

/// Text compared loosely: letters and digits only, lower-cased.
pub fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Hashes of the runs of four words of a text, lower-cased: a cheap fingerprint to tell
/// which parts of the page repeat a reference text.
pub fn shingles(text: &str) -> Vec<u64> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words
        .windows(4)
        .map(|w| {
            // FNV-1a over the four words, a separator between them.
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for word in w {
                for b in word.bytes().chain(std::iter::once(b' ')) {
                    h ^= u64::from(b);
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
            }
            h
        })
        .collect()
}

/// The content as the element whose text best repeats `reference` (the page's own
/// JSON-LD `articleBody`): the most runs of words in common, less half of those it
/// adds. For pages whose layout the density rules misread; `None` when nothing
/// matches most of the reference.
pub fn matching(
    tree: &Tree,
    stats: &Stats,
    reference: &str,
    headline: Option<&str>,
) -> Option<Content> {
    let wanted: std::collections::HashSet<u64> = shingles(reference).into_iter().collect();
    if wanted.is_empty() {
        return None;
    }
    let n = tree.len();
    let mut hit = vec![0f32; n];
    let mut miss = vec![0f32; n];
    for i in (1..n).rev() {
        if stats.skip[i] {
            continue;
        }
        if tree.is_text(i) && stats.text[i] > 0 {
            let runs = shingles(tree.text(i));
            let found = runs.iter().filter(|h| wanted.contains(h)).count() as f32;
            hit[i] = found;
            miss[i] = runs.len() as f32 - found;
        }
        if let Some(p) = tree.parent(i) {
            hit[p] += hit[i];
            miss[p] += miss[i];
        }
    }
    let best = (1..n)
        .filter(|&i| tree.is_element(i) && !stats.skip[i])
        .max_by(|&a, &b| {
            (hit[a] - 0.5 * miss[a])
                .total_cmp(&(hit[b] - 0.5 * miss[b]))
                .then(b.cmp(&a))
        })?;
    (hit[best] >= 0.5 * wanted.len() as f32).then(|| around(tree, stats, best, headline))
}
