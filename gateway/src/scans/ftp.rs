//! The FTP server MFPs scan to (libunftp): one account per print point; a device sees only its
//! own scans still waiting for the server, and what it stores goes to the outbox. Folders are
//! accepted and ignored (MFPs often make one per job), nothing can be read back.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use async_trait::async_trait;
use libunftp::{options::ActivePassiveMode, ServerBuilder};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    sync::watch,
};
use unftp_core::{
    auth::{
        AuthenticationError, Authenticator, Credentials, Principal, UserDetail, UserDetailError, UserDetailProvider,
    },
    storage::{self, ErrorKind, Fileinfo, Metadata, StorageBackend},
};

use super::{
    accounts::ScanAccounts,
    outbox::{PendingScan, ScanOutbox},
    ScanConfig,
};

/// A device logged in with its print point's scan account.
#[derive(Debug, Clone)]
pub struct ScanDevice {
    pub user: String,
    pub print_point_id: String,
}

impl fmt::Display for ScanDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.user, self.print_point_id)
    }
}

impl UserDetail for ScanDevice {}

/// Checks a device's user and password against the scan accounts.
#[derive(Debug)]
struct DeviceAuthenticator(ScanAccounts);

#[async_trait]
impl Authenticator for DeviceAuthenticator {
    async fn authenticate(&self, username: &str, creds: &Credentials) -> Result<Principal, AuthenticationError> {
        let password = creds.password.as_deref().unwrap_or("");
        match self.0.check(username, password) {
            Some(_) => Ok(Principal { username: username.into() }),
            None if self.0.print_point_of(username).is_some() => Err(AuthenticationError::BadPassword),
            None => Err(AuthenticationError::BadUser),
        }
    }
}

/// Turns an authenticated account into its device.
#[derive(Debug)]
struct DeviceProvider(ScanAccounts);

#[async_trait]
impl UserDetailProvider for DeviceProvider {
    type User = ScanDevice;

    async fn provide_user_detail(&self, principal: &Principal) -> Result<ScanDevice, UserDetailError> {
        let print_point_id = self
            .0
            .print_point_of(&principal.username)
            .ok_or(UserDetailError::UserNotFound { username: principal.username.clone() })?;
        Ok(ScanDevice { user: principal.username.clone(), print_point_id })
    }
}

/// What a listing shows of a file or folder.
#[derive(Debug, Clone)]
pub struct Entry {
    len: u64,
    dir: bool,
    modified: SystemTime,
}

impl Metadata for Entry {
    fn len(&self) -> u64 {
        self.len
    }
    fn is_dir(&self) -> bool {
        self.dir
    }
    fn is_file(&self) -> bool {
        !self.dir
    }
    fn is_symlink(&self) -> bool {
        false
    }
    fn modified(&self) -> storage::Result<SystemTime> {
        Ok(self.modified)
    }
    fn gid(&self) -> u32 {
        0
    }
    fn uid(&self) -> u32 {
        0
    }
}

/// The device's folder: writes go to the outbox.
#[derive(Debug, Clone)]
struct ScanFolder {
    outbox: ScanOutbox,
    max_bytes: u64,
    /// How long a transfer may send nothing before it is given up.
    idle: Duration,
}

/// The file name a path ends in (MFPs send `/scans/SCAN0001.PDF` or just the name).
fn file_name(path: &Path) -> Option<String> {
    path.file_name().and_then(|n| n.to_str()).filter(|n| !n.trim().is_empty()).map(str::to_string)
}

fn folder() -> Entry {
    Entry { len: 0, dir: true, modified: SystemTime::now() }
}

