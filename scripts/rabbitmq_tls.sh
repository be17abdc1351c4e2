#!/usr/bin/env bash
# Gives the local RabbitMQ a TLS listener (127.0.0.1:5671) for the amqps:// tests, with
# certificates made here: a certificate authority, the broker's certificate (localhost and
# 127.0.0.1) and a client certificate whose common name is a user that logs in with
# EXTERNAL (the rabbitmq_auth_mechanism_ssl plugin). Run by scripts/services.sh; does
# nothing when the listener is up with these certificates, or for a broker elsewhere.
#
#   CHUTE_TEST_TLS_DIR   where the certificates go (default /var/lib/rabbitmq/chute-tls)
set -euo pipefail

dir="${CHUTE_TEST_TLS_DIR:-/var/lib/rabbitmq/chute-tls}"
conf=/etc/rabbitmq/rabbitmq.conf
client=chute-tls-client
marker="# chute tests: TLS listener"

case "${CHUTE_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2F}" in
  *@127.0.0.1*|*@localhost*) ;;
  *) exit 0 ;;
esac
if [ "$(id -u)" != 0 ] || [ ! -f "$conf" ] || ! command -v openssl >/dev/null 2>&1; then
  echo "services: cannot give RabbitMQ a TLS listener (needs root, $conf and openssl)" >&2
  exit 0  # the TLS tests then skip, or fail under CHUTE_REQUIRE_SERVICES=1
fi
if grep -qF "$marker" "$conf" && [ -f "$dir/client.key" ] \
  && (exec 3<>/dev/tcp/127.0.0.1/5671) 2>/dev/null; then
  exit 0
fi

echo "services: giving RabbitMQ a TLS listener on 127.0.0.1:5671" >&2
mkdir -p "$dir"
cd "$dir"
subject() { echo "/O=chute tests/CN=$1"; }
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "$(subject 'chute test CA')" \
  -keyout ca.key -out ca.pem 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext
openssl req -newkey rsa:2048 -nodes -subj "$(subject localhost)" \
  -keyout server.key -out server.csr 2>/dev/null
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
  -extfile server.ext -out server.pem 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl req -newkey rsa:2048 -nodes -subj "$(subject "$client")" \
  -keyout client.key -out client.csr 2>/dev/null
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
  -extfile client.ext -out client.pem 2>/dev/null
rm -f ./*.csr ./*.ext
chown -R rabbitmq:rabbitmq "$dir" 2>/dev/null || true
chmod 0644 ./*.pem ./*.key

if ! grep -qF "$marker" "$conf"; then
  cat >> "$conf" <<EOF
$marker (scripts/rabbitmq_tls.sh)
listeners.ssl.default = 127.0.0.1:5671
ssl_options.cacertfile = $dir/ca.pem
ssl_options.certfile = $dir/server.pem
ssl_options.keyfile = $dir/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
ssl_cert_login_from = common_name
auth_mechanisms.1 = PLAIN
auth_mechanisms.2 = AMQPLAIN
auth_mechanisms.3 = EXTERNAL
EOF
fi
rabbitmq-plugins -q enable --offline rabbitmq_auth_mechanism_ssl >/dev/null

# the listener and the certificates are read when the node starts
rabbitmqctl -q stop >/dev/null 2>&1 || true
rabbitmq-server -detached >/dev/null 2>&1 || true
for _ in $(seq 1 60); do
  if (exec 3<>/dev/tcp/127.0.0.1/5671) 2>/dev/null && rabbitmqctl -q await_startup 2>/dev/null; then
    break
  fi
  sleep 1
done
# the user the client certificate logs in as (EXTERNAL: no password)
rabbitmqctl -q add_user "$client" "unused-$(openssl rand -hex 8)" >/dev/null 2>&1 || true
rabbitmqctl -q clear_password "$client" >/dev/null
rabbitmqctl -q set_permissions -p / "$client" ".*" ".*" ".*" >/dev/null
if ! (exec 3<>/dev/tcp/127.0.0.1/5671) 2>/dev/null; then
  echo "services: RabbitMQ's TLS listener did not come up in 60 s" >&2
fi
