"""统一社会信用代码 check character (GB 32100-2015)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditbook.core import uscc

# GB 32100 alphabet: digits and capitals without I, O, S, V, Z.
GB32100_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALID_CODES = (
    "91110000802100433B",
    "91310000MA1FL7JF8P",
    "91320000MA1N4B2K88",
    "91330100MA27XF6T2T",
    "91440300MA5FG3EH1W",
    "91110000710935732K",
    "123100004250061179",
)

bodies = st.text(alphabet=GB32100_ALPHABET, min_size=17, max_size=17)


def with_char(code: str, position: int, char: str) -> str:
    return code[:position] + char + code[position + 1 :]


def test_alphabet_is_the_standard_one() -> None:
    assert uscc.ALPHABET == GB32100_ALPHABET


@pytest.mark.parametrize("code", VALID_CODES)
def test_known_valid_codes_pass(code: str) -> None:
    assert uscc.problem(code) is None
    assert uscc.check_character(code[:17]) == code[17]


def test_wrong_check_character_names_the_expected_one() -> None:
    problem = uscc.problem("91110000802100433A")
    assert problem is not None
    zh, en = problem
    assert "A" in zh and "B" in zh
    assert en == "check character is A, GB 32100 gives B"


@pytest.mark.parametrize("code", ["91110000802100433", "91110000802100433B0", ""])
def test_wrong_length_is_reported(code: str) -> None:
    problem = uscc.problem(code)
    assert problem is not None
    assert f"has {len(code)} characters, needs 18" in problem[1]
    assert f"{len(code)}" in problem[0]


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_forbidden_letters_are_reported(letter: str) -> None:
    problem = uscc.problem(with_char("91110000802100433B", 10, letter))
    assert problem is not None
    assert "not allowed" in problem[1]
    assert letter in problem[1] and letter in problem[0]


@given(bodies)
def test_body_plus_its_check_character_is_valid(body: str) -> None:
    assert uscc.problem(body + uscc.check_character(body)) is None


@given(bodies, st.integers(min_value=0, max_value=17), st.sampled_from(GB32100_ALPHABET))
def test_any_single_character_change_is_detected(body: str, position: int, char: str) -> None:
    code = body + uscc.check_character(body)
    changed = with_char(code, position, char)
    if changed == code:
        changed = with_char(code, position, GB32100_ALPHABET[GB32100_ALPHABET.index(char) - 1])
    assert uscc.problem(changed) is not None
