"""The README stays a user's page: short, and every command, script and link in it real."""

from __future__ import annotations

import re

from qa.cli import _parser
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_is_short() -> None:
    assert len(README.split()) < 1800


def test_links_and_scripts_in_the_docs_exist() -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#:]+)\)", text):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
        for script in re.findall(r"python (bench/\w+\.py)", text):
            assert (ROOT / script).exists(), f"{page.name} runs {script}, which does not exist"


def test_readme_commands_parse() -> None:
    parser = _parser()
    commands = re.findall(r"^dateline (\w+)", README, flags=re.MULTILINE)
    assert {"ingest", "ask", "search", "timeline", "serve", "eval"} <= set(commands)
    choices = next(a for a in parser._subparsers._group_actions).choices  # type: ignore[union-attr]
    assert set(commands) <= set(choices)
