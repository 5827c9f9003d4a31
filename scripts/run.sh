#!/usr/bin/env bash
# Start the whole exchange: migrate, then every Procfile process under honcho, then seed the
# demo data through the engine. Ctrl-C stops everything that was started.
set -euo pipefail
cd "$(dirname "$0")/.."
export PORT="${PORT:-8000}"
# The demo: the faucet and Django's debug pages, unless DEBUG is set otherwise.
export DEBUG="${DEBUG:-true}"

python manage.py preflight --port "$PORT"
python manage.py migrate --noinput --verbosity 0
python manage.py collectstatic --noinput --verbosity 0

# web first: honcho hands out PORT, PORT+100, ... in this order.
procs=(web engine worker beat)
if [ -z "${REDIS_URL:-}" ]; then
  procs+=(redis)
  echo "REDIS_URL is not set: starting a private Redis (data under var/redis)."
fi
if [ -z "${DATABASE_URL:-}" ]; then
  echo "DATABASE_URL is not set: using SQLite at var/exchange.sqlite3."
fi
# The demo market: bots quote and trade on every market through the REST API of the web
# process (SIMULATOR=0 turns them off).
if [ "${SIMULATOR:-1}" != "0" ]; then
  procs+=(simulator)
  case "${HOST:-127.0.0.1}" in 0.0.0.0|::|"") sim_host=127.0.0.1 ;; *) sim_host="${HOST:-127.0.0.1}" ;; esac
  export SIMULATOR_API_URL="${SIMULATOR_API_URL:-http://${sim_host}:${PORT}}"
  echo "Starting the market simulator (bots sim-maker-1, sim-maker-2, sim-taker); SIMULATOR=0 make run starts without it."
fi

honcho start -f Procfile "${procs[@]}" &
honcho_pid=$!
stop() { kill -INT "$honcho_pid" 2>/dev/null || true; wait "$honcho_pid" 2>/dev/null || true; exit 0; }
trap stop INT TERM

# The demo deposits go through the engine, so seeding waits for it to come up.
if python manage.py seed_demo --wait 90; then
  cat <<MSG

  Exchange running at http://127.0.0.1:${PORT}/
  API: http://127.0.0.1:${PORT}/api/v1/markets   websocket: ws://127.0.0.1:${PORT}/
  Logins: admin, alice, bob / password: ${DEMO_PASSWORD:-demo-password-123}   (Ctrl-C stops everything)

MSG
else
  echo "seeding the demo data failed; the exchange keeps running (see the engine's log above)" >&2
fi
wait "$honcho_pid"
