#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server (Debian's postgresql-15) on a free loopback port, for the
# tests and the benchmarks. Its data lives under /tmp; STATE_DIR (anywhere) records where.
#
#   pg-test-server.sh start  STATE_DIR [-c name=value ...]  new server; writes STATE_DIR/conninfo
#   pg-test-server.sh stop   STATE_DIR    stops it and deletes its data (no-op if none)
#   pg-test-server.sh pause  STATE_DIR    stops it (fast shutdown), keeps its data and port
#   pg-test-server.sh resume STATE_DIR    starts it again on the same port
#
# Run as root (CI), the server runs as the postgres user (runuser); run as another user, as that
# user. Authentication is "trust" and the server listens on 127.0.0.1 only. Exits non-zero, with
# the server's log, if the server cannot be started.
set -euo pipefail
PGBIN=${VERIBIND_PGBIN:-/usr/lib/postgresql/15/bin}
if (($# < 2)); then
  echo "usage: $0 start|stop|pause|resume STATE_DIR [-c name=value ...]" >&2
  exit 2
fi
command=$1
state=$2
shift 2

as_server_user() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts the server in $root/data on $port with the settings in $state/settings.
pg_start() {
  local root=$1 port=$2
  local settings
  settings=$(cat "$state/settings")
  as_server_user "$PGBIN/pg_ctl" -D "$root/data" -l "$root/log" -w -t 60 -s \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$root $settings" start
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case $command in
  start)
    if [[ ! -x $PGBIN/initdb ]]; then
      echo "pg-test-server: $PGBIN/initdb not found: install postgresql-15 (scripts/deps.sh)" >&2
      exit 1
    fi
    bash "$0" stop "$state" || true  # a server left over from an interrupted run
    mkdir -p "$state"
    root=$(mktemp -d /tmp/veribind-pg-XXXXXX)
    echo "$root" >"$state/root"
    echo "$*" >"$state/settings"
    if [[ $(id -u) == 0 ]]; then chown postgres: "$root"; fi
    if ! as_server_user "$PGBIN/initdb" -D "$root/data" -U postgres -A trust -E UTF8 \
      --locale=C --no-sync >"$state/initdb.log" 2>&1; then
      cat "$state/initdb.log" >&2
      echo "pg-test-server: initdb failed" >&2
      exit 1
    fi
    started=
    for _ in 1 2 3 4 5 6 7 8; do
      port=$((20000 + RANDOM % 40000))
      port_in_use "$port" && continue
      if pg_start "$root" "$port"; then
        started=1
        break
      fi
      # Another program may have taken the port in between: try another one.
      grep -q "could not bind" "$root/log" 2>/dev/null || break
    done
    if [[ -z $started ]]; then
      cat "$root/log" >&2 || true
      echo "pg-test-server: the server did not start" >&2
      exit 1
    fi
    echo "$port" >"$state/port"
    as_server_user "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U postgres veribind
    echo "postgresql://postgres@127.0.0.1:$port/veribind" >"$state/conninfo"
    echo "pg-test-server: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on" \
      "127.0.0.1:$port, data in $root/data"
    ;;
  stop)
    [[ -f $state/root ]] || exit 0
    root=$(cat "$state/root")
    if [[ -f $root/data/postmaster.pid ]]; then
      as_server_user "$PGBIN/pg_ctl" -D "$root/data" -m immediate -w -s stop || true
    fi
    rm -rf "$root"
    rm -f "$state/root" "$state/port" "$state/conninfo" "$state/settings" "$state/initdb.log"
    ;;
  pause)
    root=$(cat "$state/root")
    as_server_user "$PGBIN/pg_ctl" -D "$root/data" -m fast -w -s stop
    ;;
  resume)
    root=$(cat "$state/root")
    pg_start "$root" "$(cat "$state/port")"
    ;;
  *)
    echo "pg-test-server: unknown command $command" >&2
    exit 2
    ;;
esac
