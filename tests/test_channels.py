"""docs/data.md#source-and-medium: effective source, medium and channel, as the loader stores them.

Every rule is checked end to end with real URLs: a small sessions CSV is
written, loaded into a real DuckDB store file and the stored ``source``,
``medium``, ``channel`` and ``utm_*`` columns are read back. Expected values
are derived by hand from docs/data.md#source-and-medium (and, for the shipped known-hosts table, from
its documented choices in ``insights_core/data/KNOWN_HOSTS.md``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Mapping, Sequence

import pyarrow as pa
import pytest

from insights_core import cli
from insights_core.channels import KnownHosts, registered_domain
from insights_core.ingest import load
from insights_core.ingest.derive import channel_of
from insights_core.store import connect

UTM_COLUMNS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
STORED_COLUMNS = ("session_id", "landing_page", "referrer", *UTM_COLUMNS, "source", "medium", "channel")
LANDING = "https://www.acme.com/"
DIRECT_NONE = ("(direct)", "(none)")

Row = Mapping[str, str]


# --- helpers -------------------------------------------------------------------

def write_sessions(
    path: Path,
    rows: Sequence[Row],
    columns: Sequence[str] | None = None,
    prefix: str = "s",
    quoting: int = csv.QUOTE_MINIMAL,
) -> Path:
    """A docs/data.md#sessions sessions CSV: one user per session, ids ``<prefix>001``… in row order.

    ``columns`` are the optional docs/data.md#sessions columns written (default: the union of the
    rows' keys); a row without a key gets an empty value (``""`` with QUOTE_ALL).
    """
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, quoting=quoting)
        writer.writerow(["session_id", "user_id", "started_at", *columns])
        for number, row in enumerate(rows, start=1):
            unknown = set(row) - set(columns)
            assert not unknown, f"row {number} has values for columns not written: {unknown}"
            writer.writerow(
                [f"{prefix}{number:03d}", f"{prefix}-user-{number}", "2025-07-01T10:00:00Z",
                 *(row.get(column, "") for column in columns)]
            )
    return path


def stored_sessions(con) -> list[dict[str, str | None]]:
    """The stored docs/data.md#source-and-medium columns of every session, by session id."""
    rows = con.execute(f"SELECT {', '.join(STORED_COLUMNS)} FROM sessions ORDER BY session_id").fetchall()
    return [dict(zip(STORED_COLUMNS, row)) for row in rows]


def load_rows(
    tmp_path: Path,
    rows: Sequence[Row],
    columns: Sequence[str] | None = None,
    channel_rules: Sequence[tuple[str, str]] | None = None,
) -> list[dict[str, str | None]]:
    """Load ``rows`` into a new store file and return what was stored, in row order."""
    sessions = write_sessions(tmp_path / "sessions.csv", rows, columns)
    con = connect(tmp_path / "x.duckdb")
    try:
        load(con, sessions, channel_rules=channel_rules)
        stored = stored_sessions(con)
    finally:
        con.close()
    assert len(stored) == len(rows)
    return stored


def source_medium(tmp_path: Path, rows: Sequence[Row], **options) -> list[tuple[str, str]]:
    """The stored (source, medium) of each row."""
    return [(row["source"], row["medium"]) for row in load_rows(tmp_path, rows, **options)]


def visit(referrer: str = "", landing_page: str = LANDING, **utm: str) -> dict[str, str]:
    """One session row: referrer, landing page and any utm_* columns."""
    return {"referrer": referrer, "landing_page": landing_page, **utm}


@pytest.fixture(scope="module")
def loaded_table(tmp_path_factory):
    """Load a whole case table once per module and hand each parametrized case its row.

    One load per table instead of one per case keeps the file fast; every case
    still gets its own test id and assertion.
    """
    loaded: dict[str, list[dict[str, str | None]]] = {}

    def stored_row(table_name: str, rows: Sequence[Row], row: Row) -> dict[str, str | None]:
        if table_name not in loaded:
            loaded[table_name] = load_rows(tmp_path_factory.mktemp(table_name), rows)
        return loaded[table_name][list(rows).index(row)]

    return stored_row


# --- registered domain (docs/data.md#source-and-medium) ------------------------------------------

