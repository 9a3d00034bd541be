//! Reading the dates, languages and author names pages write, in the many forms they
//! write them, into the forms the items carry: ISO 8601 dates (with the page's offset
//! when it gives one), BCP 47 language tags, and author names without their "By".

/// A date or date-time as ISO 8601: `2024-03-05`, `2024-03-05T14:30:00`, or with the
/// offset the text gives (`Z`, `+01:00`). `None` when no date can be read.
///
/// ```
/// use article_extractor::dates::iso;
///
/// assert_eq!(iso("2019-11-19T12:04:05.123+0100").as_deref(), Some("2019-11-19T12:04:05+01:00"));
/// assert_eq!(iso("Tue, 19 Nov 2019 17:30:00 GMT").as_deref(), Some("2019-11-19T17:30:00Z"));
/// assert_eq!(iso("November 19, 2019 5:30 pm").as_deref(), Some("2019-11-19T17:30:00"));
/// assert_eq!(iso("19. März 2024").as_deref(), Some("2024-03-19"));
/// assert_eq!(iso("yesterday"), None);
/// ```
pub fn iso(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() || t.len() > 200 {
        return None;
    }
    numeric(t).or_else(|| epoch(t)).or_else(|| worded(t))
}

/// A date-time that has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts {
    year: u32,
    month: u32,
    day: u32,
    /// Hours, minutes, seconds.
    time: Option<(u32, u32, u32)>,
    /// Minutes east of UTC; `Some(0)` written as `Z`.
    offset: Option<i32>,
}

impl Parts {
    fn valid(&self) -> bool {
        (1000..=2999).contains(&self.year)
            && (1..=12).contains(&self.month)
            && (1..=days_in(self.year, self.month)).contains(&self.day)
            && self.time.is_none_or(|(h, m, s)| h < 24 && m < 60 && s < 61)
            && self.offset.is_none_or(|o| o.abs() <= 18 * 60)
    }

    fn write(&self) -> Option<String> {
        if !self.valid() {
            return None;
        }
        let mut s = format!("{:04}-{:02}-{:02}", self.year, self.month, self.day);
        if let Some((h, m, sec)) = self.time {
            s.push_str(&format!("T{h:02}:{m:02}:{:02}", sec.min(59)));
            match self.offset {
                Some(0) => s.push('Z'),
                Some(o) => {
                    let sign = if o < 0 { '-' } else { '+' };
                    s.push_str(&format!("{sign}{:02}:{:02}", o.abs() / 60, o.abs() % 60));
                }
                None => {}
            }
        }
        Some(s)
    }
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// A small cursor over ASCII-ish text.
struct Scan<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn new(s: &'a str) -> Self {
        Self {
            b: s.as_bytes(),
            at: 0,
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    /// Between `min` and `max` digits.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.at;
        let mut v: u32 = 0;
        while self.at - start < max {
            match self.peek() {
                Some(c @ b'0'..=b'9') => {
                    v = v * 10 + u32::from(c - b'0');
                    self.at += 1;
                }
                _ => break,
            }
        }
        if self.at - start < min {
            self.at = start;
            return None;
        }
        Some(v)
    }
    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(|c| c == b' ' || c == b'\t') {
            self.at += 1;
        }
    }
}

/// `YYYY-MM-DD` (or `/`, `.`, or `YYYYMMDD` alone), maybe followed by a time and an
/// offset, found anywhere in the text.
fn numeric(t: &str) -> Option<String> {
    let b = t.as_bytes();
    let mut start = 0;
    while start + 4 <= b.len() {
        let at_digit_start =
            b[start].is_ascii_digit() && (start == 0 || !b[start - 1].is_ascii_digit());
        if at_digit_start && let Some(parts) = numeric_at(t, start) {
            return parts.write();
        }
        start += 1;
    }
    None
}

fn numeric_at(t: &str, start: usize) -> Option<Parts> {
    let mut s = Scan::new(t);
    s.at = start;
    let year = s.digits(4, 4)?;
    let (month, day) = match s.peek() {
        Some(sep @ (b'-' | b'/' | b'.')) => {
            s.at += 1;
            let month = s.digits(1, 2)?;
            if !s.eat(sep) {
                return None;
            }
            (month, s.digits(1, 2)?)
        }
        Some(b'0'..=b'9') if start == 0 => {
            let md = s.digits(4, 4)?;
            if s.peek().is_some_and(|c| c.is_ascii_digit()) {
                return None;
            }
            (md / 100, md % 100)
        }
        _ => return None,
    };
    if s.peek().is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut parts = Parts {
        year,
        month,
        day,
        time: None,
        offset: None,
    };
    if !parts.valid() {
        return None;
    }
    if s.eat(b'T') || s.eat(b't') || s.eat(b' ') {
        s.skip_spaces();
        if let Some(time) = time_at(&mut s) {
            parts.time = Some(time);
            parts.offset = offset_at(&mut s);
        }
    }
    Some(parts)
}

