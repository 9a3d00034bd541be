//! A job's schedule: a crontab expression read in an IANA time zone, and the instants it
//! fires at. Users write crontab (five fields, or six with seconds first); the `cron`
//! crate, which speaks Quartz, walks the calendar, and this module gives it crontab's
//! meaning (day-of-week numbers, day-of-month *or* day-of-week) and the time zone's
//! daylight-saving changes.
//!
//! Daylight saving: a schedule with fixed hours fires at wall-clock times. A time that
//! occurs twice (autumn) fires once, at its first instant; a time that does not exist
//! (spring) fires that much later, shifted forward by the gap (02:30 becomes 03:30). A
//! schedule whose hour field is every hour follows the clock instead: nothing in the
//! gap, and the repeated hour fires twice, as the hour it is.

use std::str::FromStr as _;

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset as _, TimeDelta, TimeZone as _, Utc};
use chrono_tz::Tz;

/// The part of a schedule that is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleField {
    /// The cron expression.
    Cron,
    /// The time zone.
    Timezone,
}

impl ScheduleField {
    /// Its name, as the job's field is called.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleField::Cron => "cron",
            ScheduleField::Timezone => "timezone",
        }
    }
}

impl std::fmt::Display for ScheduleField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a cron expression or a time zone is not taken: which of the two, and what is
/// wrong, naming the field of the expression when one is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ScheduleError {
    /// `cron` or `timezone`.
    pub field: ScheduleField,
    /// What is wrong, for people.
    pub message: String,
}

impl ScheduleError {
    fn cron(message: impl Into<String>) -> Self {
        Self {
            field: ScheduleField::Cron,
            message: message.into(),
        }
    }
}

/// Longest expression taken: real ones are a few dozen characters.
const MAX_CRON_LEN: usize = 256;

/// A time zone by its IANA name (`Europe/Berlin`, `UTC`).
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    Tz::from_str(name).map_err(|_| ScheduleError {
        field: ScheduleField::Timezone,
        message: format!("{:?} is not an IANA time zone", shorten(name)),
    })
}

/// Text quoted back in a message, cut short when long.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 64 {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(61).collect();
        cut.push_str("...");
        cut
    }
}

/// One field of a crontab expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Second,
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
/// Crontab's numbering: 0 is Sunday (and so is 7).
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Second => "second",
            Unit::Minute => "minute",
            Unit::Hour => "hour",
            Unit::DayOfMonth => "day-of-month",
            Unit::Month => "month",
            Unit::DayOfWeek => "day-of-week",
        }
    }

    /// The values a field takes, ends included (day-of-week's 7 is Sunday again).
    fn range(self) -> (u32, u32) {
        match self {
            Unit::Second | Unit::Minute => (0, 59),
            Unit::Hour => (0, 23),
            Unit::DayOfMonth => (1, 31),
            Unit::Month => (1, 12),
            Unit::DayOfWeek => (0, 7),
        }
    }

    fn bounds(self) -> &'static str {
        match self {
            Unit::Second => "seconds are 0–59",
            Unit::Minute => "minutes are 0–59",
            Unit::Hour => "hours are 0–23",
            Unit::DayOfMonth => "days of the month are 1–31",
            Unit::Month => "months are 1–12 or JAN–DEC",
            Unit::DayOfWeek => "days of the week are 0–7 (0 and 7 are Sunday) or SUN–SAT",
        }
    }

    /// The value of a name (`JAN`, `mon`), for the fields that have names.
    fn named(self, name: &str) -> Option<u32> {
        let names: &[&str] = match self {
            Unit::Month => &MONTHS,
            Unit::DayOfWeek => &DAYS,
            _ => return None,
        };
        let at = names.iter().position(|n| n.eq_ignore_ascii_case(name))?;
        let at = u32::try_from(at).ok()?;
        Some(if self == Unit::Month { at + 1 } else { at })
    }
}

/// `L`, `LW`, `15W`, `5L`: Quartz's last day and nearest weekday.
fn is_quartz_day(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    matches!(upper.as_str(), "L" | "LW")
        || upper
            .strip_suffix(['L', 'W'])
            .is_some_and(|head| digits(head) || head.strip_prefix("L-").is_some_and(digits))
}

/// A parsed field: the set of values it matches (bit `v` for value `v`), and whether it
/// was written starting with `*` (crontab's rule for combining the two day fields).
#[derive(Debug, Clone, Copy)]
struct FieldSet {
    bits: u64,
    starred: bool,
}

impl FieldSet {
    fn contains(self, value: u32) -> bool {
        self.bits & (1 << value) != 0
    }

    fn values(self) -> impl Iterator<Item = u32> {
        (0..64).filter(move |v| self.contains(*v))
    }

