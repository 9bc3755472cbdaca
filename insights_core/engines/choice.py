"""Which engine answers: DuckDB over a store file, or Spark over a lake (docs/scale.md#running-on-spark).

The command line says it with ``--engine spark --lake URI --spark-master URL``;
``insights serve`` and the dashboard read the same three settings from the
environment (``INSIGHTS_ENGINE``, ``INSIGHTS_LAKE``, ``INSIGHTS_SPARK_MASTER``).
Both go through :func:`engine_settings`, so they accept and refuse the same
values with the same messages. Nothing here imports PySpark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

ENGINES = ("duckdb", "spark")
"""The engines a user can choose; DuckDB is the default."""

ENGINE_VARIABLE = "INSIGHTS_ENGINE"
LAKE_VARIABLE = "INSIGHTS_LAKE"
MASTER_VARIABLE = "INSIGHTS_SPARK_MASTER"

DEFAULT_MASTER = "local[*]"
"""Where Spark runs when no master is given: inside this process, on every core of this machine."""


class EngineSettingsError(ValueError):
    """An engine, lake or master that cannot be used; the message names the flag or variable to fix."""


@dataclass(frozen=True)
class EngineSettings:
    """The chosen engine and, for Spark, the lake it reads and the master it runs on."""

    engine: str = "duckdb"
    lake: str | None = None
    master: str = DEFAULT_MASTER

    @property
    def spark(self) -> bool:
        return self.engine == "spark"

    def describe(self) -> str:
        """A few words for log lines: ``the lake s3a://b/insights on Spark (spark://h:7077)``."""
        return f"the lake {self.lake} on Spark ({self.master})" if self.spark else "DuckDB"


def engine_settings(engine: str | None, lake: str | None, master: str | None, *, names: Mapping[str, str]) -> EngineSettings:
    """Check a choice of engine; ``names`` says how the user wrote each setting (a flag or a variable).

    ``lake`` and ``master`` only make sense with the Spark engine, which
    needs a lake; a master URL must be one Spark accepts (``local[N]``,
    ``spark://host:port``, a Spark Connect ``sc://host:port``, ``yarn``,
    ``k8s://…``).
    """
    from .spark import SparkUnavailable, check_master

    chosen = (engine or "duckdb").strip().lower()
    if chosen not in ENGINES:
        raise EngineSettingsError(f"{names['engine']} must be one of {', '.join(ENGINES)}, got {engine!r}")
    lake = (lake or "").strip() or None
    master = (master or "").strip() or None
    if chosen == "duckdb":
        given = [names[key] for key, value in (("lake", lake), ("master", master)) if value]
        if given:
            raise EngineSettingsError(f"{' and '.join(given)} {'need' if len(given) > 1 else 'needs'} {names['engine']} spark")
        return EngineSettings()
    if lake is None:
        raise EngineSettingsError(f"the Spark engine reads a lake: give {names['lake']} (a path or an s3a:// URI)")
    try:
        check_master(master or DEFAULT_MASTER)
    except SparkUnavailable as error:
        raise EngineSettingsError(f"{names['master']}: {error}") from None
    return EngineSettings("spark", lake, master or DEFAULT_MASTER)


FLAG_NAMES = {"engine": "--engine", "lake": "--lake", "master": "--spark-master"}
VARIABLE_NAMES = {"engine": ENGINE_VARIABLE, "lake": LAKE_VARIABLE, "master": MASTER_VARIABLE}


def from_environment(environ: Mapping[str, str]) -> EngineSettings:
    """The engine ``serve`` and the dashboard use: ``INSIGHTS_ENGINE`` (default duckdb), ``INSIGHTS_LAKE``,
    ``INSIGHTS_SPARK_MASTER`` (default ``local[*]``)."""
    return engine_settings(
        environ.get(ENGINE_VARIABLE), environ.get(LAKE_VARIABLE), environ.get(MASTER_VARIABLE), names=VARIABLE_NAMES,
    )


def spark_engine(settings: EngineSettings, *, app_name: str = "insights") -> Any:
    """A :class:`~insights_core.engines.spark.SparkEngine` on ``settings.master`` reading the lake's current version.

    Raises :class:`~insights_core.engines.spark.SparkUnavailable` without
    PySpark; the lake is read (and refused when empty) at the first query.
    """
    from ..lake import Lake
    from .spark import SparkEngine, spark_session

    assert settings.spark and settings.lake is not None
    lake = Lake(settings.lake)
    return SparkEngine(spark_session(settings.master, app_name=app_name), lake.tables, master=settings.master)
