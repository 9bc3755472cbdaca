"""Channel groups (docs/data.md#channel-groups): the shipped rule table on real source/medium pairs.

Pairs come the two ways sessions really get them: derived from a referrer and a
landing page by the loader's own rules (``organic/google.com``,
``email/google.com`` for a Gmail click), and written by hand in UTM tags
(``cpc/google``, ``paid_social/Facebook``, ``email/newsletter``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from insights_core.channel_groups import (
    COLUMNS,
    STORED_RULES,
    UNASSIGNED,
    ChannelGroupRule,
    ChannelGroupRules,
    ChannelGroupRulesError,
    parse_rules,
    read_rules_file,
)
from insights_core.channels import KnownHosts, registered_domain
from insights_core.ingest.derive import derive_source_medium
from insights_core.vocabulary import CHANNEL_GROUPS

SITE = "www.acme-analytics.com"


@pytest.fixture(scope="module")
def rules() -> ChannelGroupRules:
    return ChannelGroupRules.shipped()


@pytest.fixture(scope="module")
def hosts() -> KnownHosts:
    return KnownHosts.shipped()


def _derived(referrer_host: str | None, click_id: str | None, hosts: KnownHosts) -> tuple[str, str]:
    return derive_source_medium(referrer_host, SITE, click_id, hosts)


# --- the shipped table -------------------------------------------------------------------


def test_shipped_table_parses_and_names_only_known_groups(rules: ChannelGroupRules) -> None:
    groups = {rule.channel_group for rule in rules.rules}
    assert groups <= set(CHANNEL_GROUPS)
    assert groups == set(CHANNEL_GROUPS) - {UNASSIGNED}, "every group but the fallback has a rule"
    assert all(rule.note for rule in rules.rules), "each shipped rule says why it is there"


def test_shipped_table_is_one_shared_instance() -> None:
    assert ChannelGroupRules.shipped() is ChannelGroupRules.shipped()


# --- pairs derived from a referrer, as the loader derives them -----------------------------


@pytest.mark.parametrize(
    ("referrer_host", "click_id", "channel", "group"),
    [
        (None, None, "(none)/(direct)", "Direct"),
        (SITE, None, "(none)/(direct)", "Direct"),  # a self-referral is no referrer
        (None, "gclid", "cpc/google.com", "Paid Search"),
        (None, "msclkid", "cpc/bing.com", "Paid Search"),
        ("www.google.com", "gclid", "cpc/google.com", "Paid Search"),
        ("www.google.co.uk", "gbraid", "cpc/google.co.uk", "Paid Search"),
        ("www.bing.com", "msclkid", "cpc/bing.com", "Paid Search"),
        ("www.youtube.com", "gclid", "cpc/youtube.com", "Paid Social"),  # a video ad
        ("blog.example.org", "gclid", "cpc/example.org", "Paid Other"),  # an ad on a publisher site
        ("www.google.com", None, "organic/google.com", "Organic Search"),
        ("www.google.de", None, "organic/google.de", "Organic Search"),
        ("duckduckgo.com", None, "organic/duckduckgo.com", "Organic Search"),
        ("r.search.yahoo.com", None, "organic/yahoo.com", "Organic Search"),
        ("yandex.ru", None, "organic/yandex.ru", "Organic Search"),
        ("l.facebook.com", None, "social/facebook.com", "Organic Social"),
        ("t.co", None, "social/t.co", "Organic Social"),
        ("www.linkedin.com", None, "social/linkedin.com", "Organic Social"),
        ("news.ycombinator.com", None, "social/ycombinator.com", "Organic Social"),
        ("www.youtube.com", None, "social/youtube.com", "Organic Social"),
        ("groups.google.com", None, "social/google.com", "Organic Social"),
        ("mail.google.com", None, "email/google.com", "Email"),
        ("outlook.live.com", None, "email/live.com", "Email"),
        ("mail.yahoo.com", None, "email/yahoo.com", "Email"),
        ("chatgpt.com", None, "ai/chatgpt.com", "AI Assistants"),
        ("www.perplexity.ai", None, "ai/perplexity.ai", "AI Assistants"),
        ("gemini.google.com", None, "ai/google.com", "AI Assistants"),
        ("copilot.microsoft.com", None, "ai/microsoft.com", "AI Assistants"),
        ("www.g2.com", None, "referral/g2.com", "Referral"),
        ("github.com", None, "referral/github.com", "Referral"),
        ("blog.example.org", None, "referral/example.org", "Referral"),
    ],
)
def test_derived_pairs(
    rules: ChannelGroupRules, hosts: KnownHosts, referrer_host: str | None, click_id: str | None,
    channel: str, group: str,
) -> None:
    source, medium = _derived(referrer_host, click_id, hosts)
    assert f"{medium}/{source}" == channel
    assert rules.group_of(source, medium, hosts) == group


# --- pairs written in UTM tags -------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "medium", "group"),
    [
        # paid search: a paid medium on a search engine, written as a bare name or a domain
        ("google", "cpc", "Paid Search"),
        ("bing", "cpc", "Paid Search"),
        ("bing.com", "ppc", "Paid Search"),
        ("google", "paidsearch", "Paid Search"),
        ("google.co.uk", "cpc", "Paid Search"),
        ("yahoo", "cpc", "Paid Search"),
        ("duckduckgo", "retargeting", "Paid Search"),
        ("newsengine", "paid_search", "Paid Search"),  # the medium alone says so
        ("newsengine", "sem", "Paid Search"),
        # paid social: a paid medium on a social network, or a medium that says paid social
        ("facebook", "paid_social", "Paid Social"),
        ("Facebook", "paidsocial", "Paid Social"),
        ("instagram", "cpc", "Paid Social"),
        ("linkedin", "ppc", "Paid Social"),
        ("linkedin.com", "paid", "Paid Social"),
        ("reddit", "cpm_retargeting", "Paid Social"),
        ("tiktok", "paid", "Paid Social"),
        ("meta", "paid_social", "Paid Social"),
        ("meta", "cpc", "Paid Social"),  # Meta by name, not meta.ua (a search engine)
        ("Meta Ads", "paid", "Paid Social"),
        ("google", "paid_social", "Paid Social"),  # a medium that names the channel decides first
        ("fb", "paid-social", "Paid Social"),
        # display, before the paid rules
        ("google", "display", "Display"),
        ("criteo", "banner", "Display"),
        ("google", "cpm", "Display"),
        ("facebook", "banner", "Display"),
        ("doubleclick.net", "interstitial", "Display"),
        # paid other
        ("(direct)", "cpc", "Paid Other"),
        ("podcast_network", "paid", "Paid Other"),
        ("partnernet", "cpa", "Paid Other"),
        ("spotify_ads", "cpv", "Paid Other"),
        # email
        ("newsletter", "email", "Email"),
        ("hubspot", "email", "Email"),
        ("mailchimp", "e-mail", "Email"),
        ("google", "email", "Email"),  # a medium that names the channel beats the source's kind
        ("email", "newsletter", "Email"),
        ("email", "blast", "Email"),
        ("newsletter", "(none)", "Email"),
        ("gmail", "(none)", "Email"),
        ("outlook.com", "(none)", "Email"),
        # AI assistants
        ("chatgpt.com", "ai", "AI Assistants"),
        ("chatgpt.com", "(none)", "AI Assistants"),  # ChatGPT's own utm_source on a direct visit
        ("perplexity", "(none)", "AI Assistants"),
        ("claude.ai", "(none)", "AI Assistants"),
        # affiliates and referral
        ("awin", "affiliate", "Affiliates"),
        ("cj", "affiliates", "Affiliates"),
        ("partner-blog", "referral", "Referral"),
        ("facebook", "referral", "Referral"),
        ("app_store", "app", "Referral"),
        # organic search and social by medium, then by the source's kind
        ("google", "organic", "Organic Search"),
        ("facebook", "organic", "Organic Search"),  # GA4 would say Organic Social; the medium decides here
        ("facebook", "social", "Organic Social"),
        ("twitter", "social-media", "Organic Social"),
        ("forum", "sm", "Organic Social"),
        ("linkedin", "social network", "Organic Social"),
        ("google", "(none)", "Organic Search"),
        ("bing", "listing", "Organic Search"),
        ("google", "post", "Organic Search"),  # google.com is also Gmail and Gemini: search comes first
        ("facebook", "(none)", "Organic Social"),
        ("meta", "(none)", "Organic Social"),
        ("fb", "(none)", "Organic Social"),
        ("ig", "post", "Organic Social"),
        ("LinkedIn", "post", "Organic Social"),
        ("youtube", "video", "Organic Social"),
        ("l.facebook.com", "(none)", "Organic Social"),  # a full host takes its known host's kind
        ("mail.google.com", "(none)", "Email"),
        ("www.google.com", "(none)", "Organic Search"),
        # nothing matches
        ("foo", "(none)", "Unassigned"),
        ("flyer", "print", "Unassigned"),
        ("poster", "qr", "Unassigned"),
        ("(direct)", "tv", "Unassigned"),
        ("android", "(none)", "Unassigned"),  # app package hosts (com.google.android.gm) match only exactly
        ("com.google.android.gm", "(none)", "Email"),
        ("github.com", "(none)", "Unassigned"),
        ("googleplex", "cpc", "Paid Other"),  # a name is matched whole, not as a prefix
    ],
)
def test_tagged_pairs(rules: ChannelGroupRules, hosts: KnownHosts, source: str, medium: str, group: str) -> None:
    assert rules.group_of(source, medium, hosts) == group


@pytest.mark.parametrize(
    ("source", "medium"),
    [
        ("Google", "CPC"), ("GOOGLE", "cpc"), (" google ", "cpc "), ("Google.Com", "Cpc"),
        ("google.COM", "PPC"),
    ],
)
def test_case_and_spaces_do_not_matter(rules: ChannelGroupRules, hosts: KnownHosts, source: str, medium: str) -> None:
    assert rules.group_of(source, medium, hosts) == "Paid Search"


@pytest.mark.parametrize("medium", ["Email", "EMAIL", "E-Mail", "e mail", " email"])
def test_email_spellings(rules: ChannelGroupRules, hosts: KnownHosts, medium: str) -> None:
    assert rules.group_of("Newsletter", medium, hosts) == "Email"


@pytest.mark.parametrize("direct", [("(direct)", "(none)"), ("(Direct)", "(None)"), ("(direct)", "(not set)")])
def test_direct_spellings(rules: ChannelGroupRules, hosts: KnownHosts, direct: tuple[str, str]) -> None:
    assert rules.group_of(*direct, hosts) == "Direct"


def test_every_known_host_lands_in_its_groups(rules: ChannelGroupRules, hosts: KnownHosts) -> None:
    """Each shipped known host, as a referrer, gives its medium's unpaid group; with a gclid, a paid one."""
    unpaid = {"organic": "Organic Search", "social": "Organic Social", "email": "Email", "ai": "AI Assistants"}
    paid = {"organic": {"Paid Search"}, "social": {"Paid Social", "Paid Search"},
            "email": {"Paid Search", "Paid Social", "Paid Other"},
            "ai": {"Paid Search", "Paid Social", "Paid Other"}}
    for host, kind in hosts.mediums.items():
        source, medium = _derived(host, None, hosts)
        assert rules.group_of(source, medium, hosts) == unpaid[kind], host
        source, medium = _derived(host, "gclid", hosts)
        assert rules.group_of(source, medium, hosts) in paid[kind], host
    # a search engine's own domain, tagged by hand under each of its names, is paid search
    for host, kind in hosts.mediums.items():
        if kind == "organic" and registered_domain(host) == host and "." in host:
            assert rules.group_of(host.upper(), "cpc", hosts) == "Paid Search", host