    fn is_every(self, unit: Unit) -> bool {
        let (lo, hi) = unit.range();
        let hi = if unit == Unit::DayOfWeek { 6 } else { hi };
        (lo..=hi).all(|v| self.contains(v))
    }

    /// The field as the `cron` crate (Quartz) reads it: `*`, or the values listed, days
    /// of the week by name since Quartz numbers them from 1 = Sunday.
    fn quartz(self, unit: Unit) -> String {
        if self.is_every(unit) {
            return "*".into();
        }
        let values: Vec<String> = self
            .values()
            .map(|v| match unit {
                Unit::DayOfWeek => DAYS[v as usize].to_owned(),
                _ => v.to_string(),
            })
            .collect();
        values.join(",")
    }
}

/// What is wrong with an item of field `at` (1-based) of the expression.
fn field_error(at: usize, unit: Unit, item: &str, why: impl std::fmt::Display) -> ScheduleError {
    ScheduleError::cron(format!(
        "field {at} ({}) {:?}: {why}",
        unit.name(),
        shorten(item)
    ))
}

/// Parse one field: a comma-separated list of `*`, `N`, `N-M`, each with an optional
/// `/STEP`, where `N` and `M` may be names in the month and day-of-week fields.
fn parse_field(at: usize, unit: Unit, text: &str) -> Result<FieldSet, ScheduleError> {
    let (lo, hi) = unit.range();
    let mut bits = 0u64;
    for item in text.split(',') {
        let fail = |why: &str| field_error(at, unit, item, why);
        if item.is_empty() {
            return Err(field_error(at, unit, text, "a list item is empty"));
        }
        if item.contains('?') {
            return Err(fail("`?` is Quartz syntax, not crontab's: write `*`"));
        }
        if item.contains('#') {
            return Err(fail(
                "`#` (the n-th weekday of the month) is Quartz syntax that trawl does not take",
            ));
        }
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| fail("a step after `/` must be a number"))?;
                if step == 0 {
                    return Err(fail("a step must be at least 1"));
                }
                (base, Some(step))
            }
            None => (item, None),
        };
        let value = |text: &str, range_end: bool| -> Result<u32, ScheduleError> {
            let v = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                text.parse::<u32>().ok().filter(|v| (lo..=hi).contains(v))
            } else if let Some(v) = unit.named(text) {
                // `SAT-SUN`: a range ending on Sunday ends on day 7.
                Some(if range_end && unit == Unit::DayOfWeek && v == 0 {
                    7
                } else {
                    v
                })
            } else if is_quartz_day(text) {
                return Err(fail(
                    "`L` and `W` (last day, nearest weekday) are Quartz syntax that trawl does not take",
                ));
            } else if text.bytes().all(|b| b.is_ascii_alphabetic()) && !text.is_empty() {
                return Err(fail(&match unit {
                    Unit::Month | Unit::DayOfWeek => format!("unknown name; {}", unit.bounds()),
                    _ => format!(
                        "names are only for months and days of the week; {}",
                        unit.bounds()
                    ),
                }));
            } else {
                None
            };
            v.ok_or_else(|| fail(unit.bounds()))
        };
        let (start, end) = if base == "*" {
            (lo, hi)
        } else if let Some((a, b)) = base.split_once('-') {
            let (a, b) = (value(a, false)?, value(b, true)?);
            if a > b {
                return Err(fail(
                    "the range runs backwards; a range that wraps around must be written as two",
                ));
            }
            (a, b)
        } else {
            let a = value(base, false)?;
            // `N/STEP` runs from N to the field's end, as `N-max/STEP`.
            (a, if step.is_some() { hi } else { a })
        };
        let step = step.unwrap_or(1);
        let mut v = start;
        while v <= end {
            // Day 7 is Sunday, day 0.
            let v_in = if unit == Unit::DayOfWeek && v == 7 {
                0
            } else {
                v
            };
            bits |= 1 << v_in;
            v += step;
        }
    }
    Ok(FieldSet {
        bits,
        starred: text.starts_with('*'),
    })
}

/// A parsed cron expression, in crontab's meaning.
#[derive(Debug, Clone)]
pub struct Cron {
    /// The expression as written (trimmed).
    text: String,
    /// What the `cron` crate walks. Two when both day fields are restricted: crontab then
    /// fires on a day that matches either, where Quartz would want both.
    parts: Vec<cron::Schedule>,
    /// The hour field is every hour: the schedule follows the clock across
    /// daylight-saving changes rather than wall-clock times (see the module's doc).
    follows_clock: bool,
}

