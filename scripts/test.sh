#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine with the Rust toolchain.
#
# Installs the system packages it needs (apt), starts PostgreSQL and Redis when they are not
# running, then runs every test twice:
#   pass 1: SQLite (the embedded default) with the in-process cache and event bus;
#   pass 2: PostgreSQL + Redis.
# With CI=true nothing is skipped: a peer that cannot be installed or started fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Each phase's time, printed at the end (and on failure, up to the phase that failed).
phase_names=(); phase_secs=(); phase_name=""; phase_start=$SECONDS
phase() {
  if [ -n "$phase_name" ]; then phase_names+=("$phase_name"); phase_secs+=($((SECONDS - phase_start))); fi
  phase_name=$1; phase_start=$SECONDS
  [ -n "$phase_name" ] && log "$phase_name"
  return 0
}
report_times() {
  phase ""
  printf '\n== phase times\n'
  for i in "${!phase_names[@]}"; do printf '  %-58s %5ss\n' "${phase_names[$i]}" "${phase_secs[$i]}"; done
  printf '  %-58s %5ss\n' "total" "$SECONDS"
}
trap report_times EXIT

# Tests whose peer is missing say SKIPPED (one line each, outside CI only) and are listed here.
export YUNYIN_SKIP_LOG
YUNYIN_SKIP_LOG=$(mktemp -t yunyin-skipped.XXXXXX)

# The Cargo build cache lives outside the clone, so CI's fresh clone on the same machine
# reuses what earlier runs compiled (dependencies especially). Set CARGO_TARGET_DIR to choose.
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/yunyin/target"
fi
mkdir -p "$CARGO_TARGET_DIR"

# An end-to-end test is one async block polled on its test thread's stack: in a debug build its
# state (a server's start, a gateway's set-up, the steps after) outgrows the 2 MiB test threads
# get by default. 8 MiB, as a main thread has; release builds (the product) need far less.
export RUST_MIN_STACK="${RUST_MIN_STACK:-8388608}"

phase "system packages"

