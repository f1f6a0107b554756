//! Building and running the server. Tests call [`Application::build`] with port 0 and talk
//! to the real server over HTTP.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use poem::{
    get,
    listener::{Acceptor, Listener, TcpListener},
    post, EndpointExt, Route, Server,
};

use crate::{
    api::{
        self,
        gateway_link::{self, LinkContext},
        health,
        ipp_printer::{self, IppContext},
        payment_notifications::{self, NotifyContext},
        request_guard::{self, RequestGuard},
        security::AuthContext,
    },
    config::Config,
    documents::{
        convert, render,
        store::{FileStore, LocalStore},
    },
    infra::{
        cache::{Cache, MemoryCache, RedisCache},
        events::{EventBus, MemoryEventBus, RedisEventBus},
        secrets::{MasterKey, SecretBox},
    },
    metrics::Metrics,
    payments::{alipay::AlipayClient, wechat_pay::WechatPayClient},
    services::{
        admins::{AdminService, AdminWithPassword},
        alerts::AlertService,
        billing::BillingService,
        dashboard::DashboardService,
        device_readings::DeviceReadingService,
        discovery::DiscoveryService,
        gateways::GatewayService,
        ipp::IppService,
        jobs::{JobLimits, JobService},
        payment_accounts::PaymentAccountService,
        payments::{PaymentService, PaymentServices, ProviderClients, ReconcileConfig},
        print_points::PrintPointService,
        printing_tokens::PrintingTokenService,
        processing::{ProcessingConfig, Processor},
        push::{PushService, WechatChannel},
        qr_codes::QrSigner,
        readiness::Readiness,
        refunds::RefundService,
        release::ReleaseService,
        scans::{ScanLimits, ScanParts, ScanService},
        sessions::{SessionEnder, SessionLimits, SessionService},
        tenants::TenantService,
        tokens::AccessTokens,
        users::UserService,
        wallets::WalletService,
        wechat::WechatClient,
        wechat_js_sdk::JsSdkService,
    },
    storage::{
        admins::AdminRepo, alerts::AlertRepo, audit::AuditRepo, dashboard::DashboardRepo,
        device_readings::DeviceReadingRepo, editions::EditionRepo, payment_orders::PaymentOrderRepo,
        payments::PaymentRepo, push::PushRepo, tenants::TenantRepo, users::UserRepo, wechat::WechatRepo, Db,
    },
};

/// The services, wired once at start.
#[derive(Clone)]
pub struct Services {
    pub tenants: TenantService,
    pub sessions: SessionService,
    pub users: UserService,
    pub admins: AdminService,
    pub jobs: JobService,
    pub print_points: PrintPointService,
    pub gateways: GatewayService,
    pub release: ReleaseService,
    pub wallets: WalletService,
    pub payment_accounts: PaymentAccountService,
    pub payments: PaymentService,
    pub wechat_js_sdk: JsSdkService,
    pub device_readings: DeviceReadingService,
    pub discoveries: DiscoveryService,
    pub alerts: AlertService,
    pub push: PushService,
    pub dashboard: DashboardService,
    pub scans: ScanService,
    pub billing: BillingService,
}

/// Everything a running instance shares between requests.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub cache: Arc<dyn Cache>,
    pub events: Arc<dyn EventBus>,
    /// Set when Redis backs the cache and events.
    pub redis: bool,
    pub services: Services,
    pub processor: Arc<Processor>,
}

