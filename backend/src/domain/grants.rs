//! What an enterprise's edition includes (modules, FAQ Q18) and what a lower admin is granted
//! (permissions, FAQ Q17): two fixed vocabularies and the sets made of them. Both are stored as
//! a comma-separated list of names, in the vocabulary's order.

use std::collections::BTreeSet;

use super::{Fen, ValueError};

/// A module an edition may include. The server refuses an operation of a module the
/// enterprise's edition lacks, for users and admins alike.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, poem_openapi::Enum, serde::Serialize, serde::Deserialize,
)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Module {
    /// Documents, jobs, release at print points (云打印).
    CloudPrint,
    /// Meter readings, supplies, alerts, printer discovery (云运维).
    CloudOm,
    /// Scan sessions and scan records (扫描到云).
    ScanToCloud,
    /// Reports and statements.
    Reports,
    /// Paying by WeChat Pay.
    WechatPayment,
    /// Signing in through the WeChat mini-program.
    MiniProgram,
    /// The IPP Everywhere printer for PCs and Macs, and printing tokens.
    IppPrinting,
    /// Access to the API by the enterprise's own systems.
    ApiAccess,
}

vocabulary!(Module {
    CloudPrint = "cloud_print",
    CloudOm = "cloud_om",
    ScanToCloud = "scan_to_cloud",
    Reports = "reports",
    WechatPayment = "wechat_payment",
    MiniProgram = "mini_program",
    IppPrinting = "ipp_printing",
    ApiAccess = "api_access",
});

impl Module {
    pub const ALL: [Module; 8] = [
        Module::CloudPrint,
        Module::CloudOm,
        Module::ScanToCloud,
        Module::Reports,
        Module::WechatPayment,
        Module::MiniProgram,
        Module::IppPrinting,
        Module::ApiAccess,
    ];
}

/// What a lower (region or ordinary) admin may do; super admins hold every permission.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, poem_openapi::Enum, serde::Serialize, serde::Deserialize,
)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Print points, printer groups, the MAC whitelist, QR codes.
    PrintPoints,
    /// Gateways and printer discovery.
    Gateways,
    /// Rate plans of the enterprise and of print points.
    Rates,
    /// End users and their wallets.
    UsersWallets,
    /// Payments, payment accounts and refunds.
    Payments,
    /// Jobs in scope.
    Jobs,
    /// Alerts, readings and device state.
    Alerts,
    /// Reports, statements and the overview.
    Reports,
    /// Other admins: create, reset, grant (never more than one holds).
    Admins,
}

vocabulary!(Permission {
    PrintPoints = "print_points",
    Gateways = "gateways",
    Rates = "rates",
    UsersWallets = "users_wallets",
    Payments = "payments",
    Jobs = "jobs",
    Alerts = "alerts",
    Reports = "reports",
    Admins = "admins",
});

impl Permission {
    pub const ALL: [Permission; 9] = [
        Permission::PrintPoints,
        Permission::Gateways,
        Permission::Rates,
        Permission::UsersWallets,
        Permission::Payments,
        Permission::Jobs,
        Permission::Alerts,
        Permission::Reports,
        Permission::Admins,
    ];
}

/// A set of modules or permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSet<T: Ord>(BTreeSet<T>);

impl<T: Ord> Default for GrantSet<T> {
    /// The empty set.
    fn default() -> Self {
        Self(BTreeSet::new())
    }
}

/// The names a set is made of.
pub trait Grant: Copy + Ord + 'static {
    fn name(self) -> &'static str;
    fn from_name(raw: &str) -> Result<Self, ValueError>;
}

impl Grant for Module {
    fn name(self) -> &'static str {
        self.as_str()
    }
    fn from_name(raw: &str) -> Result<Self, ValueError> {
        Self::parse(raw)
    }
}

impl Grant for Permission {
    fn name(self) -> &'static str {
        self.as_str()
    }
    fn from_name(raw: &str) -> Result<Self, ValueError> {
        Self::parse(raw)
    }
}

impl<T: Grant> GrantSet<T> {
    pub fn of(items: impl IntoIterator<Item = T>) -> Self {
        Self(items.into_iter().collect())
    }

    pub fn contains(&self, item: T) -> bool {
        self.0.contains(&item)
    }

    pub fn is_subset(&self, other: &Self) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The members not in `other`.
    pub fn missing_from(&self, other: &Self) -> Vec<T> {
        self.0.difference(&other.0).copied().collect()
    }

    pub fn to_vec(&self) -> Vec<T> {
        self.0.iter().copied().collect()
    }

    /// As stored: names joined by commas ('' for none).
    pub fn to_text(&self) -> String {
        self.0.iter().map(|g| g.name()).collect::<Vec<_>>().join(",")
    }

    /// A stored list; an unknown name fails (the column is only written from parsed sets).
    pub fn parse_text(text: &str) -> Result<Self, ValueError> {
        text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(T::from_name).collect::<Result<_, _>>().map(Self)
    }
}

pub type Modules = GrantSet<Module>;
pub type Permissions = GrantSet<Permission>;

impl Modules {
    pub fn all() -> Self {
        Self::of(Module::ALL)
    }
}

impl Permissions {
    pub fn all() -> Self {
        Self::of(Permission::ALL)
    }
}

/// An edition (版本): a named set of modules and limits, defined by the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edition {
    pub id: String,
    pub name: String,
    pub modules: Modules,
    /// At most this many print points per enterprise (None: no limit).
    pub max_print_points: Option<i64>,
    /// At most this many users per enterprise (None: no limit).
    pub max_users: Option<i64>,
    /// What a provider on it pays the platform each billing period (0: free).
    pub monthly_fee: Fen,
    pub created_at: i64,
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Module::ALL {
            assert_eq!(Module::parse(m.as_str()), Ok(m));
        }
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Ok(p));
        }
        assert_eq!(Module::NAMES.len(), Module::ALL.len());
        assert_eq!(Permission::NAMES.len(), Permission::ALL.len());
    }

    #[test]
    fn sets_are_stored_as_sorted_unique_names() {
        let set = Permissions::of([Permission::Rates, Permission::PrintPoints, Permission::Rates]);
        assert_eq!(set.to_text(), "print_points,rates");
        assert_eq!(Permissions::parse_text("rates, print_points,"), Ok(set.clone()));
        assert_eq!(Permissions::parse_text(""), Ok(Permissions::default()));
        assert!(Permissions::parse_text("rates,root").is_err());
        assert_eq!(Modules::parse_text(&Modules::all().to_text()), Ok(Modules::all()));
    }

    #[test]
    fn subsets_say_what_is_missing() {
        let granter = Permissions::of([Permission::Rates, Permission::Jobs]);
        let asked = Permissions::of([Permission::Rates, Permission::Admins]);
        assert!(!asked.is_subset(&granter));
        assert_eq!(asked.missing_from(&granter), vec![Permission::Admins]);
        assert!(Permissions::of([Permission::Jobs]).is_subset(&granter));
        assert!(Modules::of([Module::CloudOm]).is_subset(&Modules::all()));
    }
}
