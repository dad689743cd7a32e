"""casetrack's benchmark: a seeded data generator, a bare baseline server and a wrk runner.

Not part of the test suite and not installed with the package: run it from a checkout with
``python -m bench generate|run`` (see bench/README.md).
"""
