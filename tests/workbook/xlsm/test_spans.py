"""Our XML escaping writes the bytes `xml.sax.saxutils` writes (the package writer used it; its
module imports urllib and the network stack, which evaluate should not wait for)."""

from __future__ import annotations

from xml.sax.saxutils import escape as sax_escape
from xml.sax.saxutils import quoteattr as sax_quoteattr

from hypothesis import given
from hypothesis import strategies as st

from creditbook.workbook.xlsm import spans

XMLISH = st.text(st.sampled_from("a中&<>\"' \t\r\n;#x1"), max_size=12)


@given(XMLISH)
def test_escape_and_quoteattr_write_what_saxutils_writes(value: str) -> None:
    assert spans.escape(value) == sax_escape(value)
    assert spans.escape(value, {"\r": "&#13;"}) == sax_escape(value, {"\r": "&#13;"})
    assert spans.quoteattr(value) == sax_quoteattr(value)


def test_quoteattr_picks_the_quotes_a_value_needs() -> None:
    assert spans.quoteattr('#,##0 "CNY"') == "'#,##0 \"CNY\"'"
    assert spans.quoteattr('it\'s "x"') == '"it\'s &quot;x&quot;"'
    assert spans.quoteattr("a\nb<") == '"a&#10;b&lt;"'
