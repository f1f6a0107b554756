//! Rates (费率) and quotes: pages × copies × the price of each page's class, with duplex
//! priced per side or per sheet, and an optional minimum charge. All in integer fen.

use std::collections::HashMap;

use crate::{
    domain::{ColourMode, Fen, JobOptions, PaperSize, ValueError},
    storage::rates::{RateOwner, RatePlanRow, RatePriceRow, RateRepo},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplexPricing {
    /// Every printed side costs its side price.
    PerSide,
    /// A two-sided sheet costs one side price (the dearer side's).
    PerSheet,
}

impl DuplexPricing {
    /// Every name, as the API writes them.
    pub const NAMES: &'static [&'static str] = &["per_side", "per_sheet"];

    pub fn as_str(self) -> &'static str {
        match self {
            DuplexPricing::PerSide => "per_side",
            DuplexPricing::PerSheet => "per_sheet",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "per_side" => Some(DuplexPricing::PerSide),
            "per_sheet" => Some(DuplexPricing::PerSheet),
            _ => None,
        }
    }
}

/// An enterprise's rates. Without a plan, printing is free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatePlan {
    pub duplex: DuplexPricing,
    pub minimum: Fen,
    /// The scan rate: per scanned page.
    pub scan_per_page: Fen,
    /// Price per side by (paper size, colour?). Missing means free.
    pub prices: HashMap<(PaperSize, bool), Fen>,
}

impl Default for RatePlan {
    fn default() -> Self {
        Self { duplex: DuplexPricing::PerSide, minimum: Fen::ZERO, scan_per_page: Fen::ZERO, prices: HashMap::new() }
    }
}

impl RatePlan {
    pub fn price(&self, paper: PaperSize, colour: bool) -> Fen {
        self.prices.get(&(paper, colour)).copied().unwrap_or(Fen::ZERO)
    }
}

/// A rate plan as set by an admin.
pub struct RatePlanInput {
    pub duplex_pricing: String,
    pub minimum_fen: i64,
    pub scan_fen_per_page: i64,
    /// (paper size, colour?, fen per side)
    pub prices: Vec<(String, bool, i64)>,
}

/// Checks an admin's plan: known duplex rule and sizes, no negative amounts, no size and
/// colour priced twice. The error names the field.
pub fn parse_plan(
    input: RatePlanInput,
    now: i64,
) -> Result<(RatePlanRow, Vec<RatePriceRow>), (&'static str, ValueError)> {
    let duplex = DuplexPricing::parse(&input.duplex_pricing).ok_or(("duplex_pricing", ValueError::UnknownVariant))?;
    Fen::price(input.minimum_fen).map_err(|e| ("minimum_fen", e))?;
    Fen::price(input.scan_fen_per_page).map_err(|e| ("scan_fen_per_page", e))?;
    let mut prices: Vec<RatePriceRow> = Vec::new();
    for (size, colour, fen) in input.prices {
        let size = PaperSize::parse(&size).map_err(|e| ("prices.paper_size", e))?;
        Fen::price(fen).map_err(|e| ("prices.fen_per_side", e))?;
        if prices.iter().any(|p| p.paper_size == size.as_str() && (p.colour == "colour") == colour) {
            return Err(("prices", ValueError::Inconsistent));
        }
        prices.push(RatePriceRow {
            paper_size: size.as_str().into(),
            colour: if colour { "colour" } else { "mono" }.into(),
            fen_per_side: fen,
        });
    }
    let plan = RatePlanRow {
        duplex_pricing: duplex.as_str().into(),
        minimum_fen: input.minimum_fen,
        scan_fen_per_page: input.scan_fen_per_page,
        updated_at: now,
    };
    Ok((plan, prices))
}

/// The stored plan of `owner`, if it has one.
pub async fn load_plan(rates: &RateRepo, owner: RateOwner<'_>) -> Result<Option<RatePlan>, sqlx::Error> {
    let Some((plan, prices)) = rates.plan(owner).await? else { return Ok(None) };
    let mut out = RatePlan {
        duplex: DuplexPricing::parse(&plan.duplex_pricing).unwrap_or(DuplexPricing::PerSide),
        minimum: Fen(plan.minimum_fen),
        scan_per_page: Fen(plan.scan_fen_per_page),
        prices: HashMap::new(),
    };
    for p in prices {
        if let Ok(size) = PaperSize::parse(&p.paper_size) {
            out.prices.insert((size, p.colour == "colour"), Fen(p.fen_per_side));
        }
    }
    Ok(Some(out))
}

/// The rates that apply at a print point: its own override, else its enterprise's, else free.
pub async fn effective_plan(
    rates: &RateRepo,
    enterprise_id: &str,
    print_point_id: &str,
) -> Result<RatePlan, sqlx::Error> {
    if let Some(plan) = load_plan(rates, RateOwner::PrintPoint(print_point_id)).await? {
        return Ok(plan);
    }
    Ok(load_plan(rates, RateOwner::Enterprise(enterprise_id)).await?.unwrap_or_default())
}

/// One line of a quote's breakdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteLine {
    pub paper_size: PaperSize,
    pub colour: bool,
    /// `side` or `sheet`.
    pub unit: &'static str,
    /// Units per copy.
    pub units: i64,
    pub unit_price: Fen,
    /// units × unit price × copies.
    pub subtotal: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub lines: Vec<QuoteLine>,
    pub copies: i64,
    /// Pages selected by the page ranges.
    pub pages: i64,
    /// Printed sides per copy (after n-up).
    pub sides: i64,
    /// Physical sheets per copy.
    pub sheets: i64,
    pub minimum_applied: bool,
    pub total: Fen,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("the page ranges select no page of this document")]
    NoPages,
    #[error("amount overflow")]
    Overflow,
}

