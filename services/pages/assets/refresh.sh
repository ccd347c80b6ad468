#!/usr/bin/env bash
# Rebuilds vendor/ from the versions pinned in package-lock.json, so the embedded assets are
# reproducible. Run from anywhere: `services/pages/assets/refresh.sh`.
set -euo pipefail
cd "$(dirname "$0")"

# --ignore-scripts: @gouvfr/dsfr has a preinstall hook that only checks a licence-consent
# file; nothing needs building, and the copied files are the published dist/ bytes.
npm ci --ignore-scripts --no-audit --no-fund

dsfr=node_modules/@gouvfr/dsfr/dist
chart=node_modules/@gouvfr/dsfr-chart/dist/DSFRChart
htmx=node_modules/htmx.org/dist

rm -rf vendor
mkdir -p vendor/dsfr/utility/icons vendor/dsfr-chart

# DSFR keeps its dist/ layout under vendor/dsfr/ so the CSS's relative url()s still resolve.
cp "$dsfr/dsfr.min.css" "$dsfr/dsfr.module.min.js" "$dsfr/dsfr.nomodule.min.js" vendor/dsfr/
cp "$dsfr/utility/icons/icons.min.css" vendor/dsfr/utility/icons/
cp -r "$dsfr/favicon" vendor/dsfr/

# All components in one bundle: pages use several chart types and each per-chart bundle
# would carry its own copy of the Vue runtime.
cp "$chart/DSFRChart.js" "$chart/DSFRChart.css" vendor/dsfr-chart/
cp "$htmx/htmx.min.js" vendor/

# Copy exactly the files the CSS points at (icons, fonts): nothing unused, and no 404.
missing=0
while IFS= read -r css; do
  rel_dir=$(dirname "${css#vendor/dsfr/}")
  while IFS= read -r url; do
    src=$(realpath -m "$dsfr/$rel_dir/$url")
    dst=$(realpath -m "vendor/dsfr/$rel_dir/$url")
    if [[ -f "$src" ]]; then
      mkdir -p "$(dirname "$dst")"
      cp "$src" "$dst"
    else
      echo "missing: $url (referenced by $css)" >&2
      missing=1
    fi
  done < <(grep -o 'url([^)]*)' "$css" | sed -E 's/^url\(["'"'"']?//; s/["'"'"']?\)$//' |
    grep -v -E '^(data:|#|https?:|/)' | sed -E 's/[?#].*$//' | sort -u)
done < <(find vendor -name '*.css')

# Brotli at its best quality, once here rather than per request: the style sheets and
# scripts are most of a page's weight (src/assets.rs serves `<file>.br` to browsers that
# accept it).
node ./compress.mjs vendor

cp node_modules/@gouvfr/dsfr/LICENSE.md LICENSE.dsfr
cp node_modules/@gouvfr/dsfr-chart/LICENSE LICENSE.dsfr-chart
cp node_modules/htmx.org/LICENSE LICENSE.htmx

rm -rf node_modules
[[ $missing -eq 0 ]] || { echo "some url() targets are missing" >&2; exit 1; }
echo "vendor/: $(find vendor -type f | wc -l) files, $(du -sb vendor | cut -f1) bytes"
