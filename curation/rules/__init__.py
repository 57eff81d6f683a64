"""Pure heuristic quality rules, a function of a document's text: Gopher quality and repetition (`gopher`), C4
(`c4`), FineWeb (`fineweb`), the shared text helpers (`text`) and the four sets as one configurable collection
(`sets`). May import numpy, numba, pydantic, `schema` and `pipeline.stage` (the parameter base class); never pyspark
(the stage that runs them on Spark is `stages/heuristics.py`)."""