/// Prices a job with per-page colour flags `colour_pages` under `options`.
pub fn quote(plan: &RatePlan, colour_pages: &[bool], options: &JobOptions) -> Result<Quote, QuoteError> {
    let page_count = u32::try_from(colour_pages.len()).map_err(|_| QuoteError::Overflow)?;
    let selected = options.page_ranges.select(page_count);
    if selected.is_empty() {
        return Err(QuoteError::NoPages);
    }
    let page_colour: Vec<bool> = selected
        .iter()
        .map(|&p| match options.colour_mode {
            ColourMode::Mono => false,
            ColourMode::Colour => true,
            ColourMode::Auto => colour_pages[(p - 1) as usize],
        })
        .collect();
    // n-up: a printed side carries up to `pages_per_sheet` pages; it is colour if any is.
    let sides: Vec<bool> =
        page_colour.chunks(options.pages_per_sheet.max(1) as usize).map(|c| c.iter().any(|x| *x)).collect();
    let duplex = options.sides.is_duplex();
    let sheets: Vec<bool> =
        if duplex { sides.chunks(2).map(|c| c.iter().any(|x| *x)).collect() } else { sides.clone() };
    let (units, unit): (&[bool], &'static str) =
        if duplex && plan.duplex == DuplexPricing::PerSheet { (&sheets, "sheet") } else { (&sides, "side") };
    let copies = i64::from(options.copies);
    let mut lines = Vec::new();
    let mut total = Fen::ZERO;
    for colour in [false, true] {
        let count = units.iter().filter(|c| **c == colour).count() as i64;
        if count == 0 {
            continue;
        }
        let unit_price = plan.price(options.paper_size, colour);
        let subtotal = unit_price.checked_mul(count).and_then(|f| f.checked_mul(copies)).ok_or(QuoteError::Overflow)?;
        total = total.checked_add(subtotal).ok_or(QuoteError::Overflow)?;
        lines.push(QuoteLine { paper_size: options.paper_size, colour, unit, units: count, unit_price, subtotal });
    }
    let minimum_applied = total < plan.minimum;
    if minimum_applied {
        total = plan.minimum;
    }
    Ok(Quote {
        lines,
        copies,
        pages: selected.len() as i64,
        sides: sides.len() as i64,
        sheets: sheets.len() as i64,
        minimum_applied,
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PageRanges, Sides};

    fn plan(duplex: DuplexPricing, minimum: i64) -> RatePlan {
        let mut prices = HashMap::new();
        prices.insert((PaperSize::A4, false), Fen(10));
        prices.insert((PaperSize::A4, true), Fen(100));
        prices.insert((PaperSize::A3, false), Fen(20));
        RatePlan { duplex, minimum: Fen(minimum), scan_per_page: Fen::ZERO, prices }
    }

    fn opts() -> JobOptions {
        JobOptions::default()
    }

    #[test]
    fn simplex_auto_counts_each_page_class() {
        let pages = [false, true, false, false, true];
        let q = quote(&plan(DuplexPricing::PerSide, 0), &pages, &JobOptions { copies: 2, ..opts() });
        let q = q.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.total, Fen((3 * 10 + 2 * 100) * 2));
        assert_eq!((q.pages, q.sides, q.sheets), (5, 5, 5));
        assert_eq!(q.lines.len(), 2);
    }

    #[test]
    fn modes_force_the_class() {
        let pages = [true, true];
        let mono =
            quote(&plan(DuplexPricing::PerSide, 0), &pages, &JobOptions { colour_mode: ColourMode::Mono, ..opts() });
        assert_eq!(mono.map(|q| q.total), Ok(Fen(20)));
        let colour = quote(
            &plan(DuplexPricing::PerSide, 0),
            &[false, false],
            &JobOptions { colour_mode: ColourMode::Colour, ..opts() },
        );
        assert_eq!(colour.map(|q| q.total), Ok(Fen(200)));
    }

    #[test]
    fn duplex_per_sheet_and_per_side() {
        let pages = [false, false, false, true, false];
        let duplex = JobOptions { sides: Sides::TwoSidedLongEdge, ..opts() };
        // Sheets: (m,m) (m,c) (m) → 2 mono sheets, 1 colour sheet.
        let per_sheet = quote(&plan(DuplexPricing::PerSheet, 0), &pages, &duplex).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(per_sheet.total, Fen(2 * 10 + 100));
        assert_eq!(per_sheet.sheets, 3);
        let per_side = quote(&plan(DuplexPricing::PerSide, 0), &pages, &duplex).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(per_side.total, Fen(4 * 10 + 100));
    }

    #[test]
    fn n_up_ranges_and_minimum() {
        let pages = [false; 10];
        let o = JobOptions { pages_per_sheet: 4, page_ranges: PageRanges::parse("1-6").unwrap_or_default(), ..opts() };
        let q = quote(&plan(DuplexPricing::PerSide, 0), &pages, &o).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((q.pages, q.sides, q.total), (6, 2, Fen(20)));
        let q = quote(&plan(DuplexPricing::PerSide, 50), &pages, &o).unwrap_or_else(|e| panic!("{e}"));
        assert!(q.minimum_applied);
        assert_eq!(q.total, Fen(50));
        let none = JobOptions { page_ranges: PageRanges::parse("20-").unwrap_or_default(), ..opts() };
        assert_eq!(quote(&plan(DuplexPricing::PerSide, 0), &pages, &none), Err(QuoteError::NoPages));
        let unpriced = JobOptions { paper_size: PaperSize::A5, ..opts() };
        assert_eq!(quote(&plan(DuplexPricing::PerSide, 0), &pages, &unpriced).map(|q| q.total), Ok(Fen(0)));
    }
}
