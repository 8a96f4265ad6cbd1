#!/usr/bin/env bash
# Start a local PostgreSQL for the tests of seawatch.share and print the URL to export.
#
#   eval "$(.ci/pg-setup.sh)"        # sets SEAWATCH_TEST_PG for this shell
#
# Idempotent: installs Debian's `postgresql` only when absent, creates and starts the
# newest installed cluster `main` only when needed, creates the role and database only when
# missing. Runs as root (no sudo); talks to the server as the `postgres` system user.
# Progress goes to stderr; stdout is the single `export SEAWATCH_TEST_PG=...` line.
# Exit status is non-zero when no server could be made ready (the PostgreSQL tests then skip
# if the caller goes on without SEAWATCH_TEST_PG).
#
# Settings (environment, optional): SEAWATCH_PG_USER (seawatch), SEAWATCH_PG_PASSWORD
# (seawatch), SEAWATCH_PG_DB (seawatch_test), SEAWATCH_PG_WAIT_S (60).
set -euo pipefail
# Stdout carries the export line alone: every step runs inside `setup` with its stdout sent to
# stderr, so a tool's own chatter (apt-get, pg_ctlcluster's "Removed stale pid file", psql
# notices) cannot reach the caller's eval. (No extra descriptor is opened for the line: the
# server started here would inherit it and keep the caller's $(...) waiting forever.)

PG_USER="${SEAWATCH_PG_USER:-seawatch}"
PG_PASSWORD="${SEAWATCH_PG_PASSWORD:-seawatch}"
PG_DB="${SEAWATCH_PG_DB:-seawatch_test}"
WAIT_S="${SEAWATCH_PG_WAIT_S:-60}"

log() { echo "== pg-setup: $*" >&2; }
die() { echo "== pg-setup: ERROR: $*" >&2; exit 1; }

for name in "$PG_USER" "$PG_DB"; do
    [[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]] || die "bad name '$name' (lower-case letters, digits, _)"
done
[[ "$PG_PASSWORD" != *"'"* ]] || die "the password must not contain a single quote"
[[ "$(id -u)" == 0 ]] || die "run as root (it installs packages and acts as the postgres user)"

setup() {
# 1. install the server (Debian) when absent
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null; then
    log "installing postgresql (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q postgresql >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; } \
        || die "apt-get install postgresql failed"
fi

# 2. the newest installed version, its cluster `main`, started
VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
[[ -n "$VERSION" ]] || die "no PostgreSQL version under /usr/lib/postgresql"
if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" {found=1} END {exit !found}'; then
    log "creating cluster $VERSION/main"
    pg_createcluster "$VERSION" main >/dev/null
fi
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" {print $3}')"
STATUS="$(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" {print $4}')"
if [[ "$STATUS" != online* ]]; then
    log "starting cluster $VERSION/main on port $PORT"
    pg_ctlcluster "$VERSION" main start || die "pg_ctlcluster $VERSION main start failed"
else
    log "cluster $VERSION/main already running on port $PORT"
fi

# 3. wait until it accepts connections
for _ in $(seq 1 "$WAIT_S"); do
    pg_isready -q -h 127.0.0.1 -p "$PORT" && break
    sleep 1
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || die "server on port $PORT not ready after ${WAIT_S}s"

# 4. role and database, idempotently
as_postgres() { (cd /tmp && su postgres -s /bin/sh -c "$1"); }
psql_q() { as_postgres "psql -X -q -v ON_ERROR_STOP=1 -p $PORT -tAc \"$1\""; }
if [[ "$(psql_q "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" == 1 ]]; then
    psql_q "ALTER ROLE $PG_USER WITH LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
else
    log "creating role $PG_USER"
    psql_q "CREATE ROLE $PG_USER WITH LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
fi
if [[ "$(psql_q "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]]; then
    log "creating database $PG_DB"
    psql_q "CREATE DATABASE $PG_DB OWNER $PG_USER"
fi

# 5. check the URL works with a password over TCP, then print it
PGPASSWORD="$PG_PASSWORD" psql -X -q -h 127.0.0.1 -p "$PORT" -U "$PG_USER" -d "$PG_DB" -tAc "SELECT 1" >/dev/null \
    || die "cannot log in as $PG_USER over TCP (check pg_hba.conf allows password auth on 127.0.0.1)"
log "ready: PostgreSQL $VERSION on 127.0.0.1:$PORT, database $PG_DB, role $PG_USER"
echo "$PORT" > "$PORT_FILE"
}

PORT_FILE="$(mktemp)"
trap 'rm -f "$PORT_FILE"' EXIT
setup >&2
PORT="$(cat "$PORT_FILE")"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "no port found"
echo "export SEAWATCH_TEST_PG=postgresql+psycopg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PORT/$PG_DB"