impl AppState {
    /// Connects storage, Redis (when configured) and wires the services.
    pub async fn connect(config: Config) -> anyhow::Result<Self> {
        let master = match &config.master_key {
            Some(key) => MasterKey::from_base64(key.expose()).context("YUNYIN_MASTER_KEY")?,
            None => MasterKey::load_or_create(&config.data_dir.join("master.key")).context("master key file")?,
        };
        let db = Db::connect(&config.effective_database_url()).await.context("connecting to the database")?;
        db.migrate().await.context("running migrations")?;
        let (cache, events, redis): (Arc<dyn Cache>, Arc<dyn EventBus>, bool) = match &config.redis_url {
            Some(url) => {
                let pool = deadpool_redis::Config::from_url(url.expose())
                    .create_pool(Some(deadpool_redis::Runtime::Tokio1))
                    .context("creating the Redis pool")?;
                let cache = Arc::new(RedisCache::new(pool.clone(), &config.redis_prefix));
                cache.ping().await.context("connecting to Redis")?;
                let events = RedisEventBus::connect(url.expose(), pool, &config.redis_prefix)
                    .await
                    .context("subscribing to Redis events")?;
                (cache, Arc::new(events), true)
            }
            None => (Arc::new(MemoryCache::new()), Arc::new(MemoryEventBus::new()), false),
        };
        let store: Arc<dyn FileStore> = Arc::new(LocalStore::new(config.data_dir.join("files")).context("file store")?);
        if convert::find_soffice(&config.soffice).is_none() {
            tracing::warn!(
                "LibreOffice not found: Office and text uploads will be refused (install libreoffice-*-nogui)"
            );
        }
        if !render::available() {
            tracing::error!("pdftoppm not found: documents cannot be processed (install poppler-utils)");
        }
        Ok(Self::assemble(config, db, cache, events, redis, &master, store))
    }

    /// Printing tokens and HTTP Basic at the IPP printers: handles on the pool, the sign-in
    /// service and the cache, made where the routes are wired.
    pub fn printing_tokens(&self) -> PrintingTokenService {
        PrintingTokenService::new(
            self.db.pool().clone(),
            self.services.sessions.clone(),
            self.services.tenants.clone(),
            self.cache.clone(),
        )
    }

    /// The IPP Everywhere printers' job rules, over the job service.
    pub fn ipp(&self) -> IppService {
        IppService::new(self.db.pool().clone(), self.services.jobs.clone(), self.services.tenants.clone())
    }

    /// A state whose database is never touched: enough to describe the API (`yunyin openapi`).
    pub fn for_spec() -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect_lazy("sqlite::memory:")?;
        let db = Db::from_pool_for_spec(pool);
        Ok(Self::assemble(
            Config::default(),
            db,
            Arc::new(MemoryCache::new()),
            Arc::new(MemoryEventBus::new()),
            false,
            &MasterKey::generate(),
            Arc::new(LocalStore::new(std::env::temp_dir().join("yunyin-spec"))?),
        ))
    }

    fn assemble(
        config: Config,
        db: Db,
        cache: Arc<dyn Cache>,
        events: Arc<dyn EventBus>,
        redis: bool,
        master: &MasterKey,
        store: Arc<dyn FileStore>,
    ) -> Self {
        let pool = db.pool().clone();
        let Identity { tenants, sessions, users, admins, wechat_js_sdk } = identity(&config, &pool, &cache, master);
        let payment_accounts = payment_account_service(&config, &pool, master);
        let soffice = convert::find_soffice(&config.soffice);
        let limits = job_limits(&config, soffice.clone());
        let wake = Arc::new(tokio::sync::Notify::new());
        let jobs = JobService::new(pool.clone(), tenants.clone(), store.clone(), events.clone(), limits, wake.clone());
        let processing = processing_config(&config, soffice);
        let print_points =
            PrintPointService::new(pool.clone(), tenants.clone(), QrSigner::new(master), &config.public_base_url);
        let gateways =
            GatewayService::new(pool.clone(), tenants.clone(), print_points.clone(), cache.clone(), events.clone());
        let Operations { push, alerts, device_readings, dashboard } =
            operations(&config, &pool, &tenants, &print_points, &cache, &events, master);
        let discoveries = discovery_service(&pool, &tenants, &gateways, &print_points, &device_readings, master);
        let refunds = RefundService::new(pool.clone(), events.clone());
        let release = ReleaseService::new(
            pool.clone(),
            print_points.clone(),
            gateways.clone(),
            events.clone(),
            refunds,
            push.clone(),
            master,
        );
        let wallets = WalletService::new(pool.clone(), tenants.clone());
        let payments = payment_service(&config, &pool, &payment_accounts, &release, &tenants, &events);
        let parts = ScanParts {
            pool: pool.clone(),
            tenants: tenants.clone(),
            print_points: print_points.clone(),
            jobs: jobs.clone(),
        };
        let scans =
            ScanService::new(parts, store.clone(), events.clone(), SecretBox::new(master), scan_limits(&config));
        let billing = BillingService::new(pool.clone(), tenants.clone());
        let processor = Arc::new(Processor::new(pool, jobs.clone(), store, events.clone(), processing, wake));
        Self {
            config: Arc::new(config),
            db,
            cache,
            events,
            redis,
            services: Services {
                tenants,
                sessions,
                users,
                admins,
                jobs,
                print_points,
                gateways,
                release,
                wallets,
                payment_accounts,
                payments,
                wechat_js_sdk,
                device_readings,
                discoveries,
                alerts,
                push,
                dashboard,
                scans,
                billing,
            },
            processor,
        }
    }
}

