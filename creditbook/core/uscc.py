"""统一社会信用代码 (Unified Social Credit Code) check character, GB 32100-2015."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(body: str) -> str:
    """The 18th character for the first 17 (which must use the code's 31-character alphabet)."""
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(body, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> tuple[str, str] | None:
    """None when the code is well formed, else what is wrong as (中文, English)."""
    if len(code) != 18:
        return f"长度为 {len(code)} 位，应为 18 位", f"has {len(code)} characters, needs 18"
    bad = " ".join(sorted({char for char in code if char not in ALPHABET}))
    if bad:
        return (
            f"含有代码中不允许的字符：{bad}",
            f"contains characters not allowed in the code: {bad}",
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        return (
            f"校验位为 {code[17]}，按 GB 32100 应为 {expected}",
            f"check character is {code[17]}, GB 32100 gives {expected}",
        )
    return None
