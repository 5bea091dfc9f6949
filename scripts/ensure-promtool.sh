#!/bin/sh
# The alert-rule tests run `promtool test rules` (deploy/prometheus); install Debian's prometheus where missing.
set -e
command -v promtool >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's prometheus (for promtool) for the alert-rule tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
else
  echo "promtool is missing and cannot be installed here (need root and apt-get); alert-rule tests will fail" >&2
  exit 1
fi
