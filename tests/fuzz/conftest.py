"""Hypothesis profiles for the bad-input sweep, one per tier of tests; HYPOTHESIS_PROFILE picks one.

| profile | who runs it | examples in all | seed |
| `dev` | `make test-fast` | 100 | fixed |
| `ci` (the default) | `make test`, and so CI | 500 | fixed |
| `fuzz` | `make fuzz` | 10,000 | random, failures kept in .hypothesis/ |

Every test here sizes itself with `examples(share)`: a share of the profile's budget (the shares
of the tests in test_bad_input.py add up to 10).
"""

import os

from hypothesis import HealthCheck, settings

# Examples per unit of share. `ci` is sized so that the sweep takes about 20 s of `make test`
# on a busy 2-core machine (the state machine, 50 runs of 20 steps, is the longest); the wide
# search is `make fuzz`'s.
_BUDGET = {"ci": 50, "fuzz": 1000, "dev": 10}

# deadline=None: a request through the test client, on PostgreSQL in CI, takes from 2 ms to
# a few hundred when the machine is busy; a deadline would only make the sweep flaky.
# function_scoped_fixture is suppressed because these tests reset what the fixtures hand them
# for every example themselves: each example runs inside its own savepoint that is rolled back
# (the database, the sessions table included), makes a fresh test Client (its cookies) and
# clears mail.outbox; the monkeypatches they use are the same for every example.
_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                     HealthCheck.too_slow, HealthCheck.data_too_large])

# ci: derandomized (the seed comes from each test's name), no example database, so that every
# CI run tries the same examples and writes nothing into the working tree.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, **_COMMON)
# fuzz: random, with Hypothesis' example database (.hypothesis/), so that a failure found once
# is tried first on the next run.
settings.register_profile("fuzz", derandomize=False, print_blob=True, **_COMMON)
settings.register_profile("dev", derandomize=True, database=None, **_COMMON)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in _BUDGET:
    raise ValueError(f"HYPOTHESIS_PROFILE={PROFILE!r}: choose one of {sorted(_BUDGET)}")
settings.load_profile(PROFILE)


def examples(share: float) -> int:
    """The number of examples a test with this share of the budget runs under the profile."""
    return max(1, int(_BUDGET[PROFILE] * share))
