#!/usr/bin/env bash
# Makes tests/fixtures/postgres-v4.sql and tests/fixtures/postgres-v4.key: a PostgreSQL database
# at schema version 4, written by the previous release's CLI (VERIBIND_LANDED, default
# /work/veribind-landed), that postgres_store_test loads into a fresh schema and upgrades in place.
#
#   bash scripts/make-pg-fixture.sh            # rewrites both files
#
# What it holds, all made by the previous release:
# - two accounts linked through its CLI against the server: acct-email (alice@example.com,
#   email-linked) and acct-phone (+14155552671, phone-linked), each after one wrong code;
# - one challenge still pending and its counters (rows the upgrade must keep or expire);
# - one audit entry (a lawful lookup of alice@example.com) with its head. The previous release's
#   `disclose` refuses a PostgreSQL URL, so the entry is made by its `disclose` on an SQLite file
#   with the same master key and copied row for row (same columns, same values: the MACs cover the
#   values, not the backend) into the PostgreSQL tables. The new code must find it and verify it.
#
# The dump is plain SQL (pg_dump --inserts) of the schema "veribind_v4"; the test replaces that
# name with a schema of its own. The key file is a test key: it protects nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
LANDED=${VERIBIND_LANDED:-/work/veribind-landed}
PGBIN=${VERIBIND_PGBIN:-/usr/lib/postgresql/15/bin}
out_sql=tests/fixtures/postgres-v4.sql
out_key=tests/fixtures/postgres-v4.key
work=$(mktemp -d /tmp/veribind-fixture-XXXXXX)
state=$work/pg
trap 'bash scripts/pg-test-server.sh stop "$state" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
bash scripts/pg-test-server.sh start "$state" -c fsync=off >/dev/null
port=$(cat "$state/port")
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d veribind "$@"; }
psql -c "CREATE SCHEMA veribind_v4"
url="postgresql://postgres@127.0.0.1:$port/veribind?options=-csearch_path%3Dveribind_v4"
key=$work/veribind.key
lite=$work/lite.db

"$LANDED" keygen --db "$url" --key-file "$key" --json >/dev/null

# start prints the challenge on stdout and the delivered code (console sender) on stderr.
start() {  # start DB --email X | --phone X  ->  "challenge code"
  local db=$1
  shift
  "$LANDED" start "$@" --db "$db" --key-file "$key" --json >"$work/out" 2>"$work/err"
  echo "$(jq -r .challenge "$work/out") $(jq -r .delivery.code "$work/err")"
}
wrong() {  # a code that is not $1
  if [[ ${1:0:1} == 0 ]]; then echo 100000; else echo 000000; fi
}
link() {  # link DB ACCOUNT POLICY --email X | --phone X
  local db=$1 account=$2 policy=$3
  shift 3
  read -r challenge code < <(start "$db" "$@")
  "$LANDED" check --challenge "$challenge" --code "$(wrong "$code")" --db "$db" --key-file "$key" \
    --json >/dev/null || true
  "$LANDED" link --account "$account" --challenge "$challenge" --code "$code" --policy "$policy" \
    "$@" --db "$db" --key-file "$key" --json >/dev/null
}

link "$url" acct-email email-linked --email alice@example.com
link "$url" acct-phone phone-linked --phone +14155552671
start "$url" --email bob@example.com >/dev/null  # left pending
"$LANDED" find --email alice@example.com --db "$url" --key-file "$key" --json

# The audit entry, by the previous release's disclose on SQLite (see above).
link "$lite" acct-email email-linked --email alice@example.com
"$LANDED" disclose alice@example.com --authority "Fixture Court" --reference "CASE-1" \
  --legal-basis "Fixture Act s.1" --requested-by "fixture-operator" --db "$lite" \
  --key-file "$key" --json >/dev/null
sqlite3 "$lite" "SELECT 'INSERT INTO veribind_v4.audit_log (sequence, time, authority, reference, \
legal_basis, requested_by, blind_index, key_version, channel, accounts_returned, mac_key_version, \
prev_mac, mac) VALUES (' || sequence || ', ' || time || ', ' || quote(authority) || ', ' || \
quote(reference) || ', ' || quote(legal_basis) || ', ' || quote(requested_by) || ', ''\\x' || \
hex(blind_index) || ''', ' || key_version || ', ' || channel || ', ' || accounts_returned || ', ' || \
mac_key_version || ', ''\\x' || hex(prev_mac) || ''', ''\\x' || hex(mac) || ''');' FROM audit_log \
ORDER BY sequence; SELECT 'INSERT INTO veribind_v4.audit_head (id, count, last_mac, \
mac_key_version, mac) VALUES (1, ' || count || ', ''\\x' || hex(last_mac) || ''', ' || \
mac_key_version || ', ''\\x' || hex(mac) || ''');' FROM audit_head;" >"$work/audit.sql"
psql -f "$work/audit.sql"

mkdir -p tests/fixtures
"$PGBIN/pg_dump" -h 127.0.0.1 -p "$port" -U postgres --schema=veribind_v4 --inserts \
  --no-owner --no-privileges veribind >"$out_sql"
cp "$key" "$out_key"
chmod 600 "$out_key"
echo "make-pg-fixture: wrote $out_sql and $out_key"
psql -At -c "SELECT 'bindings ' || count(*) FROM veribind_v4.bindings UNION ALL \
SELECT 'audit_log ' || count(*) FROM veribind_v4.audit_log UNION ALL \
SELECT 'challenges ' || count(*) FROM veribind_v4.challenges UNION ALL \
SELECT 'counters ' || count(*) FROM veribind_v4.counters"
