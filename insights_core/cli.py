"""The ``insights`` command line (docs/api.md#command-line): parse arguments, call the core, print.

Each command only parses its arguments, calls one core function and formats
what it returns. The query commands are declared once (:class:`QueryCommand`):
every one takes ``--params`` (a request body), one flag per parameter of its
endpoint and ``--format json|csv``. Bad input (parameters, files, rules)
prints one line on stderr and exits with status 2; nothing here ever shows a
traceback to a user.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from . import channel_groups, channels
from .api.limits import LIMIT_OPTIONS, limits_from
from .attribution import compute_attribution
from .auth import keys as apikeys
from .auth.settings import SettingsFile
from .engines.choice import ENGINES, FLAG_NAMES, EngineSettings, EngineSettingsError, engine_settings
from .ingest import MEMORY_LIMIT_VARIABLE, LoadError, load
from .metrics import compute_breakdown, compute_insights, compute_timeseries, to_json
from .params import (
    NUMBER_RANGES,
    ParameterError,
    parameter_from_text,
    parse_attribution_params,
    parse_breakdown_params,
    parse_params,
    parse_timeseries_params,
)
from .store import SchemaOutdated, StoreError, connect
from .store.connection import directory_error, is_remote
from .storefile import StoreFile
from .tables import Table, attribution_table, breakdown_table, channel_table, to_csv, trend_table
from .vocabulary import (
    ATTRIBUTED_CONVERSIONS,
    BREAKDOWN_DIMENSIONS,
    ENDPOINT_PARAMETERS,
    OUTPUT_FORMATS,
    TOUCH_SCOPES,
    TREND_INTERVALS,
)
from .wording import quoted

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1


class UsageError(Exception):
    """Bad command-line input that argparse itself cannot catch."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``insights`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ParameterError, LoadError, StoreError, UsageError, channels.ChannelRulesError, apikeys.ApiKeyError,
            EngineSettingsError) as error:
        _fail(str(error))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _fail("interrupted; nothing was changed")
        return 130
    except Exception as error:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("INSIGHTS_DEBUG"):
            raise
        _fail(f"internal error ({type(error).__name__}): {error}; set INSIGHTS_DEBUG=1 for details")
        return EXIT_INTERNAL


def _fail(message: str) -> None:
    print(f"insights: error: {' '.join(message.split())}", file=sys.stderr)


def _say(message: str) -> None:
    print(f"insights: {message}", file=sys.stderr, flush=True)