# --- the user's known hosts count --------------------------------------------------------


def test_users_known_hosts_change_the_kind_of_a_source(rules: ChannelGroupRules, hosts: KnownHosts) -> None:
    assert rules.group_of("ourforum.net", "cpc", hosts) == "Paid Other"
    assert rules.group_of("ourforum", "(none)", hosts) == UNASSIGNED
    ours = hosts.with_overrides([("talk.ourforum.net", "social")])
    assert rules.group_of("ourforum.net", "cpc", ours) == "Paid Social"
    assert rules.group_of("OurForum", "(none)", ours) == "Organic Social"
    assert rules.group_of("talk.ourforum.net", "post", ours) == "Organic Social"
    # the answer cached for one known-hosts table is not reused for another
    assert rules.group_of("ourforum.net", "cpc", hosts) == "Paid Other"


def test_a_host_moved_to_another_kind_moves_its_sources(rules: ChannelGroupRules, hosts: KnownHosts) -> None:
    ours = hosts.with_overrides([("www.ecosia.org", "ai"), ("ecosia.org", "ai")])
    assert rules.group_of("ecosia", "(none)", hosts) == "Organic Search"
    assert rules.group_of("ecosia", "(none)", ours) == "AI Assistants"


# --- the user's rules --------------------------------------------------------------------


