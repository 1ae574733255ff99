#!/usr/bin/env bash
# Installs what the project needs outside npm on a Debian/Ubuntu machine, and starts Redis
# when none answers. Used by scripts/setup-and-run.sh and by CI (.ci/run).
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_install() {
  [ "$apt_updated" = 1 ] || { as_root apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

# Port's jq bindings compile jq from source at `npm ci`.
missing=()
for tool in autoconf automake libtoolize make g++ python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing build tools (missing: ${missing[*]})"
  apt_install autoconf automake libtool make g++ python3
fi

# The service and the tests talk to a real Redis.
if ! redis-cli ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null 2>&1 || { echo "installing redis-server"; apt_install redis-server; }
  # Append-only, as README asks of the Redis the service uses: a restart keeps what was acknowledged.
  redis_dir="${XDG_STATE_HOME:-$HOME/.local/state}/changelog-reactor-redis"
  mkdir -p "$redis_dir"
  echo "starting redis-server on 127.0.0.1:6379 (append-only, data in $redis_dir)"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --dir "$redis_dir" --save "" --appendonly yes --appendfsync everysec
  for _ in $(seq 1 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli ping >/dev/null
fi

# The Kafka source tests talk to librdkafka's mock cluster, which Debian's kcat serves.
command -v kcat >/dev/null 2>&1 || { echo "installing kcat"; apt_install kcat; }
