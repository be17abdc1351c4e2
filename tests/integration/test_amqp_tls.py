"""amqps:// against RabbitMQ's own TLS listener: verification, a client certificate's login.

``scripts/services.sh`` (the test command) gives the local RabbitMQ a TLS listener on
127.0.0.1:5671 (``scripts/rabbitmq_tls.sh``): a certificate authority, the broker's
certificate and a client certificate for the user ``chute-tls-client``, who logs in with
EXTERNAL, all in ``CHUTE_TEST_TLS_DIR``.  The tests make more certificates of their own
(an authority the broker does not know; a certificate for a user it does not have) with
``openssl``.  Without the listener they skip, or fail under ``CHUTE_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pika
import pytest

import chute
from chute.amqp import (
    DEAD_LETTER_SUFFIX,
    ERROR_HEADER,
    BrokerError,
    DeadLetter,
    QueueConsumer,
    publish_records,
)
from chute.errors import ConfigError
from tests.amqp_helpers import PARAMS, admin, depth, read_all
from tests.conftest import REQUIRE_SERVICES
from tests.helpers import assert_error, query
from tests.helpers import chute as run_chute

TLS_DIR = Path(os.environ.get("CHUTE_TEST_TLS_DIR", "/var/lib/rabbitmq/chute-tls"))
TLS_PORT = 5671
CA = TLS_DIR / "ca.pem"
CLIENT_CERT, CLIENT_KEY = TLS_DIR / "client.pem", TLS_DIR / "client.key"
#: guest over TLS, verified against the tests' authority
PLAIN_URL = f"amqps://{PARAMS.user}:{PARAMS.password}@127.0.0.1:{TLS_PORT}/%2F"
#: no user: the client certificate logs in
EXTERNAL_URL = f"amqps://localhost:{TLS_PORT}/%2F"


def _listener_problem() -> str | None:
    if not CA.is_file():
        return f"no certificates in {TLS_DIR} (scripts/rabbitmq_tls.sh makes them)"
    try:
        socket.create_connection(("127.0.0.1", TLS_PORT), timeout=2).close()
    except OSError as exc:
        return f"RabbitMQ's TLS listener 127.0.0.1:{TLS_PORT} is not there: {exc}"
    if shutil.which("openssl") is None:
        return "openssl is not on PATH"
    return None


@pytest.fixture(scope="module", autouse=True)
def tls_listener(broker: str) -> None:
    problem = _listener_problem()
    if problem:
        if REQUIRE_SERVICES:
            pytest.fail(f"CHUTE_REQUIRE_SERVICES=1 but {problem}")
        pytest.skip(f"SKIPPING AMQP TLS TESTS: {problem}")


def _certificate(
    out: Path, common_name: str, ca: tuple[Path, Path] | None = None
) -> tuple[Path, Path]:
    """A key and certificate for ``common_name``: signed by ``ca`` (certificate, key), or
    by itself.  Returns (certificate, key)."""
    key, cert = out / f"{common_name}.key", out / f"{common_name}.pem"
    subject = f"/O=chute tests/CN={common_name}"
    if ca is None:
        cmd = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
               "-subj", subject, "-keyout", str(key), "-out", str(cert)]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True)
        return cert, key
    csr = out / f"{common_name}.csr"
    subprocess.run(
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject,
         "-keyout", str(key), "-out", str(csr)],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
         "-CAcreateserial", "-CAserial", str(out / "ca.srl"), "-days", "2", "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _events(n: int) -> list[dict[str, object]]:
    return [{"id": i, "kind": f"k{i % 3}"} for i in range(n)]


def test_chute_publish_and_consume_over_tls_store_every_message(queue: str, tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text("".join(f'{{"id": {i}, "kind": "k{i % 3}"}}\n' for i in range(2_000)))
    published = run_chute("publish", str(source), PLAIN_URL, "--queue", queue, "--tls-ca", str(CA))
    assert published.returncode == 0, published.stderr
    assert depth(queue) == 2_000
    db = tmp_path / "out.db"
    consumed = run_chute(
        "consume", PLAIN_URL, "--queue", queue, "--into", f"sqlite:///{db}", "--table", "events",
        "--tls-ca", str(CA), "--idle-exit", "1", "--quiet",
    )  # fmt: skip
    assert consumed.returncode == 0, consumed.stderr
    assert query(f"sqlite:///{db}", "SELECT count(*), count(DISTINCT id) FROM events") == [
        (2_000, 2_000)
    ]
    assert depth(queue) == 0


def test_a_client_certificate_logs_in_with_external(queue: str) -> None:
    url = f"{EXTERNAL_URL}?tls_ca={CA}&tls_cert={CLIENT_CERT}&tls_key={CLIENT_KEY}"
    assert publish_records(_events(50), url, queue) == 50
    stop = threading.Event()
    with QueueConsumer(url, queue, name="chute-test-external") as consumer:
        assert consumer.params.auth == "EXTERNAL"
        batch = consumer.next_batch(100, 1 << 20, 0.3, stop, idle_timeout=5)
        consumer.ack_through(batch[-1].delivery_tag)
        listed = subprocess.run(
            ["rabbitmqctl", "-q", "list_connections", "--no-table-headers", "user",
             "auth_mechanism", "ssl", "client_properties"],
            capture_output=True, text=True, timeout=60,
        ).stdout  # fmt: skip
    assert len(batch) == 50
    ours = [line for line in listed.splitlines() if '"chute-test-external"' in line]
    assert len(ours) == 1, listed
    assert ours[0].startswith("chute-tls-client\tEXTERNAL\ttrue\t"), listed


def test_the_broker_is_verified_by_default_against_the_system_authorities() -> None:
    with pytest.raises(BrokerError) as info:
        QueueConsumer(PLAIN_URL, "q").connect()
    assert str(info.value) == (
        f"cannot connect to RabbitMQ at amqps://127.0.0.1:{TLS_PORT}/%2F: its TLS certificate "
        "is not trusted (self-signed certificate in certificate chain)"
    )
    assert "--tls-ca" in (info.value.hint or "")
    assert not info.value.transient


def test_an_authority_that_did_not_sign_the_broker_is_refused_by_the_cli(
    queue: str, tmp_path: Path
) -> None:
    other_ca, _ = _certificate(tmp_path, "another CA")
    result = run_chute(
        "consume", PLAIN_URL, "--queue", queue, "--into", f"sqlite:///{tmp_path / 'x.db'}",
        "--tls-ca", str(other_ca), "--idle-exit", "1",
    )  # fmt: skip
    assert_error(result, 5, "its TLS certificate is not trusted")
    assert not (tmp_path / "x.db").exists() or query(
        f"sqlite:///{tmp_path / 'x.db'}", "SELECT count(*) FROM sqlite_master WHERE name='events'"
    ) == [(0,)]


def test_a_client_certificate_from_an_unknown_authority_fails_the_handshake(
    tmp_path: Path,
) -> None:
    cert, key = _certificate(tmp_path, "chute-tls-client")  # self-signed: not the broker's CA
    url = f"{EXTERNAL_URL}?tls_ca={CA}&tls_cert={cert}&tls_key={key}"
    with pytest.raises(BrokerError) as info:
        QueueConsumer(url, "q").connect()
    assert f"RabbitMQ at amqps://localhost:{TLS_PORT}/%2F" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_certificate_for_a_user_the_broker_lacks_is_refused_as_a_login(tmp_path: Path) -> None:
    ca_key = TLS_DIR / "ca.key"
    if not os.access(ca_key, os.R_OK):
        pytest.skip(f"SKIPPING: cannot read {ca_key} to sign a certificate")
    cert, key = _certificate(tmp_path, "nobody-here", ca=(CA, ca_key))
    url = f"{EXTERNAL_URL}?tls_ca={CA}&tls_cert={cert}&tls_key={key}"
    with pytest.raises(BrokerError) as info:
        QueueConsumer(url, "q").connect()
    assert str(info.value) == (
        f"RabbitMQ at amqps://localhost:{TLS_PORT}/%2F refused the login with the client "
        "certificate (EXTERNAL)"
    )
    assert not info.value.transient


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tls-ca", "/no/such/ca.pem"], "--tls-ca /no/such/ca.pem: no such file"),
        (["--tls-key", str(CLIENT_KEY)], "--tls-key needs --tls-cert"),
        (["--tls-cert", "README.md"], "cannot use --tls-cert"),
    ],
)
def test_bad_tls_options_are_one_line_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_chute(
        "consume", PLAIN_URL, "--queue", "q", "--into", f"sqlite:///{tmp_path / 'x.db'}", *args
    )
    assert_error(result, 2, message)


def test_tls_files_need_an_amqps_url() -> None:
    with pytest.raises(ConfigError, match="--tls-ca needs an amqps:// URL"):
        chute.consume(
            f"amqp://127.0.0.1:{PARAMS.port}/", queue="q", into="sqlite://", tls_ca=str(CA)
        )


def test_a_dead_letter_drops_the_user_id_and_expiration_it_could_not_be_sent_with(
    queue: str,
) -> None:
    with admin() as ch:  # published by guest, who may name itself as the user
        ch.queue_declare(queue, durable=True)
        ch.confirm_delivery()
        props = pika.BasicProperties(user_id=PARAMS.user, expiration="60000", message_id="m1")
        ch.basic_publish("", queue, b"not json", props, mandatory=True)
    url = f"{EXTERNAL_URL}?tls_ca={CA}&tls_cert={CLIENT_CERT}&tls_key={CLIENT_KEY}"
    stop = threading.Event()
    with QueueConsumer(url, queue) as consumer:  # logged in as chute-tls-client
        (delivery,) = consumer.next_batch(10, 1 << 20, 0.2, stop, idle_timeout=5)
        # RabbitMQ refuses a user_id other than the login's: it must not be copied
        consumer.dead_letter([DeadLetter(delivery, "parse", "invalid JSON")])
    (dead,) = read_all(queue + DEAD_LETTER_SUFFIX)
    assert dead.body == b"not json"
    assert dead.properties.get("user_id") is None
    assert dead.properties.get("expiration") is None  # it would expire from its queue
    assert dead.properties["message_id"] == "m1:dead-letter"
    assert dead.headers[ERROR_HEADER] == "invalid JSON"