def test_users_rules_come_first_and_the_shipped_ones_still_apply(
    rules: ChannelGroupRules, hosts: KnownHosts
) -> None:
    ours = rules.with_overrides(parse_rules(
        "channel_group,source,medium\n"
        "Affiliates,awin|CJ,\n"
        "Paid Social,,social_ads\n"
        "Referral,facebook,organic\n",
        "ours.csv",
    ))
    assert ours.group_of("awin", "cpc", hosts) == "Affiliates"
    assert ours.group_of("cj", "email", hosts) == "Affiliates"
    assert ours.group_of("whatever", "Social_Ads", hosts) == "Paid Social"
    assert ours.group_of("facebook", "organic", hosts) == "Referral"
    assert ours.group_of("google", "cpc", hosts) == "Paid Search"
    assert ours.group_of("(direct)", "(none)", hosts) == "Direct"
    # the shipped table itself is unchanged
    assert rules.group_of("awin", "cpc", hosts) == "Paid Other"
    assert len(ours.rules) == len(rules.rules) + 3


def test_patterns_and_kinds_in_users_rules(rules: ChannelGroupRules, hosts: KnownHosts) -> None:
    ours = rules.with_overrides(parse_rules(
        "medium_pattern,channel_group,source_pattern,source_kind\n"
        ".*push.*,Referral,,\n"
        ",Affiliates,.*partner.*,\n"
        "paid.*,Display,,social network|webmail\n",
        "ours.csv",
    ))
    assert ours.group_of("firebase", "mobile_push", hosts) == "Referral"
    assert ours.group_of("Our-Partner-Site", "(none)", hosts) == "Affiliates"
    assert ours.group_of("partner", "cpc", hosts) == "Affiliates"
    assert ours.group_of("facebook", "paid", hosts) == "Display"
    assert ours.group_of("gmail", "paid", hosts) == "Display"
    assert ours.group_of("google", "paid", hosts) == "Display"  # google.com is Gmail's domain too: kinds are sets
    assert ours.group_of("bing", "paid", hosts) == "Paid Search"
    assert ours.group_of("nobody", "unpaid", hosts) == UNASSIGNED  # a pattern matches the whole value


