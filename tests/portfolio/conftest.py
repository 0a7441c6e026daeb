"""Servers the portfolio tests read from, each started once per run: PostgreSQL, MySQL (MariaDB) and
a local Spark session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from servers import MySQL, Postgres, mysql_server, postgres_cluster, spark_session


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    with postgres_cluster() as server:
        yield server


@pytest.fixture(scope="session")
def spark() -> Any:
    return spark_session()


@pytest.fixture(scope="session")
def mysql() -> Iterator[MySQL]:
    with mysql_server() as server:
        yield server