REGISTERED_DOMAIN_CASES = [
    pytest.param("https://www.google.co.uk/", "google.co.uk", id="country-second-level-suffix"),
    pytest.param(
        "https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.acme.com%2F&h=AT0x", "facebook.com", id="link-shim"
    ),
    pytest.param("https://news.bbc.co.uk/sport/football/12345", "bbc.co.uk", id="deep-subdomain"),
    # gov.uk is itself a public suffix, so www.gov.uk is the registrable domain
    # (a naive "last two labels" rule would say gov.uk).
    pytest.param("https://www.gov.uk/browse/tax", "www.gov.uk", id="suffix-is-two-labels"),
    # PSL exception rule: *.kawasaki.jp is a suffix but !city.kawasaki.jp is not.
    pytest.param("https://www.city.kawasaki.jp/", "city.kawasaki.jp", id="psl-exception-rule"),
    pytest.param("https://WWW.Google.COM/", "google.com", id="lower-cased"),
    pytest.param("HTTPS://News.BBC.Co.UK/", "bbc.co.uk", id="lower-cased-scheme-and-suffix"),
    pytest.param("https://www.example.org:8443/path?q=1", "example.org", id="port-stripped"),
    pytest.param("https://jane:s3cret@www.example.org/", "example.org", id="userinfo-stripped"),
    pytest.param("http://user@Blog.Example.ORG:8080/a#b", "example.org", id="userinfo-port-case"),
    pytest.param("https://www.bbc.co.uk./news", "bbc.co.uk", id="trailing-dot"),
]


@pytest.mark.parametrize(("referrer", "source"), REGISTERED_DOMAIN_CASES)
def test_source_is_the_referrer_registered_domain(loaded_table, referrer, source):
    """docs/data.md#source-and-medium: the referrer host reduced with the Public Suffix List, lower-cased,
    without port or user info, is the derived source."""
    rows = [visit(case.values[0]) for case in REGISTERED_DOMAIN_CASES]
    assert loaded_table("registered_domain", rows, visit(referrer))["source"] == source


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("www.google.co.uk", "google.co.uk"),
        ("l.facebook.com", "facebook.com"),
        ("news.bbc.co.uk", "bbc.co.uk"),
        ("WWW.Google.COM", "google.com"),
        ("www.gov.uk", "www.gov.uk"),
        ("a.b.c.example.com.au", "example.com.au"),
        ("www.google.com.", "google.com"),
        ("192.168.1.10", "192.168.1.10"),
        ("10.0.0.1", "10.0.0.1"),
        ("localhost", "localhost"),
        ("LOCALHOST", "localhost"),
    ],
)
def test_registered_domain(host, domain):
    """docs/data.md#source-and-medium: registered_domain uses the bundled Public Suffix List; an IP address
    or ``localhost`` has no public suffix and is its own registered domain."""
    assert registered_domain(host) == domain


def test_ip_and_localhost_referrers_are_referrals(tmp_path):
    """docs/data.md#source-and-medium: an IP address or ``localhost`` referrer is a host of its own, so a
    referral with itself as source, not (direct)."""
    rows = [visit("http://192.168.1.10:8080/admin"), visit("http://localhost:3000/preview")]
    assert source_medium(tmp_path, rows) == [("192.168.1.10", "referral"), ("localhost", "referral")]


# --- derived source: self-referrals and unusable referrers (docs/data.md#source-and-medium) ------

SELF_REFERRAL_CASES = [
    pytest.param("https://www.acme.com/pricing", "https://www.acme.com/", id="same-host"),
    pytest.param("https://blog.acme.com/post/1", "https://www.acme.com/", id="other-subdomain"),
    pytest.param("https://ACME.com/", "https://www.acme.com/signup", id="apex-and-case"),
    pytest.param("https://shop.acme.co.uk/", "https://www.acme.co.uk/basket", id="public-suffix-domain"),
    pytest.param("http://www.acme.com:8080/", "https://www.acme.com/", id="other-scheme-and-port"),
    # Once self-referral makes the referrer "none", a known host no longer counts:
    # Google's own pages referring to Google's shop are not organic search.
    pytest.param("https://www.google.com/search?q=pixel", "https://store.google.com/", id="known-host-self"),
]


@pytest.mark.parametrize(("referrer", "landing_page"), SELF_REFERRAL_CASES)
def test_self_referral_is_direct(loaded_table, referrer, landing_page):
    """docs/data.md#source-and-medium: a referrer on the landing page's registered domain (any subdomain)
    counts as no referrer: (direct)/(none)."""
    rows = [visit(*case.values) for case in SELF_REFERRAL_CASES]
    row = loaded_table("self_referral", rows, visit(referrer, landing_page))
    assert (row["source"], row["medium"]) == DIRECT_NONE


def test_different_registered_domain_is_not_a_self_referral(tmp_path):
    """docs/data.md#source-and-medium: only the registered domain decides: acme.co.uk referring to acme.com,
    or acme.com.evil.net, are other sites."""
    rows = [
        visit("https://www.acme.co.uk/", "https://www.acme.com/"),
        visit("https://acme.com.evil.net/", "https://www.acme.com/"),
    ]
    assert source_medium(tmp_path, rows) == [("acme.co.uk", "referral"), ("evil.net", "referral")]


