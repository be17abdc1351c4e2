"""Connections of one load: a sink made from a connected one (the writers', the lock's, the
value oracle's) opens its connection from the same ADBC database, and is still a session of
its own."""

from __future__ import annotations

from chute.sinks.postgres import PostgresSink


def _pid(sink: PostgresSink) -> int:
    return int(sink.execute("SELECT pg_backend_pid()")[0][0])


def test_a_sink_made_from_a_connected_one_is_a_session_of_its_own(pg_url: str) -> None:
    main = PostgresSink(pg_url)
    main.connect()
    main.execute("CREATE TABLE conn_t (x int)")
    main.commit()
    other = main.another()
    other.connect()
    try:
        assert _pid(other) != _pid(main)
        other.execute("INSERT INTO conn_t VALUES (1)")  # not committed: not seen by main
        assert main.execute("SELECT count(*) FROM conn_t")[0][0] == 0
        other.commit()
        assert main.execute("SELECT count(*) FROM conn_t")[0][0] == 1
        main.commit()
        main.close()  # the other goes on without the one it came from
        other.execute("INSERT INTO conn_t VALUES (2)")
        other.commit()
        assert other.execute("SELECT sum(x) FROM conn_t")[0][0] == 3
    finally:
        other.close()
        main.close()


def test_a_sink_made_from_an_unconnected_one_connects_anew(pg_url: str) -> None:
    main = PostgresSink(pg_url)
    other = main.another()
    other.connect()
    try:
        assert other.execute("SELECT 41 + 1")[0][0] == 42
        main.connect()
        assert _pid(other) != _pid(main)
    finally:
        other.close()
        main.close()
