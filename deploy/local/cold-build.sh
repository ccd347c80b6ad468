#!/usr/bin/env bash
# The first build's figure: a cold `cargo build --release -p pharos` (what the README's run
# command builds) into an empty target directory, with cargo's timings. Prints the wall and
# CPU seconds and the slowest crates; the dependencies already downloaded are reused (only
# compilation is timed). Nothing else should run meanwhile: on 2 cores a busy core shows
# as minutes.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
keep=0
slowest=10
extra=()

usage() {
    cat <<EOF
Usage: deploy/local/cold-build.sh [--keep] [--slowest N] [-- CARGO_ARGS...]

Builds the release binary from nothing in a temporary target directory and prints wall
seconds, CPU seconds and the N slowest crates (default $slowest). CARGO_ARGS are passed to
cargo build (e.g. -- --config 'profile.release.codegen-units=16' to compare a profile).

  --keep        keep the target directory (its cargo-timings/ report) and print its path
  --slowest N   how many crates to list
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --keep) keep=1; shift ;;
        --slowest) slowest="$2"; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

target="$(mktemp -d "${TMPDIR:-/tmp}/pharos-cold-build.XXXXXX")"
if [ "$keep" = 0 ]; then
    trap 'rm -rf "$target"' EXIT
fi
cd "$root"
cargo fetch --locked --quiet --target "$(rustc -vV | sed -n 's/^host: //p')"
started="$(date +%s.%N)"
cpu_before="$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)"
CARGO_TARGET_DIR="$target" cargo build --release --locked -p pharos --timings "${extra[@]}" \
    >"$target/build.log" 2>&1 || { tail -n 30 "$target/build.log" >&2; exit 1; }
ended="$(date +%s.%N)"
# The children's CPU time (cargo, rustc, linkers, build scripts), in clock ticks.
cpu_after="$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)"
ticks="$(getconf CLK_TCK)"
report="$(ls -t "$target"/cargo-timings/cargo-timing-*.html | head -n 1)"

python3 - "$report" "$started" "$ended" "$cpu_before" "$cpu_after" "$ticks" "$slowest" <<'EOF'
import json, re, sys

report, started, ended, before, after, ticks, slowest = sys.argv[1:]
wall = float(ended) - float(started)
cpu = (float(after) - float(before)) / float(ticks)
units = []
match = re.search(r"const UNIT_DATA = (\[.*?\]);\n", open(report).read(), re.S)
if match:
    units = json.loads(match.group(1))
print(f"cold release build: {wall:.0f} s wall ({wall / 60:.1f} min), {cpu:.0f} s CPU, "
      f"{len(units)} units")
units.sort(key=lambda u: -u["duration"])
for unit in units[: int(slowest)]:
    target = unit.get("target", "").strip()
    print(f"  {unit['duration']:6.1f} s  from {unit['start']:6.1f} s  {unit['name']} {target}")
print(json.dumps({"wall_seconds": round(wall), "cpu_seconds": round(cpu),
                  "slowest": [{"crate": u["name"], "target": u.get("target", "").strip(),
                               "seconds": u["duration"]} for u in units[: int(slowest)]]}))
EOF
if [ "$keep" = 1 ]; then
    echo "target directory kept: $target (report: $report)"
fi
