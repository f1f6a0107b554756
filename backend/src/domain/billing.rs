//! Leasing (租赁运营) and automatic billing (自动计费): lease contracts, billing periods, the
//! usage a period's meter readings show, and bills with lines that add up.
//!
//! Usage comes from the readings' own `*_used` columns (what a counter advanced since the
//! previous reading of the same device, across wraps; unknown after a reset). A reading whose
//! interval straddles a period boundary is split in proportion to time — interpolated — only
//! where both of its sides are known; otherwise that part is left out and the bill says so.

use super::{Fen, ValueError};

/// A billing period: a calendar month in China time (UTC+8 all year), written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BillingPeriod {
    year: i64,
    month: i64,
}

const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;

/// Days since 1970-01-01 of a civil date (proleptic Gregorian; H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl BillingPeriod {
    /// `YYYY-MM`, years 2000-2999.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let (y, m) = raw.trim().split_once('-').ok_or(ValueError::Inconsistent)?;
        let (year, month): (i64, i64) =
            (y.parse().map_err(|_| ValueError::Inconsistent)?, m.parse().map_err(|_| ValueError::Inconsistent)?);
        if y.len() != 4 || m.len() != 2 || !(2000..3000).contains(&year) || !(1..=12).contains(&month) {
            return Err(ValueError::Inconsistent);
        }
        Ok(Self { year, month })
    }

    /// The month holding the instant `ms` (Unix epoch milliseconds) in China.
    pub fn of(ms: i64) -> Self {
        let t = crate::payments::china_time::ChinaTime::from_unix(ms.div_euclid(1000));
        Self { year: t.year, month: t.month }
    }

    pub fn previous(self) -> Self {
        if self.month == 1 {
            Self { year: self.year - 1, month: 12 }
        } else {
            Self { year: self.year, month: self.month - 1 }
        }
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self { year: self.year + 1, month: 1 }
        } else {
            Self { year: self.year, month: self.month + 1 }
        }
    }

    /// `[start, end)` in Unix epoch milliseconds.
    pub fn bounds(self) -> (i64, i64) {
        let start = |p: Self| days_from_civil(p.year, p.month, 1) * 86_400_000 - CHINA_OFFSET_MS;
        (start(self), start(self.next()))
    }
}

impl std::fmt::Display for BillingPeriod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A lease contract's terms (per month).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseTerms {
    pub monthly_fee: Fen,
    pub included_mono: i64,
    pub included_colour: i64,
    pub mono_overage_per_page: Fen,
    pub colour_overage_per_page: Fen,
}

impl LeaseTerms {
    /// The fee is 0 to one payment's maximum, overage prices are prices, included pages are
    /// not negative.
    pub fn check(&self) -> Result<(), (&'static str, ValueError)> {
        if self.monthly_fee.0 < 0 {
            return Err(("monthly_fee_fen", ValueError::Amount));
        }
        if !self.monthly_fee.is_payable() {
            return Err(("monthly_fee_fen", ValueError::AmountOutOfRange));
        }
        Fen::price(self.mono_overage_per_page.0).map_err(|e| ("mono_overage_fen", e))?;
        Fen::price(self.colour_overage_per_page.0).map_err(|e| ("colour_overage_fen", e))?;
        for (field, n) in [("included_mono", self.included_mono), ("included_colour", self.included_colour)] {
            if n < 0 {
                return Err((field, ValueError::Limit));
            }
        }
        Ok(())
    }
}

/// One meter reading as billing sees it: when, and what each counter advanced since the
/// device's previous reading (None: not known, e.g. the first reading or after a reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadingUse {
    pub read_at: i64,
    /// When the previous reading of the device was taken (None: this is the first).
    pub previous_at: Option<i64>,
    pub mono_used: Option<i64>,
    pub colour_used: Option<i64>,
}

/// Pages used in a period, and how they were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeriodUsage {
    pub mono: i64,
    pub colour: i64,
    /// Some pages were split across a period boundary in proportion to time.
    pub interpolated: bool,
    /// Some of the period is not covered by readings with known usage: the figures are a floor.
    pub incomplete: bool,
}

