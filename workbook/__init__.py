"""The workbook, its VBA and ribbon sources, installed as `creditbook.bundled_workbook` (see pyproject.toml)."""