/// Cloud O&M: readings, the alerts they raise, and the pushes that announce them.
struct Operations {
    push: PushService,
    alerts: AlertService,
    device_readings: DeviceReadingService,
    dashboard: DashboardService,
}

fn operations(
    config: &Config,
    pool: &sqlx::AnyPool,
    tenants: &TenantService,
    print_points: &PrintPointService,
    cache: &Arc<dyn Cache>,
    events: &Arc<dyn EventBus>,
    master: &MasterKey,
) -> Operations {
    let wechat_channel = WechatChannel {
        tenants: tenants.clone(),
        client: WechatClient::new(&config.wechat_api_base),
        cache: cache.clone(),
        public_base_url: config.public_base_url.clone(),
    };
    let secrets = SecretBox::new(master);
    let push = PushService::new(
        PushRepo::new(pool.clone()),
        secrets.clone(),
        events.clone(),
        &config.vapid_subject,
        wechat_channel,
    );
    let alerts = AlertService::new(AlertRepo::new(pool.clone()), print_points.clone(), push.clone());
    let device_readings =
        DeviceReadingService::new(DeviceReadingRepo::new(pool.clone()), print_points.clone(), secrets, alerts.clone());
    let dashboard = DashboardService::new(DashboardRepo::new(pool.clone()), tenants.clone(), alerts.clone());
    Operations { push, alerts, device_readings, dashboard }
}

/// Who is who: tenants, sessions, users, admins and the WeChat JS-SDK signature.
struct Identity {
    tenants: TenantService,
    sessions: SessionService,
    users: UserService,
    admins: AdminService,
    wechat_js_sdk: JsSdkService,
}

fn identity(config: &Config, pool: &sqlx::AnyPool, cache: &Arc<dyn Cache>, master: &MasterKey) -> Identity {
    let tenants_repo = TenantRepo::new(pool.clone());
    let users_repo = UserRepo::new(pool.clone());
    let admins_repo = AdminRepo::new(pool.clone());
    let limits = session_limits(config);
    let tenants = TenantService::new(
        tenants_repo.clone(),
        EditionRepo::new(pool.clone()),
        WechatRepo::new(pool.clone()),
        SecretBox::new(master),
        SessionEnder::new(cache.clone(), limits.access_ttl),
    );
    let sessions = SessionService::new(
        pool.clone(),
        tenants.clone(),
        WechatClient::new(&config.wechat_api_base),
        AccessTokens::new(master),
        cache.clone(),
        limits,
    );
    let wechat_js_sdk = JsSdkService::new(
        tenants.clone(),
        WechatClient::new(&config.wechat_api_base),
        cache.clone(),
        &config.wechat_oauth_base,
    );
    let users = UserService::new(users_repo, tenants_repo.clone(), tenants.clone(), sessions.clone());
    let admins = AdminService::new(
        admins_repo,
        tenants_repo.clone(),
        tenants.clone(),
        sessions.clone(),
        AuditRepo::new(pool.clone()),
    );
    Identity { tenants, sessions, users, admins, wechat_js_sdk }
}

/// Printer discovery, adding what it finds through the print point and reading services.
fn discovery_service(
    pool: &sqlx::AnyPool,
    tenants: &TenantService,
    gateways: &GatewayService,
    print_points: &PrintPointService,
    readings: &DeviceReadingService,
    master: &MasterKey,
) -> DiscoveryService {
    let secrets = SecretBox::new(master);
    DiscoveryService::new(
        pool.clone(),
        tenants.clone(),
        gateways.clone(),
        print_points.clone(),
        readings.clone(),
        secrets,
    )
}

/// Payees' WeChat Pay / Alipay accounts, their keys sealed.
fn payment_account_service(config: &Config, pool: &sqlx::AnyPool, master: &MasterKey) -> PaymentAccountService {
    PaymentAccountService::new(
        PaymentRepo::new(pool.clone()),
        TenantRepo::new(pool.clone()),
        SecretBox::new(master),
        &config.public_base_url,
    )
}