class _Parser(argparse.ArgumentParser):
    """argparse with exit status 2 and a one-line message for usage errors (docs/api.md#command-line)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        _fail(message)
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``insights`` command."""
    parser = _Parser(prog="insights", description="Marketing-attribution insights over your sessions and conversions.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    load_parser = commands.add_parser("load", help="load sessions and conversions (CSV or Parquet) into a database")
    _add_db(load_parser, spark=True)
    load_parser.add_argument("--sessions", metavar="FILE", help="sessions file or glob (docs/data.md#sessions)")
    load_parser.add_argument("--conversions", metavar="FILE", help="conversions file or glob (docs/data.md#conversions)")
    load_parser.add_argument("--replace", action="store_true", help="replace the stored data instead of appending")
    load_parser.add_argument(
        "--channel-rules", metavar="FILE",
        help="CSV 'host,medium' of your own known referrer hosts; replaces the stored ones and re-derives every session",
    )
    load_parser.add_argument(
        "--channel-group-rules", metavar="FILE",
        help="CSV of your own channel-group rules (docs/data.md#channel-groups); replaces the stored ones"
             " and re-derives every session",
    )
    load_parser.add_argument(
        "--memory-limit", metavar="SIZE",
        help=f"most memory the load may use, e.g. 512MB or 2GB (default: ${MEMORY_LIMIT_VARIABLE}, else the"
             " smaller of 1 GB and a quarter of the memory); the rest spills to disk next to the database",
    )
    load_parser.set_defaults(run=_run_load)

    demo_parser = commands.add_parser("demo", help="create realistic demo data ending now")
    _add_db(demo_parser)
    demo_parser.add_argument("--users", type=_positive_int, default=5_000, help="number of users (default 5000)")
    demo_parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo_parser.add_argument("--replace", action="store_true", help="overwrite data already in the database")
    demo_parser.set_defaults(run=_run_demo)

    for query_command in QUERY_COMMANDS:
        add_query_command(commands, query_command)

    serve_parser = commands.add_parser(
        "serve", help="serve the HTTP API: POST /api/v1/insights",
        description="Serve the HTTP API (docs/api.md#http-api). Each limit (docs/api.md#limits) is set by its flag,"
                    " else by its environment variable, else by its default.",
    )
    _add_db(serve_parser)
    serve_parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve_parser.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000)")
    serve_parser.add_argument(
        "--insecure-no-auth", action="store_true",
        help="development only: answer every request without an API key",
    )
    for option in LIMIT_OPTIONS:
        serve_parser.add_argument(
            option.flag, dest=option.name, type=_limit_type(option), default=None,
            metavar="N" if option.kind is int else "SECONDS",
            help=f"{option.help} (environment {option.environment}; default {option.default:g})",
        )
    serve_parser.set_defaults(run=_run_serve)

    apikey_parser = commands.add_parser(
        "apikey", help="create, list and revoke API keys of the HTTP API",
        description="API keys live, as hashes, in the settings file DB.settings.json beside the database"
                    " (docs/api.md#authentication); changing them never rewrites the database.",
    )
    apikey_commands = apikey_parser.add_subparsers(dest="apikey_command", required=True, parser_class=_Parser)
    create_parser = apikey_commands.add_parser("create", help="create a key and print it once (last line)")
    _add_db(create_parser)
    create_parser.add_argument("--name", required=True, help="a name to manage the key by, e.g. 'reporting'")
    create_parser.set_defaults(run=_run_apikey_create)
    list_parser = apikey_commands.add_parser("list", help="list keys: name, creation, last use (never the keys)")
    _add_db(list_parser)
    list_parser.set_defaults(run=_run_apikey_list)
    revoke_parser = apikey_commands.add_parser("revoke", help="revoke a key; a running server rejects it at once")
    _add_db(revoke_parser)
    revoke_parser.add_argument("--name", required=True, help="the name of the key to revoke")
    revoke_parser.set_defaults(run=_run_apikey_revoke)
    return parser


def _add_db(parser: argparse.ArgumentParser, *, spark: bool = False) -> None:
    """``--db``; with ``spark``, also the choice of engine (docs/scale.md#running-on-spark), and then ``--db``
    is required with the DuckDB engine only."""
    if not spark:
        parser.add_argument("--db", required=True, type=Path, metavar="DB", help="the DuckDB database file")
        return
    parser.add_argument("--db", type=Path, metavar="DB", help="the DuckDB database file (the DuckDB engine)")
    parser.add_argument(
        "--engine", choices=ENGINES, default=None,
        help="duckdb: the file named by --db (default); spark: Apache Spark over the lake named by --lake",
    )
    parser.add_argument("--lake", metavar="URI", help="the Spark engine's lake: a path or URI such as s3a://bucket/insights")
    parser.add_argument(
        "--spark-master", metavar="URL",
        help="where Spark runs: local[N] (default local[*]), spark://HOST:PORT or a Spark Connect sc://HOST:PORT",
    )


def _engine_of(args: argparse.Namespace) -> EngineSettings:
    """The engine a command runs on, from its flags; the DuckDB engine needs --db."""
    settings = engine_settings(args.engine, args.lake, args.spark_master, names=FLAG_NAMES)
    if not settings.spark and args.db is None:
        raise UsageError("the following arguments are required: --db (or --engine spark --lake URI)")
    if settings.spark and args.db is not None:
        raise UsageError("--db names a DuckDB file; the Spark engine reads --lake instead")
    return settings


