"""One compile for keyword regexes, shared by the portal's checks and the exporter's probe."""

import pytest

from wire import keyword_regex


def test_a_pattern_compiles_to_a_searchable_re2_regex():
    assert keyword_regex(r"status: \w+ GOOD").search("status: ALL GOOD") is not None
    assert keyword_regex(r"^(a+)+$").search("a" * 100_000 + "!") is None


@pytest.mark.parametrize(("pattern", "reason"), [
    (r"(a)\1", r"invalid escape sequence: \1"),
    (r"(?=a)", "invalid perl operator: (?="),
    ("(", "missing ): ("),
    (r"\pL{1000}", "pattern too large - compile failed"),
    ("\ud800", "not valid Unicode"),
])
def test_a_pattern_re2_refuses_is_a_value_error_saying_why(pattern, reason):
    with pytest.raises(ValueError) as error:
        keyword_regex(pattern)
    assert str(error.value) == (f"not a valid regular expression ({reason}); keyword "
                                "regexes are RE2 syntax, without backreferences or lookarounds")
