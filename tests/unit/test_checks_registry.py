"""The registry of verify's rules: one declaration per check, unique ids, a group each, and the checklist order
verify prints (which the JSON's ``checks`` list follows too)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest

from envcheck.profiles.files import load_profile
from envcheck.verify.checks import (
    GROUPS,
    CondaFacts,
    EnvState,
    Evidence,
    compatibility,
    conda,
    device,
    environ,
    evaluate,
    group_of,
    interpreter,
    jupyter,
    packages,
    registered,
    work,
)
from envcheck.verify.checks.registry import check

FIXTURES = Path(__file__).parents[1] / "fixtures" / "verify"
GROUP_MODULES = (interpreter, packages, compatibility, device, work, jupyter, environ, conda)

# The checklist as verify prints it for the deep-learning profile on a conda prefix: the order of the
# flat RULES tuple the registry replaced, followed by the conda checks verify used to append.
CHECKLIST = [
    "python.version",
    "python.bits",
    "python.prefix",
    "env.complete",
    "probe.environment",
    "package.tensorflow.import",
    "package.keras.import",
    "package.pandas.import",
    "package.scikit-learn.import",
    "package.matplotlib.import",
    "package.notebook.import",
    "package.ipykernel.import",
    "package.tensorflow.version",
    "package.keras.version",
    "package.pandas.version",
    "package.scikit-learn.version",
    "package.matplotlib.version",
    "package.notebook.version",
    "package.ipykernel.version",
    "packages.pip-check",
    "tensorflow.single-distribution",
    "packages.user-site",
    "compat.numpy-abi",
    "compat.protobuf",
    "keras.flavour",
    "keras.backend",
    "cpu.avx",
    "device.tensorflow",
    "device.gpu-driver",
    "work.matmul",
    "work.pandas",
    "work.scikit-learn",
    "work.matplotlib",
    "jupyter.kernelspec",
    "jupyter.kernel-start",
    "environ.shell",
    "conda.python-in-prefix",
    "conda.double-install",
    "conda.activation",
]


def conda_facts(prefix: str) -> CondaFacts:
    return CondaFacts(
        prefix=prefix,
        owned=True,
        python=f"{prefix}/bin/python",
        python_exists=True,
        python_resolved=f"{prefix}/bin/python3.12",
        prefix_resolved=prefix,
        reported_prefix=prefix,
        reported_prefix_resolved=prefix,
        records=(),
        distributions=(),
        activation=(),
        stored_variables=(),
    )


def evidence(conda_prefix: bool) -> Evidence:
    prefix = "/home/ada/envs/deep-learning"
    probe = json.loads((FIXTURES / "probe-linux-cpu.json").read_text(encoding="utf-8"))
    return Evidence(
        profile=load_profile("deep-learning"),
        python=f"{prefix}/bin/python",
        probe=probe,
        env=EnvState(prefix=prefix),
        origin="prefix",
        kernel={"spec": None, "available": ["python3"]},
        kernel_name="envcheck-deep-learning",
        conda=conda_facts(prefix) if conda_prefix else None,
    )


def test_every_registered_check_has_a_unique_id_and_a_known_group() -> None:
    checks = registered()
    ids = [c.id for c in checks]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(c.group in GROUPS for c in checks)
    places = [(c.group, c.order) for c in checks]
    assert len(places) == len(set(places)), "two checks share a place in the checklist"


def test_every_rule_in_the_group_modules_is_registered() -> None:
    rules = {c.rule for c in registered()}
    declared = [
        f"{module.__name__}.{name}"
        for module in GROUP_MODULES
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("check_") and function.__module__ == module.__name__ and function not in rules
    ]
    assert declared == [], "rules without @check: they would never run"


def test_the_registry_runs_in_the_checklist_order_verify_prints() -> None:
    ids = [r.id for r in evaluate(evidence(conda_prefix=True))]
    assert ids == CHECKLIST
    # and the headings follow the groups' order, each printed once
    headings = [group_of(i) for i in ids]
    printed = [h for n, h in enumerate(headings) if n == 0 or headings[n - 1] != h]
    assert printed == [
        "Interpreter",
        "Packages",
        "Compatibility",
        "Device",
        "Work",
        "Jupyter",
        "Environment variables",
        "Conda",
    ]


def test_conda_checks_run_only_for_a_conda_prefix() -> None:
    ids = [r.id for r in evaluate(evidence(conda_prefix=False))]
    assert ids == [i for i in CHECKLIST if not i.startswith("conda.")]


def test_group_of_follows_the_declarations_and_the_families_of_unknown_ids() -> None:
    assert group_of("package.numpy.import") == "Packages"
    assert group_of("work.matmul") == "Work"
    assert group_of("tensorflow.single-distribution") == "Packages"
    assert group_of("cpu.avx") == "Compatibility"
    assert group_of("keras.something-new") == "Compatibility"
    assert group_of("nothing-known") == "Other"


def test_a_second_declaration_of_an_id_or_an_unknown_group_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        check("python.version", group="Interpreter", order=99)(lambda ev: None)
    with pytest.raises(ValueError, match="unknown group"):
        check("x.y", group="Nowhere", order=1)
    with pytest.raises(ValueError, match="unknown needs"):
        check("x.y", group="Interpreter", order=1, needs=("gpu",))
