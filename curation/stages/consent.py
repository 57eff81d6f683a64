"""The consent stage: domain/URL opt-out and license allow-list; every document leaves it with ``license``.

Annotates ``license`` (string, never null: the record's own ``license`` field, which JSONL readers keep in
``meta.extra``; else the license configured for the document's source, by the stage's ``source_licenses`` or an
input's ``options.license``; else ``unknown_license``) and ``opted_out`` (the opt-out entry the URL falls under), and
fills a null ``url`` from the record's own fields (Dolma's ``metadata.url``). Opt-outs and licenses are obligations,
not tunable thresholds, so this stage rejects by itself: ``consent: opted out (<entry>)`` and ``license: <value> not
allowed``. Matching rules: :mod:`curation.clean.consent`. Spec::

    consent:
      opt_out: pipelines/consent/opt-out.txt   # domains and URL prefixes, one per line
      allow_licenses: [cc-by-sa-3.0, cc-by-4.0, apache-2.0]   # null: every license
      source_licenses: {web: "Common Crawl terms of use"}
"""
from __future__ import annotations

import hashlib
from functools import partial

import pyarrow as pa
from pydantic import Field

from curation.clean.consent import consent_batch, parse_opt_out
from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.schema import ANNOTATIONS


class ConsentParams(StageParams):
    opt_out: str | None = Field(None, description="file of opted-out domains and URL prefixes, one per line (# "
                                                  "comments); a domain covers its subdomains, a prefix only its host")
    opt_out_entries: list[str] = Field([], description="more opt-out domains or URL prefixes, given inline")
    allow_licenses: list[str] | None = Field(None, description="licenses allowed (case-insensitive; an entry also "
                                                              "allows a license that starts with it and a space, "
                                                              "'(', ';' or ','); null allows every license")
    source_licenses: dict[str, str] = Field({}, description="license of documents whose record has none, by source "
                                                            "(an input's options.license counts for its source too)")
    unknown_license: str = Field("unknown", description="license of a document no record or setting gives one")
    reject_unknown: bool = Field(False, description="with allow_licenses, also reject documents of unknown license")
    url_fields: list[str] = Field(["url_or_path", "metadata.warc_url", "metadata.url"],
                                  description="record fields (in meta.extra; 'a.b' is key b of JSON field a) that "
                                              "give a document's url when its url is null")


class ConsentStage(Stage):
    """Annotates ``license`` and ``opted_out``; rejects opted-out URLs and licenses outside the allow-list."""

    type_name = "consent"
    Params = ConsentParams

    def _opt_out_lines(self) -> list[str]:
        if not self.params.opt_out:
            return []
        try:
            with open(self.params.opt_out, encoding="utf-8") as fh:
                return fh.read().splitlines()
        except OSError as exc:
            raise ValueError(f"consent.opt_out: cannot read {self.params.opt_out}: {exc.strerror}") from None

    def fingerprint_extra(self, ctx: StageContext) -> str:
        return hashlib.sha256("\n".join(self._opt_out_lines()).encode()).hexdigest()

    def source_licenses(self, ctx: StageContext) -> dict[str, str]:
        """The stage's ``source_licenses`` over the inputs' ``options.license`` (by the input's ``source``)."""
        licenses = {}
        for i, inp in enumerate(getattr(ctx.spec, "inputs", None) or []):
            value = (inp.options or {}).get("license")
            if value is None:
                continue
            if not inp.source:
                raise ValueError(f"inputs.{i}.options.license needs inputs.{i}.source (licenses are set per source)")
            licenses[inp.source] = str(value)
        licenses.update(self.params.source_licenses)
        return licenses

    def apply(self, df, ctx: StageContext) -> StageResult:
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import to_arrow_schema

        from curation.runtime.batches import map_batches

        p: ConsentParams = self.params
        opt_out = parse_opt_out(self._opt_out_lines(), p.opt_out_entries)
        base = df.drop("license", "opted_out")
        schema = to_arrow_schema(base.schema)
        schema = schema.append(pa.field("license", ANNOTATIONS["license"])).append(
            pa.field("opted_out", ANNOTATIONS["opted_out"])).append(pa.field("reason", pa.string()))
        fn = partial(consent_batch, opt_out=opt_out, allowed=p.allow_licenses,
                     source_licenses=self.source_licenses(ctx), unknown_license=p.unknown_license,
                     reject_unknown=p.reject_unknown, url_fields=p.url_fields)
        combined = map_batches(base, fn, schema)
        ctx.log(f"consent: {len(opt_out)} opt-out entries")

        def stats(kept, rejected, _artifacts):
            by_license = {r["license"]: r["count"] for r in kept.groupBy("license").count().collect()}
            opted = ({r["opted_out"]: r["count"] for r in
                      rejected.where(F.col("opted_out").isNotNull()).groupBy("opted_out").count().collect()}
                     if rejected is not None else {})
            return {"consent": {"opt_out_entries": len(opt_out), "kept_by_license": dict(sorted(by_license.items())),
                                "opted_out": dict(sorted(opted.items()))}}

        return StageResult(combined=combined, after_write=stats)