/// What an upload may be; LibreOffice when installed.
fn job_limits(config: &Config, soffice: Option<std::path::PathBuf>) -> JobLimits {
    JobLimits {
        max_upload_bytes: config.max_upload_mb.saturating_mul(1_000_000),
        page_limit: config.page_limit.max(1),
        soffice,
    }
}

/// Scans share the upload and page limits of jobs.
fn scan_limits(config: &Config) -> ScanLimits {
    ScanLimits {
        max_upload_bytes: config.max_upload_mb.saturating_mul(1_000_000),
        page_limit: config.page_limit.max(1),
        public_base_url: config.public_base_url.clone(),
    }
}

/// Sign-in and token limits from the configuration (each at least 1).
fn session_limits(config: &Config) -> SessionLimits {
    SessionLimits {
        access_ttl: Duration::from_secs(config.access_token_ttl_secs.max(1)),
        refresh_ttl: Duration::from_secs(config.refresh_token_ttl_secs.max(1)),
        max_failures: config.signin_max_failures.max(1),
        lock: Duration::from_secs(config.signin_lock_secs.max(1)),
        max_per_ip_per_minute: config.signin_max_per_ip_per_minute.max(1),
    }
}

/// The document workers' settings; 0 workers means one per core.
fn processing_config(config: &Config, soffice: Option<std::path::PathBuf>) -> ProcessingConfig {
    let workers = match config.processing_workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    ProcessingConfig {
        workers,
        lease: Duration::from_secs(config.processing_lease_secs.max(3)),
        conversion_timeout: Duration::from_secs(config.conversion_timeout_secs.max(1)),
        page_limit: config.page_limit.max(1),
        soffice,
        sweep_every: Duration::from_secs(config.retention_sweep_secs.max(1)),
    }
}

/// Payments, with provider clients that give up on a provider after 20 s.
fn payment_service(
    config: &Config,
    pool: &sqlx::AnyPool,
    accounts: &PaymentAccountService,
    release: &ReleaseService,
    tenants: &TenantService,
    events: &Arc<dyn EventBus>,
) -> PaymentService {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_default();
    let reconcile_every = Duration::from_millis(config.payment_reconcile_ms.max(50));
    let services = PaymentServices {
        orders: PaymentOrderRepo::new(pool.clone()),
        accounts: accounts.clone(),
        release: release.clone(),
        tenants: tenants.clone(),
    };
    PaymentService::new(
        services,
        ProviderClients {
            wechat_pay: WechatPayClient::new(&config.wechat_pay_api_base, http.clone()),
            alipay: AlipayClient::new(&config.alipay_gateway_url, http),
        },
        events.clone(),
        &config.public_base_url,
        ReconcileConfig { every: reconcile_every, first_check: reconcile_every },
    )
}

/// The API description as JSON, exactly as served at `/api/v1/openapi.json`.
pub fn openapi_spec() -> anyhow::Result<String> {
    Ok(api::service(&AppState::for_spec()?).spec())
}

/// A bound, not yet running, server.
pub struct Application {
    acceptor: poem::listener::TcpAcceptor,
    addr: SocketAddr,
    state: AppState,
    bootstrap_admin: Option<AdminWithPassword>,
}

