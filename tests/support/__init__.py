"""The tests' harness: pytest fixtures over devtools/ (the machinery the benchmarks share).

The root conftest.py loads `tests.support.sqs` and `tests.support.zappa` as plugins, so their
fixtures are everywhere; helpers without pytest (moto, workers, the Lambda package) are imported
from devtools directly.
"""
