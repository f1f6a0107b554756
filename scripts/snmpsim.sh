#!/usr/bin/env bash
# Simulated SNMP printers for tests (issue 13, cloud O&M): snmpsim serving the .snmprec files
# of tests/fixtures/snmp/<model>/public.snmprec. Usage:
#   scripts/snmpsim.sh install              venv at $SNMPSIM_VENV (default /opt/snmpsim)
#   scripts/snmpsim.sh stage DATA_DIR FILE...
#       FILE 1 -> DATA_DIR/public.snmprec (served on every endpoint), and each FILE i ->
#       DATA_DIR/public/1.3.6.1.6.1.1.<i-1>.snmprec (served only on the (i-1)-th endpoint, from 0)
#   scripts/snmpsim.sh start DATA_DIR CACHE_DIR IP:PORT...
#       prints the responder's pid once every endpoint listens; log in CACHE_DIR/snmpsim.log
#   scripts/snmpsim.sh swap TARGET NEW_FILE  replace a served file; the next request sees it
# The community is the file name (public.snmprec -> "public"); DATA_DIR/public/<transport id>
# overrides it on one endpoint (transport id 1.3.6.1.6.1.1.N = the N-th IP:PORT, from 0).
# SNMPv3 with an empty context is answered from the "public" files; SNMPSIM_V3=user:auth:priv
# adds an authPriv user (SHA, AES). SNMPSIM_LOG_LEVEL=error keeps the log small (info, the
# default, logs every request). Stop with `kill PID` (SIGTERM; it exits in about 1.5 s).
set -euo pipefail
venv=${SNMPSIM_VENV:-/opt/snmpsim}

# Pinned: verified together. snmpsim needs `cryptography` for AES/DES privacy.
install() {
  [ -x "$venv/bin/snmpsim-command-responder" ] && return 0
  # a Python under root's home (e.g. pyenv) would be unreadable to nobody: use the system one
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q snmpsim==1.2.2 pysnmp==7.1.30 pysmi==2.0.0 cryptography==50.0.2
}

# snmpsim 1.2.2 overrides pysnmp's pre-7 hook `handleMgmtOperation`, which pysnmp 7 no longer
# calls, so it cannot pick a data file by endpoint. This re-routes pysnmp 7's
# handle_management_operation: <community>/<transport id>/<source ip>, <community>/<transport id>,
# then <community> (SNMPv3: the context name, "public" when empty).
shim='
import sys
from hashlib import md5
from pysnmp.entity.rfc3413 import cmdrsp
from snmpsim.commands import responder as r
def pick(self, engine, default):
    x = engine.observer.get_execution_context("rfc3412.receiveMessage:request")
    names = self.snmpContext.context_names
    base = bytes(x["contextName"])  # v1/v2c: md5 of the community, mapped back below
    base = {md5(k).hexdigest().encode(): k for k in names if len(k) <= 32}.get(base, base)
    base = base or b"public"
    ep, src = ".".join(map(str, x["transportDomain"])), str(x["transportAddress"][0])
    for c in (f"{ep}/{src}", ep, None):
        c = base + (b"/" + c.encode() if c else b"")
        c = md5(c).hexdigest().encode() if len(c) > 32 else c
        if c in names:
            return c
    return default
for n in ("Get", "Set", "Next", "Bulk"):
    def hmo(self, engine, ref, ctx, pdu, _base=getattr(cmdrsp, n + "CommandResponder")):
        _base.handle_management_operation(self, engine, ref, pick(self, engine, ctx), pdu)
    getattr(r, n + "CommandResponder").handle_management_operation = hmo
sys.argv[0] = "snmpsim-command-responder"
sys.exit(r.main())
'

stage() {
  local dir=$1 i=0; shift
  mkdir -p "$dir/public"
  cp "$1" "$dir/public.snmprec"
  for f in "$@"; do cp "$f" "$dir/public/1.3.6.1.6.1.1.$i.snmprec"; i=$((i + 1)); done
}

# snmpsim notices a changed file by its mtime in whole seconds, and rebuilds its index only if
# the file is not older than the index: give the new file a later second, then rename it in.
swap() {
  local target=$1 new=$2 old now
  old=$(stat -c %Y "$target"); now=$(date +%s)
  cp "$new" "$target.swap" && chmod 644 "$target.swap"
  touch -m -d "@$(( (old > now ? old : now) + 1 ))" "$target.swap"
  mv -f "$target.swap" "$target"
}

start() {
  local data cache args=() ep user=() hex a b c d u p
  data=$(realpath "$1"); cache=$(realpath -m "$2"); shift 2
  [ $# -gt 0 ] || { echo "usage: $0 start DATA_DIR CACHE_DIR IP:PORT..." >&2; exit 2; }
  install
  mkdir -p "$cache"
  for ep in "$@"; do args+=("--agent-udpv4-endpoint=$ep"); done
  if [ -n "${SNMPSIM_V3:-}" ]; then
    IFS=: read -r u a p <<< "$SNMPSIM_V3"
    args+=("--v3-user=$u" "--v3-auth-key=$a" "--v3-auth-proto=SHA")
    args+=("--v3-priv-key=$p" "--v3-priv-proto=AES")
  fi
  if [ "$(id -u)" -eq 0 ]; then
    # snmpsim refuses to run as root: run it as nobody, who must read the data and write the cache
    chmod -R a+rX "$data"; chmod 777 "$cache"
    user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    "${user[@]}" test -r "$data/public.snmprec" -o -d "$data/public" ||
      { echo "nobody cannot read $data (check its parent directories)" >&2; exit 1; }
  fi
  setsid "${user[@]}" "$venv/bin/python3" -c "$shim" --data-dir="$data" --cache-dir="$cache" \
    --force-index-rebuild --log-level="${SNMPSIM_LOG_LEVEL:-info}" "${args[@]}" \
    > "$cache/snmpsim.log" 2>&1 < /dev/null &
  local pid=$! deadline=$((SECONDS + ${SNMPSIM_START_TIMEOUT:-300}))
  # ready when every endpoint is bound (/proc/net/udp: little-endian hex IP, hex port)
  for ep in "$@"; do
    IFS=. read -r a b c d <<< "${ep%:*}"
    hex=$(printf '%02X%02X%02X%02X:%04X' "$d" "$c" "$b" "$a" "${ep##*:}")
    until grep -q " $hex " /proc/net/udp; do
      if ! kill -0 "$pid" 2>/dev/null; then
        tail -20 "$cache/snmpsim.log" >&2; echo "snmpsim exited" >&2; exit 1
      fi
      if [ $SECONDS -ge $deadline ]; then
        kill "$pid"; echo "snmpsim did not bind $ep in time" >&2; exit 1
      fi
      sleep 0.2
    done
  done
  echo "$pid"
}

cmd=${1:-}; shift || true
case "$cmd" in
  install | stage | swap | start) "$cmd" "$@" ;;
  *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