def _spark_refused(error: Exception) -> UsageError:
    """A lake or a Spark setting that cannot be used is the user's to fix: a one-line usage error."""
    return UsageError(str(error))


# --- the query commands: one declaration each, the same flags for all ----------------------------


@dataclass(frozen=True)
class QueryCommand:
    """A command that answers one endpoint (docs/api.md#command-line).

    ``endpoint`` names its parameters (:data:`insights_core.vocabulary.ENDPOINT_PARAMETERS`),
    which become ``--params`` keys and one flag each; ``parse`` validates the
    request body, ``compute`` answers it on a store connection, and ``table``
    is what ``--format csv`` prints.
    """

    name: str
    help: str
    endpoint: str
    parse: Callable[[Mapping[str, Any]], Any]
    compute: Callable[[Any, Any], dict[str, Any]]
    table: Callable[[Mapping[str, Any]], Table]


QUERY_COMMANDS: tuple[QueryCommand, ...] = (
    QueryCommand(
        "query", "print the insights JSON (or the channel table as CSV) for a set of parameters",
        "insights", parse_params, compute_insights, channel_table,
    ),
    QueryCommand(
        "attribution", "print the attribution JSON: seven models side by side (or the channel table as CSV)",
        "attribution", parse_attribution_params, compute_attribution, attribution_table,
    ),
    QueryCommand(
        "timeseries", "print the trend JSON (or its buckets as CSV): sessions, users and conversions per period",
        "timeseries", parse_timeseries_params, compute_timeseries, trend_table,
    ),
    QueryCommand(
        "breakdown", "print a breakdown JSON (or its rows as CSV): the matching sessions by one dimension",
        "breakdown", parse_breakdown_params, compute_breakdown, breakdown_table,
    ),
)
"""Every query command: the subcommand, its endpoint, parser, computation and CSV table."""

PARAMETER_FLAGS: Mapping[str, tuple[str, str]] = {
    "start_date": ("D", "window start: YYYY-MM-DD or an ISO 8601 datetime"),
    "end_date": ("D", "window end, inclusive: YYYY-MM-DD or an ISO 8601 datetime"),
    "conversion_page": ("URL", "sessions with a conversion on this exact page"),
    "meta_type": ("T", "sessions with a conversion of this meta_type"),
    "meta_id": ("ID", "sessions with a conversion of this meta_id"),
    "source": ("S", "sessions from this source, e.g. google.com"),
    "medium": ("M", "sessions of this medium, e.g. organic"),
    "campaign": ("C", "sessions of this utm_campaign"),
    "content": ("C", "sessions of this utm_content"),
    "term": ("T", "sessions of this utm_term"),
    "landing_page": ("URL", "sessions landing on this exact URL"),
    "channel": ("CH", "sessions on this channel, medium/source, e.g. organic/google.com"),
    "channel_group": ("G", "sessions in this channel group, e.g. 'Paid Search'"),
    "touch_scope": ("SCOPE", f"the sessions' role: {', '.join(TOUCH_SCOPES)} (default any)"),
    "lookback_days": ("N", "days before a conversion a session still counts"),
    "half_life_days": ("X", "time-decay half-life in days"),
    "conversions": ("|".join(ATTRIBUTED_CONVERSIONS), "attribute each user's first conversion, or all (default first)"),
    "top_paths": ("N", "how many conversion paths to list"),
    "interval": ("|".join(TREND_INTERVALS), "the buckets' period (default day)"),
    "dimension": ("DIMENSION", f"what to break down by: {', '.join(BREAKDOWN_DIMENSIONS)}"),
    "limit": ("N", "how many rows to list"),
}
"""Metavariable and help of the flag of every parameter; the flag is the name with dashes.
A numeric parameter's help also gets its range and default from ``params.NUMBER_RANGES``."""


