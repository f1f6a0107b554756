//! The HTTP API under `/api/v1`: one resource per file, assembled here as one tuple.
//! Handlers only extract → authenticate → call a service → map the result.

pub mod admin_sessions;
pub mod admins;
pub mod alert_levels;
pub mod alerts;
pub mod billing_runs;
pub mod bills;
pub mod commission_rules;
pub mod commission_statements;
pub mod dashboard;
pub mod declared_text;
pub mod device_readings;
pub mod directory;
pub mod discoveries;
pub mod editions;
pub mod enterprises;
pub mod error;
pub mod events;
pub mod gateway_link;
pub mod gateways;
pub mod health;
pub mod ipp_attributes;
pub mod ipp_printer;
pub mod jobs;
pub mod lease_contracts;
pub mod mac_whitelist;
pub mod payment_accounts;
pub mod payment_notifications;
pub mod payments;
pub mod print_points;
pub mod printer_groups;
pub mod printing_tokens;
pub mod providers;
pub mod push_subscriptions;
pub mod rates;
pub mod regions;
pub mod release;
pub mod request_guard;
pub mod resource_id;
pub mod scan_accounts;
pub mod scan_sessions;
pub mod scans;
pub mod security;
pub mod sessions;
pub mod subscribe_templates;
pub mod upload_form;
pub mod users;
pub mod views;
pub mod wallets;
pub mod wechat_apps;
pub mod wechat_js_sdk;

use poem_openapi::{OpenApiService, Tags};

use crate::startup::AppState;

#[derive(Tags)]
pub enum ApiTags {
    /// 企业查找: find the enterprise to register under, by code or name. No sign-in needed.
    Directory,
    /// End users: registration and own profile.
    Users,
    /// End-user sign-in (password, WeChat), token refresh and sign-out.
    Sessions,
    /// Admin sign-in.
    AdminSessions,
    /// 管理员管理: admin accounts and password resets.
    Admins,
    /// 服务商: service providers (agents), any depth.
    Providers,
    /// 企业: enterprises (tenants) and their users.
    Enterprises,
    /// An enterprise's WeChat official account and mini-program credentials.
    WechatApps,
    /// 区域: an enterprise's regions.
    Regions,
    /// 打印作业: documents in, print-ready jobs out; options, quotes, files.
    Jobs,
    /// 费率: rates per enterprise.
    Rates,
    /// Live events for the signed-in user (server-sent events).
    Events,
    /// 打印点: registered printers and MFPs, their functions, rates and QR codes.
    PrintPoints,
    /// 打印机组: printer groups and their group admins.
    PrinterGroups,
    /// 白名单: MACs several machines may share (O&M only).
    MacWhitelist,
    /// 网关: enterprise-code check, enrolment, printers, signed document downloads. The
    /// gateway link is a WebSocket at `/api/v1/gateway/link` (see the README).
    Gateways,
    /// 扫码释放: the release page after scanning a print point, and the confirm that pays.
    Release,
    /// 个人账户: wallet balance, statement and admin adjustments.
    Wallets,
    /// 云运维: meter readings, device state (status, supplies, the device's alerts) and how
    /// the gateway reaches each device over SNMP.
    Operations,
    Payments,
    /// 概览: the admin dashboard.
    Dashboard,
    /// 扫描: scan sessions at a print point, scan records, share links, the gateway's scan
    /// upload, and the print points' scan accounts.
    Scans,
    /// 云运营: lease contracts, billing runs and bills.
    Billing,
}

/// Accounts and organisation, then printing and money (poem-openapi tuples hold at most 16).
pub type Apis = (AccountApis, PrintApis, PaymentApis, OperationApis, ScanApis, IppApis, BusinessApis);

pub type AccountApis = (
    directory::DirectoryApi,
    users::UsersApi,
    sessions::SessionsApi,
    admin_sessions::AdminSessionsApi,
    admins::AdminsApi,
    providers::ProvidersApi,
    enterprises::EnterprisesApi,
    wechat_apps::WechatAppsApi,
    wechat_js_sdk::WechatJsSdkApi,
    subscribe_templates::SubscribeTemplatesApi,
    regions::RegionsApi,
);

pub type PrintApis = (
    jobs::JobsApi,
    rates::RatesApi,
    events::EventsApi,
    print_points::PrintPointsApi,
    printer_groups::PrinterGroupsApi,
    mac_whitelist::MacWhitelistApi,
    gateways::GatewaysApi,
    release::ReleaseApi,
    wallets::WalletsApi,
);

pub type PaymentApis = (payment_accounts::PaymentAccountsApi, payments::PaymentsApi);

