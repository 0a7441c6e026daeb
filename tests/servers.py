"""Real servers for the tests: a throwaway PostgreSQL cluster and a local Spark session.

Each starts once per test session. Where the server or its runtime is missing the test is skipped
on a developer's machine, and fails under CI (the `CI` variable is set there, and `.ci/run`
installs PostgreSQL and a Java runtime), so these tests cannot silently stop running in CI.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "s3cret-Pw_9!"  # the cluster's password: tests check it is never printed


def missing(what: str) -> None:
    """Skip locally, fail in CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing, and CI must run this test (see .ci/run)")
    pytest.skip(f"{what} is missing")


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Postgres:
    port: int
    user: str
    password: str

    def url(self, database: str, *, password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://{self.user}:{secret}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> Any:
        import psycopg

        return psycopg.connect(self.url(database), autocommit=True)

    def create_database(self, name: str) -> str:
        with self.connect() as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}"')
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def postgres_cluster() -> Iterator[Postgres]:
    """initdb into a temporary folder, start it on a free port (as an unprivileged user when the
    tests run as root, as CI does), stop it and delete it afterwards."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        missing("PostgreSQL (initdb, pg_ctl)")
    assert initdb and pg_ctl
    root = Path(tempfile.mkdtemp(prefix="creditbook-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = next((name for name in ("postgres", "nobody") if _has_user(name)), None)
        if owner is None:
            missing("an unprivileged user to run PostgreSQL as")
        assert owner
        entry = pwd.getpwnam(owner)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        as_user = ["runuser", "-u", owner, "--"]
    data, pwfile, log = root / "data", root / "pw", root / "log"
    pwfile.write_text(PASSWORD)
    if as_user:
        entry = pwd.getpwnam(as_user[2])
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    subprocess.run(
        [
            *(*as_user, initdb, "-D", str(data), "-U", "creditbook", f"--pwfile={pwfile}"),
            *("--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8"),
            "--locale=C",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root}"
    subprocess.run(
        [*as_user, pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        server = Postgres(port, "creditbook", PASSWORD)
        deadline = time.monotonic() + 30
        while True:
            try:
                server.connect().close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield server
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def spark_session() -> Any:
    """The tests' one SparkSession (local, 2 cores, UTC), shared with `creditbook monitor
    --engine spark` run in the same process."""
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        missing("a Java runtime (for Spark)")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing("pyspark")
    os.environ.setdefault("CREDITBOOK_SPARK_MASTER", "local[2]")
    from creditbook.portfolio.sources import spark_session as session

    return session()


def _mysql_bin(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or next(
            (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None
        )
        if found:
            return found
    return None


@dataclass(frozen=True)
class MySQL:
    port: int
    socket: str
    user: str
    password: str

    def url(self, database: str) -> str:
        return f"mysql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str | None = None) -> Any:
        import MySQLdb

        options = {"db": database} if database else {}
        con = MySQLdb.connect(
            host="127.0.0.1", port=self.port, user=self.user, passwd=self.password, **options
        )
        con.autocommit(True)
        return con

    def create_database(self, name: str) -> str:
        con = self.connect()
        cursor = con.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        con.close()
        return self.url(name)


@contextmanager
def mysql_server() -> Iterator[MySQL]:
    """A throwaway MariaDB/MySQL server: its data folder in a temporary folder, on a free port,
    run as the `mysql` user when the tests run as root; stopped and deleted afterwards."""
    install = _mysql_bin("mariadb-install-db", "mysql_install_db")
    server = _mysql_bin("mariadbd", "mysqld")
    if not install or not server:
        missing("a MySQL server (mariadb-server)")
    try:
        import MySQLdb
    except ImportError:
        missing("mysqlclient (pip install 'creditbook[mysql]')")
    assert install and server
    root = Path(tempfile.mkdtemp(prefix="creditbook-mysql-"))
    data, sock, port = root / "data", root / "mysql.sock", _free_port()
    user = ["--user=mysql"] if os.geteuid() == 0 else []
    if user:
        entry = pwd.getpwnam("mysql")
        os.chown(root, entry.pw_uid, entry.pw_gid)
    subprocess.run(
        [
            *(install, "--no-defaults", f"--datadir={data}", *user),
            *("--auth-root-authentication-method=normal", "--skip-test-db"),
        ],
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [
            *(server, "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={port}"),
            *("--bind-address=127.0.0.1", f"--pid-file={root / 'mysql.pid'}", *user),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                admin = MySQLdb.connect(unix_socket=str(sock), user="root")
                break
            except MySQLdb.OperationalError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.3)
        cursor = admin.cursor()
        cursor.execute(f"CREATE USER 'creditbook'@'%' IDENTIFIED BY '{PASSWORD}'")
        cursor.execute("GRANT ALL PRIVILEGES ON *.* TO 'creditbook'@'%'")
        admin.close()
        yield MySQL(port, str(sock), "creditbook", PASSWORD)
    finally:
        process.terminate()
        process.wait(timeout=60)
        shutil.rmtree(root, ignore_errors=True)