def parameter_flag(name: str) -> str:
    """The command-line flag of a parameter: ``touch_scope`` -> ``--touch-scope``."""
    return "--" + name.replace("_", "-")


def add_query_command(commands: Any, command: QueryCommand) -> argparse.ArgumentParser:
    """Add ``command``: ``--db``, ``--params``, one flag per parameter of its endpoint, ``--format``."""
    parser = commands.add_parser(command.name, help=command.help)
    _add_db(parser, spark=True)
    parser.add_argument("--params", metavar="JSON", help="the request body, e.g. '{\"source\": \"google.com\"}'")
    for name in ENDPOINT_PARAMETERS[command.endpoint]:
        metavar, help_text = PARAMETER_FLAGS[name]
        if name in NUMBER_RANGES:
            number_range = NUMBER_RANGES[name]
            help_text += f": {number_range.describe()}, default {number_range.default:g}"
        parser.add_argument(parameter_flag(name), dest=name, metavar=metavar, help=f"{help_text} (overrides --params)")
    parser.add_argument(
        "--format", choices=OUTPUT_FORMATS, default="json",
        help="json: the answer (default); csv: its table, spreadsheet-safe",
    )
    parser.set_defaults(run=partial(_run_query_command, command))
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1-65535, got {value}")
    return value


def _stage_printer() -> Callable[[str, float], None]:
    """Progress of a long load, one line per stage on stderr."""
    return lambda stage, fraction: _say(f"{stage} ({fraction:.0%})") if fraction < 1 else None


def _run_load(args: argparse.Namespace) -> int:
    if (args.sessions is None and args.conversions is None and args.channel_rules is None
            and args.channel_group_rules is None):
        raise UsageError("give --sessions and/or --conversions (or --channel-rules, --channel-group-rules)")
    settings = _engine_of(args)
    rules = channels.read_rules_file(args.channel_rules) if args.channel_rules else None
    try:
        group_rules = (
            channel_groups.read_rules_file(args.channel_group_rules) if args.channel_group_rules else None
        )
    except channel_groups.ChannelGroupRulesError as error:
        raise UsageError(str(error)) from None
    if settings.spark:
        return _run_spark_load(args, settings, rules, group_rules)
    store_file = _writable_store(args.db)
    with store_file.edit(waiting=lambda: _say(f"waiting for another writer of {args.db} to finish")) as con:
        report = load(
            con, args.sessions, args.conversions,
            replace=args.replace, channel_rules=rules, channel_group_rules=group_rules,
            progress=_stage_printer(), memory_limit=args.memory_limit,
        )
    for line in report.lines():
        print(line)
    return 0


def _run_spark_load(args: argparse.Namespace, settings: EngineSettings, rules: Any, group_rules: Any) -> int:
    """docs/scale.md#loading-on-spark: the same rules and report, a new version of the lake."""
    from .engines.spark import SparkUnavailable, spark_session
    from .lake import Lake, LakeError
    from .lake.load import load as spark_load

    try:
        lake = Lake(settings.lake or "")
        _say(f"starting Spark on {settings.master}")
        session = spark_session(settings.master, app_name="insights load")
        report = spark_load(
            session, lake, args.sessions, args.conversions,
            replace=args.replace, channel_rules=rules, channel_group_rules=group_rules,
            progress=_stage_printer(), waiting=lambda: _say(f"waiting for another load into {lake.uri} to finish"),
        )
    except (LakeError, SparkUnavailable) as error:
        raise _spark_refused(error) from None
    for line in report.lines():
        print(line)
    return 0


def _writable_store(path: Path) -> StoreFile:
    """The store a load or demo writes, refused before anything is copied when it cannot be one.

    A URL, a directory (``StoreFile.check_path``), or a file that is not an Insights store (left untouched)
    is an error; a missing file becomes a new store, an older one is upgraded.
    """
    if is_remote(str(path)):
        raise UsageError(f"remote databases are not supported; use a local file: {path}")
    if path.is_dir():
        raise directory_error(path)
    store_file = StoreFile(path)
    store_file.check_path()
    if path.exists() and path.stat().st_size > 0:
        try:
            connect(path, read_only=True).close()
        except SchemaOutdated:
            pass  # upgraded by the write
    return store_file