/// `HH:MM[:SS[.fff]]`, optionally followed by am/pm.
fn time_at(s: &mut Scan<'_>) -> Option<(u32, u32, u32)> {
    let start = s.at;
    let Some(mut h) = s.digits(1, 2) else {
        s.at = start;
        return None;
    };
    if !(s.eat(b':') || s.eat(b'.') && s.peek().is_some_and(|c| c.is_ascii_digit())) {
        s.at = start;
        return None;
    }
    let Some(m) = s.digits(2, 2) else {
        s.at = start;
        return None;
    };
    let mut sec = 0;
    if s.peek() == Some(b':') {
        s.at += 1;
        sec = s.digits(2, 2).unwrap_or(0);
        if s.eat(b'.') || s.eat(b',') {
            while s.peek().is_some_and(|c| c.is_ascii_digit()) {
                s.at += 1;
            }
        }
    }
    let save = s.at;
    s.skip_spaces();
    let rest = s.b.get(s.at..).unwrap_or_default();
    let lower = |k: usize| rest.get(k).map(u8::to_ascii_lowercase);
    let meridiem = match (lower(0), lower(1)) {
        (Some(b'a'), Some(b'm')) => Some(false),
        (Some(b'p'), Some(b'm')) => Some(true),
        (Some(b'a'), Some(b'.')) if lower(2) == Some(b'm') => Some(false),
        (Some(b'p'), Some(b'.')) if lower(2) == Some(b'm') => Some(true),
        _ => None,
    };
    match meridiem {
        Some(pm) if (1..=12).contains(&h) => {
            s.at += if lower(1) == Some(b'.') { 3 } else { 2 };
            s.eat(b'.');
            if pm && h != 12 {
                h += 12;
            } else if !pm && h == 12 {
                h = 0;
            }
        }
        _ => s.at = save,
    }
    (h < 24 && m < 60).then_some((h, m, sec))
}

/// `Z`, `±HH:MM`, `±HHMM`, `±HH`, `UTC`, `GMT` (maybe followed by an offset).
fn offset_at(s: &mut Scan<'_>) -> Option<i32> {
    let save = s.at;
    s.skip_spaces();
    if s.eat(b'Z') || s.eat(b'z') {
        return Some(0);
    }
    let rest = s.b.get(s.at..).unwrap_or_default();
    let word = |w: &[u8]| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w);
    if word(b"UTC") || word(b"GMT") {
        s.at += 3;
        return signed_offset(s).or(Some(0));
    }
    if let Some(o) = signed_offset(s) {
        return Some(o);
    }
    s.at = save;
    None
}

fn signed_offset(s: &mut Scan<'_>) -> Option<i32> {
    let save = s.at;
    let sign = match s.peek() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return None,
    };
    s.at += 1;
    let Some(h) = s.digits(2, 2) else {
        s.at = save;
        return None;
    };
    s.eat(b':');
    let m = s.digits(2, 2).unwrap_or(0);
    Some(sign * (h as i32 * 60 + m as i32))
}

/// Ten or thirteen digits: seconds or milliseconds since 1970.
fn epoch(t: &str) -> Option<String> {
    if !(t.len() == 10 || t.len() == 13) || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut secs: i64 = t.parse().ok()?;
    if t.len() == 13 {
        secs /= 1000;
    }
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil(days);
    Parts {
        year: u32::try_from(year).ok()?,
        month,
        day,
        time: Some((
            (rem / 3600) as u32,
            ((rem % 3600) / 60) as u32,
            (rem % 60) as u32,
        )),
        offset: Some(0),
    }
    .write()
}