def test_a_catch_all_row_replaces_the_shipped_table(rules: ChannelGroupRules, hosts: KnownHosts) -> None:
    ours = rules.with_overrides(parse_rules("channel_group,medium\nOrganic Search,organic\nUnassigned,\n", "f"))
    assert ours.group_of("google", "organic", hosts) == "Organic Search"
    assert ours.group_of("google", "cpc", hosts) == UNASSIGNED
    assert ours.group_of("(direct)", "(none)", hosts) == UNASSIGNED


def test_stored_rows_give_the_same_rules_as_the_file(rules: ChannelGroupRules, hosts: KnownHosts) -> None:
    parsed = parse_rules(
        "channel_group,source,note\nAffiliates,awin|cj,\"partners, paid per sale\"\n", "ours.csv"
    )
    stored = [rule.as_row() for rule in parsed]
    assert stored == [("Affiliates", "awin|cj", "", "", "", "", "partners, paid per sale")]
    assert len(stored[0]) == len(COLUMNS)
    again = rules.with_overrides(stored)
    assert again.rules == rules.with_overrides(parsed).rules
    assert again.group_of("cj", "cpc", hosts) == "Affiliates"
    with_nones = rules.with_overrides([("Referral", "partner", None, None, None, None, None)])
    assert with_nones.group_of("partner", "cpc", hosts) == "Referral"


def test_a_bad_stored_row_is_named(rules: ChannelGroupRules) -> None:
    with pytest.raises(ChannelGroupRulesError, match=rf"^{STORED_RULES}: row 2: channel_group 'Podcasts'"):
        rules.with_overrides([("Referral", "a"), ("Podcasts",)])


def test_group_names_are_written_back_in_their_own_spelling(hosts: KnownHosts) -> None:
    (rule,) = parse_rules("channel_group,source\n paid social ,meta\n", "f.csv")
    assert rule.channel_group == "Paid Social"
    assert ChannelGroupRules((rule,)).group_of("meta", "x", hosts) == "Paid Social"


