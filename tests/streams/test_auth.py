"""What a private subscription signs: the documented string, checked with accounts.signing."""

from __future__ import annotations

from streams import auth


def test_the_signing_string_of_a_subscription():
    expected = "instruction=subscribe&timestamp=1754000000000&window=5000"
    assert auth.signing_string(1754000000000, 5000) == expected
