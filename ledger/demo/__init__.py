"""The demo supply network (:mod:`.network`, planned without a database) and its loader
(:mod:`.load`): data for a fresh install, the tests and the benchmarks. Only the CLI (and tests
and benchmarks) import it; the domain never does."""
