"""The linters CI's lint job runs, run here: the JSON Schemas against the draft 2020-12 meta-schema and the
workflows against GitHub's workflow schema (check-jsonschema, whose schemas are bundled), and zizmor offline.
Each is installed with the test extras; where one is missing the test is skipped with the reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
SCHEMAS = sorted((ROOT / "envcheck" / "output" / "schemas").glob("*.schema.json"))


def tool(name: str) -> str:
    """The program installed beside this interpreter (the test extras), else one on PATH."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which(name, path=path)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def lint(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_the_schemas_follow_the_draft_2020_12_meta_schema() -> None:
    assert len(SCHEMAS) >= 9
    done = lint(tool("check-jsonschema"), "--check-metaschema", *map(str, SCHEMAS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


def test_the_workflows_follow_githubs_workflow_schema() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "gpu.yml"]
    done = lint(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflow_schema_check_does_refuse_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    stepz: []\n", encoding="utf-8")
    done = lint(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(broken))
    assert done.returncode == 1, done.stdout + done.stderr


def test_zizmor_finds_nothing_offline() -> None:
    done = lint(tool("zizmor"), "--offline", "--no-progress", ".github/workflows")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout


def test_zizmor_does_report_an_injection_and_an_unpinned_action(tmp_path: Path) -> None:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "bad.yml").write_text(
        "on: issues\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - run: echo ${{ github.event.issue.title }}\n",
        encoding="utf-8",
    )
    done = lint(tool("zizmor"), "--offline", "--no-progress", str(folder))
    assert done.returncode != 0
    assert "template-injection" in done.stdout and "unpinned-uses" in done.stdout
