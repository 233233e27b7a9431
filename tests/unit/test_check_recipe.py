"""The recipe in envcheck/verify/checks/__init__.py holds: a new check with its fix is one function. Declared
here (registered for the test only), it reports with a hint rendered from its remedy, its fix becomes a plan
step with what it resolves, a check it explains is marked caused_by it, and nothing else needs an edit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from packaging.version import Version
from support.evidence import PY, evidence, ran, recorded

from envcheck.results import CheckResult, Status
from envcheck.verify.checks import Evidence, evaluate, registry
from envcheck.verify.checks.common import result, unset
from envcheck.verify.checks.registry import COMPATIBILITY, WORK, check
from envcheck.verify.plan import Scope, diagnose
from envcheck.verify.remedy import advice, explained, install


@pytest.fixture()
def sample_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Three checks declared the way the recipe says, on a copy of the registry that the test throws away."""
    monkeypatch.setattr(registry, "_REGISTRY", list(registry._REGISTRY))

    @check("compat.sample-numpy", group=COMPATIBILITY, order=65)
    def check_sample_numpy(ev: Evidence) -> CheckResult | None:
        """numpy is new enough for the sample."""
        numpy = ev.version_of("numpy")
        if numpy is None:
            return None
        if numpy < Version("9"):
            fix = install("numpy>=9", explained_by=("packages.pip-check",))
            return result("compat.sample-numpy", Status.FAIL, f"numpy {numpy} is too old for the sample", fix)
        return result("compat.sample-numpy", Status.PASS, f"numpy {numpy}")

    @check("work.sample", group=WORK, order=95)
    def check_sample_work(ev: Evidence) -> CheckResult:
        """The sample's work, which needs the sample's numpy."""
        fix = advice("nothing to type here", explained_by=("compat.sample-numpy",))
        return result("work.sample", Status.FAIL, "the sample's work failed", fix)

    @check("work.sample-skipped", group=WORK, order=96)
    def check_sample_skipped(ev: Evidence) -> CheckResult:
        """A skipped sample that the numpy finding explains too."""
        return result("work.sample-skipped", Status.SKIP, "not run", explained("work.sample"))

    yield


@pytest.mark.usefixtures("sample_checks")
def test_a_new_check_reports_with_the_hint_rendered_from_its_remedy() -> None:
    found = {r.id: r for r in evaluate(evidence())}
    assert found["compat.sample-numpy"].status is Status.FAIL
    assert found["compat.sample-numpy"].hint == f"{PY} -m pip install 'numpy>=9'"
    assert found["work.sample"].hint == "nothing to type here"
    assert found["work.sample-skipped"].hint is None
    ids = list(found)
    # in its group, at its place: after the compatibility rules, before the device ones
    assert ids.index("cpu.avx") < ids.index("compat.sample-numpy") < ids.index("device.tensorflow")


@pytest.mark.usefixtures("sample_checks")
def test_its_fix_is_a_plan_step_that_resolves_it_and_what_it_explains() -> None:
    diagnosis = diagnose(evidence(), evaluate(evidence()))
    checks = {c.id: c for c in diagnosis.checks}
    assert [(s.argv, s.resolves, s.scope) for s in diagnosis.plan] == [
        (
            (PY, "-m", "pip", "install", "numpy>=9"),
            ("compat.sample-numpy", "work.sample", "work.sample-skipped"),
            Scope.ENVIRONMENT,
        )
    ]
    assert checks["work.sample"].caused_by == ("compat.sample-numpy",)
    assert checks["work.sample"].hint is None  # the root's fix is its fix
    assert checks["work.sample-skipped"].caused_by == ("compat.sample-numpy",)  # followed to the root
    assert checks["compat.sample-numpy"].caused_by == ()
    assert diagnosis.unplanned == ()


@pytest.mark.usefixtures("sample_checks")
def test_a_failing_explainer_takes_the_fix_over() -> None:
    ev = evidence(pip_check=ran("keras 3.15.1 requires numpy, which is not installed.\n", returncode=1))
    diagnosis = diagnose(ev, evaluate(ev))
    checks = {c.id: c for c in diagnosis.checks}
    assert checks["compat.sample-numpy"].caused_by == ("packages.pip-check",)
    assert checks["work.sample"].caused_by == ("packages.pip-check",)
    (step,) = diagnosis.plan
    assert step.argv[4].startswith("numpy") and "numpy>=9" not in step.argv
    assert {"packages.pip-check", "compat.sample-numpy", "work.sample"} <= set(step.resolves)


def test_an_outside_command_is_printed_never_run_and_windows_quoting_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", list(registry._REGISTRY))

    @check("environ.sample", group="Environment variables", order=95)
    def check_sample_variable(ev: Evidence) -> CheckResult:
        """A variable the sample does not want."""
        return result("environ.sample", Status.WARN, "SAMPLE is set", unset(ev, "SAMPLE", "{command}  (or not)"))

    probe = recorded()
    probe["interpreter"]["platform"] = "win32"
    ev = evidence(probe)
    found = {r.id: r for r in evaluate(ev)}
    assert found["environ.sample"].hint == 'set "SAMPLE="  (or not)'
    plan = diagnose(ev, evaluate(ev)).plan
    assert [(s.argv, s.scope, s.resolves) for s in plan] == [(("set", "SAMPLE="), Scope.OUTSIDE, ("environ.sample",))]
    assert plan[0].text("win32") == 'set "SAMPLE="'
