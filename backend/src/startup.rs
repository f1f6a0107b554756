//! Building and running the server. Tests call [`Application::build`] with port 0 and talk
//! to the real server over HTTP.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use poem::{
    get,
    listener::{Acceptor, Listener, TcpListener},
    EndpointExt, Route, Server,
};

use crate::{
    api::{
        self,
        health::{self, Readiness},
        security::AuthContext,
    },
    config::Config,
    infra::{
        cache::{Cache, MemoryCache, RedisCache},
        events::{EventBus, MemoryEventBus, RedisEventBus},
        secrets::{MasterKey, SecretBox},
    },
    metrics::Metrics,
    services::{
        admins::{AdminService, AdminWithPassword},
        sessions::{SessionLimits, SessionService},
        tenants::TenantService,
        tokens::AccessTokens,
        users::UserService,
        wechat::WechatClient,
    },
    storage::{admins::AdminRepo, audit::AuditRepo, tenants::TenantRepo, users::UserRepo, wechat::WechatRepo, Db},
};

/// The services, wired once at start.
#[derive(Clone)]
pub struct Services {
    pub tenants: TenantService,
    pub sessions: SessionService,
    pub users: UserService,
    pub admins: AdminService,
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
        Ok(Self::assemble(config, db, cache, events, redis, &master))
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
        ))
    }

    fn assemble(
        config: Config,
        db: Db,
        cache: Arc<dyn Cache>,
        events: Arc<dyn EventBus>,
        redis: bool,
        master: &MasterKey,
    ) -> Self {
        let pool = db.pool().clone();
        let tenants_repo = TenantRepo::new(pool.clone());
        let users_repo = UserRepo::new(pool.clone());
        let admins_repo = AdminRepo::new(pool.clone());
        let tenants = TenantService::new(tenants_repo.clone(), WechatRepo::new(pool.clone()), SecretBox::new(master));
        let limits = SessionLimits {
            access_ttl: Duration::from_secs(config.access_token_ttl_secs.max(1)),
            refresh_ttl: Duration::from_secs(config.refresh_token_ttl_secs.max(1)),
            max_failures: config.signin_max_failures.max(1),
            lock: Duration::from_secs(config.signin_lock_secs.max(1)),
            max_per_ip_per_minute: config.signin_max_per_ip_per_minute.max(1),
        };
        let sessions = SessionService::new(
            pool.clone(),
            tenants.clone(),
            WechatClient::new(&config.wechat_api_base),
            AccessTokens::new(master),
            cache.clone(),
            limits,
        );
        let users = UserService::new(users_repo, tenants_repo.clone(), tenants.clone(), sessions.clone());
        let admins =
            AdminService::new(admins_repo, tenants_repo, tenants.clone(), sessions.clone(), AuditRepo::new(pool));
        Self {
            config: Arc::new(config),
            db,
            cache,
            events,
            redis,
            services: Services { tenants, sessions, users, admins },
        }
    }
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
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listen = config.listen.clone();
        let state = AppState::connect(config).await?;
        let bootstrap_admin = state.services.admins.bootstrap().await.context("creating the first admin")?;
        let acceptor =
            TcpListener::bind(listen.clone()).into_acceptor().await.with_context(|| format!("binding {listen}"))?;
        let addr = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .context("listener has no socket address")?;
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
        let result =
            Server::new_with_acceptor(self.acceptor).run_with_graceful_shutdown(app, shutdown, Some(grace)).await;
        db.close().await;
        result
    }
}

/// All routes of an instance.
pub fn routes(state: &AppState) -> impl poem::Endpoint {
    let api = api::service(state);
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let metrics = Arc::new(Metrics::default());
    let observed = metrics.clone();
    Route::new()
        .at("/healthz", get(health::healthz))
        .at("/readyz", get(health::readyz))
        .at("/metrics", get(health::metrics))
        .at("/api/v1/openapi.json", spec)
        .nest("/docs", docs)
        .nest("/", api)
        .data(AuthContext { sessions: state.services.sessions.clone(), admins: state.services.admins.clone() })
        .data(Readiness { db: state.db.clone(), redis: state.redis.then(|| state.cache.clone()) })
        .data(metrics)
        .around(move |ep, req| crate::telemetry::observe(ep, req, observed.clone()))
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