/// The usage of `[start, end)` from the device's readings in time order, including the first
/// reading at or after `end` (whose interval may reach back into the period).
pub fn period_usage(readings: &[ReadingUse], start: i64, end: i64) -> PeriodUsage {
    let mut u = PeriodUsage::default();
    // How much of the period the known intervals cover, to tell a gap.
    let mut covered: i64 = 0;
    for r in readings {
        let Some(prev) = r.previous_at else { continue };
        let (from, to) = (prev.max(start), r.read_at.min(end));
        if to <= from || r.read_at <= prev {
            continue;
        }
        let (Some(mono), Some(colour)) = (r.mono_used, r.colour_used) else {
            u.incomplete = true;
            continue;
        };
        covered += to - from;
        if from == prev && to == r.read_at {
            u.mono += mono;
            u.colour += colour;
        } else {
            // Straddles a boundary: the part inside, in proportion to time, rounded to pages.
            let (part, whole) = (i128::from(to - from), i128::from(r.read_at - prev));
            u.mono += share(mono, part, whole);
            u.colour += share(colour, part, whole);
            u.interpolated = true;
        }
    }
    if covered < end - start {
        u.incomplete = true;
    }
    u
}

/// `n × part / whole` (a part of a period), rounded half up; `n` when `whole` is not positive.
pub fn share_of(n: i64, part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return n;
    }
    share(n, i128::from(part.clamp(0, whole)), i128::from(whole))
}

/// `n × part / whole`, rounded half up.
fn share(n: i64, part: i128, whole: i128) -> i64 {
    let x = (i128::from(n) * part * 2 + whole) / (whole * 2);
    i64::try_from(x).unwrap_or(i64::MAX)
}

/// A bill's state: drafted by a run, issued, then paid or void. Corrections are credit notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum BillState {
    Draft,
    Issued,
    Paid,
    Void,
}

vocabulary!(BillState { Draft = "draft", Issued = "issued", Paid = "paid", Void = "void" });

/// What a bill line charges for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum BillLineKind {
    LeaseFee,
    MonoOverage,
    ColourOverage,
    Credit,
    /// A commission on pay-per-use takings.
    CommissionPayPerUse,
    /// A commission on wallet top-ups.
    CommissionTopUp,
    /// A commission on lease fees.
    CommissionLeaseFee,
    /// A provider's edition for one period.
    EditionFee,
}

vocabulary!(BillLineKind {
    LeaseFee = "lease_fee",
    MonoOverage = "mono_overage",
    ColourOverage = "colour_overage",
    Credit = "credit",
    CommissionPayPerUse = "commission_pay_per_use",
    CommissionTopUp = "commission_top_up",
    CommissionLeaseFee = "commission_lease_fee",
    EditionFee = "edition_fee",
});

/// One line of a lease bill, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftLine {
    pub kind: BillLineKind,
    pub description: String,
    pub quantity: i64,
    pub unit: Fen,
    pub amount: Fen,
    /// A commission line: the takings it was taken from, and the rate.
    pub basis: Option<(Fen, Rate)>,
}

/// What a bill is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum BillKind {
    /// A lease contract's bill for one period.
    Lease,
    /// Money taken back from an issued bill (a negative total).
    CreditNote,
    /// What a node owes the level above it on its subtree's takings for one period.
    Commission,
    /// What a provider pays the platform for its edition for one period.
    EditionFee,
}

vocabulary!(BillKind { Lease = "lease", CreditNote = "credit_note", Commission = "commission", EditionFee = "edition_fee" });

/// A lease contract (租赁合同): a machine leased to an enterprise for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseContract {
    pub id: String,
    pub enterprise_id: String,
    pub print_point_id: String,
    /// The provider that leases the machine (None: the platform).
    pub lessor_provider_id: Option<String>,
    pub terms: LeaseTerms,
    pub starts_at: i64,
    pub ends_at: i64,
    pub created_at: i64,
}

