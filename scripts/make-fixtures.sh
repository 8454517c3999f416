#!/usr/bin/env bash
# Makes tests/fixtures/sqlite-v4.db and sqlite-v4.key: a small database written by the released
# veribind (schema version 4), for the test that upgrades it in place (sqlite_migration_test).
#
# Usage: scripts/make-fixtures.sh /path/to/released/veribind [output-dir]
#
# What it holds: two accounts, each bound to a phone (phone-linked) or an email (email-linked)
# after one wrong code and one right code; one lawful lookup (disclose), so the audit log has one
# entry and a head; one challenge still pending (started, never checked), and the rate-limit
# counters that the starts left. The dev console sender prints each code on stderr as JSON.
set -euo pipefail

veribind=${1:?usage: $0 /path/to/released/veribind [output-dir]}
out=${2:-$(dirname "$0")/../tests/fixtures}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/sqlite-v4.db"
key="$work/sqlite-v4.key"
common=(--db "$db" --key-file "$key" --json)

"$veribind" keygen "${common[@]}" >/dev/null

# start: prints the challenge on stdout and the delivered code on stderr.
start() {
  "$veribind" start "$@" "${common[@]}" >"$work/start.out" 2>"$work/start.err"
  challenge=$(jq -r .challenge "$work/start.out")
  code=$(jq -r .delivery.code "$work/start.err")
}

start --phone +923001234567
"$veribind" check --challenge "$challenge" --code 000000 "${common[@]}" >/dev/null || true
"$veribind" link --account acct-phone --challenge "$challenge" --code "$code" \
  --phone +923001234567 --policy phone-linked "${common[@]}" >/dev/null

start --email alice@example.com
"$veribind" check --challenge "$challenge" --code 000000 "${common[@]}" >/dev/null || true
"$veribind" link --account acct-email --challenge "$challenge" --code "$code" \
  --email alice@example.com --policy email-linked "${common[@]}" >/dev/null

"$veribind" disclose +923001234567 --authority "Test Authority" --reference "CASE-1" \
  --legal-basis "Test Act s.1" --requested-by "fixture script" "${common[@]}" >/dev/null

# A challenge left pending, so the upgrade has a challenge row to carry over.
start --email bob@example.com

# One file: fold the WAL into the database before copying it.
sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
[ "$(sqlite3 "$db" 'SELECT max(version) FROM schema_version')" = 4 ] || {
  echo "$0: the database is not at schema version 4" >&2
  exit 1
}
mkdir -p "$out"
cp "$db" "$out/sqlite-v4.db"
cp "$key" "$out/sqlite-v4.key"
chmod 0600 "$out/sqlite-v4.db" "$out/sqlite-v4.key"
echo "wrote $out/sqlite-v4.db and $out/sqlite-v4.key"