def _run_demo(args: argparse.Namespace) -> int:
    store_file = _writable_store(args.db)
    if store_file.exists() and not args.replace:
        with store_file.snapshot() as con:
            stored = con.execute("SELECT count(*) FROM sessions").fetchone()[0]
        if stored:
            raise UsageError(f"{args.db} already holds {stored:,} sessions; add --replace to overwrite them with demo data")
    from . import demo  # numpy and pandas load only for this command

    _say(f"generating {args.users:,} demo users (seed {args.seed})")
    data = demo.generate_demo(users=args.users, seed=args.seed, end=datetime.now(timezone.utc))
    with store_file.edit() as con:
        report = load(con, data.sessions, data.conversions, replace=True, progress=_stage_printer())
    for line in report.lines():
        print(line)
    return 0


def _run_query_command(command: QueryCommand, args: argparse.Namespace) -> int:
    """Parse the parameters (before opening the store), compute on a snapshot, print JSON or the CSV table."""
    settings = _engine_of(args)
    params = command.parse(request_body(args, ENDPOINT_PARAMETERS[command.endpoint]))
    if settings.spark:
        answer = _spark_answer(command, settings, params)
    else:
        with StoreFile(args.db).snapshot() as con:
            answer = command.compute(con, params)
    if args.format == "csv":
        if "message" in answer:
            _say(answer["message"])  # the table is then the header alone; say why on stderr
        sys.stdout.write(to_csv(command.table(answer)))
    else:
        sys.stdout.write(to_json(answer))
    return 0


def _spark_answer(command: QueryCommand, settings: EngineSettings, params: Any) -> dict[str, Any]:
    """The answer computed by Spark over the lake's current version (docs/scale.md#running-on-spark)."""
    from .engines.choice import spark_engine
    from .engines.spark import SparkUnavailable
    from .lake import LakeError

    try:
        engine = spark_engine(settings, app_name=f"insights {command.name}")
        return command.compute(engine, params)
    except (LakeError, SparkUnavailable) as error:
        raise _spark_refused(error) from None


def _limit_type(option: Any) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return option.parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return parse


def _run_serve(args: argparse.Namespace) -> int:
    from .engines.choice import from_environment

    _existing_store(args.db)
    settings = from_environment(os.environ)
    env_keys = apikeys.env_keys()
    try:
        limits = limits_from(os.environ, {option.name: getattr(args, option.name) for option in LIMIT_OPTIONS})
    except ValueError as error:
        raise UsageError(str(error)) from None
    stored_keys = len(apikeys.active_key_hashes(SettingsFile(args.db)))
    if args.insecure_no_auth:
        _say("WARNING: --insecure-no-auth: every request is answered without an API key;"
             " use this only for development on a trusted machine")
    elif not stored_keys and not env_keys:
        raise UsageError(
            f"no API keys: create one with 'insights apikey create --db {args.db} --name NAME' or set"
            f" {apikeys.ENV_VARIABLE}; or start with --insecure-no-auth for development"
        )
    from .api import app  # FastAPI and uvicorn load only for this command

    engine = None
    if settings.spark:
        engine = _spark_server_engine(settings)
    _say(f"serving {settings.describe() if settings.spark else args.db} at http://{args.host}:{args.port}/api/v1/insights"
         f" (docs at /docs, {stored_keys} stored and {len(env_keys)} environment key(s);"
         f" {limits.max_computations} computations at once, {limits.max_queued} queued,"
         f" {limits.query_timeout:g} s per computation)")
    app.serve(args.db, args.host, args.port, require_auth=not args.insecure_no_auth, env_keys=env_keys,
              limits=limits, engine=engine)
    return 0


