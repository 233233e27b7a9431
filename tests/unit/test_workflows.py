"""The GitHub Actions workflows, held to the project: the Python versions of pyproject's classifiers, the four
platforms envcheck locks for, the profiles of environments/ (each at a Python its range allows on that runner's
platform), actions pinned by commit, least privilege, no secrets and no expressions inside scripts.

GitHub's workflow schema and zizmor check the files themselves (tests/integration/test_workflow_lint.py).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from envcheck.lock.platforms import PLATFORMS
from envcheck.lock.pylock import marker_environment
from envcheck.profiles.files import load_profile
from envcheck.profiles.profile import available_profiles

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
GPU = WORKFLOWS / "gpu.yml"
# The hosted runners the jobs name, as envcheck's lock platforms (a new label belongs here first).
RUNNERS = {
    "ubuntu-24.04": "linux-x86_64",
    "ubuntu-24.04-arm": "linux-aarch64",
    "macos-15": "macos-arm64",
    "windows-2025": "windows-x86_64",
}


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in document:  # YAML 1.1 reads the key `on` as true
        document["on"] = document.pop(True)
    return document


def matrix_rows(job: dict[str, Any]) -> list[dict[str, str]]:
    """Every combination a job's matrix runs: the product of its lists, plus its include entries."""
    matrix = dict((job.get("strategy") or {}).get("matrix") or {})
    include = matrix.pop("include", [])
    rows: list[dict[str, str]] = [{}] if matrix else []
    for key, values in matrix.items():
        rows = [{**row, key: str(value)} for row in rows for value in values]
    return rows + [{key: str(value) for key, value in entry.items()} for entry in include]


def classifier_pythons() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = [c.rsplit(" :: ", 1)[1] for c in project["classifiers"] if re.fullmatch(r".* :: 3\.\d+", c)]
    assert SpecifierSet(project["requires-python"]) == SpecifierSet(f">={found[0]}")
    return found


def scripts(document: dict[str, Any]) -> list[str]:
    return [step["run"] for job in document["jobs"].values() for step in job["steps"] if "run" in step]


def test_every_python_of_pyproject_is_tested_and_no_other() -> None:
    pythons = classifier_pythons()
    fast = matrix_rows(load(CI)["jobs"]["fast"])
    assert sorted({row["python"] for row in fast}, key=lambda v: tuple(map(int, v.split(".")))) == pythons
    # the oldest and the newest on every platform
    for runner in RUNNERS:
        assert {pythons[0], pythons[-1]} <= {row["python"] for row in fast if row["os"] == runner}, runner
    used = {row["python"] for job in load(CI)["jobs"].values() for row in matrix_rows(job) if "python" in row}
    used |= {step["with"]["python-version"] for job in load(CI)["jobs"].values() for step in job["steps"]
             if "python-version" in step.get("with", {}) and "${{" not in step["with"]["python-version"]}  # fmt: skip
    assert used <= set(pythons), f"a job uses a Python outside pyproject's classifiers: {sorted(used)}"


def test_the_fast_and_end_to_end_jobs_cover_the_four_platforms_envcheck_locks_for() -> None:
    jobs = load(CI)["jobs"]
    for name in ("fast", "e2e"):
        runners = {row["os"] for row in matrix_rows(jobs[name])}
        assert runners <= set(RUNNERS), f"{name}: a runner missing from RUNNERS: {runners - set(RUNNERS)}"
        assert {RUNNERS[r] for r in runners} == set(PLATFORMS), name
    conda = {RUNNERS[row["os"]].split("-")[0] for row in matrix_rows(jobs["conda"])}
    assert conda == {"linux", "macos", "windows"}


def test_every_profile_is_built_somewhere_at_a_python_its_range_allows() -> None:
    e2e = matrix_rows(load(CI)["jobs"]["e2e"])
    named = {row["profile"] for row in e2e}
    for text in scripts(load(CI)) + scripts(load(GPU)):
        named |= set(re.findall(r"--profile (\S+)", text)) - {'"$PROFILE"'}
    assert named == set(available_profiles())
    for row in e2e:
        platform = PLATFORMS[RUNNERS[row["os"]]]
        allowed = load_profile(row["profile"]).python_for(marker_environment(platform, row["python"]))
        assert allowed.contains(f"{row['python']}.0"), f"{row}: outside {row['profile']}'s {allowed}"
    # the Metal profile where it means something: Apple silicon
    assert any(RUNNERS[r["os"]] == "macos-arm64" and r["profile"] == "deep-learning-gpu" for r in e2e)


def test_the_conda_job_runs_setup_verify_and_smoke_train_for_real() -> None:
    job = load(CI)["jobs"]["conda"]
    miniconda = next(s for s in job["steps"] if s.get("uses", "").startswith("conda-incubator/setup-miniconda@"))
    assert miniconda["with"]["miniforge-version"] == "latest"
    text = "\n".join(step.get("run", "") for step in job["steps"])
    for command in ("envcheck setup --backend conda", "envcheck verify", "envcheck smoke-train", "pytest -m conda"):
        assert command in text


def test_the_gpu_job_is_started_by_hand_on_a_self_hosted_gpu_runner() -> None:
    document = load(GPU)
    assert list(document["on"]) == ["workflow_dispatch"]
    (job,) = document["jobs"].values()
    assert job["runs-on"] == ["self-hosted", "gpu"]
    text = "\n".join(scripts(document))
    assert "--device gpu" in text and "pytest -m gpu" in text


@pytest.mark.parametrize("path", [CI, GPU], ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_with_their_tag(path: Path) -> None:
    uses = re.findall(r"uses: (\S+)(.*)", path.read_text(encoding="utf-8"))
    assert uses
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), f"{action}: the tag belongs in the comment"


@pytest.mark.parametrize("path", [CI, GPU], ids=lambda p: p.name)
def test_least_privilege_and_nothing_secret(path: Path) -> None:
    document = load(path)
    assert document["permissions"] == {"contents": "read"}
    for name, job in document["jobs"].items():
        assert set((job.get("permissions") or {}).values()) <= {"read", "none"}, name
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name  # no token left in .git/config
    text = path.read_text(encoding="utf-8")
    assert "secrets." not in text and "pull_request_target" not in text
    for script in scripts(document):
        assert "${{" not in script, f"an expression inside a script (pass it through env): {script[:80]}"
