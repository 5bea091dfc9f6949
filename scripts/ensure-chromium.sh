#!/bin/sh
# The browser tests drive Debian's Chromium through Playwright, with Debian's Noto CJK fonts so that
# Chinese pages render real glyphs (not empty boxes); install what is missing.
set -e
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing="$missing fonts-noto-cjk"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's$missing for the browser tests"
  # shellcheck disable=SC2086 # one word per package
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
  echo "missing:$missing; cannot install here (need root and apt-get); browser tests will fail" >&2
  exit 1
fi