fn entry(scan: &PendingScan) -> Entry {
    let modified = u64::try_from(scan.scanned_at)
        .ok()
        .and_then(|ms| SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
        .unwrap_or_else(SystemTime::now);
    Entry { len: scan.size, dir: false, modified }
}

/// An upload in progress on disk: removed when dropped unless kept, so neither a failed nor
/// an abandoned transfer (its future dropped) leaves a file behind.
struct PartFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl ScanFolder {
    /// Streams `input` into `part`: at most `max_bytes`, each read within `idle`.
    async fn receive<R>(&self, mut input: R, part: &Path) -> storage::Result<u64>
    where
        R: tokio::io::AsyncRead + Send + Sync + Unpin,
    {
        let local = |e: std::io::Error| storage::Error::new(ErrorKind::LocalError, e);
        let mut file = tokio::fs::File::create(part).await.map_err(local)?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut total: u64 = 0;
        loop {
            let n = match tokio::time::timeout(self.idle, input.read(&mut buf)).await {
                Ok(Ok(0)) => break,
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(storage::Error::new(ErrorKind::ConnectionClosed, e)),
                Err(_) => return Err(ErrorKind::ConnectionClosed.into()),
            };
            total += n as u64;
            if total > self.max_bytes {
                return Err(ErrorKind::ExceededStorageAllocationError.into());
            }
            file.write_all(&buf[..n]).await.map_err(local)?;
        }
        file.flush().await.map_err(local)?;
        file.sync_all().await.map_err(local)?;
        Ok(total)
    }
}

#[async_trait]
impl StorageBackend<ScanDevice> for ScanFolder {
    type Metadata = Entry;

    async fn metadata<P: AsRef<Path> + Send + fmt::Debug>(&self, user: &ScanDevice, path: P) -> storage::Result<Entry> {
        let Some(name) = file_name(path.as_ref()) else { return Ok(folder()) };
        match self.outbox.of_print_point(&user.print_point_id).into_iter().find(|s| s.file_name == name) {
            Some(scan) => Ok(entry(&scan)),
            // Anything else is a folder the device may have made: they all lead here.
            None if path.as_ref().extension().is_none() => Ok(folder()),
            None => Err(ErrorKind::PermanentFileNotAvailable.into()),
        }
    }

    async fn list<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        user: &ScanDevice,
        _path: P,
    ) -> storage::Result<Vec<Fileinfo<PathBuf, Entry>>> {
        Ok(self
            .outbox
            .of_print_point(&user.print_point_id)
            .into_iter()
            .map(|s| Fileinfo { path: PathBuf::from(&s.file_name), metadata: entry(&s) })
            .collect())
    }

    async fn get<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        _user: &ScanDevice,
        _path: P,
        _start_pos: u64,
    ) -> storage::Result<Box<dyn tokio::io::AsyncRead + Send + Sync + Unpin>> {
        // Scans go to the cloud; nothing is handed back over FTP.
        Err(ErrorKind::PermissionDenied.into())
    }

    async fn put<P: AsRef<Path> + Send + fmt::Debug, R: tokio::io::AsyncRead + Send + Sync + Unpin + 'static>(
        &self,
        user: &ScanDevice,
        input: R,
        path: P,
        start_pos: u64,
    ) -> storage::Result<u64> {
        if start_pos != 0 {
            return Err(ErrorKind::CommandNotImplemented.into());
        }
        let name = file_name(path.as_ref()).ok_or(ErrorKind::FileNameNotAllowedError)?;
        let part = self
            .outbox
            .incoming_path(&user.print_point_id)
            .map_err(|e| storage::Error::new(ErrorKind::LocalError, e))?;
        let mut part = PartFile { path: part, keep: false };
        let size = match self.receive(input, &part.path).await {
            Ok(size) => size,
            Err(e) => {
                tracing::warn!(device = %user, file = %name, error = %e, "scan not received");
                return Err(e);
            }
        };
        match self.outbox.accept(&part.path, &user.print_point_id, &name, size) {
            Ok(scan) => {
                // Renamed into the outbox: nothing left to remove.
                part.keep = true;
                tracing::info!(scan = %scan.scan_id, device = %user, file = %name, size, "scan received");
                Ok(size)
            }
            Err(e) => Err(storage::Error::new(ErrorKind::LocalError, e)),
        }
    }

    async fn del<P: AsRef<Path> + Send + fmt::Debug>(&self, user: &ScanDevice, path: P) -> storage::Result<()> {
        let name = file_name(path.as_ref()).ok_or(ErrorKind::PermanentFileNotAvailable)?;
        if self.outbox.withdraw(&user.print_point_id, &name) {
            Ok(())
        } else {
            Err(ErrorKind::PermanentFileNotAvailable.into())
        }
    }

    async fn mkd<P: AsRef<Path> + Send + fmt::Debug>(&self, _user: &ScanDevice, _path: P) -> storage::Result<()> {
        Ok(())
    }

    async fn rename<P: AsRef<Path> + Send + fmt::Debug>(
        &self,
        _user: &ScanDevice,
        _from: P,
        _to: P,
    ) -> storage::Result<()> {
        Err(ErrorKind::PermissionDenied.into())
    }

    async fn rmd<P: AsRef<Path> + Send + fmt::Debug>(&self, _user: &ScanDevice, _path: P) -> storage::Result<()> {
        Ok(())
    }

    async fn cwd<P: AsRef<Path> + Send + fmt::Debug>(&self, _user: &ScanDevice, _path: P) -> storage::Result<()> {
        Ok(())
    }
}