/// Days since 1970-01-01 as a (year, month, day) of the proleptic Gregorian calendar.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Month names (and their usual abbreviations, by prefix) in the languages articles are
/// most often written in.
#[rustfmt::skip]
const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("april", 4),
    ("may", 5),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("october", 10),
    ("november", 11),
    ("december", 12),
    ("sept", 9),
    // German, Dutch
    ("januar", 1),
    ("februar", 2),
    ("märz", 3),
    ("maerz", 3),
    ("mai", 5),
    ("juni", 6),
    ("juli", 7),
    ("oktober", 10),
    ("dezember", 12),
    ("januari", 1),
    ("februari", 2),
    ("maart", 3),
    ("mei", 5),
    ("augustus", 8),
    // French
    ("janvier", 1),
    ("février", 2),
    ("fevrier", 2),
    ("mars", 3),
    ("avril", 4),
    ("juin", 6),
    ("juillet", 7),
    ("août", 8),
    ("aout", 8),
    ("septembre", 9),
    ("octobre", 10),
    ("novembre", 11),
    ("décembre", 12),
    ("decembre", 12),
    // Spanish, Portuguese, Italian
    ("enero", 1),
    ("febrero", 2),
    ("marzo", 3),
    ("abril", 4),
    ("mayo", 5),
    ("junio", 6),
    ("julio", 7),
    ("agosto", 8),
    ("septiembre", 9),
    ("setiembre", 9),
    ("octubre", 10),
    ("noviembre", 11),
    ("diciembre", 12),
    ("janeiro", 1),
    ("fevereiro", 2),
    ("março", 3),
    ("maio", 5),
    ("junho", 6),
    ("julho", 7),
    ("setembro", 9),
    ("outubro", 10),
    ("novembro", 11),
    ("dezembro", 12),
    ("gennaio", 1),
    ("febbraio", 2),
    ("aprile", 4),
    ("maggio", 5),
    ("giugno", 6),
    ("luglio", 7),
    ("settembre", 9),
    ("ottobre", 10),
    ("dicembre", 12),
    // Russian (genitive, as dates write them), Polish, Turkish, Indonesian.
    ("января", 1), ("февраля", 2), ("марта", 3), ("апреля", 4), ("мая", 5), ("июня", 6),
    ("июля", 7), ("августа", 8), ("сентября", 9), ("октября", 10), ("ноября", 11),
    ("декабря", 12), ("stycznia", 1), ("lutego", 2), ("marca", 3), ("kwietnia", 4),
    ("maja", 5), ("czerwca", 6), ("lipca", 7), ("sierpnia", 8), ("września", 9),
    ("października", 10), ("listopada", 11), ("grudnia", 12), ("ocak", 1), ("şubat", 2),
    ("mart", 3), ("nisan", 4), ("mayıs", 5), ("haziran", 6), ("temmuz", 7), ("ağustos", 8),
    ("eylül", 9), ("ekim", 10), ("kasım", 11), ("aralık", 12), ("maret", 3), ("agustus", 8),
    ("desember", 12),
];

fn month_of(word: &str) -> Option<u32> {
    let w = word.to_lowercase();
    let w = w.trim_end_matches('.');
    if w.chars().count() < 3 {
        return None;
    }
    if let Some(&(_, m)) = MONTHS.iter().find(|(name, _)| *name == w) {
        return Some(m);
    }
    // Abbreviations: "Nov", "Sept.", "déc".
    MONTHS
        .iter()
        .find(|(name, _)| w.chars().count() <= 5 && name.starts_with(w))
        .map(|&(_, m)| m)
}

