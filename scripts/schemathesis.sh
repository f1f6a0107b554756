#!/usr/bin/env bash
# The served spec against the server (issue 12, item 7): schemathesis (PyPI) runs every
# operation of /api/v1/openapi.json with `--checks all` — valid requests must be accepted,
# invalid ones refused with 4xx, every answer must match its declared status, schema,
# content type and headers, and no 5xx. Run by scripts/test.sh; on its own:
#   scripts/schemathesis.sh path/to/yunyin
# A fresh server on the embedded default (SQLite, in-process events) is started on a free port;
# it is called as the platform super admin and as a registered user, in turn.
set -euo pipefail
server=${1:?usage: scripts/schemathesis.sh path/to/yunyin}
cd "$(dirname "$0")/.."
examples=${YUNYIN_SCHEMATHESIS_EXAMPLES:-8}

work=$(mktemp -d -t yunyin-schemathesis.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
YUNYIN_DATA_DIR="$work/data" YUNYIN_LISTEN="127.0.0.1:$port" YUNYIN_PUBLIC_BASE_URL="$base" \
  YUNYIN_LOG=warn YUNYIN_SKIP_APP_BUILD=1 YUNYIN_MOBILE_DIR="$work/no-app" \
  YUNYIN_SIGNIN_MAX_PER_IP_PER_MINUTE=100000 \
  "$server" serve > "$work/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 1 150); do
  curl -fsS "$base/readyz" > /dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; echo "the server did not start" >&2; exit 1; }
  sleep 0.2
done

# JSON request helper: method path token body → response body (fails on a non-2xx answer).
call() {
  curl -sS --fail-with-body -X "$1" "$base$2" -H 'content-type: application/json' ${3:+-H "authorization: Bearer $3"} ${4:+-d "$4"}
}
field() { python3 -c "import json, sys; d = json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }

# The super admin: sign in with the one-time password, change it, sign in again.
one_time=$(sed -n 's/^ *one-time password: *//p' "$work/data/first-admin-password")
first=$(call POST /api/v1/admin-sessions "" "{\"username\":\"admin\",\"password\":\"$one_time\"}" | field "['tokens']['access_token']")
call PUT /api/v1/admins/me/password "$first" \
  "{\"current_password\":\"$one_time\",\"new_password\":\"Schemathesis-2026\"}" >&2
admin=$(call POST /api/v1/admin-sessions "" '{"username":"admin","password":"Schemathesis-2026"}' | field "['tokens']['access_token']")

# An enterprise and a user of it, so that the user's operations run with a user's token.
code=fuzzing01
call POST /api/v1/enterprises "$admin" \
  "{\"code\":\"$code\",\"name\":\"接口测试企业\",\"contact_name\":\"测试\",\"contact_phone\":\"13800000000\"}" >&2
user=$(call POST /api/v1/users "" \
  "{\"enterprise_code\":\"$code\",\"username\":\"fuzzer\",\"password\":\"Schemathesis-2026\"}" | field "['tokens']['access_token']")

# Operations that would end the run's own session or credential, not the API's contract.
exclude=(--exclude-operation-id session_sign_out --exclude-operation-id admin_change_password
         --exclude-operation-id user_change_password)
# One worker: schemathesis generates in threads, and CPython 3.11's parser can fail under
# them ("AST constructor recursion depth mismatch", a CPython bug), which is no finding here.
status=0
for who in admin user; do
  token=${!who}
  echo "schemathesis as the $who (${examples} examples per operation)"
  st --config-file scripts/schemathesis.toml run "$base/api/v1/openapi.json" --checks all -H "Authorization: Bearer $token" \
    --max-examples "$examples" --seed "${YUNYIN_SCHEMATHESIS_SEED:-20261204}" --workers 1 --no-shrink --output-sanitize false "${exclude[@]}" \
    --report junit --report-dir "$work/report-$who" || status=$?
done
exit $status
