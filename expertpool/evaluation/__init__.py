"""Relevance evaluation: judged queries on real research text (CSL papers) and on the generated
pool, the metrics, and plugin-less baselines to compare against. Used by `bench/` and the tests;
nothing in the product imports it."""
