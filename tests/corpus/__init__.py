"""The hardening corpus: broken and hostile inputs, each with the outcome it must have.

`cases.WORKBOOK_CASES` and `json_cases.JSON_CASES` declare the inputs and build them into a folder;
`runner.run_case` feeds one to the real `creditbook` command and measures it. Run by
tests/cli/test_corpus.py in CI and by scripts/reliability.py for docs/reliability.md.
"""
