"""docs/api.md#csv-output: answers as typed tables and the one spreadsheet-safe CSV writer.

The hostile values are the ones a site visitor can plant in a landing page's
query string (``utm_medium==HYPERLINK(…)``), loaded through the real loader
into a real store, so the test covers the way they really arrive.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import insights_core
from insights_core.tables import CHANNEL_COLUMNS, Column, Table, channel_table, percent_number, to_csv
from insights_core.vocabulary import CHANNEL_COUNT_KEYS, CHANNEL_PERCENT_KEYS

ANSWER = {"overall_metrics": {"channels": [
    {"channel": "organic/google.com", "total_sessions": 696, "total_users": 542,
     "converting_users_first_touch": 40, "converting_users_assisting_touch": 27,
     "converting_users_converting_touch": 35, "converting_users_after_touch": 18,
     "session_influence": "9.50%", "conversion_influence": "49.65%", "attributed_to_conversion": 71,
     "conversion_rate": "13.10%"},
    {"channel": "(none)/(direct)", "total_sessions": 591, "total_users": 351,
     "converting_users_first_touch": 18, "converting_users_assisting_touch": 11,
     "converting_users_converting_touch": 32, "converting_users_after_touch": 30,
     "session_influence": "100.00%", "conversion_influence": "0.00%", "attributed_to_conversion": 43,
     "conversion_rate": "12.25%"},
]}}

HEADER = ("channel,total_sessions,total_users,converting_users_first_touch,converting_users_assisting_touch,"
          "converting_users_converting_touch,converting_users_after_touch,attributed_to_conversion,"
          "session_influence_pct,conversion_influence_pct,conversion_rate_pct")


def test_channel_table_keeps_numbers_as_numbers_in_the_answers_order():
    """Counts are ints, the "NN.NN%" strings the numbers they spell, rows in the answer's order."""
    table = channel_table(ANSWER)
    assert table.names == HEADER.split(",")
    assert [column.kind for column in table.columns] == ["text"] + ["count"] * 7 + ["percent"] * 3
    first = table.records()[0]
    assert first["channel"] == "organic/google.com"
    assert first["attributed_to_conversion"] == 71 and type(first["attributed_to_conversion"]) is int
    assert first["session_influence_pct"] == 9.5 and type(first["session_influence_pct"]) is float
    assert [row[0] for row in table.rows] == ["organic/google.com", "(none)/(direct)"]


def test_channel_csv_bytes():
    """The exact text: header, counts as integers, percentages with two decimals, \\n line ends."""
    assert to_csv(channel_table(ANSWER)) == (
        HEADER + "\n"
        "organic/google.com,696,542,40,27,35,18,71,9.50,49.65,13.10\n"
        "(none)/(direct),591,351,18,11,32,30,43,100.00,0.00,12.25\n"
    )


def test_the_no_data_answer_is_the_header_alone():
    table = channel_table({"message": "No page data found for the given parameters."})
    assert table.rows == () and to_csv(table) == HEADER + "\n"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_starts_get_a_leading_quote(start):
    """A text cell starting with = + - @ tab or CR is written after a ' ; numbers never are."""
    table = Table((Column("name", "text"), Column("delta", "number")), ((start + "1+1", -2.5),))
    [_, row] = list(csv.reader(io.StringIO(to_csv(table), newline="")))
    assert row == ["'" + start + "1+1", "-2.5"]


@pytest.mark.parametrize("text", ["a=1", " =1", "'=1", "(direct)", "", "1", "é=", "\n=1"])
def test_other_text_is_written_as_it_is(text):
    table = Table((Column("name", "text"),), ((text,),))
    assert list(csv.reader(io.StringIO(to_csv(table), newline="")))[1] == [text]


def test_cells_csv_must_quote_are_quoted_and_none_is_empty():
    table = Table((Column("a", "text"), Column("b", "count"), Column("c", "number", 2), Column("d", "number")),
                  (('say "hi", then\nleave', None, 1.005, 120.5), (None, 3, None, 7)))
    assert to_csv(table) == 'a,b,c,d\n"say ""hi"", then\nleave",,1.00,120.5\n,3,,7\n'


def test_a_number_column_refuses_text():
    with pytest.raises(TypeError):
        to_csv(Table((Column("n", "count"),), (("12",),)))


def test_percent_number():
    assert percent_number("32.81%") == 32.81
    with pytest.raises(ValueError):
        percent_number("32.81")