def _spark_server_engine(settings: EngineSettings) -> Any:
    """The server's Spark engine (INSIGHTS_ENGINE=spark), refused at start when the lake cannot be read."""
    from .engines.choice import spark_engine
    from .engines.spark import SparkUnavailable
    from .lake import LakeError

    try:
        engine = spark_engine(settings, app_name="insights serve")
        engine.ready()
    except (LakeError, SparkUnavailable) as error:
        raise _spark_refused(error) from None
    return engine


def _existing_store(path: Path) -> StoreFile:
    """Key commands and the server need an existing store; they never create one by a typo.

    Opening it checks that it is an Insights store (and upgrades an older
    one); the keys themselves live in the settings file beside it.
    """
    store_file = StoreFile(path)
    store_file.check_path()
    if not store_file.exists():
        raise UsageError(f"no database at {path}: create one with 'insights load' or 'insights demo'")
    try:
        with store_file.snapshot():
            pass
    finally:
        store_file.close()
    return store_file


def _waiting_for(path: Path) -> Callable[[], None]:
    return lambda: _say(f"waiting for another change of the API keys of {path} to finish")


def _run_apikey_create(args: argparse.Namespace) -> int:
    apikeys.check_name(args.name)
    _existing_store(args.db)
    key = apikeys.create_key(SettingsFile(args.db), args.name, waiting=_waiting_for(args.db))
    print(f"Created API key {args.name!r}. Only its hash is stored: copy the key now, it is not shown again.")
    print(key)
    return 0


def _run_apikey_list(args: argparse.Namespace) -> int:
    _existing_store(args.db)
    keys = apikeys.list_keys(SettingsFile(args.db))
    if not keys:
        print(f"no API keys; create one with 'insights apikey create --db {args.db} --name NAME'")
        return 0
    rows = [("NAME", "CREATED (UTC)", "LAST USED (UTC)", "STATUS")] + [
        (key.name, _moment(key.created_at), _moment(key.last_used_at) or "never",
         "active" if key.active else f"revoked {_moment(key.revoked_at)}")
        for key in keys
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    return 0


def _run_apikey_revoke(args: argparse.Namespace) -> int:
    _existing_store(args.db)
    apikeys.revoke_key(SettingsFile(args.db), args.name, waiting=_waiting_for(args.db))
    print(f"Revoked API key {args.name!r}; running servers reject it from their next request.")
    return 0


def _moment(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") + "Z" if moment is not None else ""


def request_body(args: argparse.Namespace, names: Sequence[str]) -> dict[str, Any]:
    """The request body: ``--params`` JSON, then the per-parameter flags on top.

    Flags are text; numeric parameters given as flags become numbers here
    (:func:`insights_core.params.parameter_from_text`), while ``--params`` is
    the API's typed body, read as JSON.
    """
    body: dict[str, Any] = {}
    if args.params is not None:
        body = _params_json(args.params)
    for name in names:
        value = getattr(args, name)
        if value is not None:
            body[name] = parameter_from_text(name, value)
    return body


def _params_json(text: str) -> dict[str, Any]:
    """``--params`` as a JSON object; anything else is a one-line usage error."""
    try:
        body = json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as error:
        raise UsageError(f"--params is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        raise UsageError("--params is nested too deeply to be a request body") from None
    except ValueError:  # Python's JSON parser refuses integers of more than 4,300 digits
        raise UsageError("--params holds a number of more than 4,300 digits; no parameter takes one that long") from None
    if not isinstance(body, dict):
        raise UsageError("--params must be a JSON object, e.g. '{\"source\": \"google.com\"}'")
    return body


def _not_json(constant: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity`` are not JSON, though Python's parser accepts them."""
    raise UsageError(f"--params is not valid JSON: {quoted(constant)} is not a JSON value")


if __name__ == "__main__":
    sys.exit(main())