HOSTLESS_REFERRER_CASES = [
    pytest.param("not a url", id="words"),
    pytest.param("/relative/path", id="relative-path"),
    pytest.param("mailto:x@y.com", id="mailto"),
    pytest.param("https://", id="empty-host"),
    pytest.param("https:///path-only", id="empty-host-with-path"),
    pytest.param("   ", id="blank"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("referrer", HOSTLESS_REFERRER_CASES)
def test_referrer_without_a_host_is_direct(loaded_table, referrer):
    """docs/data.md#source-and-medium: a referrer that does not parse as a URL with a host counts as none."""
    rows = [visit(case.values[0]) for case in HOSTLESS_REFERRER_CASES]
    row = loaded_table("hostless_referrer", rows, visit(referrer))
    assert (row["source"], row["medium"]) == DIRECT_NONE


def test_no_referrer_column_is_direct(tmp_path):
    """docs/data.md#source-and-medium: without a referrer the session is (direct)/(none)."""
    rows = [{"landing_page": "https://www.acme.com/"}, {"landing_page": ""}]
    assert source_medium(tmp_path, rows) == [DIRECT_NONE, DIRECT_NONE]


# --- paid click ids (docs/data.md#source-and-medium) ---------------------------------------------

@pytest.mark.parametrize(
    ("click_id", "direct_source"),
    [("gclid", "google.com"), ("gbraid", "google.com"), ("wbraid", "google.com"),
     ("msclkid", "bing.com"), ("dclid", "google.com")],
)
def test_paid_click_id_is_cpc(tmp_path, click_id, direct_source):
    """docs/data.md#source-and-medium: a paid click id on the landing page means cpc; a direct click's source
    becomes google.com (bing.com for msclkid), while a referrer keeps its own domain as
    source, even a known social or search host."""
    rows = [
        visit("", f"https://www.acme.com/?{click_id}=Cj0KCQ_abc-123"),
        visit("", f"https://www.acme.com/shoes?ref=ad&{click_id}=x1&utm_id=7"),
        visit("https://blog.acme.com/", f"https://www.acme.com/?{click_id}=abc"),  # self-referral: direct
        visit("https://news.example.org/story", f"https://www.acme.com/?{click_id}=abc"),
        visit("https://www.facebook.com/", f"https://www.acme.com/?{click_id}=abc"),
        visit("https://www.bing.com/search?q=acme", f"https://www.acme.com/?{click_id}=abc"),
    ]
    assert source_medium(tmp_path, rows) == [
        (direct_source, "cpc"),
        (direct_source, "cpc"),
        (direct_source, "cpc"),
        ("example.org", "cpc"),
        ("facebook.com", "cpc"),
        ("bing.com", "cpc"),
    ]


IGNORED_CLICK_ID_CASES = [
    pytest.param("https://www.acme.com/?gclid=", id="empty-value"),
    pytest.param("https://www.acme.com/?gclid=&utm_id=1", id="empty-value-then-more"),
    pytest.param("https://www.acme.com/?msclkid=#top", id="empty-value-then-fragment"),
    pytest.param("https://www.acme.com/#gclid=abc", id="fragment-only"),
    pytest.param("https://www.acme.com/?page=2#x&gclid=abc", id="fragment-after-query"),
    pytest.param("https://www.acme.com/#/landing?gclid=abc", id="question-mark-in-fragment"),
    pytest.param("https://www.acme.com/?xgclid=abc&not_dclid=1", id="longer-parameter-name"),
    pytest.param("https://www.acme.com/gclid=abc", id="in-the-path"),
]


@pytest.mark.parametrize("landing_page", IGNORED_CLICK_ID_CASES)
def test_click_id_without_value_or_outside_query_is_ignored(loaded_table, landing_page):
    """docs/data.md#source-and-medium: only a paid click id with a value in the landing page's query string
    counts; an empty value or one in the fragment or path changes nothing."""
    rows = [visit("", case.values[0]) for case in IGNORED_CLICK_ID_CASES]
    row = loaded_table("ignored_click_id", rows, visit("", landing_page))
    assert (row["source"], row["medium"]) == DIRECT_NONE


def test_non_paid_click_ids_change_nothing(tmp_path):
    """docs/data.md#source-and-medium: fbclid and other non-paid click ids change nothing."""
    rows = [
        visit("", "https://www.acme.com/?fbclid=IwAR0abc"),
        visit("https://l.facebook.com/l.php?u=x", "https://www.acme.com/?fbclid=IwAR0abc"),
        visit("", "https://www.acme.com/?ttclid=E.C.P.abc&twclid=2-abc&li_fat_id=abc"),
        visit("https://news.example.org/", "https://www.acme.com/?fbclid=IwAR0abc"),
    ]
    assert source_medium(tmp_path, rows) == [
        DIRECT_NONE,
        ("facebook.com", "social"),
        DIRECT_NONE,
        ("example.org", "referral"),
    ]


# --- known hosts, referral, none (docs/data.md#known-hosts) ----------------------------------------

KNOWN_HOST_CASES = [
    ("https://mail.google.com/mail/u/0/", ("google.com", "email")),
    ("https://www.google.com/", ("google.com", "organic")),
    ("https://MAIL.Google.COM/mail/u/0/", ("google.com", "email")),
    ("https://www.google.com/url?q=https://www.acme.com/", ("google.com", "organic")),
    ("https://www.google.co.uk/", ("google.co.uk", "organic")),
    ("https://gemini.google.com/app", ("google.com", "ai")),
    ("https://chatgpt.com/", ("chatgpt.com", "ai")),
    ("https://www.perplexity.ai/", ("perplexity.ai", "ai")),
    ("https://outlook.live.com/", ("live.com", "email")),
    ("https://t.co/abc", ("t.co", "social")),
    ("https://www.linkedin.com/", ("linkedin.com", "social")),
    ("https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.acme.com%2F", ("facebook.com", "social")),
    ("https://duckduckgo.com/", ("duckduckgo.com", "organic")),
    ("https://yandex.ru/", ("yandex.ru", "organic")),
    ("https://search.yahoo.com/", ("yahoo.com", "organic")),
    ("https://r.search.yahoo.com/_ylt=abc/RU=x", ("yahoo.com", "organic")),
    # KNOWN_HOSTS.md: the yahoo.com portal is not listed, only its search and mail hosts.
    ("https://www.yahoo.com/", ("yahoo.com", "referral")),
]


@pytest.mark.parametrize(("referrer", "expected"), KNOWN_HOST_CASES, ids=[case[0] for case in KNOWN_HOST_CASES])
def test_known_hosts_most_specific_first(loaded_table, referrer, expected):
    """docs/data.md#known-hosts: the referrer host is tried from most to least specific and the most
    specific known host decides (mail.google.com is email, www.google.com organic,
    gemini.google.com ai); the source stays the registered domain."""
    rows = [visit(case[0]) for case in KNOWN_HOST_CASES]
    row = loaded_table("known_hosts", rows, visit(referrer))
    assert (row["source"], row["medium"]) == expected


def test_unknown_referrer_is_referral(tmp_path):
    """docs/data.md#known-hosts: a referrer domain that is not a known host is a referral."""
    rows = [
        visit("https://github.com/acme/widgets"),
        visit("https://en.wikipedia.org/wiki/Marketing_attribution"),
        visit("https://www.some-blog.net/2025/07/review"),
        visit("https://notgoogle.com/"),
    ]
    assert source_medium(tmp_path, rows) == [
        ("github.com", "referral"),
        ("wikipedia.org", "referral"),
        ("some-blog.net", "referral"),
        ("notgoogle.com", "referral"),
    ]


def test_medium_for_tries_most_specific_host_first():
    """docs/data.md#known-hosts: KnownHosts.medium_for tries the host, then each parent down to the
    registered domain, on label boundaries only."""
    hosts = KnownHosts({"google.com": "organic", "mail.google.com": "email", "t.co": "social"})
    assert hosts.medium_for("mail.google.com") == "email"
    assert hosts.medium_for("a.b.mail.google.com") == "email"
    assert hosts.medium_for("www.google.com") == "organic"
    assert hosts.medium_for("google.com") == "organic"
    assert hosts.medium_for("gmail.google.com") == "organic"
    assert hosts.medium_for("t.co") == "social"
    assert hosts.medium_for("notgoogle.com") is None
    assert hosts.medium_for("xt.co") is None
    assert hosts.medium_for("google.com.evil.net") is None
    assert hosts.medium_for("example.org") is None
    # KNOWN_HOSTS.md: parents are tried down to the registered domain, never a public suffix.
    suffixes = KnownHosts({"co.uk": "organic", "com": "social"})
    assert suffixes.medium_for("www.bbc.co.uk") is None
    assert suffixes.medium_for("www.example.com") is None


def test_medium_for_with_overrides():
    """docs/data.md#known-hosts: a user row replaces the shipped row for the same host; a more specific
    shipped host still wins over a less specific user host."""
    hosts = KnownHosts.shipped().with_overrides([("google.com", "paid_search_test"), ("acme-partner.com", "affiliate")])
    assert hosts.medium_for("www.google.com") == "paid_search_test"
    assert hosts.medium_for("mail.google.com") == "email"
    assert hosts.medium_for("www.acme-partner.com") == "affiliate"
    assert KnownHosts.shipped().medium_for("www.google.com") == "organic"


def test_shipped_table_has_hundreds_of_rows_and_the_four_mediums():
    """docs/data.md#known-hosts: the shipped known-hosts table has hundreds of entries, all with one of
    the four documented mediums (email, ai, organic, social)."""
    mediums = KnownHosts.shipped().mediums
    assert len(mediums) >= 200
    assert set(mediums.values()) == {"email", "ai", "organic", "social"}
    assert all(host == host.lower() and "/" not in host and ":" not in host for host in mediums)


# --- UTM overrides and utm values (docs/data.md#source-and-medium, docs/data.md#sessions) --------

def test_utm_overrides_each_independently(tmp_path):
    """docs/data.md#source-and-medium: a non-empty utm_source replaces the source and a non-empty utm_medium
    the medium, each independently, kept exactly as given; an empty one replaces nothing.
    UTM values win over paid click ids."""
    google = "https://www.google.com/"
    rows = [
        visit(google, utm_source="Newsletter"),
        visit(google, utm_medium="CPC"),
        visit(google, utm_source="Google Ads ", utm_medium="CPC"),
        visit(google, utm_source="  spring  SALE ", utm_medium=" e-mail"),
        visit(google, utm_source="", utm_medium=""),
        visit("", utm_source="newsletter"),
        visit("", "https://www.acme.com/?gclid=abc", utm_medium="email"),
        visit("https://news.example.org/", "https://www.acme.com/?msclkid=abc", utm_source="partner"),
    ]
    assert source_medium(tmp_path, rows) == [
        ("Newsletter", "organic"),
        ("google.com", "CPC"),
        ("Google Ads ", "CPC"),
        ("  spring  SALE ", " e-mail"),
        ("google.com", "organic"),
        ("newsletter", "(none)"),
        ("google.com", "email"),
        ("partner", "cpc"),
    ]


def test_channel_is_medium_slash_source(tmp_path):
    """docs/data.md#channel: the stored channel is medium + "/" + source, after UTM overrides."""
    assert channel_of("google.com", "organic") == "organic/google.com"
    rows = [
        visit("https://www.google.com/"),
        visit(""),
        visit("https://www.google.com/", utm_source="Google Ads ", utm_medium="CPC"),
        visit("", "https://www.acme.com/?msclkid=1"),
        visit("https://news.example.org/a/b"),
    ]
    assert [row["channel"] for row in load_rows(tmp_path, rows)] == [
        "organic/google.com",
        "(none)/(direct)",
        "CPC/Google Ads ",
        "cpc/bing.com",
        "referral/example.org",
    ]


QUERY_STRING_LANDING = (
    "https://www.acme.com/offer?utm_source=Newsletter&utm_medium=email"
    "&utm_campaign=spring%20sale&utm_content=hero+banner&utm_term=c%2B%2B%20jobs"
)
FROM_QUERY_STRING = {
    "utm_source": "Newsletter",
    "utm_medium": "email",
    "utm_campaign": "spring sale",
    "utm_content": "hero banner",
    "utm_term": "c++ jobs",
}


def _utm(row: Mapping[str, str | None]) -> dict[str, str | None]:
    return {name: row[name] for name in UTM_COLUMNS}


def test_utm_read_from_landing_page_when_columns_absent(tmp_path):
    """docs/data.md#sessions, #source-and-medium: without utm columns, the values come from the landing page query
    string, percent-decoded with + as a space, and they override source and medium."""
    [row] = load_rows(tmp_path, [visit("https://www.google.com/", QUERY_STRING_LANDING)])
    assert _utm(row) == FROM_QUERY_STRING
    assert (row["source"], row["medium"], row["channel"]) == ("Newsletter", "email", "email/Newsletter")


def test_utm_read_from_landing_page_when_columns_empty(tmp_path):
    """docs/data.md#sessions, #source-and-medium: an empty utm column (`,,` or `,"",` in a CSV) also falls back to the
    landing page query string."""
    rows = [visit("https://www.google.com/", QUERY_STRING_LANDING)] * 2
    write_sessions(tmp_path / "unquoted.csv", rows[:1], ("referrer", "landing_page", *UTM_COLUMNS))
    quoted = write_sessions(
        tmp_path / "quoted.csv", rows[1:], ("referrer", "landing_page", *UTM_COLUMNS), prefix="q", quoting=csv.QUOTE_ALL
    )
    assert '"","","","",""' in quoted.read_text(encoding="utf-8")
    con = connect(tmp_path / "x.duckdb")
    try:
        load(con, str(tmp_path / "*quoted.csv"))
        stored = stored_sessions(con)
    finally:
        con.close()
    assert len(stored) == 2
    for row in stored:
        assert _utm(row) == FROM_QUERY_STRING, row["session_id"]
        assert (row["source"], row["medium"]) == ("Newsletter", "email")


def test_utm_read_from_landing_page_when_arrow_values_empty(tmp_path):
    """docs/data.md#sessions, #source-and-medium: an empty string in a typed (Arrow/Parquet) utm column counts as empty
    too, so the landing page query string is used."""
    table = pa.table({
        "session_id": ["s1"], "user_id": ["u1"], "started_at": ["2025-07-01T10:00:00Z"],
        "referrer": ["https://www.google.com/"], "landing_page": [QUERY_STRING_LANDING],
        **{name: [""] for name in UTM_COLUMNS},
    })
    con = connect(tmp_path / "x.duckdb")
    try:
        load(con, table)
        [row] = stored_sessions(con)
    finally:
        con.close()
    assert _utm(row) == FROM_QUERY_STRING
    assert (row["source"], row["medium"]) == ("Newsletter", "email")


def test_utm_column_wins_over_query_string(tmp_path):
    """docs/data.md#sessions, #source-and-medium: a non-empty utm column is used as given; only the empty or absent ones
    are read from the landing page."""
    [row] = load_rows(
        tmp_path,
        [visit("https://www.google.com/", QUERY_STRING_LANDING, utm_source="Partner ", utm_campaign="Summer")],
        columns=("referrer", "landing_page", *UTM_COLUMNS),
    )
    assert _utm(row) == {**FROM_QUERY_STRING, "utm_source": "Partner ", "utm_campaign": "Summer"}
    assert (row["source"], row["medium"]) == ("Partner ", "email")


UTM_DECODING_CASES = [
    pytest.param("utm_campaign=spring%20sale", "spring sale", id="percent-20"),
    pytest.param("utm_campaign=spring+sale", "spring sale", id="plus"),
    pytest.param("utm_campaign=Spring%2BSale", "Spring+Sale", id="encoded-plus"),
    pytest.param("utm_campaign=+Spring++SALE%20", " Spring  SALE ", id="spaces-and-case-kept"),
    pytest.param("utm_campaign=caf%C3%A9", "caf\u00e9", id="utf8"),
    pytest.param("utm_campaign=50%zz", "50%zz", id="malformed-kept"),
    pytest.param("a=1&utm_campaign=Q3&b=2", "Q3", id="middle"),
    pytest.param("utm_campaign=", None, id="empty-is-null"),
    pytest.param("xutm_campaign=Q3", None, id="longer-name"),
    pytest.param("a=1#utm_campaign=Q3", None, id="fragment"),
    pytest.param("a=1&utm_campaign=first&utm_campaign=second", "first", id="first-occurrence"),
]


@pytest.mark.parametrize(("query", "campaign"), UTM_DECODING_CASES)
def test_utm_value_decoding(loaded_table, query, campaign):
    """docs/data.md#sessions, #source-and-medium: the query string value is percent-decoded with + as a space, a
    malformed escape is kept as is, an empty value is null and only the query string
    (not the fragment) is read."""
    rows = [visit("", f"https://www.acme.com/?{case.values[0]}") for case in UTM_DECODING_CASES]
    row = loaded_table("utm_decoding", rows, visit("", f"https://www.acme.com/?{query}"))
    assert row["utm_campaign"] == campaign


def test_invalid_utf8_escape_does_not_break_the_load(tmp_path):
    """docs/data.md#sessions, #loading-rules, #source-and-medium: a %FF escape (not UTF-8) in a landing page's utm value still loads,
    with every row stored and the other values decoded."""
    rows = [
        visit("", "https://www.acme.com/?utm_campaign=%FF&utm_source=mail%20out"),
        visit("", "https://www.acme.com/?utm_source=caf%E9"),
        visit("", "https://www.acme.com/?utm_campaign=spring%20sale"),
    ]
    first, second, third = load_rows(tmp_path, rows)
    assert first["utm_campaign"] in ("%FF", "\ufffd")
    assert first["utm_source"] == "mail out"
    assert second["utm_source"] in ("caf%E9", "caf\ufffd")
    assert third["utm_campaign"] == "spring sale"


# --- the user's own known-hosts table (docs/data.md#known-hosts) -------------------------------------

USER_RULES = [("acme-partner.com", "affiliate"), ("google.com", "paid_search_test")]
RULE_REFERRERS = [
    visit("https://www.acme-partner.com/deals"),
    visit("https://www.google.com/"),
    visit("https://mail.google.com/mail/u/0/"),
    visit("https://www.bing.com/search?q=acme"),
]


def test_user_rules_rederive_every_stored_session(tmp_path):
    """docs/data.md#known-hosts: a user table extends and overrides the shipped one: loading it
    re-derives the sessions already stored, a user row beats the shipped row for the
    same host, the more specific shipped mail.google.com stays email, and later loads
    keep applying it."""
    con = connect(tmp_path / "x.duckdb")
    try:
        load(con, write_sessions(tmp_path / "first.csv", RULE_REFERRERS, prefix="a"))
        before = [(row["source"], row["medium"]) for row in stored_sessions(con)]
        assert before == [
            ("acme-partner.com", "referral"),
            ("google.com", "organic"),
            ("google.com", "email"),
            ("bing.com", "organic"),
        ]

        load(con, write_sessions(tmp_path / "second.csv", RULE_REFERRERS, prefix="b"), channel_rules=USER_RULES)
        load(con, write_sessions(tmp_path / "third.csv", RULE_REFERRERS, prefix="c"))
        stored = stored_sessions(con)
    finally:
        con.close()

    expected = [
        ("acme-partner.com", "affiliate", "affiliate/acme-partner.com"),
        ("google.com", "paid_search_test", "paid_search_test/google.com"),
        ("google.com", "email", "email/google.com"),
        ("bing.com", "organic", "organic/bing.com"),
    ]
    for prefix in "abc":
        rows = [row for row in stored if row["session_id"].startswith(prefix)]
        assert [(row["source"], row["medium"], row["channel"]) for row in rows] == expected, prefix


def test_user_rules_do_not_override_utm(tmp_path):
    """docs/data.md#known-hosts: user rules change the derived medium only; utm_medium still wins."""
    rows = [visit("https://www.acme-partner.com/", utm_medium="Email"), visit("https://www.acme-partner.com/")]
    assert source_medium(tmp_path, rows, channel_rules=USER_RULES) == [
        ("acme-partner.com", "Email"),
        ("acme-partner.com", "affiliate"),
    ]


# --- the command line: insights load --channel-rules ------------------------------------------

def _cli_stored(db: Path) -> list[tuple]:
    con = connect(db, read_only=True)
    try:
        return con.execute("SELECT session_id, source, medium, channel FROM sessions ORDER BY session_id").fetchall()
    finally:
        con.close()


def test_cli_channel_rules_file(tmp_path, capsys):
    """docs/data.md#known-hosts: `insights load --channel-rules FILE` applies the user's table."""
    db = tmp_path / "cli.duckdb"
    rules = tmp_path / "rules.csv"
    rules.write_text("host,medium\nacme-partner.com,affiliate\ngoogle.com,paid_search_test\n", encoding="utf-8")
    sessions = write_sessions(tmp_path / "sessions.csv", RULE_REFERRERS)
    assert cli.main(["load", "--db", str(db), "--sessions", str(sessions), "--channel-rules", str(rules)]) == 0
    assert [row[1:3] for row in _cli_stored(db)] == [
        ("acme-partner.com", "affiliate"),
        ("google.com", "paid_search_test"),
        ("google.com", "email"),
        ("bing.com", "organic"),
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("domain,medium\nacme-partner.com,affiliate\n", 1, id="wrong-header"),
        pytest.param("host,medium\nacme-partner.com,affiliate\nhttps://www.example.com/,referral\n", 3, id="url"),
        pytest.param("host,medium\nexample.com:8080,referral\n", 2, id="port"),
        pytest.param("host,medium\nexample.com\n", 2, id="missing-medium"),
    ],
)
def test_cli_bad_channel_rules_file(tmp_path, capsys, text, line):
    """docs/data.md#known-hosts, #loading-rules: a bad rules file fails with exit code 2 and a one-line message
    naming the file and the line; the store is unchanged."""
    db = tmp_path / "cli.duckdb"
    first = write_sessions(tmp_path / "first.csv", RULE_REFERRERS, prefix="a")
    assert cli.main(["load", "--db", str(db), "--sessions", str(first)]) == 0
    before = _cli_stored(db)
    capsys.readouterr()

    rules = tmp_path / "bad-rules.csv"
    rules.write_text(text, encoding="utf-8")
    second = write_sessions(tmp_path / "second.csv", RULE_REFERRERS, prefix="b")
    code = cli.main(["load", "--db", str(db), "--sessions", str(second), "--channel-rules", str(rules)])

    message = capsys.readouterr().err
    assert code == 2
    assert str(rules) in message
    line_named = f"line {line}" in message or (line == 1 and "first line" in message)
    assert line_named, message
    assert len(message.strip().splitlines()) == 1, message
    assert _cli_stored(db) == before


def test_cli_channel_rules_alone_says_what_it_stored(tmp_path, capsys):
    """docs/data.md#known-hosts: `insights load --channel-rules F` with no files confirms what it
    stored and how many sessions it derived again, in words that count right."""
    db = tmp_path / "cli.duckdb"
    sessions = write_sessions(tmp_path / "sessions.csv", RULE_REFERRERS)
    assert cli.main(["load", "--db", str(db), "--sessions", str(sessions)]) == 0
    capsys.readouterr()
    rules = tmp_path / "rules.csv"
    rules.write_text("host,medium\nacme-partner.com,affiliate\ngoogle.com,paid_search_test\n", encoding="utf-8")
    assert cli.main(["load", "--db", str(db), "--channel-rules", str(rules)]) == 0
    assert capsys.readouterr().out.strip().splitlines() == ["stored 2 channel rules; re-derived 4 sessions"]
    assert [row[2] for row in _cli_stored(db)] == ["affiliate", "paid_search_test", "email", "organic"]
    one = tmp_path / "one.csv"
    one.write_text("host,medium\nbing.com,search_test\n", encoding="utf-8")
    assert cli.main(["load", "--db", str(db), "--channel-rules", str(one)]) == 0
    assert capsys.readouterr().out.strip() == "stored 1 channel rule; re-derived 4 sessions"


# --- channel groups (docs/data.md#channel-groups) ------------------------------------------------

GROUP_VISITS = [
    visit("https://www.google.com/"),
    visit("https://www.google.com/", "https://www.acme.com/?gclid=abc"),
    visit("https://www.facebook.com/"),
    visit("", utm_source="newsletter", utm_medium="email"),
    visit("https://chatgpt.com/"),
    visit("https://www.acme-partner.com/"),
    visit(""),
    visit("", utm_source="facebook", utm_medium="paid_social"),
    visit("", utm_source="whatever", utm_medium="carrier-pigeon"),
]
GROUPS = [
    "Organic Search", "Paid Search", "Organic Social", "Email", "AI Assistants", "Referral", "Direct",
    "Paid Social", "Unassigned",
]


def _groups(con) -> list[str]:
    return [row[0] for row in con.execute("SELECT channel_group FROM sessions ORDER BY session_id").fetchall()]


def test_every_session_gets_its_channel_group_at_load(tmp_path):
    """Real referrers and UTM pairs land in the GA4-like groups of the shipped table."""
    sessions = write_sessions(tmp_path / "sessions.csv", GROUP_VISITS, columns=("referrer", "landing_page", *UTM_COLUMNS))
    con = connect(tmp_path / "g.duckdb")
    load(con, str(sessions))
    assert _groups(con) == GROUPS


def test_channel_group_rules_are_stored_and_rederive_every_session(tmp_path, capsys):
    """`insights load --channel-group-rules FILE`: the user's rules go first, are kept in the store,
    re-derive the stored sessions and apply to later loads; the output says so."""
    db = tmp_path / "cli.duckdb"
    columns = ("referrer", "landing_page", *UTM_COLUMNS)
    first = write_sessions(tmp_path / "first.csv", GROUP_VISITS, columns=columns, prefix="a")
    assert cli.main(["load", "--db", str(db), "--sessions", str(first)]) == 0
    rules = tmp_path / "groups.csv"
    rules.write_text(
        "channel_group,source,medium,note\nAffiliates,acme-partner.com,,our partner\nEmail,,carrier-pigeon,\n",
        encoding="utf-8",
    )
    capsys.readouterr()
    assert cli.main(["load", "--db", str(db), "--channel-group-rules", str(rules)]) == 0
    assert capsys.readouterr().out.strip() == "stored 2 channel-group rules; re-derived 9 sessions"
    later = write_sessions(tmp_path / "later.csv", GROUP_VISITS, columns=columns, prefix="b")
    assert cli.main(["load", "--db", str(db), "--sessions", str(later)]) == 0
    expected = [*GROUPS[:5], "Affiliates", "Direct", "Paid Social", "Email"]
    con = connect(db, read_only=True)
    assert _groups(con) == expected * 2
    assert con.execute("SELECT position, channel_group, source, medium, note FROM channel_group_rules"
                       " ORDER BY position").fetchall() == [
        (1, "Affiliates", "acme-partner.com", "", "our partner"), (2, "Email", "", "carrier-pigeon", ""),
    ]


def test_an_append_keeps_what_stored_sessions_were_derived_to(tmp_path, monkeypatch):
    """Appending to a user never derives their stored sessions again (nothing stored is parsed
    again): only new rules do. Seen by changing the shipped known hosts between two loads."""
    con = connect(tmp_path / "a.duckdb")
    load(con, write_sessions(tmp_path / "first.csv", [visit("https://www.bing.com/")]))
    assert stored_sessions(con)[0]["medium"] == "organic"
    shipped = KnownHosts.shipped()
    monkeypatch.setattr(KnownHosts, "shipped", classmethod(
        lambda cls: shipped.with_overrides([("bing.com", "changed")])
    ))
    more = tmp_path / "more.csv"
    more.write_text("session_id,user_id,started_at,referrer\nb001,s-user-1,2025-07-02T10:00:00Z,https://www.bing.com/\n")
    load(con, str(more))
    assert [(row["session_id"], row["medium"]) for row in stored_sessions(con)] == [
        ("b001", "changed"), ("s001", "organic")
    ]
