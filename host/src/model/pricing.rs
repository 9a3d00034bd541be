//! What work costs in credits, and the arithmetic of charging it.
//!
//! Each kind of work has an integer price in credits per a fixed number of units: per
//! page fetched and extracted, per million units of plugin fuel, per thousand items
//! stored, per megabyte exported. What a run owes for a kind is its whole quantity so far
//! at that price, rounded up to a whole credit: so each charge of a batch is the growth of
//! that figure, the charges of a run add up to the price of its totals (never a credit
//! more per kind), and no work is stored unpaid for.

use serde::Serialize;

use super::UnknownValue;

text_enum! {
    /// What a charge is for.
    pub enum ChargeItem {
        /// Pages fetched and extracted successfully.
        Pages = "pages",
        /// Plugin fuel burnt on those pages.
        Fuel = "fuel",
        /// New items stored (duplicates and invalid items are free).
        Items = "items",
        /// Bytes of export files written.
        Export = "export",
    }
}

text_enum! {
    /// A kind of ledger line.
    pub enum LedgerKind {
        /// Credits given (by an admin, or to a new user).
        Grant = "grant",
        /// Credits taken for work done.
        Charge = "charge",
        /// Credits given back for a charge.
        Refund = "refund",
        /// A correction by an admin, either way.
        Adjustment = "adjustment",
    }
}

/// The price list: integer credits per a fixed number of units of each kind of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Pricing {
    /// Credits per page fetched and extracted successfully. Failed, skipped, blocked and
    /// robots-disallowed pages are free.
    pub page: i64,
    /// Credits per million units of plugin fuel burnt on those pages.
    pub fuel_per_million: i64,
    /// Credits per thousand new items stored. Duplicates and invalid items are free.
    pub items_per_thousand: i64,
    /// Credits per megabyte (10^6 bytes) of export file.
    pub export_per_megabyte: i64,
}

impl Pricing {
    /// The price of `item`: credits per how many units.
    pub fn price(&self, item: ChargeItem) -> (i64, i64) {
        match item {
            ChargeItem::Pages => (self.page, 1),
            ChargeItem::Fuel => (self.fuel_per_million, 1_000_000),
            ChargeItem::Items => (self.items_per_thousand, 1_000),
            ChargeItem::Export => (self.export_per_megabyte, 1_000_000),
        }
    }

    /// What `quantity` units of `item` cost, rounded up to a whole credit (saturating).
    pub fn credits(&self, item: ChargeItem, quantity: i64) -> i64 {
        let (price, per) = self.price(item);
        let quantity = i128::from(quantity.max(0));
        let owed = (quantity * i128::from(price.max(0)) + i128::from(per) - 1) / i128::from(per);
        i64::try_from(owed).unwrap_or(i64::MAX)
    }

    /// What growing a run's work from `before` to `before + add` costs, by kind.
    pub fn charge(&self, before: Work, add: Work) -> Charge {
        let after = before.plus(add);
        let grow = |item, b, a| self.credits(item, a) - self.credits(item, b);
        Charge {
            pages: grow(ChargeItem::Pages, before.pages, after.pages),
            fuel: grow(ChargeItem::Fuel, before.fuel, after.fuel),
            items: grow(ChargeItem::Items, before.items, after.items),
        }
    }
}

/// A quantity of a run's chargeable work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Work {
    /// Pages fetched and extracted.
    pub pages: i64,
    /// Plugin fuel.
    pub fuel: i64,
    /// New items stored.
    pub items: i64,
}

impl Work {
    /// Both quantities together (saturating).
    pub fn plus(self, other: Work) -> Work {
        Work {
            pages: self.pages.saturating_add(other.pages),
            fuel: self.fuel.saturating_add(other.fuel),
            items: self.items.saturating_add(other.items),
        }
    }
}

/// Credits by kind of a run's work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Charge {
    /// For pages.
    pub pages: i64,
    /// For fuel.
    pub fuel: i64,
    /// For items.
    pub items: i64,
}

impl Charge {
    /// The sum (saturating).
    pub fn total(&self) -> i64 {
        self.pages
            .saturating_add(self.fuel)
            .saturating_add(self.items)
    }

    /// Both together (saturating).
    pub fn plus(self, other: Charge) -> Charge {
        Charge {
            pages: self.pages.saturating_add(other.pages),
            fuel: self.fuel.saturating_add(other.fuel),
            items: self.items.saturating_add(other.items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRICES: Pricing = Pricing {
        page: 2,
        fuel_per_million: 3,
        items_per_thousand: 5,
        export_per_megabyte: 7,
    };

    #[test]
    fn quantities_cost_their_price_rounded_up() {
        assert_eq!(PRICES.credits(ChargeItem::Pages, 0), 0);
        assert_eq!(PRICES.credits(ChargeItem::Pages, 3), 6);
        assert_eq!(PRICES.credits(ChargeItem::Fuel, 1), 1);
        assert_eq!(PRICES.credits(ChargeItem::Fuel, 1_000_000), 3);
        assert_eq!(PRICES.credits(ChargeItem::Fuel, 1_000_001), 4);
        assert_eq!(PRICES.credits(ChargeItem::Items, 200), 1);
        assert_eq!(PRICES.credits(ChargeItem::Items, 400), 2);
        assert_eq!(PRICES.credits(ChargeItem::Export, 2_500_000), 18);
        assert_eq!(PRICES.credits(ChargeItem::Pages, i64::MAX), i64::MAX);
        assert_eq!(PRICES.credits(ChargeItem::Pages, -5), 0);
    }

    #[test]
    fn the_charges_of_batches_add_up_to_the_price_of_the_total() {
        let batches = [
            Work {
                pages: 3,
                fuel: 700_000,
                items: 150,
            },
            Work {
                pages: 1,
                fuel: 10,
                items: 0,
            },
            Work {
                pages: 64,
                fuel: 12_345_678,
                items: 999,
            },
            Work {
                pages: 0,
                fuel: 0,
                items: 1,
            },
        ];
        let mut before = Work::default();
        let mut charged = Charge::default();
        for add in batches {
            charged = charged.plus(PRICES.charge(before, add));
            before = before.plus(add);
        }
        assert_eq!(
            before,
            Work {
                pages: 68,
                fuel: 13_045_688,
                items: 1_150
            }
        );
        assert_eq!(
            charged,
            Charge {
                pages: 136,
                fuel: 40,
                items: 6
            }
        );
    }

    #[test]
    fn free_work_costs_nothing() {
        let free = Pricing {
            page: 0,
            fuel_per_million: 0,
            items_per_thousand: 0,
            export_per_megabyte: 0,
        };
        let add = Work {
            pages: 10,
            fuel: 10_000_000,
            items: 10_000,
        };
        assert_eq!(free.charge(Work::default(), add).total(), 0);
    }
}
