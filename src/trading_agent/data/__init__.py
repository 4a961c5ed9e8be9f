"""Market data: files, the Delta Exchange India adapter, quality checks, resampling, caches, feeds,
and the synthetic market. Talks to storage only through the ``CandleStore`` protocol."""