PG_URL=${YUNYIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${YUNYIN_TEST_REDIS_URL:-redis://127.0.0.1:6379}

# ---- system packages ----------------------------------------------------------------------
packages=()
command -v pg_ctlcluster >/dev/null 2>&1 || packages+=(postgresql)
command -v psql >/dev/null 2>&1 || packages+=(postgresql-client)
command -v redis-server >/dev/null 2>&1 || packages+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || packages+=(redis-tools)
# The document pipeline: poppler renders pages, LibreOffice converts Office and text,
# Noto CJK typesets Chinese; ghostscript and qpdf make fixtures and the benchmark baseline.
command -v pdftoppm >/dev/null 2>&1 || packages+=(poppler-utils)
command -v gs >/dev/null 2>&1 || packages+=(ghostscript)
command -v qpdf >/dev/null 2>&1 || packages+=(qpdf)
command -v soffice >/dev/null 2>&1 || packages+=(libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || packages+=(fonts-noto-cjk)
# The printer peer: ippeveprinter is the IPP Everywhere printer, ipptool reads what it got;
# ippeveprinter registers over DNS-SD through dbus when it can.
command -v ippeveprinter >/dev/null 2>&1 || [ -x /usr/sbin/ippeveprinter ] || packages+=(cups-ipp-utils)
command -v ipptool >/dev/null 2>&1 || packages+=(cups-ipp-utils)
command -v dbus-daemon >/dev/null 2>&1 || packages+=(dbus)
# The gateway host's print queues for discovery: a private cupsd, queues added with lpadmin.
command -v cupsd >/dev/null 2>&1 || [ -x /usr/sbin/cupsd ] || packages+=(cups)
# The mobile web app: Node builds it and checks its API client against the spec.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
# …and a real browser walks it (Playwright drives Debian's Chromium; no browser download).
[ -x /usr/bin/chromium ] || packages+=(chromium)
# The spec conformance run: schemathesis (PyPI), installed into a virtual environment.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || packages+=(python3 python3-venv)
# …and snmpsim, the devices' SNMP agents, in a venv of Debian's own Python (scripts/snmpsim.sh).
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || packages+=(python3 python3-venv)
# The gateway's Debian package: dpkg-shlibdeps works out its library dependencies (cargo-deb),
# systemd-analyze checks its unit, adduser makes its system user.
command -v dpkg-shlibdeps >/dev/null 2>&1 || packages+=(dpkg-dev)
command -v systemd-analyze >/dev/null 2>&1 || packages+=(systemd)
command -v adduser >/dev/null 2>&1 || packages+=(adduser)
if [ ${#packages[@]} -gt 0 ]; then
  log "installing ${packages[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi

# ---- PostgreSQL ---------------------------------------------------------------------------
# The devices' SNMP agents: snmpsim (PyPI) in its own virtual environment (/opt/snmpsim, so the
# unprivileged user it runs as can read it); the SNMP tests also install it on first use.
phase "simulated SNMP devices (snmpsim)"
scripts/snmpsim.sh install

phase "PostgreSQL and Redis"
pg_ok() { PGCONNECT_TIMEOUT=3 psql "$PG_URL" -Atqc 'select 1' >/dev/null 2>&1; }
if ! pg_ok; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  if ! pg_ok && [ -z "${YUNYIN_TEST_POSTGRES_URL:-}" ]; then
    # A fresh Debian cluster asks for a password over TCP: give the test user one.
    as_root runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD 'yunyin-test'" >/dev/null
    PG_URL=postgres://postgres:yunyin-test@127.0.0.1:5432/postgres
  fi
  pg_ok || { echo "PostgreSQL is not reachable at ${PG_URL%%@*}@…" >&2; exit 1; }
fi

# ---- Redis --------------------------------------------------------------------------------
redis_ok() { redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG; }
if ! redis_ok; then
  log "starting Redis"
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 30); do redis_ok && break; sleep 0.5; done
  redis_ok || { echo "Redis is not reachable at $REDIS_URL" >&2; exit 1; }
fi

# ---- checks and tests ---------------------------------------------------------------------
export YUNYIN_TEST_POSTGRES_URL=$PG_URL
if [ "${CI:-}" = "true" ]; then
  phase "formatting and lints"
  cargo fmt --all --check
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi

phase "mobile app: API client up to date with openapi/openapi.json, type check, build"
(cd mobile && npm ci --no-audit --no-fund --loglevel=error && npm run --silent check)

phase "mini-program: type check (tsc --noEmit) and the build DevTools uploads (dist/, size vs 2 MB)"
(cd miniprogram && npm ci --no-audit --no-fund --loglevel=error && npm run --silent check)

# One build serves both passes: both run the same test binaries.
phase "build the tests (once, for both passes) and the server"
cargo test --workspace --locked --no-run
# The server and gateway commands (the status test runs the gateway as a process, and the package
# ships it). Built for the whole workspace so features unify exactly as in the test build above:
# `-p <one package>` would resolve other features and rebuild dozens of crates (minutes, cold).
cargo build --workspace --bin yunyin --bin yunyin-gateway --locked

phase "gateway Debian package: build (cargo-deb), install, check, purge"
# cargo-deb, pinned, installed once into ~/.cargo/bin and reused by later runs.
cargo_deb_version=3.7.0
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $cargo_deb_version" ]; then
  cargo install cargo-deb --version "$cargo_deb_version" --locked
fi
# Packaged from the dev build above: a release build of the gateway and its dependencies would
# add many minutes to every run, and the packaging is what is checked here (cargo-deb warns
# that dev builds are not for release; a release package is `cargo deb -p yunyin-gateway`).
deb=$(cargo deb -p yunyin-gateway --profile dev --no-build --locked --fast | tail -n 1)
[ -f "$deb" ] || { echo "cargo deb made no package (said: $deb)" >&2; exit 1; }
dpkg-deb --info "$deb" | grep -E '^ (Package|Version|Depends|Section):'
# Whatever happens below, the machine is left without the package.
trap 'as_root dpkg --purge yunyin-gateway >/dev/null 2>&1 || true; report_times' EXIT
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb"
/usr/bin/yunyin-gateway --version
owned() { # PATH "USER:GROUP MODE"
  [ "$(stat -c '%U:%G %a' "$1")" = "$2" ] || { echo "$1 is $(stat -c '%U:%G %a' "$1"), expected $2" >&2; exit 1; }
}
owned /var/lib/yunyin-gateway "yunyin-gateway:yunyin-gateway 750"
owned /etc/yunyin-gateway/gateway.toml "root:yunyin-gateway 640"
dpkg-query -W -f='${Conffiles}\n' yunyin-gateway | grep -q /etc/yunyin-gateway/gateway.toml \
  || { echo "gateway.toml is not a conffile" >&2; exit 1; }
status_dir=$(mktemp -d)
rc=0; /usr/bin/yunyin-gateway status --state-dir "$status_dir" || rc=$?
rm -rf "$status_dir"
[ "$rc" -eq 3 ] || { echo "status of a gateway never run: exit $rc, expected 3 (not running)" >&2; exit 1; }
unit=$(dpkg -L yunyin-gateway | grep '/systemd/system/yunyin-gateway\.service$')
# verify exits 0 on an unknown or misspelt key and only warns: any word from it fails the phase.
verified=$(systemd-analyze verify "$unit" 2>&1) || { echo "$verified" >&2; exit 1; }
[ -z "$verified" ] || { echo "systemd-analyze verify: $verified" >&2; exit 1; }
as_root dpkg --purge yunyin-gateway
trap report_times EXIT
for gone in /usr/bin/yunyin-gateway /var/lib/yunyin-gateway /etc/yunyin-gateway "$unit"; do
  [ ! -e "$gone" ] || { echo "$gone is still there after the purge" >&2; exit 1; }
done
! getent passwd yunyin-gateway >/dev/null || { echo "the yunyin-gateway user outlived the purge" >&2; exit 1; }

phase "pass 1/2: SQLite (embedded default) + in-process cache and events"
YUNYIN_TEST_BACKEND=sqlite YUNYIN_TEST_REDIS_URL= cargo test --workspace --locked

phase "pass 2/2: PostgreSQL + Redis"
YUNYIN_TEST_BACKEND=postgres YUNYIN_TEST_REDIS_URL=$REDIS_URL cargo test --workspace --locked

phase "spec conformance: schemathesis --checks all against the served spec"
# Pinned, in a virtual environment beside the build cache (reused by later runs).
venv="$(dirname "$CARGO_TARGET_DIR")/schemathesis-venv"
[ -x "$venv/bin/st" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q schemathesis==4.32.5; }
PATH="$venv/bin:$PATH" scripts/schemathesis.sh "$CARGO_TARGET_DIR/debug/yunyin"

phase ""
skipped=$(grep -c '^SKIPPED' "$YUNYIN_SKIP_LOG" || true)
if [ "$skipped" -gt 0 ]; then
  log "skipped tests (their peer is missing; CI runs them all)"
  cat "$YUNYIN_SKIP_LOG"
fi
rm -f "$YUNYIN_SKIP_LOG"
log "all passes green; backends tested: sqlite (+in-process cache/events), postgres (+redis); ${skipped} skipped"
