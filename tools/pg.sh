#!/usr/bin/env bash
# A private PostgreSQL cluster for the app service (the AppPlatform's database): Debian's `postgresql`
# package, data under target/, listening on a free loopback port only, run as the `postgres` user
# (PostgreSQL refuses to run as root).
#
# Sourced by build.sh (pg_ensure, pg_start, pg_stop) or run on its own:
#   tools/pg.sh start [DIR]   start (initdb on first use) and print the URL, e.g. postgres://postgres@127.0.0.1:5433/postgres
#   tools/pg.sh stop [DIR]    stop it
#   tools/pg.sh url [DIR]     the URL of the running cluster (exit 1 when it is not running)
# DIR defaults to target/pg. The cluster trusts loopback connections: it holds test data only and listens on
# 127.0.0.1 only, with no Unix socket.

PG_DEFAULT_DIR=target/pg

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ]; then
      printf '%s\n' "$d"
      return 0
    fi
  done
  return 1
}

pg_ensure() {
  pg_bin >/dev/null && return 0
  printf '\n==> %s\n' "installing postgresql" >&2
  if declare -F apt_install >/dev/null; then
    apt_install postgresql
  else
    [ "$(id -u)" -eq 0 ] || { echo "pg.sh: install postgresql first (apt-get install postgresql)" >&2; return 1; }
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  # Debian's package starts its own cluster on 5432; ours does not need it.
  pg_bin >/dev/null
}

# Runs a command as the postgres user when we are root (else as ourselves).
pg_as() {
  if [ "$(id -u)" -eq 0 ]; then
    # From /: postgres may not be allowed into the current directory.
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

pg_url_of() {
  local dir=${1:-$PG_DEFAULT_DIR} port
  [ -f "$dir/port" ] || return 1
  port=$(cat "$dir/port")
  [ -n "$port" ] && (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 1
  printf 'postgres://postgres@127.0.0.1:%s/postgres\n' "$port"
}

# A port nobody listens on (PostgreSQL cannot be given port 0; start retries on a collision).
pg_free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 30000))
    (: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { printf '%s\n' "$p"; return 0; }
  done
  return 1
}

# Starts the cluster in DIR (created on first use) unless it runs; prints its URL on stdout.
pg_start() {
  local dir=${1:-$PG_DEFAULT_DIR} bin data port t0 t1
  pg_ensure || return 1
  bin=$(pg_bin)
  if pg_url_of "$dir"; then
    return 0
  fi
  t0=$(date +%s%N)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # The server runs as postgres, which must be able to reach its data directory. Under a checkout it may not
  # (a clone below a root-only directory, e.g. mktemp -d): then the data lives in a postgres-owned directory
  # under /tmp named after this one, and nothing above the checkout is touched.
  local home=$dir
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
  if ! pg_as test -w "$dir" 2>/dev/null; then
    home="${TMPDIR:-/tmp}/kuando-pg-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)"
    mkdir -p "$home"
    chmod 700 "$home"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$home"; fi
  fi
  data="$home/data"
  printf '%s\n' "$data" >"$dir/datadir"
  if [ ! -f "$data/PG_VERSION" ]; then
    pg_as "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { echo "pg.sh: initdb failed:" >&2; cat "$dir/initdb.log" >&2; return 1; }
  fi
  for _ in 1 2 3 4 5; do
    port=$(pg_free_port) || break
    # Test data only: no fsync, no Unix socket, loopback only.
    if pg_as "$bin/pg_ctl" -D "$data" -l "$home/server.log" -w -t 30 start \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      >/dev/null 2>&1; then
      printf '%s\n' "$port" >"$dir/port"
      t1=$(date +%s%N)
      printf 'PostgreSQL started on 127.0.0.1:%s in %d ms (%s)\n' "$port" $(((t1 - t0) / 1000000)) "$dir" >&2
      pg_url_of "$dir"
      return 0
    fi
  done
  echo "pg.sh: PostgreSQL did not start; its log:" >&2
  tail -n 30 "$home/server.log" >&2
  return 1
}

pg_stop() {
  local dir=${1:-$PG_DEFAULT_DIR} bin
  bin=$(pg_bin) || return 0
  local data
  data=$(cat "$dir/datadir" 2>/dev/null) || data="$(cd "$dir" 2>/dev/null && pwd)/data"
  [ -f "$data/postmaster.pid" ] || return 0
  pg_as "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  rm -f "$dir/port"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  case "${1:-}" in
    start) pg_start "${2:-}" ;;
    stop) pg_stop "${2:-}" ;;
    url) pg_url_of "${2:-}" ;;
    *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
fi
