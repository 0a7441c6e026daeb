"""Where usage lives: files (CSV, Parquet, JSON pages of a provider's cost report), a folder or glob
of them, or a gateway's database, opened read-only. Each is an Ibis table on the engine that holds
the data: DuckDB for files (Spark when asked), SQLite, PostgreSQL or MySQL for a database.

Ibis is imported only here and only when monitor runs, so the other commands start as fast as they
did. A password in a database URL is never printed: every message goes through `redact`/`scrub`.
"""

from __future__ import annotations

import glob as globbing
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from creditbook.core.records import error
from creditbook.workbook.file_io import InputError

ENV_URL = "CREDITBOOK_USAGE_URL"
PASSWORD_VARIABLES = ("PGPASSWORD", "MYSQL_PWD")  # the drivers' own: never printed either
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql")
FILE_TYPES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json"}
AMOUNT_COLUMNS = ("cost", "input_mtok", "output_mtok")  # of the generic format
DECIMAL = "DECIMAL(18, 6)"  # exact to a millionth, up to a trillion: 64-bit on every engine


def is_url(source: str) -> bool:
    return urlsplit(source).scheme.split("+")[0] in DATABASE_SCHEMES


def redact(source: str) -> str:
    """The source as it may be shown: a URL's password replaced by ***."""
    if not is_url(source):
        return source
    parts = urlsplit(source)
    if parts.password is None:
        return source
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


def scrub(message: str, source: str) -> str:
    """A driver's message with the source's password (raw and URL-encoded) taken out."""
    message = message.replace(source, redact(source))
    password = urlsplit(source).password if is_url(source) else None
    secrets = (password, password and unquote(password), *map(os.environ.get, PASSWORD_VARIABLES))
    for secret in filter(None, secrets):
        message = message.replace(secret, "***")
    return message


def _fail(source: str, zh: str, en: str) -> InputError:
    return InputError([error((redact(source),), zh, en)])


@dataclass
class Opened:
    """An engine connection and what it holds: tables (a database) or one table (files)."""

    source: str
    engine: str  # duckdb, spark, sqlite, postgres, mysql
    backend: Any  # an ibis backend
    files: tuple[Path | str, ...] = ()
    kind: str = ""  # csv, parquet or json for files

    @property
    def shown(self) -> str:
        return redact(self.source)

    def tables(self) -> list[str]:
        return list(self.backend.list_tables())

    def table(self, name: str) -> Any:
        return self.backend.table(name)

    def query_share(self) -> float | None:
        """How far the running query is (0 to 1), where the engine says: DuckDB's progress of
        the query, Spark's finished tasks of the running stages; None elsewhere."""
        if self.engine == "duckdb":
            percent = float(self.backend.con.query_progress())
            return percent / 100 if percent >= 0 else None
        if self.engine == "spark":
            tracker = self.backend._session.sparkContext.statusTracker()
            stages = [tracker.getStageInfo(stage) for stage in tracker.getActiveStageIds()]
            tasks = sum(stage.numTasks for stage in stages if stage)
            done = sum(stage.numCompletedTasks for stage in stages if stage)
            return done / tasks if tasks else None
        return None

    def read_files(self) -> Any:
        paths = [str(path) for path in self.files]
        if self.engine == "spark":
            # Spark's own readers take many paths; the frame is then an Ibis table like any other.
            reader = self.backend._session.read
            if self.kind == "csv":  # every cell as text, as on DuckDB
                frame = reader.csv(paths, header=True, inferSchema=False)
            elif self.kind == "parquet":
                frame = reader.parquet(*paths)
            else:
                frame = reader.json(paths, multiLine=True)
            frame.createOrReplaceTempView("creditbook_usage")
            return self.backend.table("creditbook_usage")
        if self.kind == "csv":
            # Amount columns parsed by the reader as exact decimals (thousands separators allowed),
            # every other cell as text; a cell that is not a number stops the read, and the
            # caller then names its file, line and column.
            header = self.backend.read_csv(paths, all_varchar=True, header=True).columns
            types = {name: DECIMAL if name in AMOUNT_COLUMNS else "VARCHAR" for name in header}
            return self.backend.read_csv(paths, header=True, types=types, thousands=",")
        if self.kind == "parquet":
            return self.backend.read_parquet(paths)
        return self.backend.read_json(paths, format="auto")


