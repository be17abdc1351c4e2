#!/usr/bin/env bash
# Makes sure the local services the tests need are up, starting them when stopped.
# PostgreSQL, MariaDB and RabbitMQ on this machine are managed; a CHUTE_TEST_POSTGRES_URL,
# CHUTE_TEST_MYSQL_URL or CHUTE_TEST_AMQP_URL elsewhere is left alone.
set -euo pipefail

start_rabbitmq() {
  local url="${CHUTE_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2F}"
  case "$url" in
    *@127.0.0.1*|*@localhost*) ;;
    *) return 0 ;;
  esac
  if (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
    return 0
  fi
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    echo "services: RabbitMQ is not running and rabbitmq-server is not installed" >&2
    return 0  # the tests then skip, or fail under CHUTE_REQUIRE_SERVICES=1
  fi
  echo "services: starting RabbitMQ" >&2
  # a node whose app was stopped only needs start_app; a stopped node needs the server
  rabbitmqctl -q -t 15 start_app >/dev/null 2>&1 || rabbitmq-server -detached || true
  for _ in $(seq 1 60); do
    if (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
      return 0
    fi
    sleep 1
  done
  echo "services: RabbitMQ did not come up in 60 s" >&2
}
start_rabbitmq
bash "$(dirname "$0")/rabbitmq_tls.sh"  # a TLS listener (5671) for the amqps:// tests

start_mariadb() {
  local url="${CHUTE_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/mysql}"
  case "$url" in
    *@127.0.0.1*|*@localhost*|*://127.0.0.1*|*://localhost*) ;;
    *) return 0 ;;
  esac
  if (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; then
    return 0
  fi
  if [ ! -x /usr/sbin/mariadbd ]; then
    echo "services: MariaDB is not running and /usr/sbin/mariadbd is not installed" >&2
    return 0  # the tests then skip, or fail under CHUTE_REQUIRE_SERVICES=1
  fi
  echo "services: starting MariaDB" >&2
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --chuid mysql \
    --exec /usr/sbin/mariadbd -- --local-infile=1 || true
  for _ in $(seq 1 60); do
    if (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; then
      return 0
    fi
    sleep 1
  done
  echo "services: MariaDB did not come up in 60 s" >&2
}
start_mariadb

install_chromium() {
  # the web page's tests run in Debian's Chromium (not a service: a program they start)
  local chromium="${CHUTE_TEST_CHROMIUM:-/usr/bin/chromium}"
  if [ -x "$chromium" ] || [ "$chromium" != /usr/bin/chromium ]; then
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "services: no Chromium and no way to install it (apt-get install chromium)" >&2
    return 0  # the page's tests then skip, or fail under CHUTE_REQUIRE_SERVICES=1
  fi
  echo "services: installing Chromium (Debian's package) for the web page's tests" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 \
         && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; } \
    || echo "services: installing Chromium failed" >&2
}
install_chromium

url="${CHUTE_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
case "$url" in
  *@127.0.0.1*|*@localhost*|*://127.0.0.1*|*://localhost*) ;;
  *) exit 0 ;;
esac

if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  exit 0
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "services: PostgreSQL is not running and pg_ctlcluster is not installed" >&2
  exit 0  # the tests then skip, or fail under CHUTE_REQUIRE_SERVICES=1
fi
echo "services: starting PostgreSQL" >&2
for version in $(ls /etc/postgresql); do
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
done
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 -q && exit 0
  sleep 1
done
echo "services: PostgreSQL did not come up in 30 s" >&2
