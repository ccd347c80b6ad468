#!/usr/bin/env bash
# Pharos as production runs it, on one machine: every target its own `pharos serve`
# process on PostgreSQL, an SMTP sink, nginx on one public port routing each request to
# its target (deploy/nginx/pharos.conf.template, the template compose and Kubernetes use).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
template="$root/deploy/nginx/pharos.conf.template"
# The descriptor table's order (services/pharos/src/targets.rs; tests/deploy.rs checks it).
targets=(directory trainings cohorts national-day contests phare read-model reminders pages)

port=8080
first_port=""
smtp_port=2525
pg_port=5433
dir="$root/data/local"
bin="${PHAROS_BIN:-}"
check=0

usage() {
    cat <<EOF
Usage: deploy/local/run.sh [options]

Starts PostgreSQL (unless DATABASE_URL is set), an SMTP sink (unless PHAROS_SMTP_URL is
set), every Pharos target as its own process on its own port, and nginx on one public
port. Ctrl-C (or SIGTERM) stops everything.

Options:
  --port N         public port, nginx (default $port)
  --first-port N   the targets listen on N, N+1, ... (default: public port + 1)
  --smtp-port N    the SMTP sink's port (default $smtp_port)
  --pg-port N      the PostgreSQL started here (default $pg_port)
  --dir DIR        state: database, master key, files, mails, logs (default data/local)
  --bin PATH       the pharos binary (default: PHAROS_BIN, target/release/pharos,
                   target/debug/pharos, then pharos on PATH)
  --check          render the nginx configuration, test it (nginx -t) and exit
  -h, --help       this help

Environment: DATABASE_URL (postgres://...), PHAROS_SMTP_URL, and any PHAROS_* setting
(pharos serve --help), passed to every target. The first administrator is
PHAROS_ADMIN_EMAIL (default admin@ac-toulouse.fr); without PHAROS_ADMIN_PASSWORD its
password is printed once in DIR/logs/directory.log.
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --port) port="$2"; shift 2 ;;
        --first-port) first_port="$2"; shift 2 ;;
        --smtp-port) smtp_port="$2"; shift 2 ;;
        --pg-port) pg_port="$2"; shift 2 ;;
        --dir) dir="$2"; shift 2 ;;
        --bin) bin="$2"; shift 2 ;;
        --check) check=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
first_port="${first_port:-$((port + 1))}"

nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$nginx_bin" ] || { echo "nginx is missing: apt-get install -y nginx" >&2; exit 1; }

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
mkdir -p "$dir/nginx/tmp" "$dir/logs" "$dir/files" "$dir/outbox" "$dir/mails"

target_port() {
    local i
    for i in "${!targets[@]}"; do
        [ "${targets[$i]}" = "$1" ] && { echo $((first_port + i)); return; }
    done
    return 1
}

# The template with its placeholders filled (sed: no envsubst needed).
render() {
    local script=(-e "s|\${LISTEN}|127.0.0.1:$port|g" -e "s|\${ACCESS_LOG}|$dir/nginx/access.log|g")
    local t upper
    for t in "${targets[@]}"; do
        upper="$(echo "$t" | tr 'a-z-' 'A-Z_')"
        script+=(-e "s|\${UPSTREAM_$upper}|127.0.0.1:$(target_port "$t")|g")
    done
    sed "${script[@]}" "$template" >"$dir/nginx/pharos.conf"
    local user=""
    [ "$(id -u)" = 0 ] && user="user root;"
    cat >"$dir/nginx/nginx.conf" <<EOF
$user
worker_processes 2;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 1024; }
http {
    client_body_temp_path $dir/nginx/tmp/body;
    proxy_temp_path $dir/nginx/tmp/proxy;
    fastcgi_temp_path $dir/nginx/tmp/fastcgi;
    uwsgi_temp_path $dir/nginx/tmp/uwsgi;
    scgi_temp_path $dir/nginx/tmp/scgi;
    include $dir/nginx/pharos.conf;
}
EOF
}

