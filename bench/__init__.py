"""On-demand benchmarks (`make bench`); figures go in the closing notes, never into timed unit tests."""
