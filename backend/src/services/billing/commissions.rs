//! Commissions up the agent tree (各级代理; issue 17, section 4).
//!
//! Each level (the platform, a provider) sets, for each node directly below it, the share of
//! each kind of takings in that node's subtree the node owes it, from a billing period on.
//! Shares are of the gross takings, so a provider keeps what its children owe it less what it
//! owes above; nothing forbids a level owing more than it is owed (a subsidy is a business
//! decision), and the statements show it. The billing run bills each node once per period
//! (`commission:<node>:<period>`), as it bills leases.

use std::collections::BTreeMap;

use futures_util::StreamExt;

use super::{
    bill_of, invalid, line_rows, run_bill, BillHead, BillingError, BillingService, RunReport, RUN_CONCURRENCY,
};
use crate::{
    domain::{
        commission_lines, Bill, BillKind, BillPayer, BillState, BillingPeriod, CommissionSubject, Fen, OrderPurpose,
        Permission, Rate, ScopeKind, Takings, TakingsKind, ValueError,
    },
    infra::{new_id, now_ms},
    services::authz::AdminPrincipal,
    storage::commissions::{RuleRow, TakingsScope},
};

/// A commission rule to set.
pub struct NewCommissionRule {
    pub subject: CommissionSubject,
    pub subject_id: String,
    pub kind: TakingsKind,
    pub rate_bp: i64,
    /// The first period it applies to, `YYYY-MM`: the current one or later.
    pub effective_from: String,
}

/// A commission rule: `subject` owes `payee` `rate` of its subtree's `kind` takings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionRule {
    pub id: String,
    pub subject: CommissionSubject,
    pub subject_id: String,
    /// The level that set it and is owed (None: the platform).
    pub payee_provider_id: Option<String>,
    pub kind: TakingsKind,
    pub rate: Rate,
    pub effective_from: String,
    pub created_at: i64,
}

/// The node a statement is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementNode {
    Platform,
    Provider(String),
    Enterprise(String),
}

/// A node's statement for one period: its subtree's takings, the commissions it owes the
/// level above and those owed to it by the nodes below, and what of them is settled.
#[derive(Debug, Clone)]
pub struct Statement {
    pub node: StatementNode,
    pub period: String,
    pub takings: Takings,
    /// Commission bills (less credit notes) the node pays, not void.
    pub owed_by: Fen,
    /// Of those, paid.
    pub settled_by: Fen,
    /// Commission bills (less credit notes) paid to the node, not void.
    pub owed_to: Fen,
    /// Of those, paid.
    pub settled_to: Fen,
    /// The commission bills and credit notes either way.
    pub bills: Vec<Bill>,
}

/// A node's rules in force for a period: who it is, whom it owes, at what rates.
struct NodeRates {
    subject: CommissionSubject,
    payee: Option<String>,
    rates: Vec<(TakingsKind, Rate)>,
}

enum Made {
    Created,
    Existing,
    Nothing,
}

impl BillingService {
    /// Sets a commission rule for a node directly below the admin's level (its super admins).
    pub async fn set_commission_rule(
        &self,
        actor: &AdminPrincipal,
        new: NewCommissionRule,
    ) -> Result<CommissionRule, BillingError> {
        let rate = Rate::basis_points(new.rate_bp).map_err(invalid("rate_bp"))?;
        let from = BillingPeriod::parse(&new.effective_from).map_err(invalid("effective_from"))?;
        // A billed period's rates are history: rules start in the current period or later.
        if from < BillingPeriod::of(now_ms()) {
            return Err(invalid("effective_from")(ValueError::Inconsistent));
        }
        if new.subject == CommissionSubject::Enterprise && new.kind == TakingsKind::LeaseFee {
            // An enterprise pays lease fees, it never collects them.
            return Err(invalid("takings_kind")(ValueError::Inconsistent));
        }
        let level = match actor.scope.kind() {
            ScopeKind::Platform => None,
            ScopeKind::Provider => actor.scope.id().map(str::to_string),
            ScopeKind::Enterprise => return Err(BillingError::Forbidden),
        };
        let parent = match new.subject {
            CommissionSubject::Provider => self.tenants.provider(actor, &new.subject_id).await?.parent_id,
            CommissionSubject::Enterprise => self.tenants.enterprise(actor, &new.subject_id).await?.provider_id,
        };
        // Each level sets the rules of the level directly below it, no deeper, not its own.
        let own = new.subject == CommissionSubject::Provider && actor.scope.id() == Some(new.subject_id.as_str());
        if !actor.is_super() || parent != level || own {
            return Err(BillingError::Forbidden);
        }
        let row = self
            .commissions
            .upsert_rule(&RuleRow {
                id: new_id(),
                subject_kind: new.subject.as_str().into(),
                subject_id: new.subject_id,
                payee_provider_id: level,
                takings_kind: new.kind.as_str().into(),
                rate_bp: rate.bp(),
                effective_from: from.to_string(),
                created_by: actor.admin_id.clone(),
                created_at: now_ms(),
            })
            .await?;
        rule_of(row)
    }