impl Cron {
    /// Parse crontab's five fields (minute hour day-of-month month day-of-week), six with
    /// seconds first, or one of `@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly`.
    pub fn parse(expression: &str) -> Result<Self, ScheduleError> {
        let text = expression.trim();
        if text.chars().count() > MAX_CRON_LEN {
            return Err(ScheduleError::cron(format!(
                "at most {MAX_CRON_LEN} characters"
            )));
        }
        let expanded = match text.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            "@reboot" => {
                return Err(ScheduleError::cron(
                    "@reboot has no time: a schedule needs fields or @yearly, @monthly, @weekly, @daily or @hourly",
                ));
            }
            other if other.starts_with('@') => {
                return Err(ScheduleError::cron(format!(
                    "{:?} is not one of @yearly, @monthly, @weekly, @daily, @hourly",
                    shorten(text)
                )));
            }
            _ => text,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let units: &[Unit] = match fields.len() {
            5 => &[
                Unit::Minute,
                Unit::Hour,
                Unit::DayOfMonth,
                Unit::Month,
                Unit::DayOfWeek,
            ],
            6 => &[
                Unit::Second,
                Unit::Minute,
                Unit::Hour,
                Unit::DayOfMonth,
                Unit::Month,
                Unit::DayOfWeek,
            ],
            n => {
                let extra = if n == 7 {
                    "; a year field is not taken"
                } else {
                    ""
                };
                return Err(ScheduleError::cron(format!(
                    "expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got {n}{extra}"
                )));
            }
        };
        let mut sets = Vec::with_capacity(6);
        for (i, (unit, field)) in units.iter().zip(&fields).enumerate() {
            sets.push(parse_field(i + 1, *unit, field)?);
        }
        let (seconds, rest) = if sets.len() == 6 {
            (sets[0], &sets[1..])
        } else {
            let zero = FieldSet {
                bits: 1,
                starred: false,
            };
            (zero, &sets[..])
        };
        let [minutes, hours, days, months, weekdays] =
            [rest[0], rest[1], rest[2], rest[3], rest[4]];
        let either_day = !days.starred && !weekdays.starred;
        if !either_day {
            // The days of the month alone decide (the days of the week only narrow them
            // down, and every weekday recurs): some chosen month must have a chosen day.
            let longest = |m: u32| match m {
                2 => 29,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let meets = months
                .values()
                .any(|m| days.values().any(|d| d <= longest(m)));
            if !meets {
                let first = units.len() - 2;
                return Err(ScheduleError::cron(format!(
                    "field {} (day-of-month) {:?}: no month of field {} (month) {:?} has such a day",
                    first,
                    shorten(fields[first - 1]),
                    first + 1,
                    shorten(fields[first])
                )));
            }
        }
        let quartz = |days: &str, weekdays: &str| {
            format!(
                "{} {} {} {} {} {}",
                seconds.quartz(Unit::Second),
                minutes.quartz(Unit::Minute),
                hours.quartz(Unit::Hour),
                days,
                months.quartz(Unit::Month),
                weekdays
            )
        };
        let exprs = if either_day {
            vec![
                quartz(&days.quartz(Unit::DayOfMonth), "*"),
                quartz("*", &weekdays.quartz(Unit::DayOfWeek)),
            ]
        } else {
            vec![quartz(
                &days.quartz(Unit::DayOfMonth),
                &weekdays.quartz(Unit::DayOfWeek),
            )]
        };
        let parts = exprs
            .iter()
            .map(|e| cron::Schedule::from_str(e))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ScheduleError::cron(format!("not understood: {e}")))?;
        Ok(Self {
            text: text.to_owned(),
            parts,
            follows_clock: hours.is_every(Unit::Hour),
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first wall-clock time strictly after `after` that the expression matches.
    fn next_local(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        let after = after.and_utc();
        self.parts
            .iter()
            .filter_map(|p| p.after(&after).next())
            .min()
            .map(|t| t.naive_utc())
    }
}

/// Most wall-clock times looked at for one occurrence: far more than a daylight-saving
/// change can put in the way (every second of a day), so only a broken time zone stops it.
const SCAN_LIMIT: usize = 200_000;

/// Occurrences [`Schedule::shortest_gap`] looks at, at most: a minute's worth of a
/// schedule every second, 16 hours of one every minute. Every field of a crontab
/// expression repeats within its next larger unit, so a busiest stretch shows early.
pub const GAP_OCCURRENCES: usize = 1_000;

/// Days after its first occurrence [`Schedule::shortest_gap`] looks, at most.
pub const GAP_WINDOW_DAYS: i64 = 366;

/// A cron expression in a time zone: the instants a job's schedule fires at.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    tz: Tz,
}

impl Schedule {
    /// A schedule of `cron` in `tz`.
    pub fn new(cron: Cron, tz: Tz) -> Self {
        Self { cron, tz }
    }

    /// Parse an expression and a time zone name; the first error found.
    pub fn parse(cron: &str, timezone: &str) -> Result<Self, ScheduleError> {
        Ok(Self::new(Cron::parse(cron)?, parse_timezone(timezone)?))
    }

    /// The expression.
    pub fn cron(&self) -> &Cron {
        &self.cron
    }

    /// The time zone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first occurrence strictly after `after`; `None` when there is none (after 2100,
    /// where the calendar walked ends).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.cron.follows_clock {
            self.next_by_clock(after)
        } else {
            self.next_by_wall(after)
        }
    }

