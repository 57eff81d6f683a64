"""The tokenizer's training sample: the leading texts of the seeded hash order, read through a hash cut (not the
whole input) on the driver."""
from curation.shards.tokenizer import text_sample
from curation.stages.tokenize import _sample_texts


def test_sample_is_the_hash_order_prefix_read_through_a_cut(spark, rows):
    from pyspark.sql import functions as F

    df = spark.createDataFrame([{"id": r["id"], "text": r["text"]} for r in rows]).repartition(3)
    texts = df.select("text", F.xxhash64(F.lit(7), "id").alias("order"))
    everything = [r["text"] for r in texts.orderBy("order", "text").collect()]
    total = sum(len(t.encode()) for t in everything)
    for max_bytes in (20_000, total // 3, 10 * total):
        assert list(_sample_texts(texts, max_bytes)) == list(text_sample(everything, max_bytes))
    # the cut keeps what comes to the driver near twice the sample, not the input
    fraction = 2 * 20_000 / total
    below = texts.where(F.col("order") < F.lit(-(1 << 63) + int(fraction * (1 << 64)))).count()
    assert below < len(everything) / 5
