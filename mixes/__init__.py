"""The mixture optimizer (``curate mix``): propose candidate mixtures, fit a regression from mixture weights to a
proxy's loss, predict, and pick the best mix within token caps.

Pure numerics (numpy, pandas, scipy, scikit-learn, LightGBM): no Spark, no torch. Nothing heavy is imported here;
import the module you need:

* :mod:`mixes.tables` -- the ``ratios`` / ``metrics`` tables (CSV or Parquet, joined on run id), ``MixInputError``
* :mod:`mixes.propose` -- Dirichlet candidates around a prior, natural / uniform / UniMax baselines, weight bounds
* :mod:`mixes.regressors` -- ``linear``, ``loglinear`` (Olmix's mixing law), ``lightgbm`` (RegMix), ``auto``
* :mod:`mixes.fit` -- fit from tables with k-fold figures, save/load as JSON, predict a table
* :mod:`mixes.optimize` -- minimise the prediction within the caps (+ KL to the prior); write the mix file
* :mod:`mixes.cli` -- the typer app: ``propose``, ``fit``, ``predict``, ``optimize``
"""
