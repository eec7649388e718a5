"""Shared test configuration: a deterministic hypothesis profile for CI."""

from hypothesis import settings

settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True)
settings.load_profile("ci")


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False,
                     help="run the slow profiles (tests/test_random_programs.py: 10,000+ programs)")
