#!/usr/bin/env bash
# Build the Docker image and run it for real: web, worker and scheduler from the one image, on the
# host network, against this machine's PostgreSQL (127.0.0.1:5432, user postgres) and Redis
# (127.0.0.1:6379), with the fake Paperless on loopback. Checks that the processes run as non-root,
# that migrations ran, that the login page is served, that the HEALTHCHECK turns healthy, that the
# scheduler queues a sync which the worker runs from the fake Paperless (and the analysis after
# it), that an analysis started through the API completes, and that the scheduler stays alive.
# Then it removes what it started (containers, database, Redis keys, the fake, dockerd if it
# started it). Also validates compose.yml with docker-compose.
#
# No registry reachable (the usual case here): python:3.11-slim-bookworm is stood in by a local
# image, Debian bookworm from debootstrap with python3 and python3-venv and this machine's CA
# bundle, imported under that name. Its tarball is cached in $DEDUPE_IMAGE_CACHE
# (/var/cache/paperless-dedupe), so only the first run pays for debootstrap. The built image is
# kept as paperless-dedupe:image-test (and its build stage as :image-test-build) so the next build
# reuses their layers; older builds of ours are pruned.
#
#   ./dev image-test            (root, with docker.io, debootstrap and docker-compose installed)
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_IMAGE=python:3.11-slim-bookworm
IMAGE=paperless-dedupe:image-test
CACHE_DIR=${DEDUPE_IMAGE_CACHE:-/var/cache/paperless-dedupe}
STANDIN=$CACHE_DIR/bookworm-python3-standin-v1.tar.gz
MIRROR=${DEDUPE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PY=${DEDUPE_VENV:-.venv}/bin/python
RUN_ID=it$$
DB_NAME=dedupe_image_${RUN_ID}
REDIS_PREFIX=dedupe-image-${RUN_ID}
WORK=$(mktemp -d /tmp/dedupe-image-test.XXXXXX)
STARTED_DOCKERD=""
FAKE_PID=""
CONTAINERS=()
START=$(date +%s)

say() { printf '[image-test %4ss] %s\n' "$(($(date +%s) - START))" "$*"; }
fail() {
  say "FAILED: $*"
  for name in "${CONTAINERS[@]}"; do
    echo "---- docker logs $name (last 40 lines)"
    docker logs --tail 40 "$name" 2>&1 || true
  done
  exit 1
}

cleanup() {
  set +e
  for name in "${CONTAINERS[@]}"; do docker rm -f "$name" >/dev/null 2>&1; done
  [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null && wait "$FAKE_PID" 2>/dev/null
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB_NAME" >/dev/null 2>&1
  redis-cli -h 127.0.0.1 --scan --pattern "${REDIS_PREFIX}*" 2>/dev/null |
    xargs -r redis-cli -h 127.0.0.1 del >/dev/null 2>&1
  if [ -n "$STARTED_DOCKERD" ]; then
    kill "$STARTED_DOCKERD" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$STARTED_DOCKERD" 2>/dev/null || break; sleep 1; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- the engine -----------------------------------------------------------------------------------
for tool in docker dockerd docker-compose debootstrap psql redis-cli curl; do
  command -v "$tool" >/dev/null || fail "$tool is missing (apt install docker.io docker-compose debootstrap postgresql-client redis-tools curl)"
done
pg_isready -q -h 127.0.0.1 -p 5432 || fail "PostgreSQL is not running on 127.0.0.1:5432"
redis-cli -h 127.0.0.1 ping >/dev/null || fail "Redis is not running on 127.0.0.1:6379"
if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || fail "the Docker engine is not running (and starting it needs root)"
  say "starting dockerd"
  dockerd >"$WORK/dockerd.log" 2>&1 &
  STARTED_DOCKERD=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -20 "$WORK/dockerd.log"; fail "dockerd did not start"; }
fi
# The legacy builder: BuildKit would fetch its Dockerfile frontend from a registry.
export DOCKER_BUILDKIT=0

# --- compose.yml ----------------------------------------------------------------------------------
say "validating compose.yml"
(
  cd "$WORK"
  cp "$OLDPWD/compose.yml" .
  touch secret_key.txt paperless_token.txt admin_password.txt
  docker-compose -f compose.yml config -q
) || fail "docker-compose rejects compose.yml"

# --- the base image -------------------------------------------------------------------------------
make_standin() {
  say "no registry: making a stand-in for $BASE_IMAGE with debootstrap (cached in $CACHE_DIR)"
  local root="$WORK/rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log"; fail "debootstrap failed"; }
  ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
  # This machine's CA bundle, so pip in the build reaches the package index as the host does.
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
  mkdir -p "$CACHE_DIR"
  tar -C "$root" -czf "$STANDIN.partial" . && mv "$STANDIN.partial" "$STANDIN"
  rm -rf "$root"
}

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  say "base image $BASE_IMAGE is here"
elif timeout 60 docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
  say "pulled $BASE_IMAGE"
else
  [ -f "$STANDIN" ] || make_standin
  say "importing the stand-in $BASE_IMAGE from $STANDIN"
  docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'LABEL org.paperless-dedupe.standin=debootstrap-bookworm' \
    --change 'CMD ["python3"]' \
    "$STANDIN" "$BASE_IMAGE" >/dev/null
fi

# --- build ----------------------------------------------------------------------------------------
say "building $IMAGE"
# The build stage is tagged too: the legacy builder leaves it untagged otherwise, and pruning
# would then throw away the installed dependencies the next build reuses.
{ docker build --network host --target build -t "$IMAGE-build" . &&
  docker build --network host -t "$IMAGE" .; } >"$WORK/build.log" 2>&1 ||
  { tail -40 "$WORK/build.log"; fail "docker build failed"; }
# Earlier builds of ours that no tag names any more (only ours: by the image's label).
docker image prune -f --filter label=org.opencontainers.image.title=paperless-dedupe >/dev/null
say "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"

# --- services for it ------------------------------------------------------------------------------
psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE $DB_NAME" >/dev/null
FAKE_PORT=$(free_port)
WEB_PORT=$(free_port)
TOKEN=fake-token-$RUN_ID
"$PY" -m tests.fake_paperless --port "$FAKE_PORT" --documents 60 --token "$TOKEN" \
  >"$WORK/fake.log" 2>&1 &
FAKE_PID=$!
for _ in $(seq 60); do curl -sf -o /dev/null "http://127.0.0.1:$FAKE_PORT/api/" -H "Authorization: Token $TOKEN" && break; sleep 0.5; done

SECRET=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')
ENV_FILE=$WORK/app.env
cat >"$ENV_FILE" <<EOF
DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB_NAME
REDIS_URL=redis://127.0.0.1:6379/0
DEDUPE_REDIS_PREFIX=$REDIS_PREFIX
DEDUPE_SECRET_KEY=$SECRET
DEDUPE_ALLOWED_HOSTS=127.0.0.1,localhost
DEDUPE_SECURE_COOKIES=false
DEDUPE_SSL_REDIRECT=false
PAPERLESS_URL=http://127.0.0.1:$FAKE_PORT
PAPERLESS_API_TOKEN=$TOKEN
DEDUPE_ADMIN_USERNAME=admin
DEDUPE_ADMIN_PASSWORD=image-test-$SECRET
PORT=$WEB_PORT
EOF

run() {  # run NAME [docker run options ...] -- [command ...]
  local name=dedupe-$1-$RUN_ID
  shift
  CONTAINERS+=("$name")
  local options=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do options+=("$1"); shift; done
  shift || true
  docker run -d --name "$name" --network host --env-file "$ENV_FILE" "${options[@]}" \
    "$IMAGE" "$@" >/dev/null
}

state() { docker inspect -f "$2" "dedupe-$1-$RUN_ID"; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2
  shift 2
  local deadline=$(($(date +%s) + seconds))
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "$what (not within ${seconds}s)"
    sleep 1
  done
}

# --- web ------------------------------------------------------------------------------------------
say "starting web (the image's own command: migrate, admin, daphne)"
# The image's HEALTHCHECK command, polled every 3 s instead of 30 to keep the test short.
run web --health-interval 3s --
healthy() { [ "$(state web '{{.State.Health.Status}}')" = healthy ]; }
wait_for 180 "web turned healthy (HEALTHCHECK: manage.py probe live)" healthy
say "web is healthy"

[ "$(docker exec "dedupe-web-$RUN_ID" id -u)" != 0 ] || fail "web runs as root"
say "web runs as $(docker exec "dedupe-web-$RUN_ID" id -un) (uid $(docker exec "dedupe-web-$RUN_ID" id -u))"
pending=$(docker exec "dedupe-web-$RUN_ID" python manage.py showmigrations --plan | grep -c '^\[ \]' || true)
[ "$pending" = 0 ] || fail "$pending migrations did not run"
applied=$(psql -tA -h 127.0.0.1 -U postgres -d "$DB_NAME" -c "SELECT count(*) FROM django_migrations")
say "migrations ran ($applied applied)"
login=$(curl -sf "http://127.0.0.1:$WEB_PORT/accounts/login/") || fail "the login page is not served"
grep -q 'name="password"' <<<"$login" || fail "the login page has no login form"
say "login page served"
curl -sf "http://127.0.0.1:$WEB_PORT/static/css/app.css" -o /dev/null ||
  fail "static files (collected at build) are not served"

# --- worker and scheduler -------------------------------------------------------------------------
say "starting worker and scheduler"
run worker -- python manage.py rundramatiq --processes 1 --threads 2
run scheduler --health-cmd "python manage.py probe ready" --health-interval 5s -- \
  python manage.py scheduler
for name in worker scheduler; do
  [ "$(docker exec "dedupe-$name-$RUN_ID" id -u)" != 0 ] || fail "$name runs as root"
done

API_TOKEN=$(docker exec "dedupe-web-$RUN_ID" python manage.py shell -c "
from django.contrib.auth import get_user_model
from dedupe_project.models import ApiToken
print(ApiToken.issue(user=get_user_model().objects.get(username='admin'), name='image-test')[1])
" | tail -1)
api() { curl -sf -H "Authorization: Bearer $API_TOKEN" "$@"; }
job_field() {  # job_field KIND FIELD: FIELD of the newest job of KIND, or ""
  api "http://127.0.0.1:$WEB_PORT/api/jobs?kind=$1&limit=1" |
    "$PY" -c "import json, sys; items = json.load(sys.stdin)['items']; print(items[0]['$2'] if items else '')"
}
job_status() { [ "$(job_field "$1" status)" = "$2" ]; }
job_failed() { case "$(job_field "$1" status)" in failed | interrupted | cancelled) return 0 ;; esac; return 1; }

# The scheduler's first tick (5 s after start) finds no sync yet and queues one.
sync_queued() { [ -n "$(job_field sync id)" ]; }
wait_for 60 "the scheduler queued a sync" sync_queued
say "the scheduler queued sync job #$(job_field sync id)"
sync_done() { job_failed sync && fail "the sync failed: $(job_field sync error)"; job_status sync succeeded; }
wait_for 180 "the worker finished the sync" sync_done
say "the worker synced $(job_field sync result | grep -o "'created': [0-9]*" || true) documents from the fake Paperless"
analysis_done() { job_failed analysis && fail "the analysis failed: $(job_field analysis error)"; job_status analysis succeeded; }
wait_for 180 "the worker finished the analysis queued after the sync" analysis_done
started=$(api -X POST -H 'Content-Type: application/json' -d '{"full": true}' \
  "http://127.0.0.1:$WEB_PORT/api/analysis" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["id"])') ||
  fail "POST /api/analysis was refused"
wait_for 180 "the worker finished the full analysis started through the API" analysis_done
[ "$(job_field analysis id)" = "$started" ] || fail "the newest analysis is not the one started"
groups=$(api "http://127.0.0.1:$WEB_PORT/api/stats" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["groups"])')
[ "$groups" -gt 0 ] || fail "the analysis found no duplicate groups among the fake's planted ones"
say "analysis #$started through the API found $groups duplicate groups"

scheduler_healthy() { [ "$(state scheduler '{{.State.Health.Status}}')" = healthy ]; }
wait_for 60 "the scheduler's readiness probe turned healthy" scheduler_healthy
for name in web worker scheduler; do
  [ "$(state "$name" '{{.State.Running}}')" = true ] || fail "$name stopped"
  [ "$(state "$name" '{{.RestartCount}}')" = 0 ] || fail "$name restarted"
done
docker logs "dedupe-scheduler-$RUN_ID" 2>&1 | grep -q "scheduler started" || fail "the scheduler did not log its start"
say "web, worker and scheduler still running; the scheduler is healthy"
say "PASSED in $(($(date +%s) - START)) s"