def _files(source: str) -> tuple[Path, ...]:
    path = Path(source)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.suffix.lower() in FILE_TYPES)
    elif any(char in source for char in "*?["):
        found = sorted(Path(p) for p in globbing.glob(source, recursive=True))
    else:
        found = [path] if path.exists() else []
    return tuple(p for p in found if p.is_file())


def spark_session() -> Any:
    """The running SparkSession, or a local one (all cores, UTC days)."""
    from pyspark.sql import SparkSession

    master = os.environ.get("CREDITBOOK_SPARK_MASTER", "local[*]")
    builder: Any = SparkSession.builder.master(master).appName("creditbook monitor")
    if master.startswith("local"):  # one machine: a few shuffle partitions, not the cluster's 200
        builder = builder.config("spark.sql.shuffle.partitions", str(2 * (os.cpu_count() or 1)))
    return (
        builder.config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )


@contextmanager
def open_source(source: str, engine: str = "duckdb") -> Iterator[Opened]:
    """Open a source read-only; driver errors become plain input errors without the password."""
    try:
        opened = _open(source, engine)
    except InputError:
        raise
    except Exception as exc:
        raise _fail(
            source,
            f"无法打开：{scrub(str(exc), source)}",
            f"cannot open: {scrub(str(exc), source)}",
        ) from None
    try:
        yield opened
    finally:
        if opened.engine != "spark":
            opened.backend.disconnect()


def _open(source: str, engine: str) -> Opened:
    import ibis

    if engine == "spark" and "://" in source and not is_url(source):
        # A cluster's storage (hdfs://, s3a://, abfss://…): Spark lists and reads it itself.
        kind = FILE_TYPES.get(Path(urlsplit(source).path).suffix.lower(), "parquet")
        return Opened(source, "spark", ibis.pyspark.connect(spark_session()), (source,), kind)
    if not is_url(source):
        files = _files(source)
        if not files:
            raise _fail(source, "没有找到用量文件", "no usage files found (.csv, .parquet, .json)")
        kinds = {FILE_TYPES.get(path.suffix.lower()) for path in files}
        if None in kinds or len(kinds) > 1:
            raise _fail(
                source,
                "文件须同为 .csv、.parquet 或 .json",
                "the files must all be .csv, all .parquet or all .json",
            )
        kind = str(kinds.pop())
        if engine == "spark":
            return Opened(source, "spark", ibis.pyspark.connect(spark_session()), files, kind)
        duck = ibis.duckdb.connect()
        # the query's progress is read by the terminal's bar (never printed by DuckDB itself)
        duck.raw_sql("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
        return Opened(source, "duckdb", duck, files, kind)
    parts = urlsplit(source)
    scheme = parts.scheme.split("+")[0]
    if scheme == "sqlite":
        path = unquote(source.split("://", 1)[1])
        path = path[1:] if path.startswith("/") else path  # sqlite:///rel or sqlite:////abs
        if not Path(path).is_file():
            raise _fail(source, "没有这个数据库文件", "no such database file")
        con = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
        return Opened(source, "sqlite", ibis.sqlite.from_connection(con))
    if scheme in ("postgresql", "postgres"):
        import psycopg

        pg = psycopg.connect(urlunsplit(parts._replace(scheme="postgresql")), autocommit=True)
        pg.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        return Opened(source, "postgres", ibis.postgres.from_connection(pg))
    try:
        import MySQLdb  # noqa: F401  (the driver Ibis uses for MySQL)
    except ImportError:
        raise _fail(
            source,
            "读取 MySQL 需要安装 creditbook[mysql]",
            "reading MySQL needs pip install 'creditbook[mysql]'",
        ) from None
    backend = ibis.mysql.connect(
        host=parts.hostname or "localhost",
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password) if parts.password else os.environ.get("MYSQL_PWD", ""),
        database=parts.path.lstrip("/"),
    )
    backend.raw_sql("SET SESSION TRANSACTION READ ONLY")
    return Opened(source, "mysql", backend)


def source_of(given: str | None) -> str:
    """The --usage value, or the URL in CREDITBOOK_USAGE_URL (so a password stays off the command
    line and out of the process list)."""
    value = given or os.environ.get(ENV_URL, "")
    if not value:
        raise InputError(
            [
                error(
                    ("--usage",),
                    f"需要 --usage 或环境变量 {ENV_URL}",
                    f"needs --usage or the environment variable {ENV_URL}",
                )
            ]
        )
    return value


def columns_of(table: Any) -> Sequence[str]:
    return list(table.columns)