/// One line of a stored bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLine {
    pub line_no: i64,
    pub kind: BillLineKind,
    pub description: String,
    pub quantity: i64,
    pub unit: Fen,
    pub amount: Fen,
    /// The meter readings a usage line was read from (first and last).
    pub first_reading_id: Option<String>,
    pub last_reading_id: Option<String>,
    /// A commission line: the takings it was taken from, and the rate.
    pub basis: Option<(Fen, Rate)>,
}

/// A bill and its lines; the total is the sum of the lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    pub id: String,
    pub kind: BillKind,
    pub contract_id: Option<String>,
    pub period: String,
    /// Who pays: an enterprise, or (a commission bill) a provider.
    pub payer: BillPayer,
    pub payee_provider_id: Option<String>,
    pub state: BillState,
    pub total: Fen,
    /// Some usage was split across the period's edges in proportion to time.
    pub interpolated: bool,
    /// Some of the period had no readings with known usage: the usage is a floor.
    pub incomplete: bool,
    pub credit_of: Option<String>,
    pub reason: String,
    pub created_at: i64,
    pub issued_at: Option<i64>,
    pub paid_at: Option<i64>,
    pub voided_at: Option<i64>,
    pub lines: Vec<BillLine>,
}

/// A lease bill's lines for one period: the fee, and overage beyond the included pages.
pub fn lease_lines(terms: &LeaseTerms, usage: &PeriodUsage) -> Option<Vec<DraftLine>> {
    let mut lines = vec![DraftLine {
        kind: BillLineKind::LeaseFee,
        description: "月租".into(),
        quantity: 1,
        unit: terms.monthly_fee,
        amount: terms.monthly_fee,
        basis: None,
    }];
    for (kind, used, included, unit, what) in [
        (BillLineKind::MonoOverage, usage.mono, terms.included_mono, terms.mono_overage_per_page, "黑白超印"),
        (BillLineKind::ColourOverage, usage.colour, terms.included_colour, terms.colour_overage_per_page, "彩色超印"),
    ] {
        let over = (used - included).max(0);
        if over > 0 && unit.0 > 0 {
            let amount = unit.checked_mul(over)?;
            let description = format!("{what}：用量 {used} 页，含 {included} 页，超出 {over} 页");
            lines.push(DraftLine { kind, description, quantity: over, unit, amount, basis: None });
        }
    }
    Some(lines)
}

/// Who pays a bill: an enterprise (lease bills, its commissions), or a provider (its
/// commissions to the level above).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillPayer {
    Enterprise(String),
    Provider(String),
}

/// A share in basis points (万分之一): 0 to 10,000 (100%).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(i64);

impl Rate {
    pub const WHOLE: i64 = 10_000;

    pub fn basis_points(bp: i64) -> Result<Self, ValueError> {
        if (0..=Self::WHOLE).contains(&bp) {
            Ok(Self(bp))
        } else {
            Err(ValueError::Rate)
        }
    }

    pub fn bp(self) -> i64 {
        self.0
    }

    /// `amount × rate`, rounded half up to a fen (`amount` is not negative).
    pub fn of(self, amount: Fen) -> Fen {
        Fen(share(amount.0.max(0), i128::from(self.0), i128::from(Self::WHOLE)))
    }
}

impl std::fmt::Display for Rate {
    /// `12.5%` style, for people.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (whole, part) = (self.0 / 100, self.0 % 100);
        match part {
            0 => write!(f, "{whole}%"),
            p if p % 10 == 0 => write!(f, "{whole}.{}%", p / 10),
            p => write!(f, "{whole}.{p:02}%"),
        }
    }
}

/// What kind of takings (营收) a commission is a share of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, poem_openapi::Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TakingsKind {
    /// Jobs paid at release through WeChat Pay or Alipay, less refunds to the payer.
    PayPerUse,
    /// Wallet top-ups through WeChat Pay or Alipay, less refunds (spending a wallet is not
    /// takings again).
    TopUp,
    /// Lease bills paid (and their credit notes), collected by a lessor in the subtree.
    LeaseFee,
}

