# shellcheck shell=bash
# A throwaway PostgreSQL 15 cluster on a unix socket, for tests and the demo.
# Source this file, call cl_pg_start DIR_PREFIX, and cl_pg_stop on exit.
# cl_pg_start exports PGHOST, PGPORT, PGUSER and PGDATABASE.
# CL_PG_SHARED_BUFFERS sizes the server's cache (default 256MB), for experiments.

CL_PG_BIN=${CL_PG_BIN:-/usr/lib/postgresql/15/bin}
CL_PG_DIR=${CL_PG_DIR:-}

# Run a command as the cluster's owner (postgres when we are root: initdb
# refuses to run as root).
cl_pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

# cl_pg_start NAME: initdb in a fresh temporary folder and start the server.
cl_pg_start() {
  local name=${1:-careledger}
  CL_PG_DIR=$(mktemp -d "/tmp/${name}-pg.XXXXXX")
  chmod 755 "$CL_PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$CL_PG_DIR"; fi
  # A port number only names the socket file; pick one unlikely to clash.
  local port=$(( 20000 + RANDOM % 20000 ))
  cl_pg_as_owner "$CL_PG_BIN/initdb" -D "$CL_PG_DIR/data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$CL_PG_DIR/initdb.log" 2>&1 \
    || { cat "$CL_PG_DIR/initdb.log" >&2; return 1; }
  cl_pg_as_owner "$CL_PG_BIN/pg_ctl" -D "$CL_PG_DIR/data" -l "$CL_PG_DIR/server.log" -w -t 60 \
    -o "-k $CL_PG_DIR -p $port -c listen_addresses='' -c max_connections=200 -c shared_buffers=${CL_PG_SHARED_BUFFERS:-256MB}" \
    start >/dev/null || { cat "$CL_PG_DIR/server.log" >&2; return 1; }
  export PGHOST=$CL_PG_DIR PGPORT=$port PGUSER=postgres PGDATABASE=postgres CL_PG_DIR
  echo "postgres: throwaway cluster at $CL_PG_DIR (port $port)"
}

# cl_pg_stop: stop the server and remove its folder (safe to call twice).
cl_pg_stop() {
  [ -n "$CL_PG_DIR" ] && [ -d "$CL_PG_DIR" ] || return 0
  cl_pg_as_owner "$CL_PG_BIN/pg_ctl" -D "$CL_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$CL_PG_DIR"
  CL_PG_DIR=
}