    /// The rules of the nodes the admin sees (their own included): by node, kind, period.
    pub async fn commission_rules(&self, actor: &AdminPrincipal) -> Result<Vec<CommissionRule>, BillingError> {
        actor.require(Permission::Payments)?;
        let rows = self.commissions.rules_in(&actor.enterprise_scope()).await?;
        rows.into_iter().map(rule_of).collect()
    }

    /// A node's statement for `period` (its own by default): the admin must see the node.
    pub async fn statement(
        &self,
        actor: &AdminPrincipal,
        period: &str,
        node: Option<StatementNode>,
    ) -> Result<Statement, BillingError> {
        actor.require(Permission::Payments)?;
        let period = BillingPeriod::parse(period).map_err(invalid("period"))?;
        let own = match (actor.scope.kind(), actor.scope.id()) {
            (ScopeKind::Platform, _) => StatementNode::Platform,
            (ScopeKind::Provider, Some(id)) => StatementNode::Provider(id.into()),
            (_, id) => StatementNode::Enterprise(id.unwrap_or_default().into()),
        };
        let node = node.unwrap_or(own);
        let scope = match &node {
            StatementNode::Platform if actor.scope.kind() == ScopeKind::Platform => TakingsScope::Platform,
            StatementNode::Platform => return Err(BillingError::NotFound),
            StatementNode::Provider(id) => {
                self.tenants.provider(actor, id).await?;
                self.provider_scope(id).await?.ok_or(BillingError::NotFound)?
            }
            StatementNode::Enterprise(id) => {
                self.tenants.enterprise(actor, id).await?;
                TakingsScope::Enterprise { id: id.clone() }
            }
        };
        let takings = self.takings(&scope, period).await?;
        let (node_id, platform) = match &node {
            StatementNode::Platform => (String::new(), true),
            StatementNode::Provider(id) | StatementNode::Enterprise(id) => (id.clone(), false),
        };
        let rows = self.repo.commission_bills_of(&period.to_string(), &node_id, platform).await?;
        let bills = rows.into_iter().map(|r| bill_of(r, Vec::new())).collect::<Result<Vec<_>, _>>()?;
        let mut s = Statement {
            node,
            period: period.to_string(),
            takings,
            owed_by: Fen(0),
            settled_by: Fen(0),
            owed_to: Fen(0),
            settled_to: Fen(0),
            bills,
        };
        for b in s.bills.iter().filter(|b| b.state != BillState::Void) {
            let pays = match &b.payer {
                BillPayer::Enterprise(id) | BillPayer::Provider(id) => !platform && *id == node_id,
            };
            let (owed, settled) =
                if pays { (&mut s.owed_by, &mut s.settled_by) } else { (&mut s.owed_to, &mut s.settled_to) };
            *owed = owed.checked_add(b.total).ok_or(BillingError::Overflow)?;
            if b.state == BillState::Paid {
                *settled = settled.checked_add(b.total).ok_or(BillingError::Overflow)?;
            }
        }
        Ok(s)
    }