/// Accepts FTP connections on `listener` until `stop` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    accounts: ScanAccounts,
    outbox: ScanOutbox,
    config: ScanConfig,
    mut stop: watch::Receiver<bool>,
) {
    let folder = ScanFolder { outbox, max_bytes: config.max_bytes, idle: config.transfer_idle };
    let authenticator = Arc::new(DeviceAuthenticator(accounts.clone()));
    let provider = Arc::new(DeviceProvider(accounts));
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "scan FTP server: accept failed");
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let storage = folder.clone();
        let built = ServerBuilder::<ScanFolder, ScanDevice>::with_user_detail_provider::<ScanDevice>(
            Box::new(move || storage.clone()),
            provider.clone(),
        )
        .authenticator(authenticator.clone())
        .greeting("yunyin gateway: scan to cloud")
        .passive_ports(config.passive_ports.clone())
        // Some MFPs only do active mode (PORT): the server connects back to them.
        .active_passive_mode(ActivePassiveMode::ActiveAndPassive)
        .idle_session_timeout(300)
        .build();
        match built {
            // Each control connection is served by its own server value (libunftp's
            // `service`): the listener stays ours, so a test can bind port 0.
            Ok(server) => {
                tokio::spawn(async move {
                    if let Err(e) = server.service(stream).await {
                        tracing::info!(error = %e, "scan FTP session ended with an error");
                    }
                });
            }
            Err(e) => tracing::error!(error = %e, "scan FTP server cannot start a session"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::scans::accounts::ScanAccount;
    use suppaftp::{
        tokio::AsyncFtpStream,
        types::{FileType, Mode},
    };
    use tokio::io::AsyncWriteExt;

    struct Site {
        addr: std::net::SocketAddr,
        outbox: ScanOutbox,
        dir: tempfile::TempDir,
        _stop: watch::Sender<bool>,
    }

    impl Site {
        /// Files in `scans/incoming/` (uploads in progress), any device.
        fn incoming(&self) -> usize {
            std::fs::read_dir(self.dir.path().join("scans/incoming"))
                .unwrap()
                .flatten()
                .map(|d| std::fs::read_dir(d.path()).map(|f| f.count()).unwrap_or(0))
                .sum()
        }
    }

    async fn site_with(max_bytes: u64, transfer_idle: Duration) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let accounts = ScanAccounts::load(dir.path());
        accounts.replace(vec![
            ScanAccount {
                user: "scan-front".into(),
                password: "pw-front-123".into(),
                print_point_id: "pp-front".into(),
            },
            ScanAccount { user: "scan-back".into(), password: "pw-back-456".into(), print_point_id: "pp-back".into() },
        ]);
        let outbox = ScanOutbox::open(dir.path()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        // Port 0 for data connections too: the system picks each passive port.
        let config =
            ScanConfig { ftp_listen: addr.to_string(), passive_ports: 51000..=51999, max_bytes, transfer_idle };
        tokio::spawn(serve(listener, accounts, outbox.clone(), config, stopped));
        Site { addr, outbox, dir, _stop: stop }
    }

    async fn site(max_bytes: u64) -> Site {
        site_with(max_bytes, Duration::from_secs(120)).await
    }

    async fn device(addr: std::net::SocketAddr, user: &str, password: &str) -> AsyncFtpStream {
        let mut ftp = AsyncFtpStream::connect(addr).await.unwrap();
        ftp.login(user, password).await.unwrap();
        ftp.transfer_type(FileType::Binary).await.unwrap();
        ftp
    }

    /// Waits until `done` holds (at most 10 s).
    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_device_stores_scans_into_the_outbox_and_sees_only_its_own() {
        let site = site(1_000_000).await;
        // Wrong passwords and unknown users are refused.
        let mut stranger = AsyncFtpStream::connect(site.addr).await.unwrap();
        assert!(stranger.login("scan-front", "pw-back-456").await.is_err());
        let mut stranger = AsyncFtpStream::connect(site.addr).await.unwrap();
        assert!(stranger.login("anonymous", "").await.is_err());

        // The front MFP makes its job folder, as many do, and stores a PDF and a JPEG.
        let mut front = device(site.addr, "scan-front", "pw-front-123").await;
        front.mkdir("/scans/20261204").await.unwrap();
        front.cwd("/scans/20261204").await.unwrap();
        let pdf = b"%PDF-1.4\n% a scanned page\n%%EOF\n".to_vec();
        front.put_file("SCAN0001.PDF", &mut pdf.as_slice()).await.unwrap();
        let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 2, 3, 0xFF, 0xD9];
        front.put_file("IMG_0002.JPG", &mut jpeg.as_slice()).await.unwrap();
        let waiting = site.outbox.of_print_point("pp-front");
        assert_eq!(
            waiting.iter().map(|s| s.file_name.as_str()).collect::<Vec<_>>(),
            vec!["SCAN0001.PDF", "IMG_0002.JPG"]
        );
        assert_eq!(std::fs::read(site.outbox.data_path(&waiting[0])).unwrap(), pdf);
        assert_eq!(std::fs::read(site.outbox.data_path(&waiting[1])).unwrap(), jpeg);
        assert_eq!(waiting[0].size, pdf.len() as u64);
        assert_eq!(site.incoming(), 0, "moved out of incoming/");
        let listed = front.nlst(None).await.unwrap();
        assert_eq!(listed.len(), 2, "{listed:?}");
        assert!(listed.iter().any(|l| l.ends_with("SCAN0001.PDF")), "{listed:?}");
        assert_eq!(front.size("SCAN0001.PDF").await.unwrap(), pdf.len());
        // Nothing is read back: refused at once, or a transfer that carries nothing and fails.
        if let Ok(mut stream) = front.retr_as_stream("SCAN0001.PDF").await {
            let mut got = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut got).await;
            assert!(got.is_empty(), "a scan was read back");
            assert!(stream.finish().await.is_err(), "the retrieval must fail");
        }

        // The back MFP sees none of it and can neither delete nor size it.
        let mut back = device(site.addr, "scan-back", "pw-back-456").await;
        assert!(back.nlst(None).await.unwrap().is_empty());
        assert!(back.list(None).await.unwrap().is_empty());
        assert!(back.rm("SCAN0001.PDF").await.is_err());
        assert!(back.size("SCAN0001.PDF").await.is_err());
        assert_eq!(site.outbox.pending().len(), 2);
        // The front one may withdraw a scan that has not gone up yet.
        front.rm("IMG_0002.JPG").await.unwrap();
        assert_eq!(site.outbox.pending().len(), 1);
        front.quit().await.unwrap();
        back.quit().await.unwrap();
    }

    #[tokio::test]
    async fn extended_passive_and_active_mode_deliver_too() {
        let site = site(1_000_000).await;
        let mut front = device(site.addr, "scan-front", "pw-front-123").await;
        front.set_mode(Mode::ExtendedPassive);
        front.put_file("EPSV.PDF", &mut b"%PDF-1.4 epsv".as_slice()).await.unwrap();
        front.quit().await.unwrap();

        let mut front = AsyncFtpStream::connect(site.addr).await.unwrap().active_mode(Duration::from_secs(5));
        front.login("scan-front", "pw-front-123").await.unwrap();
        front.transfer_type(FileType::Binary).await.unwrap();
        front.put_file("PORT.PDF", &mut b"%PDF-1.4 port".as_slice()).await.unwrap();
        front.quit().await.unwrap();

        let names: Vec<String> = site.outbox.of_print_point("pp-front").into_iter().map(|s| s.file_name).collect();
        assert_eq!(names, vec!["EPSV.PDF", "PORT.PDF"]);
    }

    #[tokio::test]
    async fn a_scan_over_the_limit_leaves_nothing() {
        let site = site(1_000).await;
        let mut front = device(site.addr, "scan-front", "pw-front-123").await;
        let big = vec![7u8; 5_000];
        assert!(front.put_file("BIG.PDF", &mut big.as_slice()).await.is_err());
        assert!(site.outbox.pending().is_empty());
        assert_eq!(site.incoming(), 0, "no partial file is left behind");
        // The session is still usable after the refusal; exactly the limit is taken.
        let small = vec![b'%'; 1_000];
        front.put_file("SMALL.PDF", &mut small.as_slice()).await.unwrap();
        assert_eq!(site.outbox.pending().len(), 1);
    }

    #[tokio::test]
    async fn an_interrupted_upload_leaves_nothing() {
        let site = site(10_000_000).await;
        let mut front = device(site.addr, "scan-front", "pw-front-123").await;
        let mut upload = front.put_with_stream("CUT.PDF").await.unwrap();
        upload.write_all(&[b'x'; 200_000]).await.unwrap();
        upload.flush().await.unwrap();
        until("the transfer is under way", || site.incoming() == 1).await;
        // The MFP loses power: its data connection is reset, not closed (a reset with no
        // linger; it does not block here, as nothing is left to send).
        #[allow(deprecated)]
        upload.get_ref().get_ref().set_linger(Some(Duration::ZERO)).unwrap();
        drop(upload);
        drop(front);
        until("the partial file is removed", || site.incoming() == 0).await;
        assert!(site.outbox.pending().is_empty(), "a cut transfer is not a scan");
    }

    #[tokio::test]
    async fn a_stalled_upload_is_given_up_and_leaves_nothing() {
        let site = site_with(10_000_000, Duration::from_millis(300)).await;
        let mut front = device(site.addr, "scan-front", "pw-front-123").await;
        let mut upload = front.put_with_stream("STALL.PDF").await.unwrap();
        upload.write_all(b"%PDF-1.4 and then nothing").await.unwrap();
        upload.flush().await.unwrap();
        until("the transfer is under way", || site.incoming() == 1).await;
        until("the stalled transfer is given up", || site.incoming() == 0).await;
        assert!(upload.finish().await.is_err(), "the device is told it failed");
        assert!(site.outbox.pending().is_empty());
    }
}
