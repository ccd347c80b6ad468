#!/usr/bin/env bash
# The figures of the « fast where people wait » targets, several runs in a row: `pharos
# bench eventstore` and `pharos bench registrations` on SQLite and on PostgreSQL (a
# scratch database beside DATABASE_URL), with the release binary. Prints one table, one
# row per run; each figure is a ratio or a rate measured within one run of one bench, so
# rows of a busy machine stay comparable. Every run's output is kept in the work
# directory named at the end.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
runs=3
database_url="${DATABASE_URL:-postgres://root@127.0.0.1:5432/test}"
eventstore_args=()
registrations_args=()

usage() {
    cat <<EOF
Usage: deploy/local/bench-all.sh [--runs N] [--eventstore-args "ARGS"] [--registrations-args "ARGS"]

Runs, RUNS times: pharos bench eventstore and pharos bench registrations, each on sqlite
then on postgres (a scratch database beside \$DATABASE_URL, default
postgres://root@127.0.0.1:5432/test). Builds the release binary first
(cargo build --release -p pharos) unless PHAROS_BIN names one.

  --runs N                  runs of each bench (default $runs)
  --eventstore-args ARGS    extra options of bench eventstore (e.g. "--replay-events 200000")
  --registrations-args ARGS extra options of bench registrations (e.g. "--registrations 2000")
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --eventstore-args) read -r -a eventstore_args <<<"$2"; shift 2 ;;
        --registrations-args) read -r -a registrations_args <<<"$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ -n "${PHAROS_BIN:-}" ]; then
    bin="$PHAROS_BIN"
else
    (cd "$root" && cargo build --release -p pharos)
    bin="$root/target/release/pharos"
fi
[ -x "$bin" ] || { echo "$bin is not an executable" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed to read the figures" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/pharos-bench-all.XXXXXX")"

# bench NAME RUN BACKEND [ARGS...]: the bench's last stdout line (its JSON figures) goes
# to $work/NAME-BACKEND-RUN.json, everything else beside it.
bench() {
    local name="$1" run="$2" backend="$3"
    shift 3
    local base="$work/$name-$backend-$run"
    local url=()
    [ "$backend" = postgres ] && url=(--database-url "$database_url")
    echo "run $run: bench $name --backend $backend $*" >&2
    if ! "$bin" bench "$name" --backend "$backend" "${url[@]}" "$@" >"$base.out" 2>"$base.err"; then
        echo "bench $name ($backend, run $run) failed; see $base.err:" >&2
        tail -n 20 "$base.err" >&2
        exit 1
    fi
    tail -n 1 "$base.out" >"$base.json"
}

for run in $(seq 1 "$runs"); do
    for backend in postgres sqlite; do
        bench eventstore "$run" "$backend" "${eventstore_args[@]}"
        bench registrations "$run" "$backend" "${registrations_args[@]}"
    done
done

python3 - "$work" "$runs" <<'EOF'
import json, sys

work, runs = sys.argv[1], int(sys.argv[2])

def figures(name, backend, run):
    with open(f"{work}/{name}-{backend}-{run}.json") as f:
        return json.load(f)

def get(d, key):
    value = d.get(key)
    return None if value is None else float(value)

def cpu_ratio(d):
    def total(key):
        cpu = d.get(key) or {}
        return (cpu.get("process_ms") or 0) + (cpu.get("postgres_ms") or 0)
    registration, append = total("cpu_per_registration"), total("cpu_per_append")
    return append / registration if registration and append else None

# (header, target, bench, backend, key or function of the figures)
columns = [
    ("ratio_8 pg", ">= 0.85", "eventstore", "postgres", "ratio_8"),
    # The same floor with the log's indexes: the store's code apart from its table, and
    # what the indexes cost the floor.
    ("append/indexed pg", "", "eventstore", "postgres", "ratio_8_indexed"),
    ("indexed/raw pg", "", "eventstore", "postgres", "indexes_ratio_8"),
    ("append_8 sqlite", ">= 15000", "eventstore", "sqlite", "append_8"),
    ("replay_memory pg", "", "eventstore", "postgres", "replay_memory"),
    ("read_floor pg", "", "eventstore", "postgres", "read_floor"),
    ("replay/floor pg", ">= 0.6", "eventstore", "postgres",
     lambda d: get(d, "replay_memory") / get(d, "read_floor")
     if get(d, "replay_memory") and get(d, "read_floor") else None),
    ("replay_table pg", ">= 300000", "eventstore", "postgres", "replay_table"),
    ("replay/floor sqlite", "", "eventstore", "sqlite",
     lambda d: get(d, "replay_memory") / get(d, "read_floor")
     if get(d, "replay_memory") and get(d, "read_floor") else None),
    ("registrations ratio pg", ">= 0.5", "registrations", "postgres", "ratio"),
    # A bare append's CPU over a registration's (this process and PostgreSQL): where the
    # cores are all busy, the registrations ratio cannot be above it.
    ("cpu ratio pg", "", "registrations", "postgres", cpu_ratio),
    ("registrations ratio sqlite", ">= 0.5", "registrations", "sqlite", "ratio"),
    ("cpu ratio sqlite", "", "registrations", "sqlite", cpu_ratio),
    ("sealed_ratio_8 pg", ">= 0.8", "eventstore", "postgres", "sealed_ratio_8"),
    ("sealed_ratio_8 sqlite", ">= 0.8", "eventstore", "sqlite", "sealed_ratio_8"),
]

def show(value):
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.0f}"

rows = [["run"] + [c[0] for c in columns], ["target"] + [c[1] for c in columns]]
for run in range(1, runs + 1):
    row = [str(run)]
    for _, _, name, backend, key in columns:
        d = figures(name, backend, run)
        row.append(show(key(d) if callable(key) else get(d, key)))
    rows.append(row)
widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
for i, r in enumerate(rows):
    print("  ".join(cell.rjust(w) for cell, w in zip(r, widths)))
    if i == 1:
        print("  ".join("-" * w for w in widths))
EOF
echo "outputs: $work" >&2