@settings(max_examples=80)
@given(st.lists(st.tuples(st.text(max_size=20), st.integers(0, 10**12), st.floats(0, 100, allow_nan=False)),
                max_size=6))
def test_csv_reads_back_to_the_table(rows):
    """Whatever the text, a CSV reader gets every cell back: text (guarded where needed) and numbers."""
    table = Table((Column("label", "text"), Column("count", "count"), Column("share", "percent", 2)),
                  tuple(rows))
    read = list(csv.reader(io.StringIO(to_csv(table), newline="")))
    assert read[0] == ["label", "count", "share"]
    assert len(read) == len(rows) + 1
    for (label, count, share), (label_cell, count_cell, share_cell) in zip(rows, read[1:]):
        guarded = label.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert label_cell == ("'" + label if guarded else label)
        assert int(count_cell) == count
        assert share_cell == f"{share:.2f}"


# --- hostile values, through the real loader -----------------------------------------------------

HOSTILE = {
    "formula": "=HYPERLINK(\"http://evil.example\",\"click\")",
    "at": "@SUM(1)",
    "plus": "+1+1",
    "minus": "-2+3",
    "tab": "\tx",
    "cr": "\rx",
}


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory) -> Path:
    """A store whose sessions carry the hostile values as UTM medium (from the landing page) or source."""
    from urllib.parse import quote

    folder = tmp_path_factory.mktemp("hostile")
    lines = ["session_id,user_id,started_at,landing_page,utm_source"]
    for index, (name, value) in enumerate(HOSTILE.items()):
        landing = f"https://acme.test/?utm_medium={quote(value, safe='')}"
        lines.append(f"m{index},u{index},2025-07-0{1 + index % 5}T10:00:00Z,{landing},")
        source = '"' + value.replace('"', '""') + '"'
        lines.append(f"s{index},v{index},2025-07-0{1 + index % 5}T11:00:00Z,https://acme.test/,{source}")
    (folder / "sessions.csv").write_text("\n".join(lines) + "\n", newline="")
    (folder / "conversions.csv").write_text("conversion_id,session_id,converted_at\nc1,m0,2025-07-01T10:05:00Z\n")
    db = folder / "hostile.duckdb"
    con = insights_core.connect(db)
    insights_core.load(con, str(folder / "sessions.csv"), str(folder / "conversions.csv"))
    con.close()
    return db


def test_hostile_channels_are_written_as_text_not_formulas(hostile_store):
    """Every channel built from a hostile medium or source reaches the CSV with its ' guard."""
    con = insights_core.connect(hostile_store, read_only=True)
    try:
        answer = insights_core.compute_insights(con, {"start_date": "2025-07-01", "end_date": "2025-07-31"})
    finally:
        con.close()
    channels = [channel["channel"] for channel in answer["overall_metrics"]["channels"]]
    # The table's columns are the answer's keys, named once in vocabulary.
    assert all(set(channel) == {"channel", *CHANNEL_COUNT_KEYS, *CHANNEL_PERCENT_KEYS}
               for channel in answer["overall_metrics"]["channels"])
    for value in HOSTILE.values():
        assert f"{value}/(direct)" in channels  # the medium, from the landing page's query string
        assert f"(none)/{value}" in channels    # utm_source
    text = to_csv(channel_table(answer))
    cells = [row[0] for row in csv.reader(io.StringIO(text, newline=""))][1:]
    assert sorted(cells) == sorted(
        ("'" + channel) if channel.startswith(("=", "+", "-", "@", "\t", "\r")) else channel for channel in channels
    )
    dangerous = [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == []
    assert "'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")/(direct)" in text


def test_every_channel_column_is_declared_once():
    assert len({column.name for column in CHANNEL_COLUMNS}) == len(CHANNEL_COLUMNS) == 11


def test_csv_is_a_pure_function_of_the_answer():
    """The same answer gives the same bytes, whenever and however often it is written."""
    first = to_csv(channel_table(ANSWER))
    assert all(to_csv(channel_table(dict(ANSWER))) == first for _ in range(3))


def test_a_carriage_return_inside_a_cell_is_quoted():
    """A bare CR would end the row in a spreadsheet; inside quotes it is part of the cell."""
    table = Table((Column("name", "text"),), (("\r1",), ("a\rb",), ("a\nb",)))
    assert to_csv(table) == 'name\n"\'\r1"\n"a\rb"\n"a\nb"\n'
