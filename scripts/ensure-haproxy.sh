#!/bin/sh
# The cluster test puts a real load balancer (haproxy, TCP mode) in front of three hubs; install Debian's.
set -e
command -v haproxy >/dev/null 2>&1 && exit 0
[ -x /usr/sbin/haproxy ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's haproxy for the cluster test"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null
else
  echo "haproxy is missing and cannot be installed here (need root and apt-get); the cluster test will fail" >&2
  exit 1
fi
