"""Small shared records: bilingual text, money, and the located problem record (Issue)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializationInfo,
    computed_field,
    model_serializer,
    model_validator,
)

Lang = Literal["zh", "en", "both"]
Path = tuple[str | int, ...]


def _json_number(value: Decimal) -> int | float:
    """Decimal → JSON number whose text is the exact decimal (money is never computed as float)."""
    return int(value) if value == value.to_integral_value() else float(value)


Number = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    PlainSerializer(_json_number, when_used="json"),
]
Money = Number
Ratio = Annotated[
    Decimal,
    Field(ge=0, allow_inf_nan=False),
    PlainSerializer(_json_number, when_used="json"),
]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Text(Frozen):
    """A user-facing sentence in Chinese and English; rendered per the `lang` serialization context."""

    zh: str
    en: str

    def render(self, lang: Lang = "both") -> str:
        if lang == "zh":
            return self.zh
        if lang == "en" or self.zh == self.en:
            return self.en
        return f"{self.zh} / {self.en}"

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, value: Any) -> Any:
        return {"zh": value, "en": value} if isinstance(value, str) else value

    @model_serializer(mode="plain")
    def _serialize(self, info: SerializationInfo) -> str | dict[str, str]:
        context = info.context or {}
        lang = context.get("lang")
        if lang is None and not info.mode_is_json():
            return {"zh": self.zh, "en": self.en}
        return self.render(lang or "both")


def text(zh: str, en: str) -> Text:
    return Text(zh=zh, en=en)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


def format_path(path: Path) -> str:
    """('consumption', 2, 'model') → 'consumption[2].model'; the whole application is '$'.

    A key that cannot be shown as it is (empty, or with a control character) is shown quoted."""
    if not path:
        return "$"
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if part.isprintable() and part else repr(part)
            out += f".{name}" if out else name
    return out


class Issue(Frozen):
    """One problem found in an application: where (JSON path, and a cell once known) and what.

    `path` is the contract path (`consumption[2].model`); an adapter that knows the workbook layout
    sets `cell` (`Consumption!D12`), which then becomes the `location` shown to the user.
    """

    severity: Severity
    path: Annotated[Path, PlainSerializer(format_path, when_used="json")]
    message: Text
    cell: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def location(self) -> str:
        return self.cell or format_path(self.path)

    def render(self, lang: Lang = "both") -> str:
        return f"{self.location}: {self.message.render(lang)}"

    def at(self, cell: str) -> Issue:
        """The same issue, located at a workbook cell (or sheet)."""
        return self.model_copy(update={"cell": cell})


def error(path: Path, zh: str, en: str) -> Issue:
    return Issue(severity=Severity.ERROR, path=path, message=text(zh, en))


def warning(path: Path, zh: str, en: str) -> Issue:
    return Issue(severity=Severity.WARNING, path=path, message=text(zh, en))


def has_errors(issues: Sequence[Issue]) -> bool:
    return any(issue.severity is Severity.ERROR for issue in issues)