impl Application {
    /// Connects everything, creates the first admin on an empty database, and binds the
    /// listen address (port 0 picks a free port).
    pub async fn build(mut config: Config) -> anyhow::Result<Self> {
        let listen = config.listen.clone();
        let acceptor =
            TcpListener::bind(listen.clone()).into_acceptor().await.with_context(|| format!("binding {listen}"))?;
        let addr = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .context("listener has no socket address")?;
        // On an ephemeral port with the default public URL, the public URL is where we really
        // listen, so links and providers' callbacks reach this instance.
        if listen.ends_with(":0") && config.public_base_url == Config::default().public_base_url {
            config.public_base_url = format!("http://{addr}");
        }
        // Boxed: wiring every service makes a large future, kept off the caller's stack.
        let state = Box::pin(AppState::connect(config)).await?;
        state.services.payment_accounts.warn_if_notify_urls_unreachable();
        let first_admin = state.config.first_admin.clone().unwrap_or_else(|| "admin".into());
        let bootstrap_admin =
            state.services.admins.bootstrap(&first_admin).await.context("creating the first admin")?;
        Ok(Self { acceptor, addr, state, bootstrap_admin })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The first admin created by this start, with its one-time password (only on a fresh
    /// database).
    pub fn bootstrap_admin(&self) -> Option<&AdminWithPassword> {
        self.bootstrap_admin.as_ref()
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let grace = Duration::from_secs(self.state.config.shutdown_grace_secs);
        let app = routes(&self.state);
        let db = self.state.db.clone();
        // The processing workers run beside the server and stop after it, so a request that
        // is still uploading can finish; their claims then go back to the queue.
        let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
        let reconciler = self.state.services.payments.spawn_reconciler(workers_stopped.clone());
        let pusher = self.state.services.push.spawn_worker(workers_stopped.clone());
        let scan_sweeper = self
            .state
            .services
            .scans
            .spawn_sweeper(Duration::from_secs(self.state.config.retention_sweep_secs.max(1)), workers_stopped.clone());
        // Hourly: the previous month is billed within an hour of its end (once: runs repeat safely).
        let billing = self.state.services.billing.spawn_scheduler(Duration::from_secs(3600), workers_stopped.clone());
        let workers = self.state.processor.clone().start(workers_stopped);
        let result =
            Server::new_with_acceptor(self.acceptor).run_with_graceful_shutdown(app, shutdown, Some(grace)).await;
        let _ = stop_workers.send(true);
        if let Err(e) = workers.await {
            tracing::error!(error = %e, "processing workers ended abnormally");
        }
        let _ = reconciler.await;
        let _ = pusher.await;
        let _ = scan_sweeper.await;
        let _ = billing.await;
        db.close().await;
        result
    }
}

/// All routes of an instance.
pub fn routes(state: &AppState) -> impl poem::Endpoint {
    let api = api::service(state);
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let max_body = usize::try_from(state.config.max_json_body_kb.saturating_mul(1000)).unwrap_or(usize::MAX);
    let request_guard = Arc::new(RequestGuard::new(&api.spec(), max_body));
    let metrics = Arc::new(Metrics::default());
    let observed = metrics.clone();
    Route::new()
        .at("/healthz", get(health::healthz))
        .at("/readyz", get(health::readyz))
        .at("/metrics", get(health::metrics))
        .at("/api/v1/openapi.json", spec)
        .nest("/docs", docs)
        .nest("/m", crate::mobile::app(&state.config.mobile_dir))
        .at("/p/:code", get(crate::mobile::print_point_link))
        .at("/ipp/print/:code", get(ipp_printer::printer_page).post(ipp_printer::ipp_request).data(ipp_context(state)))
        .at("/ipp/print/:code/icon.png", get(ipp_printer::printer_icon))
        .nest("/", api)
        .at(
            "/api/v1/gateway/link",
            get(gateway_link::link).data(LinkContext {
                gateways: state.services.gateways.clone(),
                release: state.services.release.clone(),
                readings: state.services.device_readings.clone(),
                discoveries: state.services.discoveries.clone(),
                events: state.events.clone(),
            }),
        )
        .at(
            "/api/v1/payment-notifications/wechat_pay/:owner_kind/:owner_id",
            post(payment_notifications::wechat_pay_notification)
                .data(NotifyContext { payments: state.services.payments.clone() }),
        )
        .at(
            "/api/v1/payment-notifications/alipay/:owner_kind/:owner_id",
            post(payment_notifications::alipay_notification)
                .data(NotifyContext { payments: state.services.payments.clone() }),
        )
        .data(AuthContext {
            sessions: state.services.sessions.clone(),
            admins: state.services.admins.clone(),
            gateways: state.services.gateways.clone(),
        })
        .data(Readiness { db: state.db.clone(), redis: state.redis.then(|| state.cache.clone()) })
        .data(metrics)
        // "/" itself: the API's nest at the root answers it before any `at("/")` would.
        .around(crate::mobile::home)
        .around(move |ep, req| request_guard::guard(ep, req, request_guard.clone()))
        .around(move |ep, req| crate::telemetry::observe(ep, req, observed.clone()))
}

/// The IPP Everywhere printers' share of the services.
fn ipp_context(state: &AppState) -> IppContext {
    IppContext {
        ipp: state.ipp(),
        tokens: state.printing_tokens(),
        public_base_url: state.config.public_base_url.clone(),
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