nginx_args=(-p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log")
render
if [ "$check" = 1 ]; then
    "$nginx_bin" -t -q "${nginx_args[@]}"
    echo "nginx configuration OK: $dir/nginx/nginx.conf"
    exit 0
fi

if [ -z "$bin" ]; then
    for candidate in "$root/target/release/pharos" "$root/target/debug/pharos" "$(command -v pharos || true)"; do
        [ -n "$candidate" ] && [ -x "$candidate" ] && { bin="$candidate"; break; }
    done
fi
[ -n "$bin" ] && [ -x "$bin" ] || { echo "no pharos binary: cargo build --release -p pharos, or --bin" >&2; exit 1; }

pids=()
pg_data=""
as_postgres=()
stopping=0
cleanup() {
    [ "$stopping" = 1 ] && return
    stopping=1
    trap '' INT TERM
    echo "stopping..."
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$pg_data" ]; then
        "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM

wait_for() { # URL WHAT: polls until it answers 2xx, 120 s at most
    local deadline=$((SECONDS + 120))
    until curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
            echo "$2 did not become ready (see $dir/logs)" >&2
            exit 1
        fi
        sleep 0.2
    done
}

if [ -z "${DATABASE_URL:-}" ]; then
    pg_bin="$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -x "$pg_bin/initdb" ] || { echo "PostgreSQL is missing (apt-get install -y postgresql) and DATABASE_URL is unset" >&2; exit 1; }
    pg_data="$dir/postgres"
    # postgres-run: its socket and log, writable by the server's user.
    mkdir -p "$pg_data" "$dir/postgres-run"
    # PostgreSQL refuses to run as root.
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$pg_data" "$dir/postgres-run"
        as_postgres=(runuser -u postgres --)
    fi
    if [ ! -f "$pg_data/PG_VERSION" ]; then
        "${as_postgres[@]}" "$pg_bin/initdb" -D "$pg_data" -A trust -U pharos >"$dir/logs/initdb.log"
    fi
    "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -l "$dir/postgres-run/postgres.log" -w \
        -o "-p $pg_port -k $dir/postgres-run -c listen_addresses=127.0.0.1" start >/dev/null
    "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U pharos pharos 2>/dev/null || true
    export DATABASE_URL="postgres://pharos@127.0.0.1:$pg_port/pharos"
    echo "PostgreSQL on 127.0.0.1:$pg_port (data in $pg_data)"
fi

if [ -z "${PHAROS_SMTP_URL:-}" ]; then
    python3 "$here/smtp_sink.py" "$smtp_port" "$dir/mails" >"$dir/logs/smtp.log" 2>&1 &
    pids+=($!)
    export PHAROS_SMTP_URL="smtp://127.0.0.1:$smtp_port"
    echo "SMTP sink on 127.0.0.1:$smtp_port (mails in $dir/mails)"
fi

# Every process shares the master key; created once, keep it with the database.
if [ -z "${PHAROS_MASTER_KEY:-}" ] && [ -z "${PHAROS_MASTER_KEY_FILE:-}" ]; then
    if [ ! -s "$dir/master.key" ]; then
        (umask 077 && head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >"$dir/master.key")
    fi
    export PHAROS_MASTER_KEY_FILE="$dir/master.key"
fi
export PHAROS_DATABASE_URL="$DATABASE_URL"
export PHAROS_API_URL="${PHAROS_API_URL:-http://127.0.0.1:$port}"
export PHAROS_PUBLIC_URL="${PHAROS_PUBLIC_URL:-http://127.0.0.1:$port}"
export PHAROS_TRUST_FORWARDED_FOR=true
# Nine pools under PostgreSQL's 100 connections.
export PHAROS_MAX_CONNECTIONS="${PHAROS_MAX_CONNECTIONS:-8}"
export PHAROS_FILES_DIR="${PHAROS_FILES_DIR:-$dir/files}"
export PHAROS_OUTBOX_DIR="${PHAROS_OUTBOX_DIR:-$dir/outbox}"
export PHAROS_ADMIN_EMAIL="${PHAROS_ADMIN_EMAIL:-admin@ac-toulouse.fr}"

"$bin" migrate >"$dir/logs/migrate.log" 2>&1 || { cat "$dir/logs/migrate.log" >&2; exit 1; }
for t in "${targets[@]}"; do
    "$bin" serve --target "$t" --addr "127.0.0.1:$(target_port "$t")" >"$dir/logs/$t.log" 2>&1 &
    pids+=($!)
    # directory first: it creates the first administrator.
    [ "$t" = directory ] && wait_for "http://127.0.0.1:$(target_port "$t")/readyz" "$t"
done
for t in "${targets[@]}"; do
    wait_for "http://127.0.0.1:$(target_port "$t")/readyz" "$t"
done

"$nginx_bin" "${nginx_args[@]}" -g 'daemon off;' &
pids+=($!)
for t in "${targets[@]}"; do
    wait_for "http://127.0.0.1:$port/api/v1/targets/$t" "nginx -> $t"
done

echo "Pharos ready on http://127.0.0.1:$port (logs in $dir/logs; Ctrl-C stops everything)"
# Any process ending on its own stops the rest.
set +e
wait -n "${pids[@]}"
status=$?
[ "$stopping" = 1 ] && exit 0
echo "a process exited ($status): stopping everything (see $dir/logs)" >&2
exit 1