/// Cloud O&M (云运维): readings, alerts, alert levels and push.
pub type OperationApis = (
    device_readings::DeviceReadingsApi,
    discoveries::DiscoveriesApi,
    alerts::AlertsApi,
    alert_levels::AlertLevelsApi,
    push_subscriptions::PushSubscriptionsApi,
    dashboard::DashboardApi,
);

/// Scan to cloud (扫描记录).
pub type ScanApis = (scan_sessions::ScanSessionsApi, scans::ScanRecordsApi, scan_accounts::ScanAccountsApi);

/// Driverless printing from PCs and Macs: the users' printing tokens (the printer itself is
/// IPP at `/ipp/print/{enterprise_code}`, outside this description).
pub type IppApis = printing_tokens::PrintingTokensApi;

/// Cloud business operations (云运营): editions, leasing and billing.
pub type BusinessApis = (
    editions::EditionsApi,
    lease_contracts::LeaseContractsApi,
    billing_runs::BillingRunsApi,
    bills::BillsApi,
    commission_rules::CommissionRulesApi,
    commission_statements::CommissionStatementsApi,
);

/// The OpenAPI service over all resources.
pub fn service(state: &AppState) -> OpenApiService<Apis, ()> {
    let s = &state.services;
    let accounts = (
        directory::DirectoryApi { tenants: s.tenants.clone() },
        users::UsersApi { users: s.users.clone() },
        sessions::SessionsApi { sessions: s.sessions.clone() },
        admin_sessions::AdminSessionsApi { sessions: s.sessions.clone() },
        admins::AdminsApi { admins: s.admins.clone() },
        providers::ProvidersApi { tenants: s.tenants.clone() },
        enterprises::EnterprisesApi { tenants: s.tenants.clone(), users: s.users.clone() },
        wechat_apps::WechatAppsApi { tenants: s.tenants.clone() },
        wechat_js_sdk::WechatJsSdkApi { js_sdk: s.wechat_js_sdk.clone() },
        subscribe_templates::SubscribeTemplatesApi { tenants: s.tenants.clone() },
        regions::RegionsApi { tenants: s.tenants.clone() },
    );
    let printing = (
        jobs::JobsApi { jobs: s.jobs.clone() },
        rates::RatesApi { jobs: s.jobs.clone() },
        events::EventsApi { events: state.events.clone() },
        print_points::PrintPointsApi { print_points: s.print_points.clone() },
        printer_groups::PrinterGroupsApi { print_points: s.print_points.clone() },
        mac_whitelist::MacWhitelistApi { print_points: s.print_points.clone() },
        gateways::GatewaysApi {
            gateways: s.gateways.clone(),
            release: s.release.clone(),
            jobs: s.jobs.clone(),
            readings: s.device_readings.clone(),
            scans: s.scans.clone(),
        },
        release::ReleaseApi { release: s.release.clone() },
        wallets::WalletsApi { wallets: s.wallets.clone() },
    );
    let operations = (
        device_readings::DeviceReadingsApi { readings: s.device_readings.clone() },
        discoveries::DiscoveriesApi { discoveries: s.discoveries.clone() },
        alerts::AlertsApi { alerts: s.alerts.clone() },
        alert_levels::AlertLevelsApi { alerts: s.alerts.clone() },
        push_subscriptions::PushSubscriptionsApi { push: s.push.clone() },
        dashboard::DashboardApi { dashboard: s.dashboard.clone() },
    );
    let payments = (
        payment_accounts::PaymentAccountsApi { accounts: s.payment_accounts.clone() },
        payments::PaymentsApi { payments: s.payments.clone(), billing: s.billing.clone() },
    );
    let scanning = (
        scan_sessions::ScanSessionsApi { scans: s.scans.clone() },
        scans::ScanRecordsApi { scans: s.scans.clone() },
        scan_accounts::ScanAccountsApi { scans: s.scans.clone() },
    );
    let ipp = printing_tokens::PrintingTokensApi { tokens: state.printing_tokens() };
    let business = (
        editions::EditionsApi { tenants: s.tenants.clone() },
        lease_contracts::LeaseContractsApi { billing: s.billing.clone() },
        billing_runs::BillingRunsApi { billing: s.billing.clone() },
        bills::BillsApi { billing: s.billing.clone() },
        commission_rules::CommissionRulesApi { billing: s.billing.clone() },
        commission_statements::CommissionStatementsApi { billing: s.billing.clone() },
    );
    OpenApiService::new(
        (accounts, printing, payments, operations, scanning, ipp, business),
        "yunyin",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "云印 yunyin cloud print platform API. Errors share one shape, `{code, message, field}`; \
         messages are zh-CN by default and English with `Accept-Language: en`. \
         Times are Unix epoch milliseconds (UTC); money is integer fen.",
    )
}