# --- the file format ---------------------------------------------------------------------


def test_a_file_with_bom_blank_lines_quotes_and_fewer_fields_is_read(tmp_path: Path, hosts: KnownHosts) -> None:
    path = tmp_path / "groups.csv"
    path.write_bytes(
        "\ufeffchannel_group,source,medium,note\r\n"
        "\r\n"
        "Affiliates,awin,,\"paid per sale, monthly\"\r\n"
        "Email,,newsletter\r\n".encode("utf-8")
    )
    rows = read_rules_file(path)
    assert [(rule.channel_group, rule.source, rule.medium, rule.note) for rule in rows] == [
        ("Affiliates", "awin", "", "paid per sale, monthly"),
        ("Email", "", "newsletter", ""),
    ]
    assert rows[0].where == f"{path}: line 3"
    assert read_rules_file(_write(tmp_path, "channel_group\n")) == []


def _write(tmp_path: Path, text: str, name: str = "ours.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"ours\.csv: empty file; the first line must name the columns"),
        ("\n\n", r"ours\.csv: empty file"),
        ("group,source\nEmail,x\n", r"ours\.csv: line 1: unknown column 'group'; the columns are channel_group, "),
        ("channel_group,source,Source\nEmail,x,y\n", r"ours\.csv: line 1: column 'source' appears twice"),
        ("source,medium\nx,y\n", r"ours\.csv: line 1: the header has no channel_group column"),
        ("channel_group,source\nEmail,x\nPodcasts,y\n", r"ours\.csv: line 3: channel_group 'Podcasts' is not one of: Direct, Paid Search"),
        ("channel_group,source\n\n\n,y\n", r"ours\.csv: line 4: channel_group is empty"),
        ("channel_group,source\nEmail,x,y\n", r"ours\.csv: line 2: 3 fields, the header has 2"),
        ("channel_group,source_kind\nEmail,search\n", r"ours\.csv: line 2: source_kind 'search' is not one of: search engine, social network, webmail, ai assistant"),
        ("channel_group,medium_pattern\nEmail,(cpc\n", r"ours\.csv: line 2: medium_pattern '\(cpc' is not a regular expression"),
        ("channel_group,source_pattern\nEmail,*x\n", r"ours\.csv: line 2: source_pattern '\*x' is not a regular expression"),
        ("channel_group,medium_pattern\nEmail," + "a" * 501 + "\n", r"ours\.csv: line 2: medium_pattern is longer than 500 characters"),
        ("channel_group,source\nEmail,|\n", r"ours\.csv: line 2: source '\|' lists no value"),
        ('channel_group,note\nEmail,"multi\nline"\nPodcasts,\n', r"ours\.csv: line 4: channel_group 'Podcasts'"),
        ('channel_group,source\nEmail,"unclosed\n', r"ours\.csv: line 2: not valid CSV \(unexpected end of data\)"),
        ('channel_group,source\nEmail,"a"b\n', r"ours\.csv: line 2: not valid CSV"),
    ],
)
def test_bad_files_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ChannelGroupRulesError, match=f"^{re.escape(str(tmp_path))}/{message}"):
        read_rules_file(path)
    with pytest.raises(ChannelGroupRulesError, match=f"^{message}"):
        parse_rules(text, "ours.csv")


def test_a_long_bad_value_is_quoted_short(tmp_path: Path) -> None:
    with pytest.raises(ChannelGroupRulesError) as error:
        read_rules_file(_write(tmp_path, "channel_group\n" + "x" * 70_000 + "\n"))
    assert len(str(error.value)) < 700
    assert "70,000 characters" in str(error.value)


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    with pytest.raises(ChannelGroupRulesError, match=rf"^{missing}: cannot read channel-group rules \("):
        read_rules_file(missing)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("channel_group,source\nEmail,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ChannelGroupRulesError, match=rf"^{latin}: not UTF-8 text"):
        read_rules_file(latin)
    with pytest.raises(ChannelGroupRulesError, match=rf"^{tmp_path}: cannot read channel-group rules"):
        read_rules_file(tmp_path)


def test_the_error_is_a_value_error() -> None:
    assert issubclass(ChannelGroupRulesError, ValueError)
    with pytest.raises(ValueError):
        ChannelGroupRule("Nope")
