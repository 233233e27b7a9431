"""The registry of verify's rules: one declaration per check, unique ids, a group each, and the checklist order
verify prints (which the JSON's ``checks`` list follows too). Properties, not a list of every id: a new check
needs no edit here (tests/unit/test_reference.py requires each rule's docstring)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from support.evidence import PREFIX, evidence

from envcheck.verify import checks
from envcheck.verify.checks import GROUPS, Check, CondaFacts, Evidence, evaluate, group_of, registered
from envcheck.verify.checks.registry import check


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


def conda_evidence(conda_prefix: bool) -> Evidence:
    return evidence(
        kernel={"spec": None, "available": ["python3"]},
        kernel_name="envcheck-deep-learning",
        conda=conda_facts(PREFIX) if conda_prefix else None,
    )


def declaration(check_id: str) -> Check:
    return next(c for c in registered() if c.matches(check_id))


def test_every_registered_check_has_a_unique_id_and_a_known_group() -> None:
    checks = registered()
    ids = [c.id for c in checks]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(c.group in GROUPS for c in checks)
    places = [(c.group, c.order) for c in checks]
    assert len(places) == len(set(places)), "two checks share a place in the checklist"


def test_every_rule_in_the_package_is_registered() -> None:
    rules = {c.rule for c in registered()}
    modules = [importlib.import_module(f"{checks.__name__}.{m.name}") for m in pkgutil.iter_modules(checks.__path__)]
    declared = [
        f"{module.__name__}.{name}"
        for module in modules
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("check_") and function.__module__ == module.__name__ and function not in rules
    ]
    assert declared == [], "rules without @check: they would never run"


def test_the_registry_runs_in_the_checklist_order_verify_prints() -> None:
    ids = [r.id for r in evaluate(conda_evidence(conda_prefix=True))]
    assert len(ids) == len(set(ids))
    places = [(GROUPS.index(declaration(i).group), declaration(i).order) for i in ids]
    assert places == sorted(places), "results in the order of their declarations: groups, then order"
    # the headings follow the groups' order, each printed once, every group with a rule here
    headings = [group_of(i) for i in ids]
    printed = [h for n, h in enumerate(headings) if n == 0 or headings[n - 1] != h]
    assert printed == list(GROUPS)


def test_conda_checks_run_only_for_a_conda_prefix() -> None:
    with_conda = [r.id for r in evaluate(conda_evidence(conda_prefix=True))]
    without = [r.id for r in evaluate(conda_evidence(conda_prefix=False))]
    conda_rules = [c.id for c in registered() if c.needs == ("conda",)]
    assert conda_rules and set(conda_rules) <= set(with_conda)
    assert without == [i for i in with_conda if i not in conda_rules]


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
