"""URL normalization rules and exact-URL dedup with a deterministic keep policy."""
import pytest

from curation.dedup.url import UrlDedupParams, UrlDedupStage, normalize_url
from curation.pipeline.stage import StageContext
from curation.schema import doc_schema, rows_to_batch


@pytest.mark.parametrize("url, norm", [
    ("HTTP://WWW.Example.COM:80/a/./b/../c?utm_source=x&b=2&a=1#frag", "https://example.com/a/c?a=1&b=2"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com:8443/x/", "https://example.com:8443/x/"),
    ("https://example.com/%7euser/%e2%82%ac?q=%2f", "https://example.com/~user/%E2%82%AC?q=%2F"),
    ("https://example.com/caf\u00e9 menu", "https://example.com/caf%C3%A9%20menu"),
    ("http://user:pw@example.com./?fbclid=1", "https://example.com/"),
    ("  ", None),
    ("dns:example.com", "dns:example.com"),
    ("https://[::1", None),
])
def test_normalize_url(url, norm):
    assert normalize_url(url) == norm


def test_url_dedup_keeps_one_per_normalized_url(spark):
    rows = [
        {"id": "a", "text": "short", "url": "http://example.com/page"},
        {"id": "b", "text": "the longest text of the group", "url": "https://www.example.com/page#top"},
        {"id": "c", "text": "also long, but only as long ", "url": "https://example.com/page?utm_medium=mail"},
        {"id": "d", "text": "other page", "url": "https://example.com/other"},
        {"id": "e", "text": "no url one", "url": None},
        {"id": "f", "text": "no url two", "url": None},
    ]
    df = spark.createDataFrame(rows_to_batch(rows, doc_schema()).to_pandas())
    stage = UrlDedupStage(UrlDedupParams())
    res = stage.apply(df, StageContext(spark=spark, out="unused", stage_name="url_dedup"))
    kept = {r["id"]: r["url_norm"] for r in res.kept.collect()}
    assert kept == {"b": "https://example.com/page", "d": "https://example.com/other", "e": None, "f": None}
    rejected = {r["id"]: (r["dup_of"], r["reason"]) for r in res.rejected.collect()}
    assert rejected == {"a": ("b", "url_dedup: duplicate URL"), "c": ("b", "url_dedup: duplicate URL")}
    assert res.kept.columns == doc_schema(["url_norm"]).names

    # earliest crawl wins, ties broken by id
    for r, date in zip(rows, ["2024-01-02", "2024-01-03", "2024-01-02", None, None, None]):
        r["meta"] = {"warc_date": date}
    df = spark.createDataFrame(rows_to_batch(rows, doc_schema()).to_pandas())
    res = UrlDedupStage(UrlDedupParams(keep="earliest")).apply(df, StageContext(spark, "unused", "url_dedup"))
    assert {r["id"]: r["dup_of"] for r in res.rejected.collect()} == {"b": "a", "c": "a"}
