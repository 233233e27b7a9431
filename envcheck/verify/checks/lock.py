"""The lock check: the environment against the PEP 751 lock it was set up from (or the one verify is given)."""

from __future__ import annotations

from envcheck.lock.pylock import EXTRA, MISSING, OTHER_VERSION, Drift, LockError, drift
from envcheck.results import CheckResult, Status
from envcheck.verify.checks.common import result, setup_command
from envcheck.verify.checks.registry import PACKAGES, check
from envcheck.verify.evidence import Evidence, LockFacts
from envcheck.verify.remedy import PipAction, Remedy, advice, pip_text, uninstall


@check("packages.lock", group=PACKAGES, order=60, needs=("lock",))
def check_lock_drift(ev: Evidence) -> CheckResult:
    """With a lock (`verify --lock`, or the one setup recorded): every locked distribution is
    installed at its locked version, and nothing beyond the installers' own tools (pip, setuptools, wheel) is
    extra. A warning, a failure with `--strict`.

    Fix: the commands that bring the environment back to the lock: install the missing and other-version
    distributions at their locked versions, uninstall the extra ones; or `envcheck setup --lock PATH`."""
    facts = ev.lock
    assert facts is not None  # needs=("lock",)
    where = {"path": facts.path, "digest": facts.digest}
    if facts.lock is None:
        return result(
            "packages.lock",
            Status.WARN,
            f"cannot compare with the lock: {facts.problem}",
            advice(
                "name the lock with: envcheck verify --lock PATH; or set up again with"
                f" {setup_command(ev, '--lock', 'PATH')}"
            ),
            lock=where,
        )
    if not ev.distributions_known:
        return result("packages.lock", Status.SKIP, "installed distributions are unknown", lock=where)
    try:
        files = facts.lock.select_here(ev.markers)
    except LockError as exc:
        return result("packages.lock", Status.FAIL, exc.message, advice(exc.hint) if exc.hint else None, lock=where)
    installed = {name: d.version or "" for name, d in ev.distributions.items()}
    differences = drift(files, installed)
    if ev.conda is not None:  # conda's own packages are not in a lock; only what pip installs is
        differences = [d for d in differences if d.kind != EXTRA]
    if not differences:
        return result("packages.lock", Status.PASS, f"matches {facts.path} ({len(files)} distributions)", lock=where)
    actions = _lock_repair(facts, differences)
    listing = "; ".join(d.describe() for d in differences[:8])
    more = f" and {len(differences) - 8} more" if len(differences) > 8 else ""
    return result(
        "packages.lock",
        Status.WARN,
        f"{len(differences)} difference{'s' if len(differences) != 1 else ''} from the lock: {listing}{more}",
        Remedy(pip=actions),
        lock=where,
        drift=[{"kind": d.kind, "name": d.name, "locked": d.locked, "installed": d.installed} for d in differences],
        commands=[pip_text(ev, action) for action in actions],
    )


def _lock_repair(facts: LockFacts, differences: list[Drift]) -> tuple[PipAction, ...]:
    """The locked versions back (from where setup took them), then the extras out."""
    actions = []
    pins = [f"{d.name}=={d.locked}" for d in differences if d.kind in (MISSING, OTHER_VERSION)]
    if pins:
        flags = ["--no-deps"]  # the lock pins every dependency; a resolver must not pick others
        if facts.offline:
            flags.append("--no-index")
        for link in facts.find_links:
            flags += ["--find-links", link]
        actions.append(PipAction("install", tuple(pins), tuple(flags)))
    extra = [d.name for d in differences if d.kind == EXTRA]
    if extra:
        actions.append(uninstall(*extra))
    return tuple(actions)
