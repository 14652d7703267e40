#!/usr/bin/env bash
# PostgreSQL for the fleet store suites in CI; prints the URL to use (FLEET_TEST_DATABASE_URL).
# Reuses a server that already answers at that URL; otherwise installs postgresql when missing
# and starts a throwaway cluster: initdb as the postgres user (the server refuses to run as
# root), trust auth, loopback only, a free port, its own socket dir, then creates database `test`.
# Needs no systemd and does not touch the distribution's own cluster.
set -euo pipefail
url=${FLEET_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -d "$url" && psql "$url" -qtAc 'SELECT 1' >/dev/null 2>&1; then
  echo "$url"
  exit 0
fi
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  echo "ci: installing postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
dir=$(mktemp -d /tmp/ci-postgres.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres: "$dir"
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >/dev/null
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >/dev/null
as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres test
echo "ci: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data $dir/data)" >&2
echo "postgres://postgres@127.0.0.1:$port/test"
