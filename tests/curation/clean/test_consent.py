"""Consent and license matching: domains cover their subdomains, URL prefixes only their host and path; licenses
match case-insensitively by their leading identifier; every document gets a license."""
import json

import pyarrow as pa

from curation.clean.consent import consent_batch, license_allowed, parse_opt_out, split_url
from curation.schema import DOC_SCHEMA, rows_to_batch

OPT_OUT = parse_opt_out(["# comment", "example.com", "*.blocked.org  # trailing comment", "",
                         "https://news.site.net/private/", "site.net/members"])


def test_domains_cover_subdomains_only():
    assert OPT_OUT.match("https://example.com/a") == "example.com"
    assert OPT_OUT.match("http://www.EXAMPLE.com:8080/x?y=1") == "example.com"
    assert OPT_OUT.match("a.b.example.com/page") == "example.com"  # no scheme (Dolma's metadata.url)
    assert OPT_OUT.match("https://badexample.com/") is None
    assert OPT_OUT.match("https://example.com.evil.net/") is None
    assert OPT_OUT.match("https://blocked.org/") == "blocked.org"
    assert OPT_OUT.match(None) is None and OPT_OUT.match("not a url") is None


def test_url_prefixes_match_their_host_and_path():
    assert OPT_OUT.match("http://news.site.net/private/a.html") == "news.site.net/private/"
    assert OPT_OUT.match("https://news.site.net/public/a.html") is None
    assert OPT_OUT.match("https://www.news.site.net/private/a.html") is None  # another host
    assert OPT_OUT.match("https://site.net/members?id=3") == "site.net/members"
    assert OPT_OUT.match("https://site.net/") is None
    assert split_url("HTTP://Host.COM:80/Path?q") == ("host.com", "/Path?q")


def test_license_allow_list():
    allowed = ["cc-by-sa-3.0", "Apache-2.0", "public domain"]
    assert license_allowed("CC-BY-SA-3.0 (Wikipedia)", allowed)
    assert license_allowed("apache-2.0", allowed)
    assert license_allowed("Public domain (Project Gutenberg)", allowed)
    assert not license_allowed("CC-BY-SA-3.0-IGO", allowed)
    assert not license_allowed("CC-BY-4.0 (PLOS)", allowed)


def test_consent_batch_reasons_licenses_and_urls():
    rows = [
        {"id": "1", "text": "t", "source": "web", "url": "https://www.example.com/x"},
        {"id": "2", "text": "t", "source": "wiki", "meta": {"extra": {"license": "CC-BY-SA-3.0 (Wikipedia)"}}},
        {"id": "3", "text": "t", "source": "code", "meta": {"extra": {"license": "GPL-3.0"}}},
        {"id": "4", "text": "t", "source": "web",
         "meta": {"extra": {"metadata": json.dumps({"url": "blocked.org/page"})}}},
        {"id": "5", "text": "t", "source": "other"},
    ]
    batch = rows_to_batch(rows, DOC_SCHEMA)
    out = consent_batch(batch, OPT_OUT, ["cc-by-sa-3.0", "common crawl terms"], {"web": "Common crawl terms"},
                        "unknown", False, ["url_or_path", "metadata.url"]).to_pydict()
    assert out["reason"] == ["consent: opted out (example.com)", None, "license: GPL-3.0 not allowed",
                             "consent: opted out (blocked.org)", None]
    assert out["license"] == ["Common crawl terms", "CC-BY-SA-3.0 (Wikipedia)", "GPL-3.0", "Common crawl terms",
                              "unknown"]
    assert out["opted_out"] == ["example.com", None, None, "blocked.org", None]
    assert out["url"][3] == "blocked.org/page"
    strict = consent_batch(batch, OPT_OUT, ["cc-by-sa-3.0"], {}, "unknown", True, [])
    assert strict.column("reason").to_pylist()[4] == "license: unknown not allowed"
    assert strict.schema.field("license").type == pa.string()
