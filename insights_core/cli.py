"""The ``insights`` command line (SPEC 5): parse arguments, call the core, print.

Bad input (parameters, files, rules) prints one line on stderr and exits
with status 2; nothing here ever shows a traceback to a user.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from . import apikeys, channel_groups, channels
from .compute import compute_insights, to_json
from .ingest import MEMORY_LIMIT_VARIABLE, LoadError, load
from .params import PARAMETER_NAMES, ParameterError
from .store import SchemaOutdated, StoreError, connect
from .store.connection import is_remote
from .storefile import StoreFile

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
    except (ParameterError, LoadError, StoreError, UsageError, channels.ChannelRulesError, apikeys.ApiKeyError) as error:
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
    """argparse with SPEC 5's exit status 2 and a one-line message for usage errors."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        _fail(message)
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``insights`` command."""
    parser = _Parser(prog="insights", description="Marketing-attribution insights over your sessions and conversions.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    load_parser = commands.add_parser("load", help="load sessions and conversions (CSV or Parquet) into a database")
    _add_db(load_parser)
    load_parser.add_argument(
        "--sessions", metavar="FILE", help="sessions file or glob (docs/data.md#sessions columns)"
    )
    load_parser.add_argument(
        "--conversions", metavar="FILE", help="conversions file or glob (docs/data.md#conversions columns)"
    )
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

    query_parser = commands.add_parser("query", help="print the insights JSON for a set of parameters")
    _add_db(query_parser)
    query_parser.add_argument("--params", metavar="JSON", help="the request body, e.g. '{\"source\": \"google.com\"}'")
    for name in PARAMETER_NAMES:
        query_parser.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="VALUE",
                                  help=f"the {name} parameter (overrides --params)")
    query_parser.set_defaults(run=_run_query)

    serve_parser = commands.add_parser("serve", help="serve the HTTP API: POST /api/v1/insights")
    _add_db(serve_parser)
    serve_parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve_parser.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000)")
    serve_parser.add_argument(
        "--insecure-no-auth", action="store_true",
        help="development only: answer every request without an API key",
    )
    serve_parser.set_defaults(run=_run_serve)

    apikey_parser = commands.add_parser("apikey", help="create, list and revoke API keys of the HTTP API")
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


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, type=Path, metavar="DB", help="the DuckDB database file")


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
    rules = channels.read_rules_file(args.channel_rules) if args.channel_rules else None
    try:
        group_rules = (
            channel_groups.read_rules_file(args.channel_group_rules) if args.channel_group_rules else None
        )
    except channel_groups.ChannelGroupRulesError as error:
        raise UsageError(str(error)) from None
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


def _writable_store(path: Path) -> StoreFile:
    """The store a load or demo writes, refused before anything is copied when it cannot be one.

    A URL, a directory, or a file that is not an Insights store (left untouched)
    is an error; a missing file becomes a new store, an older one is upgraded.
    """
    if is_remote(str(path)):
        raise UsageError(f"remote databases are not supported; use a local file: {path}")
    if path.is_dir():
        raise UsageError(f"{path} is a directory; --db names a database file, e.g. {path / 'insights.duckdb'}")
    if path.exists() and path.stat().st_size > 0:
        try:
            connect(path, read_only=True).close()
        except SchemaOutdated:
            pass  # upgraded by the write
    return StoreFile(path)


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


def _run_query(args: argparse.Namespace) -> int:
    params = _query_params(args)
    with StoreFile(args.db).snapshot() as con:
        document = compute_insights(con, params)
    sys.stdout.write(to_json(document))
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    store_file = _existing_store(args.db)
    env_keys = apikeys.env_keys()
    with store_file.snapshot() as con:
        stored_keys = len(apikeys.active_key_hashes(con))
    store_file.close()
    if args.insecure_no_auth:
        _say("WARNING: --insecure-no-auth: every request is answered without an API key;"
             " use this only for development on a trusted machine")
    elif not stored_keys and not env_keys:
        raise UsageError(
            f"no API keys: create one with 'insights apikey create --db {args.db} --name NAME' or set"
            f" {apikeys.ENV_VARIABLE}; or start with --insecure-no-auth for development"
        )
    from .api import serve  # FastAPI and uvicorn load only for this command

    _say(f"serving {args.db} at http://{args.host}:{args.port}/api/v1/insights"
         f" (docs at /docs, {stored_keys} stored and {len(env_keys)} environment key(s))")
    serve(args.db, args.host, args.port, require_auth=not args.insecure_no_auth, env_keys=env_keys)
    return 0


def _existing_store(path: Path) -> StoreFile:
    """Key commands change an existing database; they never create one by a typo."""
    store_file = StoreFile(path)
    if not store_file.exists():
        raise UsageError(f"no database at {path}: create one with 'insights load' or 'insights demo'")
    return store_file


def _run_apikey_create(args: argparse.Namespace) -> int:
    apikeys.check_name(args.name)
    with _existing_store(args.db).edit(waiting=lambda: _say(f"waiting for another writer of {args.db} to finish")) as con:
        key = apikeys.create_key(con, args.name)
    print(f"Created API key {args.name!r}. Only its hash is stored: copy the key now, it is not shown again.")
    print(key)
    return 0


def _run_apikey_list(args: argparse.Namespace) -> int:
    store_file = StoreFile(args.db)
    with store_file.snapshot() as con:
        keys = apikeys.list_keys(con, apikeys.KeyUsageLog(args.db).read())
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
    with _existing_store(args.db).edit(waiting=lambda: _say(f"waiting for another writer of {args.db} to finish")) as con:
        apikeys.revoke_key(con, args.name)
    print(f"Revoked API key {args.name!r}; running servers reject it from their next request.")
    return 0


def _moment(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") + "Z" if moment is not None else ""


def _query_params(args: argparse.Namespace) -> dict[str, Any]:
    """The request body: ``--params`` JSON, then the per-parameter flags on top."""
    params: Any = {}
    if args.params is not None:
        try:
            params = json.loads(args.params)
        except json.JSONDecodeError as error:
            raise UsageError(f"--params is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
        if not isinstance(params, dict):
            raise UsageError("--params must be a JSON object, e.g. '{\"source\": \"google.com\"}'")
    for name in PARAMETER_NAMES:
        value = getattr(args, name)
        if value is not None:
            params[name] = value
    return params


if __name__ == "__main__":
    sys.exit(main())
