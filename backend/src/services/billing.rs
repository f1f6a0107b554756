//! Leasing and automatic billing (租赁运营, 自动计费; issue 17, sections 3 and 5): lease
//! contracts, the monthly run that bills each contract exactly once per period from the
//! print point's meter readings, and a bill's life: issued, paid (or marked paid with a
//! reason), void, corrected by credit notes — never edited.

mod commissions;
mod edition_fees;

use futures_util::StreamExt;

pub use commissions::{CommissionRule, NewCommissionRule, Statement, StatementNode};

use crate::{
    domain::{
        lease_lines, period_usage, share_of, Bill, BillKind, BillLine, BillLineKind, BillPayer, BillState,
        BillingPeriod, DraftLine, Fen, LeaseContract, LeaseTerms, Name, Permission, Rate, ReadingUse, ScopeKind,
        ValueError,
    },
    infra::{new_id, now_ms},
    services::{
        authz::{AdminPrincipal, ScopePosition},
        payments::PayableBill,
        tenants::{TenantError, TenantService},
    },
    storage::{
        billing::{BillLineRow, BillRow, BilledReading, BillingRepo, ContractRow},
        commissions::CommissionRepo,
        print_points::PrintPointRepo,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    #[error("{field} names nothing the caller can see")]
    UnknownReference { field: &'static str },
    #[error("the period has not ended")]
    PeriodNotOver,
    #[error("not possible in the bill's state")]
    NotPossible,
    #[error("a credit note may take back at most {0} fen")]
    CreditTooLarge(i64),
    #[error("amount overflow")]
    Overflow,
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

fn invalid(field: &'static str) -> impl Fn(ValueError) -> BillingError {
    move |source| BillingError::Invalid { field, source }
}

/// A new lease contract.
pub struct NewContract {
    pub enterprise_id: String,
    pub print_point_id: String,
    pub terms: LeaseTerms,
    pub starts_at: i64,
    pub ends_at: i64,
}

/// What a billing run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunReport {
    /// Contracts in force during the period.
    pub contracts: i64,
    /// Bills this run made.
    pub created: i64,
    /// Bills another run (or instance) had made already.
    pub existing: i64,
    /// Nodes with commission rules in force for the period.
    pub commission_nodes: i64,
    /// Commission bills this run made.
    pub commissions_created: i64,
    /// Commission bills made before, left as they were.
    pub commissions_existing: i64,
    /// Edition-fee bills this run made (providers on an edition with a fee).
    pub edition_fees_created: i64,
    /// Edition-fee bills made before, left as they were.
    pub edition_fees_existing: i64,
}

/// Contracts read per page of a run: a run over many contracts holds one page in memory.
const RUN_PAGE: i64 = 500;
/// Contracts billed at once within a page.
const RUN_CONCURRENCY: usize = 4;

#[derive(Clone)]
pub struct BillingService {
    repo: BillingRepo,
    commissions: CommissionRepo,
    points: PrintPointRepo,
    tenants: TenantService,
}

impl BillingService {
    pub fn new(pool: sqlx::AnyPool, tenants: TenantService) -> Self {
        Self {
            repo: BillingRepo::new(pool.clone()),
            commissions: CommissionRepo::new(pool.clone()),
            points: PrintPointRepo::new(pool),
            tenants,
        }
    }

    // ---- contracts ----

    /// Leases a print point to its enterprise: super admins above the enterprise (a provider
    /// leasing its machines, or the platform); the lessor is the admin's provider.
    pub async fn create_contract(
        &self,
        actor: &AdminPrincipal,
        new: NewContract,
    ) -> Result<LeaseContract, BillingError> {
        let e = self.tenants.enterprise(actor, &new.enterprise_id).await?;
        new.terms.check().map_err(|(field, source)| BillingError::Invalid { field, source })?;
        if new.ends_at <= new.starts_at {
            return Err(invalid("ends_at")(ValueError::Inconsistent));
        }
        // Seeing the enterprise from above it is containing it strictly.
        if !above_enterprises(actor) {
            return Err(BillingError::Forbidden);
        }
        let point = self.points.get(&new.print_point_id).await?.filter(|p| p.enterprise_id == e.id);
        let point = point.ok_or(BillingError::UnknownReference { field: "print_point_id" })?;
        let row = ContractRow {
            id: new_id(),
            enterprise_id: e.id,
            print_point_id: point.id,
            lessor_provider_id: actor
                .scope
                .id()
                .filter(|_| actor.scope.kind() == ScopeKind::Provider)
                .map(str::to_string),
            monthly_fee_fen: new.terms.monthly_fee.0,
            included_mono: new.terms.included_mono,
            included_colour: new.terms.included_colour,
            mono_overage_fen: new.terms.mono_overage_per_page.0,
            colour_overage_fen: new.terms.colour_overage_per_page.0,
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            created_by: actor.admin_id.clone(),
            created_at: now_ms(),
        };
        self.repo.insert_contract(&row).await?;
        Ok(contract_of(row))
    }

    /// The contracts of the enterprises the admin sees.
    pub async fn contracts(
        &self,
        actor: &AdminPrincipal,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<LeaseContract>, BillingError> {
        actor.require(Permission::Payments)?;
        let rows = self.repo.contracts_in(&actor.enterprise_scope(), limit, offset).await?;
        Ok(rows.into_iter().map(contract_of).collect())
    }

    // ---- the run ----

    /// Bills every contract in force during `period` once (the platform's super admins; the
    /// scheduler runs it by itself). Only a period that has ended.
    pub async fn run_as(&self, actor: &AdminPrincipal, period: &str, issue: bool) -> Result<RunReport, BillingError> {
        let period = BillingPeriod::parse(period).map_err(invalid("period"))?;
        if !(actor.is_super() && actor.position == ScopePosition::Platform) {
            return Err(BillingError::Forbidden);
        }
        self.run(period, issue, now_ms()).await
    }

    /// The run itself: lease bills, commission bills, edition fees; safe to repeat, and to run on
    /// several instances at once.
    #[tracing::instrument(skip(self), fields(period = %period))]
    pub async fn run(&self, period: BillingPeriod, issue: bool, now: i64) -> Result<RunReport, BillingError> {
        let (start, end) = period.bounds();
        if end > now {
            return Err(BillingError::PeriodNotOver);
        }
        let mut report = RunReport::default();
        let mut after = String::new();
        let label = period.to_string();
        loop {
            let page = self.repo.contracts_overlapping(start, end, &label, &after, RUN_PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = last.id.clone();
            report.contracts += i64::try_from(page.len()).unwrap_or(i64::MAX);
            let (billed, unbilled): (Vec<_>, Vec<_>) = page.into_iter().partition(|(_, billed)| *billed);
            report.existing += i64::try_from(billed.len()).unwrap_or(i64::MAX);
            // A few contracts at a time: each is a query and a short transaction, mostly waiting
            // on the database. The unique index still decides, whatever runs beside this one.
            let made: Vec<Result<bool, BillingError>> = futures_util::stream::iter(unbilled)
                .map(|(contract, _)| async move {
                    let (bill, lines) = self.lease_bill(&contract, period, issue, now).await?;
                    Ok(self.repo.insert_bill(&bill, &lines).await?)
                })
                .buffer_unordered(RUN_CONCURRENCY)
                .collect()
                .await;
            for m in made {
                if m? {
                    report.created += 1;
                } else {
                    report.existing += 1;
                }
            }
        }
        self.bill_commissions(period, issue, now, &mut report).await?;
        self.bill_edition_fees(period, issue, now, &mut report).await?;
        tracing::info!(
            contracts = report.contracts,
            created = report.created,
            existing = report.existing,
            commissions = report.commissions_created,
            "billing run"
        );
        Ok(report)
    }

    /// A contract's bill for a period: the fee and included pages in proportion to the part
    /// of the period the contract covers, usage from the readings of that part.
    async fn lease_bill(
        &self,
        c: &ContractRow,
        period: BillingPeriod,
        issue: bool,
        now: i64,
    ) -> Result<(BillRow, Vec<BillLineRow>), BillingError> {
        let (start, end) = period.bounds();
        let (from, to) = (start.max(c.starts_at), end.min(c.ends_at));
        let (part, whole) = (to - from, end - start);
        let terms = LeaseTerms {
            monthly_fee: Fen(share_of(c.monthly_fee_fen, part, whole)),
            included_mono: share_of(c.included_mono, part, whole),
            included_colour: share_of(c.included_colour, part, whole),
            mono_overage_per_page: Fen(c.mono_overage_fen),
            colour_overage_per_page: Fen(c.colour_overage_fen),
        };
        let readings = self.repo.readings_around(&c.print_point_id, from, to).await?;
        let usage = period_usage(&uses_of(&readings), from, to);
        let drafts = lease_lines(&terms, &usage).ok_or(BillingError::Overflow)?;
        let total = Fen::checked_sum(drafts.iter().map(|l| l.amount)).ok_or(BillingError::Overflow)?;
        let id = new_id();
        let (first, last) = (readings.first().map(|r| r.id.clone()), readings.last().map(|r| r.id.clone()));
        let lines = line_rows(&id, drafts, (first, last));
        let head = BillHead {
            kind: BillKind::Lease,
            period,
            payer: BillPayer::Enterprise(c.enterprise_id.clone()),
            payee_provider_id: c.lessor_provider_id.clone(),
            total,
            key: format!("lease:{}:{period}", c.id),
        };
        let mut bill = run_bill(id, head, issue, now);
        bill.contract_id = Some(c.id.clone());
        (bill.interpolated, bill.incomplete) = (i64::from(usage.interpolated), i64::from(usage.incomplete));
        Ok((bill, lines))
    }

    /// Runs the previous period every `every` (a no-op once its bills exist), until `stop`.
    /// The first run is one interval after the start: a restart does not run at once.
    pub fn spawn_scheduler(
        &self,
        every: std::time::Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = stop.changed() => return,
                }
                let now = now_ms();
                if let Err(e) = this.run(BillingPeriod::of(now).previous(), true, now).await {
                    tracing::warn!(error = %e, "scheduled billing run failed");
                }
            }
        })
    }

    // ---- bills ----

    /// The bills of the enterprises the admin sees (one period, or all).
    pub async fn bills(
        &self,
        actor: &AdminPrincipal,
        period: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Bill>, BillingError> {
        actor.require(Permission::Payments)?;
        let period = match period {
            Some(p) => BillingPeriod::parse(p).map_err(invalid("period"))?.to_string(),
            None => String::new(),
        };
        let rows = self.repo.bills_in(&actor.enterprise_scope(), &period, limit, offset).await?;
        rows.into_iter().map(|r| bill_of(r, Vec::new())).collect()
    }

    /// A bill with its lines, if the admin sees its enterprise.
    pub async fn bill(&self, actor: &AdminPrincipal, id: &str) -> Result<Bill, BillingError> {
        actor.require(Permission::Payments)?;
        let row = self.visible_bill(actor, id).await?;
        let lines = self.repo.lines(&row.id).await?;
        bill_of(row, lines)
    }

    /// A bill whose payer (an enterprise or a provider) the admin sees.
    async fn visible_bill(&self, actor: &AdminPrincipal, id: &str) -> Result<BillRow, BillingError> {
        let row = self.repo.bill(id).await?.ok_or(BillingError::NotFound)?;
        let seen = match (&row.enterprise_id, &row.payer_provider_id) {
            (Some(e), _) => self.tenants.enterprise(actor, e).await.map(|_| ()),
            (None, Some(p)) => self.tenants.provider(actor, p).await.map(|_| ()),
            (None, None) => Err(TenantError::NotFound),
        };
        match seen {
            Ok(()) => Ok(row),
            Err(TenantError::NotFound) => Err(BillingError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// The payee's side: the payee provider's super admins, or the platform's (which runs the
    /// books of everyone). A provider above the payer that is not the payee may only look.
    async fn payee_bill(&self, actor: &AdminPrincipal, id: &str) -> Result<BillRow, BillingError> {
        let row = self.visible_bill(actor, id).await?;
        let payee = match actor.scope.kind() {
            ScopeKind::Platform => true,
            ScopeKind::Provider => actor.scope.id().is_some() && row.payee_provider_id.as_deref() == actor.scope.id(),
            ScopeKind::Enterprise => false,
        };
        if !(actor.is_super() && payee) {
            return Err(BillingError::Forbidden);
        }
        Ok(row)
    }

    /// An issued bill as its payer pays it online: the paying enterprise's admins holding
    /// `payments` (a provider's commissions are settled by transfer and marked paid).
    pub async fn payable(&self, actor: &AdminPrincipal, id: &str) -> Result<PayableBill, BillingError> {
        actor.require(Permission::Payments)?;
        let row = self.visible_bill(actor, id).await?;
        let Some(enterprise_id) = row.enterprise_id.clone() else { return Err(BillingError::Forbidden) };
        if actor.scope.kind() != ScopeKind::Enterprise || actor.scope.id() != Some(enterprise_id.as_str()) {
            return Err(BillingError::Forbidden);
        }
        if row.state != BillState::Issued.as_str() || row.kind == BillKind::CreditNote.as_str() {
            return Err(BillingError::NotPossible);
        }
        let due =
            Fen(row.total_fen).checked_add(Fen(self.repo.credited(&row.id).await?)).ok_or(BillingError::Overflow)?;
        Ok(PayableBill {
            id: row.id,
            period: row.period,
            enterprise_id,
            payee_provider_id: row.payee_provider_id,
            amount_due: due,
        })
    }

    /// Issues a draft.
    pub async fn issue(&self, actor: &AdminPrincipal, id: &str) -> Result<Bill, BillingError> {
        let row = self.payee_bill(actor, id).await?;
        self.move_bill(&row.id, &["draft"], BillState::Issued, None, None).await?;
        self.bill(actor, &row.id).await
    }

    /// Marks an issued bill paid without an online payment (a bank transfer, cash), saying why.
    pub async fn mark_paid(&self, actor: &AdminPrincipal, id: &str, reason: &str) -> Result<Bill, BillingError> {
        let reason = Name::parse(reason).map_err(invalid("reason"))?;
        let row = self.payee_bill(actor, id).await?;
        self.move_bill(&row.id, &["issued"], BillState::Paid, Some(&actor.admin_id), Some(reason.as_str())).await?;
        self.bill(actor, &row.id).await
    }

    /// Voids a draft or an unpaid bill, saying why.
    pub async fn void(&self, actor: &AdminPrincipal, id: &str, reason: &str) -> Result<Bill, BillingError> {
        let reason = Name::parse(reason).map_err(invalid("reason"))?;
        let row = self.payee_bill(actor, id).await?;
        self.move_bill(&row.id, &["draft", "issued"], BillState::Void, None, Some(reason.as_str())).await?;
        self.bill(actor, &row.id).await
    }

    async fn move_bill(
        &self,
        id: &str,
        from: &[&str],
        to: BillState,
        paid_by: Option<&str>,
        reason: Option<&str>,
    ) -> Result<(), BillingError> {
        if self.repo.transition(id, from, to.as_str(), now_ms(), paid_by, reason).await? {
            Ok(())
        } else {
            Err(BillingError::NotPossible)
        }
    }

    /// Takes back `amount` of an issued or paid bill with a credit note (an issued bill of
    /// its own, with a negative total): never more than the bill less earlier credit notes.
    pub async fn credit(
        &self,
        actor: &AdminPrincipal,
        id: &str,
        amount: i64,
        reason: &str,
    ) -> Result<Bill, BillingError> {
        let reason = Name::parse(reason).map_err(invalid("reason"))?;
        let amount = Fen::movement(amount).map_err(invalid("amount_fen"))?;
        let original = self.payee_bill(actor, id).await?;
        let state = BillState::parse(&original.state).map_err(invalid("state"))?;
        if original.kind == BillKind::CreditNote.as_str() || !matches!(state, BillState::Issued | BillState::Paid) {
            return Err(BillingError::NotPossible);
        }
        let left = original.total_fen + self.repo.credited(&original.id).await?;
        if amount.0 <= 0 || amount.0 > left {
            return Err(BillingError::CreditTooLarge(left.max(0)));
        }
        let now = now_ms();
        let note_id = new_id();
        let line = BillLineRow {
            bill_id: note_id.clone(),
            line_no: 1,
            kind: BillLineKind::Credit.as_str().into(),
            description: reason.as_str().into(),
            quantity: 1,
            unit_fen: -amount.0,
            amount_fen: -amount.0,
            first_reading_id: None,
            last_reading_id: None,
            basis_fen: None,
            rate_bp: None,
        };
        let note = BillRow {
            id: note_id.clone(),
            kind: BillKind::CreditNote.as_str().into(),
            contract_id: original.contract_id.clone(),
            period: original.period.clone(),
            enterprise_id: original.enterprise_id.clone(),
            payer_provider_id: original.payer_provider_id.clone(),
            payee_provider_id: original.payee_provider_id.clone(),
            state: BillState::Issued.as_str().into(),
            total_fen: -amount.0,
            interpolated: 0,
            incomplete: 0,
            credit_of: Some(original.id.clone()),
            reason: reason.as_str().into(),
            created_at: now,
            issued_at: Some(now),
            paid_at: None,
            paid_by: None,
            voided_at: None,
            idempotency_key: format!("credit:{note_id}"),
        };
        self.repo.insert_bill(&note, &[line]).await?;
        self.bill(actor, &note_id).await
    }
}

/// A super admin of a provider or the platform: above every enterprise they see.
fn above_enterprises(actor: &AdminPrincipal) -> bool {
    actor.is_super() && actor.scope.kind() != ScopeKind::Enterprise
}

/// What a billing run's bill is: kind, period, who pays whom, how much, its idempotency key.
struct BillHead {
    kind: BillKind,
    period: BillingPeriod,
    payer: BillPayer,
    payee_provider_id: Option<String>,
    total: Fen,
    key: String,
}

/// A new bill of a run, issued at once or left a draft.
fn run_bill(id: String, head: BillHead, issue: bool, now: i64) -> BillRow {
    let (enterprise_id, payer_provider_id) = match head.payer {
        BillPayer::Enterprise(e) => (Some(e), None),
        BillPayer::Provider(p) => (None, Some(p)),
    };
    BillRow {
        id,
        kind: head.kind.as_str().into(),
        contract_id: None,
        period: head.period.to_string(),
        enterprise_id,
        payer_provider_id,
        payee_provider_id: head.payee_provider_id,
        state: if issue { BillState::Issued } else { BillState::Draft }.as_str().into(),
        total_fen: head.total.0,
        interpolated: 0,
        incomplete: 0,
        credit_of: None,
        reason: String::new(),
        created_at: now,
        issued_at: issue.then_some(now),
        paid_at: None,
        paid_by: None,
        voided_at: None,
        idempotency_key: head.key,
    }
}

/// A bill's lines as stored, numbered from 1; usage lines name the first and last readings.
fn line_rows(bill_id: &str, drafts: Vec<DraftLine>, readings: (Option<String>, Option<String>)) -> Vec<BillLineRow> {
    drafts
        .into_iter()
        .zip(1..)
        .map(|(l, line_no)| {
            let usage_line = matches!(l.kind, BillLineKind::MonoOverage | BillLineKind::ColourOverage);
            BillLineRow {
                bill_id: bill_id.to_string(),
                line_no,
                kind: l.kind.as_str().into(),
                description: l.description,
                quantity: l.quantity,
                unit_fen: l.unit.0,
                amount_fen: l.amount.0,
                first_reading_id: readings.0.clone().filter(|_| usage_line),
                last_reading_id: readings.1.clone().filter(|_| usage_line),
                basis_fen: l.basis.map(|(b, _)| b.0),
                rate_bp: l.basis.map(|(_, r)| r.bp()),
            }
        })
        .collect()
}

fn uses_of(readings: &[BilledReading]) -> Vec<ReadingUse> {
    let mut previous = None;
    readings
        .iter()
        .map(|r| {
            let u = ReadingUse {
                read_at: r.read_at,
                previous_at: previous,
                mono_used: r.mono_used,
                colour_used: r.colour_used,
            };
            previous = Some(r.read_at);
            u
        })
        .collect()
}

fn contract_of(r: ContractRow) -> LeaseContract {
    LeaseContract {
        id: r.id,
        enterprise_id: r.enterprise_id,
        print_point_id: r.print_point_id,
        lessor_provider_id: r.lessor_provider_id,
        terms: LeaseTerms {
            monthly_fee: Fen(r.monthly_fee_fen),
            included_mono: r.included_mono,
            included_colour: r.included_colour,
            mono_overage_per_page: Fen(r.mono_overage_fen),
            colour_overage_per_page: Fen(r.colour_overage_fen),
        },
        starts_at: r.starts_at,
        ends_at: r.ends_at,
        created_at: r.created_at,
    }
}

fn bill_of(r: BillRow, lines: Vec<BillLineRow>) -> Result<Bill, BillingError> {
    let lines = lines
        .into_iter()
        .map(|l| {
            Ok(BillLine {
                line_no: l.line_no,
                kind: BillLineKind::parse(&l.kind).map_err(invalid("kind"))?,
                description: l.description,
                quantity: l.quantity,
                unit: Fen(l.unit_fen),
                amount: Fen(l.amount_fen),
                first_reading_id: l.first_reading_id,
                last_reading_id: l.last_reading_id,
                basis: match (l.basis_fen, l.rate_bp) {
                    (Some(b), Some(r)) => Some((Fen(b), Rate::basis_points(r).map_err(invalid("rate_bp"))?)),
                    _ => None,
                },
            })
        })
        .collect::<Result<Vec<_>, BillingError>>()?;
    let payer = match (r.enterprise_id, r.payer_provider_id) {
        (Some(e), _) => BillPayer::Enterprise(e),
        (None, Some(p)) => BillPayer::Provider(p),
        (None, None) => return Err(invalid("payer")(ValueError::Inconsistent)),
    };
    Ok(Bill {
        kind: BillKind::parse(&r.kind).map_err(invalid("kind"))?,
        state: BillState::parse(&r.state).map_err(invalid("state"))?,
        interpolated: r.interpolated != 0,
        incomplete: r.incomplete != 0,
        id: r.id,
        contract_id: r.contract_id,
        period: r.period,
        payer,
        payee_provider_id: r.payee_provider_id,
        total: Fen(r.total_fen),
        credit_of: r.credit_of,
        reason: r.reason,
        created_at: r.created_at,
        issued_at: r.issued_at,
        paid_at: r.paid_at,
        voided_at: r.voided_at,
        lines,
    })
}
