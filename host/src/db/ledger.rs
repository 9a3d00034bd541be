//! The credit ledger (`credit_ledger`) and what each run was charged (`run_charges`).
//!
//! A balance changes only together with a ledger line, in one transaction: every function
//! here that moves `users.credits` writes the line with the balance after it, and takes
//! credits by a conditional update that cannot go below zero.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::ids::{ExportId, JobId, RunId, UserId};
use crate::model::pricing::{Charge, ChargeItem, LedgerKind, Pricing, Work};

/// A ledger line.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LedgerLine {
    /// Its place in the ledger (lines are numbered in the order they were written).
    pub id: i64,
    /// The user whose balance it changed.
    pub user_id: UserId,
    /// `grant`, `charge`, `refund` or `adjustment`.
    pub kind: LedgerKind,
    /// What a charge was for: `pages`, `fuel`, `items` or `export`.
    pub item: Option<ChargeItem>,
    /// The run charged.
    pub run_id: Option<RunId>,
    /// The run's job.
    pub job_id: Option<JobId>,
    /// The export charged.
    pub export_id: Option<ExportId>,
    /// Units of `item` charged for.
    pub quantity: i64,
    /// Credits per `per` units.
    pub unit_price: i64,
    /// The units the price is for (1 page, 1,000,000 fuel, 1,000 items, 1,000,000 bytes).
    pub per: i64,
    /// The change of the balance: negative for a charge.
    pub amount: i64,
    /// The balance after this line.
    pub balance: i64,
    /// Why (an admin's reason, or what trawl charged for).
    pub reason: String,
    /// The admin who granted or adjusted.
    pub actor_id: Option<UserId>,
    /// When.
    pub created_at: DateTime<Utc>,
}

macro_rules! ledger_rows {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            LedgerLine,
            r#"SELECT id, user_id AS "user_id: UserId", kind AS "kind: LedgerKind", item AS "item: ChargeItem",
                      run_id AS "run_id: RunId", job_id AS "job_id: JobId", export_id AS "export_id: ExportId",
                      quantity, unit_price, per, amount, balance, reason, actor_id AS "actor_id: UserId", created_at
               FROM credit_ledger "# + $tail
            $(, $arg)*
        )
    };
}

/// The largest balance a user may hold (10^15 credits): grants past it are refused, and
/// no sum of balance and change can overflow.
pub const MAX_BALANCE: i64 = 1_000_000_000_000_000;

/// What [`adjust`] did.
#[derive(Debug)]
pub enum Adjusted {
    Done(LedgerLine),
    /// The user does not exist.
    NoUser,
    /// The change would take the balance below zero (nothing was written).
    BelowZero {
        balance: i64,
    },
    /// The change would take the balance past [`MAX_BALANCE`] (nothing was written).
    AboveMax {
        balance: i64,
    },
}

/// Change a user's balance by `amount` (a grant, refund or adjustment, at most
/// [`MAX_BALANCE`] either way), with the line that says so. Refused when it would take the
/// balance below zero or past [`MAX_BALANCE`].
pub async fn adjust(
    conn: &mut sqlx::PgConnection,
    user: UserId,
    kind: LedgerKind,
    amount: i64,
    reason: &str,
    actor: Option<UserId>,
) -> Result<Adjusted, sqlx::Error> {
    let amount = amount.clamp(-MAX_BALANCE, MAX_BALANCE);
    let line = sqlx::query_as!(
        LedgerLine,
        r#"WITH moved AS (
               UPDATE users SET credits = credits + $2
               WHERE id = $1 AND credits + $2 BETWEEN 0 AND $6
               RETURNING id, credits
           )
           INSERT INTO credit_ledger (user_id, kind, amount, balance, reason, actor_id)
           SELECT moved.id, $3, $2, moved.credits, $4, $5 FROM moved
           RETURNING id, user_id AS "user_id: UserId", kind AS "kind: LedgerKind", item AS "item: ChargeItem",
                     run_id AS "run_id: RunId", job_id AS "job_id: JobId", export_id AS "export_id: ExportId",
                     quantity, unit_price, per, amount, balance, reason, actor_id AS "actor_id: UserId", created_at"#,
        user as UserId,
        amount,
        kind as LedgerKind,
        reason,
        actor as Option<UserId>,
        MAX_BALANCE
    )
    .fetch_optional(&mut *conn)
    .await?;
    match line {
        Some(line) => Ok(Adjusted::Done(line)),
        None => match balance(&mut *conn, user).await? {
            Some(balance) if amount < 0 => Ok(Adjusted::BelowZero { balance }),
            Some(balance) => Ok(Adjusted::AboveMax { balance }),
            None => Ok(Adjusted::NoUser),
        },
    }
}