    /// The next `n` occurrences after `after`, in order.
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut at = after;
        while out.len() < n {
            let Some(next) = self.next_after(at) else {
                break;
            };
            out.push(next);
            at = next;
        }
        out
    }

    /// The shortest time between two consecutive occurrences after `after`: how often the
    /// schedule fires at its busiest. Looked for over the next [`GAP_OCCURRENCES`]
    /// occurrences within [`GAP_WINDOW_DAYS`] days of the first (a calendar's pattern
    /// repeats within a year, daylight-saving changes included), and no further once a
    /// gap shorter than `enough` is found, since the caller only asks whether the
    /// schedule is busier than that. `None` with fewer than two occurrences.
    pub fn shortest_gap(&self, after: DateTime<Utc>, enough: TimeDelta) -> Option<TimeDelta> {
        let first = self.next_after(after)?;
        let end = first + TimeDelta::days(GAP_WINDOW_DAYS);
        let mut previous = first;
        let mut shortest: Option<TimeDelta> = None;
        for _ in 1..GAP_OCCURRENCES {
            let Some(next) = self.next_after(previous) else {
                break;
            };
            if next > end {
                break;
            }
            let gap = next - previous;
            if shortest.is_none_or(|s| gap < s) {
                shortest = Some(gap);
            }
            if gap < enough {
                break;
            }
            previous = next;
        }
        shortest
    }

    fn offset_at(&self, instant: DateTime<Utc>) -> TimeDelta {
        let offset = self.tz.offset_from_utc_datetime(&instant.naive_utc()).fix();
        TimeDelta::seconds(i64::from(offset.local_minus_utc()))
    }

    /// The least and greatest offsets around `instant`: two days either side hold any
    /// daylight-saving change that can move a wall-clock time across it.
    fn offset_span(&self, instant: DateTime<Utc>) -> (TimeDelta, TimeDelta) {
        let days = TimeDelta::days(2);
        let offsets = [instant - days, instant, instant + days].map(|i| self.offset_at(i));
        let lo = offsets.iter().min().copied().unwrap_or_default();
        let hi = offsets.iter().max().copied().unwrap_or_default();
        (lo, hi)
    }

    /// The instant a wall-clock time fires at (fixed hours): the first of a repeated
    /// time, a missing time moved forward by the gap.
    fn wall_instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
            LocalResult::None => {
                let gap = chrono_tz::GapInfo::new(&local, &self.tz)?;
                match gap.begin {
                    // Read with the offset before the gap, the time lands after it by
                    // as much as it was into it: 02:30 is 03:30 when 02:00 jumps to 03:00.
                    Some((_, before)) => Some(
                        local.and_utc()
                            - TimeDelta::seconds(i64::from(before.fix().local_minus_utc())),
                    ),
                    None => gap.end.map(|t| t.with_timezone(&Utc)),
                }
            }
        }
    }

    /// Fixed hours: walk wall-clock times from the earliest that can map past `after`,
    /// keeping the least instant, until no later time can map below it. A moved
    /// spring-gap time can map past the times after it, hence the window.
    fn next_by_wall(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let (lo, _) = self.offset_span(after);
        let mut cursor = after.naive_utc() + lo;
        let mut best: Option<(DateTime<Utc>, TimeDelta)> = None;
        for _ in 0..SCAN_LIMIT {
            let Some(local) = self.cron.next_local(cursor) else {
                break;
            };
            if let Some((b, hi)) = best
                && local.and_utc() - hi >= b
            {
                break;
            }
            if let Some(at) = self.wall_instant(local)
                && at > after
                && best.is_none_or(|(b, _)| at < b)
            {
                best = Some((at, self.offset_span(at).1));
            }
            cursor = local;
        }
        best.map(|(b, _)| b)
    }

    /// Every hour: the instants whose wall-clock time matches. Between two offset
    /// changes the wall clock is the instant plus one offset; each change found before
    /// the candidate starts the search again from it, under its new offset.
    fn next_by_clock(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut start = DateTime::from_timestamp(after.timestamp(), 0)? + TimeDelta::seconds(1);
        // Each round crosses one offset change; a year has two.
        for _ in 0..1_000 {
            let offset = self.offset_at(start);
            let local = self
                .cron
                .next_local(start.naive_utc() + offset - TimeDelta::seconds(1))?;
            let candidate = local.and_utc() - offset;
            match self.first_change(start, candidate) {
                None => return Some(candidate),
                Some(change) => start = change,
            }
        }
        None
    }

    /// The first instant in `(from, to]` whose offset is not `from`'s. Looked for in
    /// twelve-hour steps, then to the second: offsets change far less often than that.
    fn first_change(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let offset = self.offset_at(from);
        let mut below = from;
        while below < to {
            let probe = (below + TimeDelta::hours(12)).min(to);
            if self.offset_at(probe) != offset {
                // The offset is `offset` at `below` and not at `above`.
                let mut above = probe;
                while above - below > TimeDelta::seconds(1) {
                    let mid = below + (above - below) / 2;
                    let mid = DateTime::from_timestamp(mid.timestamp(), 0).unwrap_or(mid);
                    if self.offset_at(mid) == offset {
                        below = mid;
                    } else {
                        above = mid;
                    }
                }
                return Some(above);
            }
            below = probe;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("an RFC 3339 instant")
            .with_timezone(&Utc)
    }

    fn schedule(cron: &str, tz: &str) -> Schedule {
        Schedule::parse(cron, tz).expect("a valid schedule")
    }

    fn between(s: &Schedule, from: &str, to: &str) -> Vec<DateTime<Utc>> {
        let (from, to) = (at(from), at(to));
        let mut out = Vec::new();
        let mut t = from;
        while let Some(next) = s.next_after(t) {
            if next >= to {
                break;
            }
            out.push(next);
            t = next;
        }
        out
    }

    /// 02:30 every day in Berlin: once on each day, on both change days too — at 03:30
    /// CEST on the spring day (02:30 does not exist), at the first 02:30 in autumn.
    #[test]
    fn daily_in_berlin_fires_once_on_change_days() {
        let s = schedule("30 2 * * *", "Europe/Berlin");
        assert_eq!(
            between(&s, "2026-03-27T12:00:00Z", "2026-03-31T12:00:00Z"),
            [
                at("2026-03-28T01:30:00Z"),
                at("2026-03-29T01:30:00Z"),
                at("2026-03-30T00:30:00Z"),
                at("2026-03-31T00:30:00Z"),
            ]
        );
        assert_eq!(
            between(&s, "2026-10-23T12:00:00Z", "2026-10-27T12:00:00Z"),
            [
                at("2026-10-24T00:30:00Z"),
                at("2026-10-25T00:30:00Z"),
                at("2026-10-26T01:30:00Z"),
                at("2026-10-27T01:30:00Z"),
            ]
        );
        // Asked from inside the gap or the repeated hour, the same instants come.
        assert_eq!(
            s.next_after(at("2026-03-29T01:00:00Z")),
            Some(at("2026-03-29T01:30:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-10-25T00:30:00Z")),
            Some(at("2026-10-26T01:30:00Z"))
        );
    }

    /// Times around the gap keep their order and never fire twice: 02:00 moved to
    /// 03:00 is the 03:00 that follows, fired once.
    #[test]
    fn moved_gap_times_do_not_repeat() {
        let s = schedule("0,30 2,3 * * *", "Europe/Berlin");
        assert_eq!(
            between(&s, "2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z"),
            [at("2026-03-29T01:00:00Z"), at("2026-03-29T01:30:00Z")]
        );
    }

    /// Hourly follows the clock: 23 hours on the spring day, 25 in autumn, each on the hour.
    #[test]
    fn hourly_follows_the_clock() {
        let s = schedule("0 * * * *", "Europe/Berlin");
        let spring = between(&s, "2026-03-28T22:59:59Z", "2026-03-29T22:00:00Z");
        assert_eq!(spring.len(), 23, "{spring:?}");
        let autumn = between(&s, "2026-10-24T21:59:59Z", "2026-10-25T23:00:00Z");
        assert_eq!(autumn.len(), 25, "{autumn:?}");
        for day in [&spring, &autumn] {
            assert!(day.windows(2).all(|w| w[1] - w[0] == TimeDelta::hours(1)));
        }
        assert_eq!(spring[0], at("2026-03-28T23:00:00Z"));
        assert_eq!(spring[22], at("2026-03-29T21:00:00Z"));
        assert_eq!(autumn[0], at("2026-10-24T22:00:00Z"));
        assert_eq!(autumn[24], at("2026-10-25T22:00:00Z"));
    }

    /// Every second across both changes: one second apart in UTC, none repeated.
    #[test]
    fn every_second_across_a_change() {
        let s = schedule("* * * * * *", "Europe/Berlin");
        for change in ["2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z"] {
            let from = at(change) - TimeDelta::seconds(30);
            let got = s.upcoming(from, 60);
            assert_eq!(got.len(), 60);
            assert_eq!(got[0], from + TimeDelta::seconds(1));
            assert!(
                got.windows(2).all(|w| w[1] - w[0] == TimeDelta::seconds(1)),
                "{got:?}"
            );
        }
    }

    /// Crontab's days of the week: 1-5 Monday to Friday, 0 and 7 Sunday, names too.
    #[test]
    fn days_of_the_week_are_crontabs() {
        use chrono::{Datelike, Weekday};
        let days = |cron: &str| -> Vec<Weekday> {
            schedule(cron, "UTC")
                .upcoming(at("2026-06-01T00:00:00Z"), 7)
                .iter()
                .map(|t| t.weekday())
                .collect()
        };
        use Weekday::*;
        assert_eq!(days("0 9 * * 1-5")[..5], [Mon, Tue, Wed, Thu, Fri]);
        assert_eq!(days("0 9 * * 1-5")[5], Mon);
        assert!(days("0 9 * * 0").iter().all(|d| *d == Sun));
        assert!(days("0 9 * * 7").iter().all(|d| *d == Sun));
        assert_eq!(days("0 9 * * 5-7")[..3], [Fri, Sat, Sun]);
        assert_eq!(days("0 9 * * */2")[..4], [Tue, Thu, Sat, Sun]);
        assert_eq!(days("0 9 * * MON-FRI")[..5], [Mon, Tue, Wed, Thu, Fri]);
        assert_eq!(days("0 9 * * sat-sun")[..2], [Sat, Sun]);
        // 2026-06-01 is a Monday; 09:00 on it is after the instant asked from.
        assert_eq!(
            schedule("0 9 * * 1", "UTC").next_after(at("2026-06-01T00:00:00Z")),
            Some(at("2026-06-01T09:00:00Z"))
        );
    }

    /// Both day fields restricted: either matching fires (crontab), not both (Quartz).
    #[test]
    fn either_day_field_fires() {
        let got = schedule("0 0 13 * 5", "UTC").upcoming(at("2026-02-01T00:00:00Z"), 4);
        // Fridays in February 2026 are the 6th, 13th, 20th, 27th; the 13th is both.
        assert_eq!(
            got,
            [
                at("2026-02-06T00:00:00Z"),
                at("2026-02-13T00:00:00Z"),
                at("2026-02-20T00:00:00Z"),
                at("2026-02-27T00:00:00Z"),
            ]
        );
        let got = schedule("0 0 */10 * 5", "UTC").upcoming(at("2026-02-01T00:00:00Z"), 2);
        // A starred day of the month narrows: the 1st, 11th, 21st that are Fridays.
        assert!(got.iter().all(|t| {
            use chrono::Datelike;
            t.weekday() == chrono::Weekday::Fri && [1, 11, 21, 31].contains(&t.day())
        }));
    }

    #[test]
    fn six_fields_put_seconds_first() {
        let s = schedule("15 30 9 * * *", "UTC");
        assert_eq!(
            s.next_after(at("2026-06-01T00:00:00Z")),
            Some(at("2026-06-01T09:30:15Z"))
        );
        assert_eq!(
            schedule("@daily", "Asia/Tokyo").next_after(at("2026-06-01T00:00:00Z")),
            Some(at("2026-06-01T15:00:00Z"))
        );
    }

    /// Each error names the field and says why.
    #[test]
    fn errors_say_what_and_where() {
        let cron = |text: &str| Cron::parse(text).expect_err("invalid").to_string();
        assert_eq!(
            cron("0 25 * * *"),
            "cron: field 2 (hour) \"25\": hours are 0–23"
        );
        assert_eq!(
            cron("0 9 *"),
            "cron: expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got 3"
        );
        assert!(cron("0 0 9 * * * 2026").contains("got 7; a year field"));
        assert_eq!(
            cron("60 * * * *"),
            "cron: field 1 (minute) \"60\": minutes are 0–59"
        );
        assert_eq!(
            cron("61 * * * * *"),
            "cron: field 1 (second) \"61\": seconds are 0–59"
        );
        assert!(
            cron("0 0 0 * *").starts_with("cron: field 3 (day-of-month) \"0\": days of the month")
        );
        assert!(cron("0 0 1 13 *").starts_with("cron: field 4 (month) \"13\": months are 1–12"));
        assert!(cron("0 0 * FOO *").contains("unknown name"));
        assert!(
            cron("0 0 * * 8")
                .starts_with("cron: field 5 (day-of-week) \"8\": days of the week are 0–7")
        );
        assert!(cron("0 0 ? * MON").contains("`?` is Quartz syntax"));
        assert!(cron("0 0 L * *").contains("Quartz syntax"));
        assert!(cron("0 0 15W * *").contains("Quartz syntax"));
        assert!(cron("0 0 * * 5#3").contains("Quartz syntax"));
        assert!(cron("*/0 * * * *").contains("a step must be at least 1"));
        assert!(cron("0 22-2 * * *").contains("runs backwards"));
        assert!(cron("0 1,,2 * * *").contains("a list item is empty"));
        assert!(cron("0 MON * * *").contains("names are only for months and days"));
        assert!(cron("0 0 30 2 *").contains("field 3 (day-of-month) \"30\": no month of field 4"));
        assert!(cron("@reboot").contains("@reboot"));
        assert!(cron("").contains("got 0"));
        let tz = parse_timezone("Mars/Olympus").expect_err("invalid");
        assert_eq!(tz.field, ScheduleField::Timezone);
        assert_eq!(
            tz.to_string(),
            "timezone: \"Mars/Olympus\" is not an IANA time zone"
        );
        assert!(parse_timezone("America/Argentina/Buenos_Aires").is_ok());
    }

    /// Against a minute-by-minute walk over days with changes (an hour, half an hour,
    /// a whole skipped day): fixed-hour schedules give each matching wall-clock minute's
    /// instant (the first of a repeated one, a missing one read with the offset before
    /// the gap), every-hour schedules the instants whose wall clock matches.
    #[test]
    fn agrees_with_a_minute_walk() {
        let windows = [
            ("Europe/Berlin", "2026-03-28T00:00:00Z"),
            ("Europe/Berlin", "2026-10-24T00:00:00Z"),
            ("Australia/Lord_Howe", "2026-04-04T00:00:00Z"),
            ("Australia/Lord_Howe", "2026-10-03T00:00:00Z"),
            ("Pacific/Apia", "2011-12-28T00:00:00Z"),
            ("America/New_York", "2026-11-01T00:00:00Z"),
        ];
        let crons = [
            "30 2 * * *",
            "*/20 1-3 * * *",
            "0,30 * * * *",
            "15 */2 * * *",
            "45 23,0,1,2 * * *",
            "0 12 * * *",
            "*/7 * 29-31,1 * *",
        ];
        for (tz, from) in windows {
            for cron in crons {
                let s = schedule(cron, tz);
                let tz = s.timezone();
                let from = at(from);
                let to = from + TimeDelta::days(4);
                let matches =
                    |local: NaiveDateTime| s.cron.parts.iter().any(|p| p.includes(local.and_utc()));
                let mut expected = std::collections::BTreeSet::new();
                if s.cron.follows_clock {
                    let mut u = from;
                    while u < to {
                        if matches(u.with_timezone(&tz).naive_local()) {
                            expected.insert(u);
                        }
                        u += TimeDelta::minutes(1);
                    }
                } else {
                    let mut local = from.naive_utc() - TimeDelta::days(1);
                    while local < to.naive_utc() + TimeDelta::days(1) {
                        if matches(local) {
                            let instant = match tz.from_local_datetime(&local) {
                                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                                    t.with_timezone(&Utc)
                                }
                                LocalResult::None => {
                                    local.and_utc()
                                        - s.offset_at(local.and_utc() - TimeDelta::days(1))
                                }
                            };
                            if instant > from && instant < to {
                                expected.insert(instant);
                            }
                        }
                        local += TimeDelta::minutes(1);
                    }
                }
                let got = between(&s, &from.to_rfc3339(), &to.to_rfc3339());
                let expected: Vec<_> = expected.into_iter().filter(|t| *t > from).collect();
                assert_eq!(got, expected, "{cron} in {tz} from {from}");
            }
        }
    }

    /// A valid field, with values from `lo` to `hi`.
    fn field(lo: u32, hi: u32) -> impl Strategy<Value = String> {
        prop_oneof![
            Just("*".to_owned()),
            (1..=hi.max(1)).prop_map(|s| format!("*/{s}")),
            (lo..=hi).prop_map(|v| v.to_string()),
            (lo..=hi, lo..=hi).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
            (lo..=hi, lo..=hi, 1..=5u32).prop_map(|(a, b, s)| format!(
                "{}-{}/{s}",
                a.min(b),
                a.max(b)
            )),
            (lo..=hi, lo..=hi).prop_map(|(a, b)| format!("{a},{b}")),
        ]
    }

    fn expression() -> impl Strategy<Value = String> {
        (
            proptest::option::of(field(0, 59)),
            field(0, 59),
            field(0, 23),
            field(1, 28),
            field(1, 12),
            field(0, 7),
        )
            .prop_map(|(s, m, h, dom, mon, dow)| {
                let rest = format!("{m} {h} {dom} {mon} {dow}");
                match s {
                    Some(s) => format!("{s} {rest}"),
                    None => rest,
                }
            })
    }

    fn gap(cron: &str, tz: &str) -> Option<TimeDelta> {
        schedule(cron, tz).shortest_gap(at("2026-12-02T10:00:00Z"), TimeDelta::zero())
    }

    /// The busiest stretch of a schedule, even when it is not the next one.
    #[test]
    fn shortest_gap_is_the_busiest_stretch() {
        assert_eq!(gap("* * * * * *", "UTC"), Some(TimeDelta::seconds(1)));
        assert_eq!(gap("*/5 * * * *", "UTC"), Some(TimeDelta::minutes(5)));
        assert_eq!(gap("@hourly", "UTC"), Some(TimeDelta::hours(1)));
        assert_eq!(gap("30 2 * * *", "UTC"), Some(TimeDelta::days(1)));
        // Two minutes apart once a night, far from the next occurrence.
        assert_eq!(gap("0,2 3 * * *", "UTC"), Some(TimeDelta::minutes(2)));
        // Uneven steps: 0, 50 past the hour, then 10 minutes to the next hour.
        assert_eq!(gap("0,50 * * * *", "UTC"), Some(TimeDelta::minutes(10)));
        // Minutes 0 and 59 of 23:00, then 00:00 of the next day, one minute after 23:59.
        assert_eq!(gap("0,59 0,23 * * *", "UTC"), Some(TimeDelta::minutes(1)));
        // Either day field: the 1st and Mondays; Monday 2027-05-31 is a day before the 1st.
        assert_eq!(gap("0 0 1 * MON", "UTC"), Some(TimeDelta::days(1)));
        // Weekly, yearly: a week, a year (the one gap within the window).
        assert_eq!(gap("@weekly", "UTC"), Some(TimeDelta::weeks(1)));
        assert_eq!(gap("@yearly", "UTC"), Some(TimeDelta::days(365)));
        // The 29th of February: no second occurrence within the window.
        assert_eq!(gap("0 0 29 2 *", "UTC"), None);
        assert_eq!(gap("0 0 1 1,7 *", "UTC"), Some(TimeDelta::days(181)));
    }

    /// Daylight saving: a fixed-hour schedule moved by the spring gap comes closer to the
    /// next occurrence (02:30 fires at 03:30, an hour before 04:30); an hourly one never
    /// fires twice within the hour.
    #[test]
    fn shortest_gap_sees_daylight_saving() {
        assert_eq!(
            gap("30 2,4 * * *", "Europe/Berlin"),
            Some(TimeDelta::hours(1))
        );
        assert_eq!(gap("0 * * * *", "Europe/Berlin"), Some(TimeDelta::hours(1)));
    }

    /// The search stops as soon as a gap under `enough` shows, and stays bounded on the
    /// busiest schedule there is.
    #[test]
    fn shortest_gap_is_bounded() {
        let s = schedule("* * * * * *", "Europe/Berlin");
        let started = std::time::Instant::now();
        let found = s.shortest_gap(at("2026-12-02T10:00:00Z"), TimeDelta::zero());
        assert_eq!(found, Some(TimeDelta::seconds(1)));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let early = s.shortest_gap(at("2026-12-02T10:00:00Z"), TimeDelta::minutes(1));
        assert_eq!(early, Some(TimeDelta::seconds(1)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Occurrences come after the instant asked from and strictly increase, in zones
        /// with hour, half-hour and day-long changes.
        #[test]
        fn occurrences_strictly_increase(
            cron in expression(),
            tz in prop::sample::select(vec![
                "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                "Pacific/Apia", "America/Santiago", "Asia/Kathmandu",
            ]),
            secs in 946_684_800i64..3_900_000_000i64,
        ) {
            let s = schedule(&cron, tz);
            let after = DateTime::from_timestamp(secs, 0).expect("in range");
            let got = s.upcoming(after, 6);
            if let Some(first) = got.first() {
                prop_assert!(*first > after, "{cron} {tz}: {first} not after {after}");
            }
            for w in got.windows(2) {
                prop_assert!(w[0] < w[1], "{cron} {tz}: {got:?}");
            }
        }
    }
}
