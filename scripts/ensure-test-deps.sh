#!/usr/bin/env bash
# System packages the test suite talks to: Redis (the shared 127.0.0.1:6379 and
# servers the tests start themselves), Chromium (browser tests), HAProxy (the
# compose load balancer config), Prometheus and promtool (dashboard and alert
# checks). Installs what is missing from Debian's packages when run as root;
# otherwise says what to install.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-test-deps: installing ${need[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "ensure-test-deps: missing ${need[*]}; install them (e.g. sudo apt-get install ${need[*]})" >&2
  fi
fi

# The shared Redis on 6379 that tests may use with their own key prefixes.
if command -v redis-server >/dev/null 2>&1 && ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  echo "ensure-test-deps: starting redis-server on 127.0.0.1:6379"
  mkdir -p /tmp/herald-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp/herald-redis --logfile /tmp/herald-redis/redis.log
fi
exit 0