/// A user's balance; `None` when there is no such user.
pub async fn balance(ex: impl PgExecutor<'_>, user: UserId) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!("SELECT credits FROM users WHERE id = $1", user as UserId)
        .fetch_optional(ex)
        .await
}

/// A user's balance, locked until the transaction ends: what a charge may take.
pub async fn lock_balance(ex: impl PgExecutor<'_>, user: UserId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT credits FROM users WHERE id = $1 FOR UPDATE",
        user as UserId
    )
    .fetch_one(ex)
    .await
}

/// What a charge is against.
#[derive(Debug, Clone, Copy)]
pub struct Payer {
    pub user: UserId,
    pub run: Option<RunId>,
    pub job: Option<JobId>,
    pub export: Option<ExportId>,
}

/// Take `charges` (item, quantity, credits) from the payer's balance, one line each
/// (lines of no credits and no quantity are left out). False, and nothing written, when
/// the balance does not cover them.
pub async fn charge(
    ex: impl PgExecutor<'_>,
    payer: Payer,
    pricing: &Pricing,
    charges: &[(ChargeItem, i64, i64)],
) -> Result<bool, sqlx::Error> {
    let lines: Vec<&(ChargeItem, i64, i64)> = charges
        .iter()
        .filter(|(_, quantity, credits)| *quantity != 0 || *credits != 0)
        .collect();
    if lines.is_empty() {
        return Ok(true);
    }
    let total: i64 = lines.iter().map(|(_, _, credits)| *credits).sum();
    let items: Vec<&str> = lines.iter().map(|(item, _, _)| item.as_str()).collect();
    let quantities: Vec<i64> = lines.iter().map(|(_, q, _)| *q).collect();
    let amounts: Vec<i64> = lines.iter().map(|(_, _, c)| -*c).collect();
    let prices: Vec<i64> = lines
        .iter()
        .map(|(item, _, _)| pricing.price(*item).0)
        .collect();
    let pers: Vec<i64> = lines
        .iter()
        .map(|(item, _, _)| pricing.price(*item).1)
        .collect();
    let reasons: Vec<String> = lines
        .iter()
        .map(|(item, quantity, _)| {
            let (price, per) = pricing.price(*item);
            match item {
                ChargeItem::Pages => format!("{quantity} pages at {price} per page"),
                ChargeItem::Fuel => format!("{quantity} fuel at {price} per million"),
                ChargeItem::Items => format!("{quantity} new items at {price} per thousand"),
                ChargeItem::Export => format!("{quantity} bytes exported at {price} per {per}"),
            }
        })
        .collect();
    // The balance after each line: the balance before, less the lines up to it.
    let done = sqlx::query_scalar!(
        r#"WITH debit AS (
               UPDATE users SET credits = credits - $2
               WHERE id = $1 AND credits >= $2
               RETURNING credits + $2 AS before
           ), lines AS (
               INSERT INTO credit_ledger (user_id, kind, item, run_id, job_id, export_id, quantity,
                                          unit_price, per, amount, balance, reason)
               SELECT $1, 'charge', l.item, $3, $4, $5, l.quantity, l.price, l.per, l.amount,
                      debit.before + sum(l.amount) OVER (ORDER BY l.ord), l.reason
               FROM debit, unnest($6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::text[])
                    WITH ORDINALITY AS l(item, quantity, price, per, amount, reason, ord)
               RETURNING 1
           )
           SELECT count(*) AS "n!" FROM debit"#,
        payer.user as UserId,
        total,
        payer.run as Option<RunId>,
        payer.job as Option<JobId>,
        payer.export as Option<ExportId>,
        &items as &[&str],
        &quantities,
        &prices,
        &pers,
        &amounts,
        &reasons
    )
    .fetch_one(ex)
    .await?;
    Ok(done == 1)
}

/// What a run was charged so far: its priced work and the credits of it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunCharges {
    pub work: Work,
    pub credits: Charge,
}