vocabulary!(TakingsKind { PayPerUse = "pay_per_use", TopUp = "top_up", LeaseFee = "lease_fee" });

impl TakingsKind {
    pub const ALL: [TakingsKind; 3] = [TakingsKind::PayPerUse, TakingsKind::TopUp, TakingsKind::LeaseFee];

    fn line_kind(self) -> BillLineKind {
        match self {
            TakingsKind::PayPerUse => BillLineKind::CommissionPayPerUse,
            TakingsKind::TopUp => BillLineKind::CommissionTopUp,
            TakingsKind::LeaseFee => BillLineKind::CommissionLeaseFee,
        }
    }

    fn label(self) -> &'static str {
        match self {
            TakingsKind::PayPerUse => "按次打印",
            TakingsKind::TopUp => "钱包充值",
            TakingsKind::LeaseFee => "租赁费",
        }
    }
}

/// Who a commission rule is set for: a node directly below the level that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum CommissionSubject {
    Provider,
    Enterprise,
}

vocabulary!(CommissionSubject { Provider = "provider", Enterprise = "enterprise" });

/// A node's takings of one period, per kind, in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Takings {
    pub pay_per_use: Fen,
    pub top_up: Fen,
    pub lease_fee: Fen,
}

impl Takings {
    pub fn of(&self, kind: TakingsKind) -> Fen {
        match kind {
            TakingsKind::PayPerUse => self.pay_per_use,
            TakingsKind::TopUp => self.top_up,
            TakingsKind::LeaseFee => self.lease_fee,
        }
    }
}

