"""The hostile-input fuzzer of issue #16: what it sends, how it judges the answers, and how it
reports what it found (one line per finding). The tests that drive it are tests/e2e/test_fuzz*.py.
"""
