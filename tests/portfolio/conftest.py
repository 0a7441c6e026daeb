"""Servers the portfolio tests read from: one PostgreSQL cluster and one Spark session per run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from servers import Postgres, postgres_cluster, spark_session


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    with postgres_cluster() as server:
        yield server


@pytest.fixture(scope="session")
def spark() -> Any:
    return spark_session()
