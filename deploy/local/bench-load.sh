#!/usr/bin/env bash
# `pharos bench load` against each shape of installation, one after the other on this
# machine, with the same mix: the all-in-one binary on SQLite, the all-in-one binary on
# PostgreSQL (when DATABASE_URL is set: a scratch database beside it), and every target
# its own process behind nginx (deploy/local/run.sh, on a PostgreSQL of its own). Prints
# each run's figures, then one JSON line per shape.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds=20
clients=16
bin="${PHAROS_BIN:-$root/target/release/pharos}"

usage() {
    cat <<EOF
Usage: deploy/local/bench-load.sh [--seconds N] [--clients N] [--bin PATH]

Runs \`pharos bench load\` (80 % reads: GraphQL and pages; 20 % commands) against the
all-in-one binary on SQLite, on PostgreSQL when DATABASE_URL is set, and against the
multi-process layout of deploy/local/run.sh. Build first: cargo build --release -p pharos.

  --seconds N   each measurement's length (default $seconds)
  --clients N   concurrent clients (default $clients)
  --bin PATH    the pharos binary (default: PHAROS_BIN or target/release/pharos)
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --clients) clients="$2"; shift 2 ;;
        --bin) bin="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -x "$bin" ] || { echo "$bin is missing: cargo build --release -p pharos, or --bin" >&2; exit 1; }

work="$(mktemp -d)"
# run.sh's PostgreSQL runs as the postgres user: it must reach its directory inside.
chmod 755 "$work"
server=""
scratch=""
cleanup() {
    [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
    [ -n "$scratch" ] && psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS $scratch" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

export PHAROS_ADMIN_EMAIL=admin@ac-toulouse.fr
export PHAROS_ADMIN_PASSWORD="mesure-de-charge-$$"
export PHAROS_MASTER_KEY="$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')"
results=()

wait_ready() { # URL: polls /readyz, 90 s at most
    local deadline=$((SECONDS + 90))
    until curl -fsS -o /dev/null --max-time 2 "$1/readyz" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { echo "$1 did not become ready" >&2; exit 1; }
        sleep 0.2
    done
}

measure() { # URL LABEL
    local out
    out="$("$bin" bench load --url "$1" --label "$2" --seconds "$seconds" --clients "$clients")"
    echo "$out" | sed '$d'
    results+=("$(echo "$out" | tail -n 1)")
}

all_in_one() { # DATABASE-URL LABEL
    local dir="$work/$2"
    mkdir -p "$dir"
    (cd "$dir" && exec "$bin" serve --addr 127.0.0.1:18180 --database-url "$1") >"$dir/serve.log" 2>&1 &
    server=$!
    wait_ready http://127.0.0.1:18180
    measure http://127.0.0.1:18180 "$2"
    kill -TERM "$server"
    wait "$server" || true
    server=""
}

all_in_one "sqlite://$work/pharos.db" "tout-en-un SQLite"

if [ -n "${DATABASE_URL:-}" ]; then
    scratch="pharos_bench_load_$$"
    psql "$DATABASE_URL" -qc "CREATE DATABASE $scratch" >/dev/null
    all_in_one "${DATABASE_URL%/*}/$scratch" "tout-en-un PostgreSQL"
fi

# The layout starts its own PostgreSQL in its directory (DATABASE_URL unset for it).
(env -u DATABASE_URL PHAROS_BIN="$bin" "$here/run.sh" --port 18280 --pg-port 15433 \
    --smtp-port 12525 --dir "$work/layout") >"$work/layout.log" 2>&1 &
server=$!
deadline=$((SECONDS + 180))
until grep -q "Pharos ready" "$work/layout.log"; do
    kill -0 "$server" 2>/dev/null || { cat "$work/layout.log" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { cat "$work/layout.log" >&2; exit 1; }
    sleep 0.5
done
measure http://127.0.0.1:18280 "un processus par cible + nginx (PostgreSQL)"
kill -TERM "$server"
wait "$server" || true
server=""

echo
for line in "${results[@]}"; do echo "$line"; done