/// A date written with its month in words: "November 19, 2019", "19 Nov 2019",
/// "Tue, 19 Nov 2019 17:30:00 +0000", "19. März 2024, 10:15 Uhr".
fn worded(t: &str) -> Option<String> {
    let mut month = None;
    let mut numbers: Vec<(u32, usize)> = Vec::new();
    let mut time = None;
    let mut offset = None;
    let mut s = Scan::new(t);
    while s.at < s.b.len() {
        let c = s.b[s.at];
        if c.is_ascii_digit() {
            let start = s.at;
            if let Some(tm) = time_at(&mut s) {
                if time.is_none() {
                    time = Some(tm);
                    offset = offset_at(&mut s);
                }
                continue;
            }
            s.at = start;
            let mut len = 0;
            let v = s.digits(1, 4);
            len += s.at - start;
            // Ordinal suffixes: 1st, 2nd, 19th.
            while s.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                s.at += 1;
            }
            if let Some(v) = v {
                if s.peek().is_some_and(|c| c.is_ascii_digit()) {
                    return None;
                }
                numbers.push((v, len));
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c >= 0x80 {
            let start = s.at;
            while s.at < s.b.len() && (s.b[s.at].is_ascii_alphabetic() || s.b[s.at] >= 0x80) {
                s.at += 1;
            }
            let word = t.get(start..s.at).unwrap_or_default();
            if month.is_none() {
                month = month_of(word);
            }
            continue;
        }
        s.at += 1;
    }
    let month = month?;
    let year = numbers
        .iter()
        .find(|(v, len)| *len == 4 && (1900..=2999).contains(v))?
        .0;
    let day = numbers
        .iter()
        .find(|(v, len)| *len <= 2 && (1..=31).contains(v))?
        .0;
    Parts {
        year,
        month,
        day,
        time,
        offset: if time.is_some() { offset } else { None },
    }
    .write()
}

/// A date in a URL path (`/2019/11/19/`), date only.
///
/// ```
/// assert_eq!(
///     article_extractor::dates::from_url("https://example.com/2019/11/19/story/").as_deref(),
///     Some("2019-11-19")
/// );
/// ```
pub fn from_url(url: &str) -> Option<String> {
    let segs: Vec<&str> = url.split(['/', '?', '#']).collect();
    for w in segs.windows(3) {
        let num = |s: &str, n: usize| {
            (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
        };
        let (Some(year), Some(month)) = (num(w[0], 4), num(w[1], 2)) else {
            continue;
        };
        let Some(day) = num(w[2], 2) else {
            continue;
        };
        let parts = Parts {
            year,
            month,
            day,
            time: None,
            offset: None,
        };
        if let Some(s) = parts.write() {
            return Some(s);
        }
    }
    None
}

/// A language as a BCP 47 tag: `en`, `en-GB`, `zh-Hant-TW` (from `en_gb`, `EN-gb`,
/// `en-GB,en;q=0.9`). `None` for anything else.
///
/// ```
/// use article_extractor::dates::language;
///
/// assert_eq!(language("en_US").as_deref(), Some("en-US"));
/// assert_eq!(language(" DE ").as_deref(), Some("de"));
/// assert_eq!(language("zh-hant-tw").as_deref(), Some("zh-Hant-TW"));
/// assert_eq!(language("english"), None);
/// ```
pub fn language(text: &str) -> Option<String> {
    let first = text
        .split([',', ';', ' '])
        .map(str::trim)
        .find(|s| !s.is_empty())?;
    let mut parts = first.split(['-', '_']);
    let primary = parts.next()?;
    if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let mut tag = primary.to_ascii_lowercase();
    for p in parts {
        if p.is_empty() {
            return None;
        }
        let sub = if p.len() == 2 && p.bytes().all(|b| b.is_ascii_alphabetic()) {
            p.to_ascii_uppercase()
        } else if p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit()) {
            p.to_string()
        } else if p.len() == 4 && p.bytes().all(|b| b.is_ascii_alphabetic()) {
            let lower = p.to_ascii_lowercase();
            format!("{}{}", lower[..1].to_ascii_uppercase(), &lower[1..])
        } else if (5..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()) {
            p.to_ascii_lowercase()
        } else {
            break;
        };
        tag.push('-');
        tag.push_str(&sub);
    }
    Some(tag)
}

/// Author names from one written credit: "By Jane Doe and John Roe" gives both; profile
/// URLs, e-mail addresses and text too long to be a name give none.
///
/// ```
/// use article_extractor::dates::authors;
///
/// assert_eq!(authors("By Jane Doe and John Roe"), ["Jane Doe", "John Roe"]);
/// assert_eq!(authors("Anna Schmidt, Paul Weber"), ["Anna Schmidt", "Paul Weber"]);
/// assert!(authors("https://www.facebook.com/someone").is_empty());
/// ```
pub fn authors(text: &str) -> Vec<String> {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut t = collapsed.as_str();
    let bare = t.trim_end_matches(':').to_lowercase();
    if matches!(
        bare.as_str(),
        "by" | "von"
            | "par"
            | "por"
            | "di"
            | "door"
            | "av"
            | "af"
            | "posted by"
            | "written by"
            | "author"
            | "autor"
            | "text"
            | "and"
            | "&"
    ) {
        return Vec::new();
    }
    for prefix in [
        "by:",
        "by",
        "von",
        "par",
        "por",
        "di",
        "door",
        "av",
        "af",
        "written by",
        "posted by",
        "autor:",
        "author:",
        "text:",
    ] {
        if t.len() > prefix.len()
            && t.get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
            && t[prefix.len()..].starts_with([' ', ':'])
        {
            t = t[prefix.len()..].trim_start_matches([' ', ':']);
            break;
        }
    }
    // "Analysis by Jane Doe": a word or two before "by".
    if let Some(k) = t
        .as_bytes()
        .windows(4)
        .position(|w| w.eq_ignore_ascii_case(b" by "))
        && t.get(..k).is_some_and(|head| head.split(' ').count() <= 2)
    {
        t = t.get(k + 4..).unwrap_or_default().trim_start();
    }
    let mut out: Vec<String> = Vec::new();
    let lower = t.to_lowercase();
    if lower.starts_with("http") || lower.starts_with("www.") || t.contains('@') && !t.contains(' ')
    {
        return out;
    }
    let mut pieces = vec![t.to_string()];
    #[rustfmt::skip]
    let separators = [
        " and ", " & ", ", ", "; ", " | ", " und ", " et ", " y ", " e ", " en ", " og ", " i ",
        " on ", " - ",
    ];
    for sep in separators {
        pieces = pieces
            .iter()
            .flat_map(|p| p.split(sep).map(str::to_string).collect::<Vec<_>>())
            .collect();
    }
    for p in pieces {
        let name = p
            .trim()
            .trim_matches(|c: char| c == '|' || c == '-' || c == '·' || c == ',');
        let name = name.trim();
        let words = name.split(' ').count();
        if name.is_empty()
            || name.chars().count() > 60
            || words > 6
            || name.chars().any(|c| c.is_ascii_digit())
            || words == 1 && (month_of(name).is_some() || is_weekday(name))
            || name.contains(['(', ')', ':', '?', '!', '=', '/'])
            // A credit is capitalised; "on Monday", "updated" and the like are not.
            || name.starts_with(|c: char| c.is_lowercase()) && name.contains(' ')
            || name.starts_with("http")
        {
            continue;
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            out.push(name.to_string());
        }
    }
    out
}

/// Whether a word names a day of the week (English, or its abbreviation).
fn is_weekday(word: &str) -> bool {
    let w = word.trim_end_matches([',', '.']).to_lowercase();
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .any(|d| *d == w || w.len() >= 3 && d.starts_with(&w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_of_dates() {
        let cases = [
            ("2019-11-19", Some("2019-11-19")),
            ("2019-11-19T08:00:00Z", Some("2019-11-19T08:00:00Z")),
            (
                "2019-11-19T08:00:00-05:00",
                Some("2019-11-19T08:00:00-05:00"),
            ),
            ("2019-11-19 08:00:00", Some("2019-11-19T08:00:00")),
            ("2019/11/19", Some("2019-11-19")),
            ("20191119", Some("2019-11-19")),
            ("Published 2019-11-19, updated later", Some("2019-11-19")),
            ("Nov. 19, 2019", Some("2019-11-19")),
            ("19th November 2019 at 10.30am", Some("2019-11-19T10:30:00")),
            (
                "Mon, 02 Dec 2019 09:15:00 +0000",
                Some("2019-12-02T09:15:00Z"),
            ),
            ("1574168580", Some("2019-11-19T13:03:00Z")),
            ("2019-02-30", None),
            ("", None),
            ("12:30", None),
        ];
        for (text, want) in cases {
            assert_eq!(iso(text).as_deref(), want, "{text}");
        }
    }

    #[test]
    fn languages() {
        assert_eq!(language("en-gb").as_deref(), Some("en-GB"));
        assert_eq!(language("pt_BR").as_deref(), Some("pt-BR"));
        assert_eq!(language("es-419").as_deref(), Some("es-419"));
        assert_eq!(language("en-GB, en;q=0.8").as_deref(), Some("en-GB"));
        assert_eq!(language(""), None);
    }

    #[test]
    fn author_credits() {
        assert_eq!(authors("  by   Jane   Doe "), ["Jane Doe"]);
        assert_eq!(
            authors("Von Max Mustermann und Erika Musterfrau"),
            ["Max Mustermann", "Erika Musterfrau"]
        );
        assert_eq!(authors("Jane Doe & Jane Doe"), ["Jane Doe"]);
        assert!(authors("someone@example.com").is_empty());
        assert!(authors("By").is_empty());
        assert!(authors("Monday").is_empty());
        assert!(authors("Nama (wajib)").is_empty());
        assert_eq!(authors("Posted by Vortex on December 30"), ["Vortex"]);
        assert_eq!(authors("Analysis by Chris Cillizza"), ["Chris Cillizza"]);
    }
}
