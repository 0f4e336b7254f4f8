#!/usr/bin/env bash
# Refreshes the README's screenshots of every example running in the designer (10x, after a few
# seconds), in a fresh profile under Xvfb with a window manager. Needs xvfb, openbox, imagemagick.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin eddy
profile=$(mktemp -d)
Xvfb :98 -screen 0 1280x800x24 >/dev/null 2>&1 &
xvfb=$!
sleep 1
DISPLAY=:98 openbox >/dev/null 2>&1 &
wm=$!
trap 'kill $wm $xvfb 2>/dev/null || true; rm -rf "$profile"' EXIT
sleep 1
for file in pipelines/*.ron; do
  name=$(basename "$file" .ron)
  env -u WAYLAND_DISPLAY DISPLAY=:98 XDG_DATA_HOME="$profile" EDDY_EXAMPLES_DIR="$profile/examples" \
    ./target/release/eddy open "$file" --run >/dev/null 2>&1 &
  app=$!
  sleep "${WAIT:-8}"
  DISPLAY=:98 import -window root "assets/screenshots/run-$name.png"
  kill "$app" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
  echo "assets/screenshots/run-$name.png"
done
