"""The documented command line is the real one (docs/api.md#command-line).

Like sqlite-utils' ``test_docs.py``: the README's command synopsis and every
``insights …`` line in its examples are read and checked against the real
argument parser, in both directions — every documented command and flag
exists, and every command and flag of the parser is documented, in the README's
synopsis or in ``docs/api.md`` (its command-line section) once that file exists.

Two kinds of text are documentation of what is not built yet, and are read as
such: a subsection whose heading says "(planned)" is skipped, and the commands
in :data:`DOCUMENTED_AHEAD` and flags in :data:`FLAGS_DOCUMENTED_AHEAD` must be
absent from the parser — the day one arrives this test fails until it leaves
its list, and from then on it is checked like every other command and flag.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from insights_core.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
API_DOC = ROOT / "docs" / "api.md"

COMMAND = re.compile(r"(?:^|(?<=[\s($`]))insights\s+([a-z]+(?:\|[a-z]+)*)((?:\s+[a-z]+(?:\|[a-z]+)*)?)")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


DOCUMENTED_AHEAD: set[tuple[str, ...]] = set()
"""Commands docs/api.md describes before the parser has them (none now)."""

FLAGS_DOCUMENTED_AHEAD: dict[tuple[str, ...], set[str]] = {
}
"""Flags docs/api.md describes before this checkout's parser has them (work merged separately)."""


def section(text: str, heading: str) -> str:
    """The text under a ``## heading`` up to the next heading of the same level, less its planned parts."""
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no '## {heading}' section"
    return re.sub(r"^###+ [^\n]*\(planned\).*?(?=^#|\Z)", "", match.group(1), flags=re.M | re.S)


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, re.M | re.S)


def parser_commands() -> dict[tuple[str, ...], set[str]]:
    """Every leaf command of the parser (``("apikey", "create")``) and its long flags, ``--help`` aside."""
    found: dict[tuple[str, ...], set[str]] = {}

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        subcommands = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
        if not subcommands:
            found[path] = {
                option for action in parser._actions for option in action.option_strings
                if option.startswith("--") and option != "--help"
            }
            return
        for action in subcommands:
            for name, child in action.choices.items():
                walk(child, (*path, name))

    walk(build_parser(), ())
    return found


COMMANDS = parser_commands()


def documented_lines(text: str) -> list[tuple[list[tuple[str, ...]], set[str], str]]:
    """Each ``insights …`` line of the code blocks: the commands it names (an ``a|b|c`` alternation
    names several), the flags written after the command, and the line itself.

    Indented lines continue the synopsis entry above them.
    """
    entries: list[tuple[list[tuple[str, ...]], set[str], str]] = []
    for block in code_blocks(text):
        for line in block.splitlines():
            match = COMMAND.search(line)
            if match:
                firsts, rest = match.group(1).split("|"), match.group(2).split()
                seconds = rest[0].split("|") if rest else [None]
                paths = [(first, second) if second else (first,) for first in firsts for second in seconds]
                entries.append((paths, set(FLAG.findall(line[match.end():])), line))
            elif line.startswith((" ", "\t")) and entries and FLAG.search(line):
                paths, flags, first_line = entries[-1]
                entries[-1] = (paths, flags | set(FLAG.findall(line)), first_line)
    return entries


def synopsis() -> list[tuple[list[tuple[str, ...]], set[str], str]]:
    """The README's command synopsis: the first code block of its command-line section."""
    return documented_lines("```sh\n" + code_blocks(section(README.read_text(), "Command line"))[0] + "```\n")


def api_doc_command_line() -> str:
    """docs/api.md's command-line section, or nothing while that file does not exist."""
    if not API_DOC.exists():
        return ""
    return section(API_DOC.read_text(), "Command line")


def test_the_parser_is_found_and_the_synopsis_is_read():
    """Guards the guards: the helpers see the real commands and the real synopsis."""
    assert ("query",) in COMMANDS and ("apikey", "create") in COMMANDS
    assert {"--db", "--params", "--format", "--channel", "--touch-scope"} <= COMMANDS[("query",)]
    entries = synopsis()
    assert len(entries) >= 5
    assert any(("query",) in paths and "--format" in flags for paths, flags, _ in entries)


def test_every_documented_command_and_flag_exists():
    """Each ``insights …`` line of the README and docs/api.md names real commands and real flags."""
    texts = {"README.md": README.read_text(), "docs/api.md": api_doc_command_line()}
    problems, checked = [], 0
    for name, text in texts.items():
        for paths, flags, line in documented_lines(text):
            known = [path for path in paths if path not in DOCUMENTED_AHEAD]
            for path in known:
                if path not in COMMANDS:
                    problems.append(f"{name}: {line.strip()!r} names {' '.join(path)!r}, not a command")
            if not known or any(path not in COMMANDS for path in known):
                continue
            ahead = set().union(*(FLAGS_DOCUMENTED_AHEAD.get(path, set()) for path in known))
            unknown = flags - ahead - set().union(*(COMMANDS[path] for path in known))
            if unknown:
                problems.append(f"{name}: {line.strip()!r}: {', '.join(sorted(unknown))} not a flag of it")
            checked += 1
    assert not problems, "documented but not in the parser:\n" + "\n".join(problems)
    assert checked >= 10


def test_what_is_documented_ahead_is_not_built_yet():
    """When a command or flag documented ahead arrives, it leaves its list and is checked from then on."""
    arrived = sorted(" ".join(path) for path in DOCUMENTED_AHEAD if path in COMMANDS)
    assert not arrived, f"remove {', '.join(arrived)} from DOCUMENTED_AHEAD: the parser has them now"
    for path, flags in FLAGS_DOCUMENTED_AHEAD.items():
        built = sorted(flags & COMMANDS[path])
        assert not built, f"remove {', '.join(built)} from FLAGS_DOCUMENTED_AHEAD[{path}]: the parser has them now"


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_command_and_flag_of_the_parser_is_documented(path):
    """The README's synopsis lists every command with every flag (or docs/api.md's command line does)."""
    entries = [flags for paths, flags, _ in synopsis() if path in paths]
    api_doc = api_doc_command_line()
    api_entries = [flags for paths, flags, _ in documented_lines(api_doc) if path in paths]
    assert entries or api_entries, (
        f"insights {' '.join(path)} is not in the README's command synopsis (nor in docs/api.md#command-line)"
    )
    missing = COMMANDS[path] - set().union(*entries, *api_entries)
    assert not missing, (
        f"insights {' '.join(path)}: {', '.join(sorted(missing))} in neither the README synopsis"
        " nor docs/api.md#command-line"
    )
