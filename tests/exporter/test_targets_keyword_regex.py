"""Service discovery refuses a keyword regex the probe's engine, RE2, cannot run."""

import pytest

from exporter.targets import Target
from tests.exporter.conftest import group


@pytest.mark.parametrize("pattern", [r"(a)\1", r"status(?= OK)", r"(?<!not )ready", r"ok\Z"])
def test_it_refuses_a_pattern_re2_cannot_compile_naming_the_field(pattern):
    bad = group(1, "http", "http://a.test/", http_keyword=pattern, http_keyword_regex="true")
    with pytest.raises(ValueError) as error:
        Target.from_group(bad)
    assert str(error.value).startswith("http_keyword is not a valid regular expression (")
    assert "RE2" in str(error.value)


def test_the_same_text_as_a_plain_keyword_is_fine():
    target = Target.from_group(group(1, "http", "http://a.test/", http_keyword=r"(a)\1"))
    assert target.http_keyword == r"(a)\1" and not target.http_keyword_regex


def test_re2_syntax_python_also_knows_is_accepted():
    target = Target.from_group(group(1, "http", "http://a.test/", http_keyword_regex="true",
                                     http_keyword=r"(?i)status: (?P<word>\w+) GOOD\b"))
    assert target.http_keyword_regex