    /// Bills every node with commission rules in force for `period` once (part of the run).
    pub(super) async fn bill_commissions(
        &self,
        period: BillingPeriod,
        issue: bool,
        now: i64,
        report: &mut RunReport,
    ) -> Result<(), BillingError> {
        let label = period.to_string();
        let mut nodes: BTreeMap<String, NodeRates> = BTreeMap::new();
        for r in self.commissions.rules_in_force(&label).await? {
            let rule = rule_of(r)?;
            let node = nodes.entry(rule.subject_id).or_insert_with(|| NodeRates {
                subject: rule.subject,
                payee: rule.payee_provider_id,
                rates: Vec::new(),
            });
            node.rates.push((rule.kind, rule.rate));
        }
        report.commission_nodes = i64::try_from(nodes.len()).unwrap_or(i64::MAX);
        let made: Vec<Result<Made, BillingError>> = futures_util::stream::iter(nodes)
            .map(|(id, node)| async move { self.commission_bill(period, &id, node, issue, now).await })
            .buffer_unordered(RUN_CONCURRENCY)
            .collect()
            .await;
        for m in made {
            match m? {
                Made::Created => report.commissions_created += 1,
                Made::Existing => report.commissions_existing += 1,
                Made::Nothing => {}
            }
        }
        Ok(())
    }

    async fn commission_bill(
        &self,
        period: BillingPeriod,
        node_id: &str,
        node: NodeRates,
        issue: bool,
        now: i64,
    ) -> Result<Made, BillingError> {
        let NodeRates { subject, payee, rates } = node;
        let key = format!("commission:{node_id}:{period}");
        if self.repo.bill_by_key(&key).await?.is_some() {
            return Ok(Made::Existing);
        }
        let (scope, payer) = match subject {
            CommissionSubject::Provider => match self.provider_scope(node_id).await? {
                Some(scope) => (scope, BillPayer::Provider(node_id.to_string())),
                None => return Ok(Made::Nothing),
            },
            CommissionSubject::Enterprise => {
                (TakingsScope::Enterprise { id: node_id.into() }, BillPayer::Enterprise(node_id.to_string()))
            }
        };
        let takings = self.takings(&scope, period).await?;
        let drafts = commission_lines(&rates, &takings);
        if drafts.is_empty() {
            return Ok(Made::Nothing);
        }
        let total = Fen::checked_sum(drafts.iter().map(|l| l.amount)).ok_or(BillingError::Overflow)?;
        let id = new_id();
        let lines = line_rows(&id, drafts, (None, None));
        let head = BillHead { kind: BillKind::Commission, period, payer, payee_provider_id: payee, total, key };
        let bill = run_bill(id, head, issue, now);
        Ok(if self.repo.insert_bill(&bill, &lines).await? { Made::Created } else { Made::Existing })
    }

    async fn provider_scope(&self, id: &str) -> Result<Option<TakingsScope>, BillingError> {
        Ok(self.commissions.provider_path(id).await?.map(|path| TakingsScope::Provider { path }))
    }

    /// A scope's takings in `period`, per kind.
    async fn takings(&self, scope: &TakingsScope, period: BillingPeriod) -> Result<Takings, BillingError> {
        let (start, end) = period.bounds();
        let lease_fee = match scope {
            TakingsScope::Enterprise { .. } => 0,
            _ => self.commissions.lease_fees(scope, start, end).await?,
        };
        Ok(Takings {
            pay_per_use: Fen(self.commissions.paid_orders(scope, OrderPurpose::Release.as_str(), start, end).await?),
            top_up: Fen(self.commissions.paid_orders(scope, OrderPurpose::TopUp.as_str(), start, end).await?),
            lease_fee: Fen(lease_fee),
        })
    }
}

fn rule_of(r: RuleRow) -> Result<CommissionRule, BillingError> {
    Ok(CommissionRule {
        subject: CommissionSubject::parse(&r.subject_kind).map_err(invalid("subject_kind"))?,
        kind: TakingsKind::parse(&r.takings_kind).map_err(invalid("takings_kind"))?,
        rate: Rate::basis_points(r.rate_bp).map_err(invalid("rate_bp"))?,
        id: r.id,
        subject_id: r.subject_id,
        payee_provider_id: r.payee_provider_id,
        effective_from: r.effective_from,
        created_at: r.created_at,
    })
}