/// A commission bill's lines: for each kind with a rate in force, the rate of the takings
/// (a period whose takings of a kind are negative, refunds beyond takings, owes nothing on it).
/// Lines of no amount are left out.
pub fn commission_lines(rates: &[(TakingsKind, Rate)], takings: &Takings) -> Vec<DraftLine> {
    rates
        .iter()
        .filter_map(|&(kind, rate)| {
            let basis = Fen(takings.of(kind).0.max(0));
            let amount = rate.of(basis);
            (amount.0 > 0).then(|| DraftLine {
                kind: kind.line_kind(),
                description: format!("{}收入 {basis} × {rate}", kind.label()),
                quantity: 1,
                unit: amount,
                amount,
                basis: Some((basis, rate)),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(prev: Option<i64>, at: i64, mono: Option<i64>, colour: Option<i64>) -> ReadingUse {
        ReadingUse { read_at: at, previous_at: prev, mono_used: mono, colour_used: colour }
    }

    #[test]
    fn periods_are_china_months() {
        let p = BillingPeriod::parse("2026-11").unwrap();
        assert_eq!(p.to_string(), "2026-11");
        // 2026-11-01T00:00+08:00 is 2026-10-31T16:00Z.
        assert_eq!(p.bounds(), (1_793_462_400_000, 1_796_054_400_000));
        assert_eq!(BillingPeriod::of(1_793_462_400_000), p);
        assert_eq!(BillingPeriod::of(1_793_462_399_999), p.previous());
        assert_eq!(BillingPeriod::parse("2026-12").unwrap().next().to_string(), "2027-01");
        assert_eq!(BillingPeriod::parse("2027-01").unwrap().previous().to_string(), "2026-12");
        for bad in ["2026-13", "2026-1", "26-11", "x", "1999-12"] {
            assert!(BillingPeriod::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn readings_inside_the_period_add_up() {
        let rs = [r(Some(0), 100, Some(10), Some(1)), r(Some(100), 200, Some(20), Some(2))];
        let u = period_usage(&rs, 0, 200);
        assert_eq!((u.mono, u.colour, u.interpolated, u.incomplete), (30, 3, false, false));
    }

    #[test]
    fn a_reading_across_a_boundary_is_split_by_time() {
        // 40 pages between t=80 and t=120; the period ends at 100: 20 are its.
        let rs = [r(Some(0), 80, Some(8), Some(0)), r(Some(80), 120, Some(40), Some(4))];
        let u = period_usage(&rs, 0, 100);
        assert_eq!((u.mono, u.colour, u.interpolated, u.incomplete), (28, 2, true, false));
        // The next period gets the rest.
        let next = period_usage(&rs, 100, 120);
        assert_eq!((next.mono, next.colour), (20, 2));
    }

    #[test]
    fn unknown_usage_is_not_guessed_and_the_bill_says_so() {
        // A reset at t=100 (usage unknown for (50, 100]): only the known part counts.
        let rs = [r(Some(0), 50, Some(5), Some(0)), r(Some(50), 100, None, None), r(Some(100), 150, Some(7), Some(1))];
        let u = period_usage(&rs, 0, 150);
        assert_eq!((u.mono, u.colour, u.incomplete), (12, 1, true));
        // No reading after the period's end: its tail is not covered.
        let u = period_usage(&[r(Some(0), 50, Some(5), Some(0))], 0, 100);
        assert_eq!((u.mono, u.incomplete, u.interpolated), (5, true, false));
        // No readings at all.
        assert_eq!(period_usage(&[], 0, 100), PeriodUsage { incomplete: true, ..PeriodUsage::default() });
    }

    #[test]
    fn overage_is_charged_beyond_what_is_included() {
        let terms = LeaseTerms {
            monthly_fee: Fen(50_000),
            included_mono: 1000,
            included_colour: 100,
            mono_overage_per_page: Fen(3),
            colour_overage_per_page: Fen(30),
        };
        let lines = lease_lines(&terms, &PeriodUsage { mono: 1250, colour: 90, ..PeriodUsage::default() }).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[1].kind, lines[1].quantity, lines[1].amount), (BillLineKind::MonoOverage, 250, Fen(750)));
        let total: i64 = lines.iter().map(|l| l.amount.0).sum();
        assert_eq!(total, 50_750);
    }

    #[test]
    fn rates_are_basis_points_and_round_half_up() {
        assert!(Rate::basis_points(-1).is_err());
        assert!(Rate::basis_points(10_001).is_err());
        let r = Rate::basis_points(1_250).unwrap();
        assert_eq!(r.to_string(), "12.5%");
        assert_eq!(Rate::basis_points(1_000).unwrap().to_string(), "10%");
        assert_eq!(Rate::basis_points(5).unwrap().to_string(), "0.05%");
        // 12.5% of ¥0.04 is 0.5 fen: half up.
        assert_eq!(r.of(Fen(4)), Fen(1));
        assert_eq!(r.of(Fen(3)), Fen(0));
        assert_eq!(r.of(Fen(10_000)), Fen(1_250));
        assert_eq!(Rate::basis_points(10_000).unwrap().of(Fen(777)), Fen(777));
    }

    #[test]
    fn commissions_take_each_kind_at_its_rate() {
        let takings = Takings { pay_per_use: Fen(20_000), top_up: Fen(-500), lease_fee: Fen(50_750) };
        let rates = [
            (TakingsKind::PayPerUse, Rate::basis_points(1_000).unwrap()),
            (TakingsKind::TopUp, Rate::basis_points(2_000).unwrap()),
            (TakingsKind::LeaseFee, Rate::basis_points(1_500).unwrap()),
        ];
        let lines = commission_lines(&rates, &takings);
        // Top-ups were negative (refunds beyond takings): nothing owed on them, no line.
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].kind, lines[0].amount), (BillLineKind::CommissionPayPerUse, Fen(2_000)));
        assert_eq!(lines[1].amount, Fen(7_613), "50750 × 15% = 7612.5, half up");
        assert_eq!(lines[1].basis, Some((Fen(50_750), Rate::basis_points(1_500).unwrap())));
        assert_eq!(lines[1].description, "租赁费收入 ¥507.50 × 15%");
    }
}
