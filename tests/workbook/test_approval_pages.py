"""Where the Approval sheet's printed pages break: computed from row heights, blocks kept whole.

The rendered PDFs (test_approval_render.py) show LibreOffice prints these breaks as they are; here
the rules themselves, on made-up blocks and on every example's plan in every language.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from creditbook.core.assess import parse_and_validate
from creditbook.core.engine import evaluate
from creditbook.core.records import Lang
from creditbook.data import default_policy, default_prices, example_applications
from creditbook.workbook.approval import (
    PAGE_HEIGHT,
    Block,
    Cell,
    Line,
    Plan,
    approval_plan,
    paginate,
)
from creditbook.workbook.decide import policy_status

HEADER_STYLES = {"cb_section", "cb_header"}


def row(name: str, height: float = 20, style: str = "cb_text") -> Line:
    return Line((Cell(name, style),), True, height)


def block(name: str, rows: int, *, height: float = 20, new_page: bool = False) -> Block:
    """A section: a spacer, its header (repeated as continued), `rows` rows."""
    header = row(f"{name} header", style="cb_section")
    return Block(
        lines=[row(f"{name} spacer", 8, "cb_intro"), header]
        + [row(f"{name} {i}", height) for i in range(rows)],
        repeat=[row(f"{name} header (continued)", style="cb_section")],
        head=1,
        spacer=True,
        new_page=new_page,
    )


def pages(lines: list[Line], breaks: list[int]) -> list[list[str]]:
    bounds = [0, *breaks, len(lines)]
    return [
        [str(line.cells[0].value) for line in lines[start:end]]
        for start, end in itertools.pairwise(bounds)
    ]


def test_a_block_that_does_not_fit_the_rest_of_a_page_starts_the_next() -> None:
    lines, breaks = paginate([block("a", 3), block("b", 3)], capacity=150, repeated=0)
    # a: 20 + 60 (no spacer at the top of a page); b needs 88 more: the whole of b moves
    assert pages(lines, breaks) == [
        ["a header", "a 0", "a 1", "a 2"],
        ["b header", "b 0", "b 1", "b 2"],
    ]


def test_a_block_longer_than_a_page_continues_under_its_header() -> None:
    lines, breaks = paginate([block("a", 2), block("b", 12)], capacity=200, repeated=30)
    printed = pages(lines, breaks)
    # a: 20 + 40; b fills the rest of page 1 (8 + 20 + 5 rows), then 200 - 30 a page
    assert printed[0] == ["a header", "a 0", "a 1", "b spacer", "b header"] + [
        f"b {i}" for i in range(5)
    ]
    assert all(page[0] == "b header (continued)" for page in printed[1:])
    assert [n for page in printed for n in page if n.startswith("b ") and n[2:].isdigit()] == [
        f"b {i}" for i in range(12)
    ]
    heights = [len(page) * 20 for page in printed[1:]]
    assert all(height <= 200 - 30 for height in heights), heights


def test_a_header_never_ends_a_page() -> None:
    # 150 - 80 = 70 left: b's spacer and header fit, its first row would not with them; b is
    # longer than a page, so it starts the next page rather than leave its header behind
    lines, breaks = paginate([block("a", 3), block("b", 3, height=50)], capacity=150, repeated=0)
    printed = pages(lines, breaks)
    assert printed[0][-1] == "a 2"
    assert printed[1][:2] == ["b header", "b 0"]


def test_a_new_page_block_starts_a_page_and_the_first_page_has_no_title_room() -> None:
    lines, breaks = paginate(
        [block("a", 1), block("b", 1, new_page=True)], capacity=1000, repeated=30
    )
    assert pages(lines, breaks) == [["a header", "a 0"], ["b header", "b 0"]]


def plans() -> list[tuple[str, Lang, Plan]]:
    policy, prices = default_policy(), default_prices()
    at = datetime(2026, 12, 1, tzinfo=UTC)
    made = []
    for name, raw in example_applications():
        app, issues = parse_and_validate(raw, policy, prices)
        assert app is not None, issues
        decision = evaluate(app, policy, prices, evaluated_at=at, issues=issues)
        for lang in ("both", "zh", "en"):
            status = policy_status(policy, [policy])
            plan = approval_plan(decision, app, policy=status, evaluated_by="张敏", lang=lang)
            made.append((name.removesuffix(".json"), lang, plan))
    return made


PLANS = plans()


@pytest.mark.parametrize(("name", "lang", "plan"), PLANS, ids=[f"{n}-{g}" for n, g, _ in PLANS])
def test_every_page_of_every_example_fits_and_ends_on_a_row_of_content(
    name: str, lang: Lang, plan: Plan
) -> None:
    assert plan.title_rows == (1, 1)
    title = plan.lines[0].height
    bounds = [0, *plan.row_breaks, len(plan.lines)]
    for page, (start, end) in enumerate(itertools.pairwise(bounds), start=1):
        used = sum(line.height for line in plan.lines[start:end]) + (title if page > 1 else 0)
        assert used <= PAGE_HEIGHT, (page, used)
        last = plan.lines[end - 1]
        assert not {cell.style for cell in last.cells} & HEADER_STYLES, (page, last)
    # page 1 is the summary, ending with the last approver's signature row
    page_one = plan.lines[: plan.row_breaks[0]]
    assert [cell.style for cell in page_one[-1].cells][1:] == ["cb_input"] * 4
    detail = plan.lines[plan.row_breaks[0]].cells[0]
    assert detail.style == "cb_section" and detail.value in (
        "评分明细 Score breakdown",
        "评分明细",
        "Score breakdown",
    )
