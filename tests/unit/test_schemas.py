"""The published JSON Schemas: valid draft 2020-12, shipped and printable, held to the documents envcheck prints,
and held to the compatibility rule (a key added is a minor change; anything else needs a new schema_version,
and compare reads every version it may meet).

Every document printed with --json anywhere in the test run is validated by the autouse fixture of
tests/conftest.py; the tests here check the schemas themselves, the recorded documents of earlier releases, and
that the fixture does catch a document that strays from its schema.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from support import contract, documents
from typer.testing import CliRunner

from envcheck.cli import app
from envcheck.compare import READERS
from envcheck.output.envelope import SCHEMA_VERSION
from envcheck.output.schemas import NAMES, SUFFIX, folder, load_schema

cli = CliRunner()
ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
RECORDED = sorted((FIXTURES / "compare").glob("*.json"))


# ---------------------------------------------------------------------------------------------- the files


@pytest.mark.parametrize("name", NAMES)
def test_each_schema_is_draft_2020_12_and_names_its_version(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT
    assert schema["$id"] == f"urn:envcheck:schema:{SCHEMA_VERSION}:{name}"
    assert schema["$defs"]["envelope"]["properties"]["schema_version"] == {
        "const": SCHEMA_VERSION,
        "description": "The version of this contract; see the compatibility rule.",
    }
    assert schema["title"] and schema["description"]


def test_every_schema_file_is_listed_and_every_name_has_its_file() -> None:
    shipped = sorted(p.name for p in Path(str(folder())).iterdir() if p.name.endswith(SUFFIX))
    assert shipped == sorted(name + SUFFIX for name in NAMES)


def test_shared_definitions_are_the_same_in_every_file() -> None:
    """Each file stands alone (a consumer needs no other), so a definition is copied: every copy is the same."""
    first: dict[str, tuple[str, Any]] = {}
    for name in NAMES:
        for key, value in load_schema(name).get("$defs", {}).items():
            if key in ("report",):
                continue  # each file's own document
            seen = first.setdefault(key, (name, value))
            assert value == seen[1], f"$defs/{key} differs between {seen[0]}{SUFFIX} and {name}{SUFFIX}"


# ---------------------------------------------------------------------------------------------- envcheck schema


@pytest.mark.parametrize("name", NAMES)
def test_envcheck_schema_prints_the_shipped_file(name: str) -> None:
    result = cli.invoke(app, ["schema", name])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (Path(str(folder())) / (name + SUFFIX)).read_text(encoding="utf-8")
    assert json.loads(result.stdout)["$id"].endswith(f":{name}")


def test_envcheck_schema_lists_them_and_where_they_are() -> None:
    result = cli.invoke(app, ["schema"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == list(NAMES)
    assert lines[-1] == f"files: {folder()}"
    path = cli.invoke(app, ["schema", "verify", "--path"]).stdout.strip()
    assert Path(path).is_file() and json.loads(Path(path).read_text(encoding="utf-8")) == load_schema("verify")


def test_an_unknown_schema_is_a_usage_error_with_the_names() -> None:
    result = cli.invoke(app, ["schema", "verfy"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: no schema named 'verfy'; the schemas are: {', '.join(NAMES)}",
        "hint: list them with: envcheck schema",
    ]


def test_the_docs_make_a_page_of_each_shipped_schema_from_the_file_itself() -> None:
    """docs/hooks/schemas.py (an MkDocs hook) renders schemas/NAME.md at every build."""
    spec = importlib.util.spec_from_file_location("schema_pages", ROOT / "docs" / "hooks" / "schemas.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    index = (ROOT / "docs" / "schemas" / "index.md").read_text(encoding="utf-8")
    for name in NAMES:
        page = hook.schema_page(name)
        schema = load_schema(name)
        assert page.startswith(f"# {schema['title']}\n") and f"envcheck schema {name}" in page
        assert "```json\n" + (Path(str(folder())) / (name + SUFFIX)).read_text(encoding="utf-8") + "```" in page
        for key in schema["$defs"].get("report", {}).get("properties", {}):
            assert f"| `{key}` |" in page, (name, key)
        assert f"]({name}.md)" in index, f"docs/schemas/index.md does not list {name}"


# ---------------------------------------------------------------------------------------------- documents


@pytest.mark.parametrize("path", RECORDED, ids=[p.name for p in RECORDED])
def test_recorded_reports_of_earlier_releases_follow_todays_schema(path: Path) -> None:
    """Reports recorded by earlier releases of version 1 (before plan, lock and caused_by were added) still
    validate: keys added within a version are never required."""
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["schema_version"] == SCHEMA_VERSION
    assert documents.check(document, "recorded") == []


def test_a_document_with_an_undocumented_key_or_a_wrong_value_fails() -> None:
    document = json.loads((FIXTURES / "compare" / "verify-linux-cpu.json").read_text(encoding="utf-8"))
    assert documents.problems(document) == []
    extra = {**document, "surprise": 1}
    assert "'surprise' was unexpected" in " ".join(documents.problems(extra))
    # the shipped schema is open: an older schema accepts what a newer minor version adds
    assert documents.problems(extra, strict=False) == []
    nested = json.loads(json.dumps(document))
    nested["checks"][0]["status"] = "ok"
    assert "'ok' is not one of ['pass', 'warn', 'fail', 'skip']" in " ".join(documents.problems(nested))
    assert documents.problems({**document, "schema_version": 2}) != []
    assert documents.problems({"command": "no-such"}) == ["no schema for a document of command 'no-such'"]


def test_the_fixture_catches_a_printed_document_that_strays(
    monkeypatch: pytest.MonkeyPatch, _json_documents_follow_their_schemas: list[str]
) -> None:
    import dataclasses

    import envcheck.output.compare

    real = envcheck.output.compare.COMPARISON
    strays = dataclasses.replace(real, payload=lambda c, style: {**real.payload(c, style), "undocumented": True})
    monkeypatch.setattr(envcheck.output.compare, "COMPARISON", strays)
    report = str(FIXTURES / "compare" / "verify-linux-cpu.json")
    assert cli.invoke(app, ["compare", report, report, "--json"]).exit_code == 0
    found = list(_json_documents_follow_their_schemas)
    _json_documents_follow_their_schemas.clear()  # caught on purpose: this test must not error at teardown
    assert len(found) == 2 and "'undocumented' was unexpected" in found[0]


@pytest.mark.parametrize(
    ("argv", "checked"),
    [
        (["python", "-m", "envcheck", "verify", "--json"], True),
        (["/venv/bin/envcheck", "compare", "a.json", "--json"], True),
        (["python", "-m", "envcheck", "run", "--", "python", "--json"], False),
        (["python", "-m", "envcheck", "verify"], False),
        (["python", "-m", "envcheck", "verify", "--json", "--help"], False),
        (["python", "-m", "pytest", "--json"], False),
    ],
)
def test_which_child_processes_are_checked(argv: list[str], checked: bool) -> None:
    assert documents.envcheck_json_run(argv) is checked


# ---------------------------------------------------------------------------------------------- compatibility


def test_the_schemas_keep_the_record_of_their_version() -> None:
    """Removing, renaming, making required or optional, or changing a closed list of values needs a new
    schema_version; a key added is recorded (ENVCHECK_RECORD_CONTRACT=1) and is a minor change."""
    path = contract.record_path(SCHEMA_VERSION)
    current = contract.describe_all()
    recording = os.environ.get("ENVCHECK_RECORD_CONTRACT") == "1"
    if recording and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert path.is_file(), f"schema_version {SCHEMA_VERSION} has no record: run with ENVCHECK_RECORD_CONTRACT=1"
    recorded = json.loads(path.read_text(encoding="utf-8"))
    broken = contract.breaking_changes(recorded, current)
    assert not broken, f"these changes need schema_version {SCHEMA_VERSION + 1}:\n" + "\n".join(broken)
    added = contract.additions(recorded, current)
    if added and recording:
        path.write_text(json.dumps(contract.merged(recorded, current), indent=1, sort_keys=True) + "\n")
        added = []
    assert not added, f"record these additions in {path.name} (ENVCHECK_RECORD_CONTRACT=1):\n" + "\n".join(added)


def test_the_record_refuses_what_needs_a_new_version() -> None:
    recorded = contract.describe_all()
    current = json.loads(json.dumps(recorded))
    verify = current["verify"]
    verify["keys"].remove("report.plan")
    verify["required"].append("report.lock")
    verify["values"]["report.checks[].status"] = [["fail", "pass", "skip", "warn", "unknown"]]
    assert contract.breaking_changes(recorded, current) == [
        "verify: key report.plan removed or renamed",
        "verify: key report.lock made required",
        "verify: the values of report.checks[].status changed from [['fail', 'pass', 'skip', 'warn']]"
        " to [['fail', 'pass', 'skip', 'warn', 'unknown']]",
    ]
    added = json.loads(json.dumps(recorded))
    added["verify"]["keys"].append("report.new_key")
    assert contract.breaking_changes(recorded, added) == []
    assert contract.additions(recorded, added) == ["verify: key report.new_key"]


def test_compare_has_a_reader_for_every_version_and_refuses_a_newer_one(tmp_path: Path) -> None:
    assert sorted(READERS) == list(range(1, SCHEMA_VERSION + 1))
    for version in READERS:
        assert contract.record_path(version).is_file(), f"schema_version {version} has no record of its contract"
    good = FIXTURES / "compare" / "verify-linux-cpu.json"
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({**json.loads(good.read_text()), "schema_version": SCHEMA_VERSION + 1}))
    result = cli.invoke(app, ["compare", str(good), str(newer), "--json"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: cannot compare 1 file(s): {newer} (written by a newer envcheck: schema_version"
        f" {SCHEMA_VERSION + 1}, while envcheck 0.1.0 reads {', '.join(map(str, READERS))})",
        "hint: upgrade envcheck where you compare (pip install --upgrade envcheck) to read the newer reports",
    ]
    assert json.loads(result.stdout)["status"] == "error"


@pytest.mark.parametrize("version", [0, -1, "1", True, None, 1.0])
def test_a_schema_version_that_is_not_a_version_number_is_refused(tmp_path: Path, version: object) -> None:
    good = FIXTURES / "compare" / "verify-linux-cpu.json"
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({**json.loads(good.read_text()), "schema_version": version}))
    result = cli.invoke(app, ["compare", str(good), str(odd)])
    assert result.exit_code == 2
    assert f"schema_version {version!r} is not a version number" in " ".join(result.stderr.split())