/// A run's charges so far (nothing yet: zeros).
pub async fn run_charges(ex: impl PgExecutor<'_>, run: RunId) -> Result<RunCharges, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT pages, fuel, items, credits_pages, credits_fuel, credits_items
           FROM run_charges WHERE run_id = $1"#,
        run as RunId
    )
    .fetch_optional(ex)
    .await?;
    Ok(row
        .map(|r| RunCharges {
            work: Work {
                pages: r.pages,
                fuel: r.fuel,
                items: r.items,
            },
            credits: Charge {
                pages: r.credits_pages,
                fuel: r.credits_fuel,
                items: r.credits_items,
            },
        })
        .unwrap_or_default())
}

/// Add a batch's work and its credits to a run's charges.
pub async fn add_run_charges(
    ex: impl PgExecutor<'_>,
    run: RunId,
    work: Work,
    credits: Charge,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO run_charges (run_id, pages, fuel, items, credits_pages, credits_fuel, credits_items)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (run_id) DO UPDATE
           SET pages = run_charges.pages + EXCLUDED.pages, fuel = run_charges.fuel + EXCLUDED.fuel,
               items = run_charges.items + EXCLUDED.items,
               credits_pages = run_charges.credits_pages + EXCLUDED.credits_pages,
               credits_fuel = run_charges.credits_fuel + EXCLUDED.credits_fuel,
               credits_items = run_charges.credits_items + EXCLUDED.credits_items,
               updated_at = now()"#,
        run as RunId,
        work.pages,
        work.fuel,
        work.items,
        credits.pages,
        credits.fuel,
        credits.items
    )
    .execute(ex)
    .await?;
    Ok(())
}

/// A user's ledger lines after `after` (a line id), oldest first.
pub async fn list(
    ex: impl PgExecutor<'_>,
    user: UserId,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<LedgerLine>, sqlx::Error> {
    ledger_rows!(
        "WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        user as UserId,
        after.unwrap_or(0),
        limit
    )
    .fetch_all(ex)
    .await
}

/// A run's charge lines after `after`, oldest first.
pub async fn list_for_run(
    ex: impl PgExecutor<'_>,
    run: RunId,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<LedgerLine>, sqlx::Error> {
    ledger_rows!(
        "WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        run as RunId,
        after.unwrap_or(0),
        limit
    )
    .fetch_all(ex)
    .await
}

/// How usage is grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Day,
    Job,
}

/// Credits a user was charged in `[from, to)`, by day (UTC) or by job, and by item.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UsageRow {
    /// The day (`YYYY-MM-DD`, UTC) or the job's id (charges of a deleted job's runs and
    /// exports stay under its id).
    pub key: Option<String>,
    /// Credits for pages.
    pub pages: i64,
    /// Credits for fuel.
    pub fuel: i64,
    /// Credits for items.
    pub items: i64,
    /// Credits for exports.
    pub export: i64,
    /// All of them.
    pub total: i64,
}

/// A user's charges in `[from, to)`, grouped.
pub async fn usage(
    ex: impl PgExecutor<'_>,
    user: UserId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    group: Group,
) -> Result<Vec<UsageRow>, sqlx::Error> {
    let by_day = group == Group::Day;
    sqlx::query_as!(
        UsageRow,
        r#"SELECT CASE WHEN $4 THEN to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') ELSE job_id::text END AS key,
                  coalesce(-sum(amount) FILTER (WHERE item = 'pages'), 0)::bigint AS "pages!",
                  coalesce(-sum(amount) FILTER (WHERE item = 'fuel'), 0)::bigint AS "fuel!",
                  coalesce(-sum(amount) FILTER (WHERE item = 'items'), 0)::bigint AS "items!",
                  coalesce(-sum(amount) FILTER (WHERE item = 'export'), 0)::bigint AS "export!",
                  coalesce(-sum(amount), 0)::bigint AS "total!"
           FROM credit_ledger
           WHERE user_id = $1 AND kind = 'charge' AND created_at >= $2 AND created_at < $3
           GROUP BY 1 ORDER BY 1 NULLS LAST"#,
        user as UserId,
        from,
        to,
        by_day
    )
    .fetch_all(ex)
    .await
}

/// Users whose balance differs from the sum of their ledger: (user, balance, sum). Empty
/// unless something wrote one without the other.
pub async fn mismatches(ex: impl PgExecutor<'_>) -> Result<Vec<(UserId, i64, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT user_id AS "user_id!: UserId", balance AS "balance!", ledger_sum AS "ledger_sum!"
           FROM credit_ledger_mismatches()"#
    )
    .fetch_all(ex)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.user_id, r.balance, r.ledger_sum))
        .collect())
}
