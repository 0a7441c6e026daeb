"""The workbook, its VBA and ribbon sources, installed as `creditbook.workbook` (see pyproject.toml)."""
