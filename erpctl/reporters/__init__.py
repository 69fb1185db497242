"""Report formats: each turns one CheckResult into text and decides nothing itself.

The text has no trailing newline; whoever writes it out adds one.
"""

from __future__ import annotations

from collections.abc import Callable

from erpctl.evaluator import CheckResult

from . import json_report, markdown, sarif, table

REPORTERS: dict[str, Callable[[CheckResult], str]] = {
    "table": table.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "markdown": markdown.render,
}
