"""Conda checks, judged from what verify read in the prefix's files (``CondaFacts``); they run for conda prefixes.

- ``conda.python-in-prefix``: the environment's interpreter really lies inside the prefix (not a link out of
  it) and, when verify's probe reported it, its ``sys.prefix`` is the prefix.
- ``conda.double-install``: a package that conda's records (``conda-meta/*.json``) say conda installed, while
  the ``.dist-info`` in site-packages was written by pip (its INSTALLER file). pip then replaced conda's files
  under conda's feet: ``conda list`` shows a version that is not there, and the next conda update of that
  package, or of anything depending on it, breaks the environment.
- ``conda.activation``: scripts in ``etc/conda/activate.d`` and variables stored with ``conda env config vars``.
  envcheck runs the environment's python directly, without activation, because that is what a Jupyter kernel
  does (kernel.json names ``<prefix>/bin/python``; nothing sources activate.d). So verify sees what a notebook
  sees: a variable set only on activation (CUDA paths, LD_LIBRARY_PATH, XLA_FLAGS set by CUDA packages) is
  missing in both, and a TensorFlow that finds its GPU only after ``conda activate`` will not find it in
  Jupyter. Those loading variables are reported as a warning with what to do; other libraries' data paths
  are listed without one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

from envcheck import shell
from envcheck.results import CheckResult, Status
from envcheck.verify.checks.registry import CONDA, check
from envcheck.verify.evidence import CondaFacts, Evidence
from envcheck.verify.remedy import Finding, advice

# Variables that decide where TensorFlow finds CUDA and how python loads: the ones a notebook misses most.
_LOADING = re.compile(r"^(LD_LIBRARY_PATH|DYLD_\w+|PATH|CUDA\w*|CUDNN\w*|NCCL\w*|XLA_\w+|TF_\w+|PYTHON\w+)$")


def _problem(check_id: str, status: Status, detail: str, hint: str, data: dict[str, Any] | None = None) -> CheckResult:
    """A warning or a failure whose fix is advice: judged without the rest of verify's evidence, so the hint is
    written here as well as kept as the remedy."""
    return Finding(check_id, status, detail, hint, data=data or {}, remedy=advice(hint))


def _facts(ev: Evidence) -> CondaFacts:
    assert ev.conda is not None  # the registry runs these only with needs=("conda",) met
    return ev.conda


def judge_python_in_prefix(facts: CondaFacts) -> CheckResult:
    """The interpreter file resolves inside the prefix, and its sys.prefix (when known) is the prefix."""
    prefix, python = facts.prefix, facts.python
    if not facts.python_exists:
        return _problem(
            "conda.python-in-prefix",
            Status.FAIL,
            f"{prefix} has no python ({python} is missing)",
            f"install it: {shell.command('conda', 'install', '--prefix', prefix, 'python')}  (or rebuild the environment)",
        )
    real, home = facts.python_resolved, facts.prefix_resolved
    data = {"python": python, "resolved": real, "sys_prefix": facts.reported_prefix}
    if not PurePath(real).is_relative_to(PurePath(home)):
        return _problem(
            "conda.python-in-prefix",
            Status.FAIL,
            f"{python} leads to {real}, outside the prefix: it is not this environment's python",
            f"reinstall python into it: {shell.command('conda', 'install', '--prefix', prefix, '--force-reinstall', 'python')}",
            data=data,
        )
    if facts.reported_prefix is not None and facts.reported_prefix_resolved != home:
        return _problem(
            "conda.python-in-prefix",
            Status.FAIL,
            f"{python} lies in the prefix but reports sys.prefix {facts.reported_prefix}",
            "PYTHONHOME or a python._pth file redirects it; unset PYTHONHOME, or rebuild the environment",
            data=data,
        )
    return CheckResult("conda.python-in-prefix", Status.PASS, f"{python} lies inside the prefix", data=data)


def judge_double_install(facts: CondaFacts) -> CheckResult:
    records = facts.records
    by_dist = {dist: record for record in records for dist in record.dists}
    conda_dirs = {d for record in records for d in record.dist_dirs}
    doubles = []
    for dist in facts.distributions:
        record = by_dist.get(dist.name)
        if record is None or dist.relative in conda_dirs or dist.installer == "conda":
            continue
        doubles.append((dist, record))
    if not doubles:
        return CheckResult(
            "conda.double-install",
            Status.PASS,
            f"no package installed by both conda and pip ({len(records)} conda records)",
            data={"records": len(records)},
        )
    names = sorted({dist.name for dist, _ in doubles})
    detail = "; ".join(
        f"{dist.name}: conda records {record.version}, {dist.installer or 'another installer'} installed {dist.version}"
        for dist, record in doubles
    )
    prefix = facts.prefix
    if facts.owned:
        hint = f"rebuild it: {shell.command('envcheck', 'setup', '--prefix', prefix, '--recreate')}"
    else:
        uninstall = shell.command(facts.python, "-m", "pip", "uninstall", "-y", *names)
        reinstall = shell.command("conda", "install", "--prefix", prefix, "--force-reinstall", *names)
        hint = f"give them back to conda: {uninstall}, then {reinstall} (mamba and micromamba alike)"
    return _problem(
        "conda.double-install",
        Status.WARN,
        f"installed by both conda and pip: {detail}",
        hint,
        data={
            "packages": [
                {"name": d.name, "conda": r.version, "pip": d.version, "installer": d.installer} for d, r in doubles
            ]
        },
    )


def judge_activation(facts: CondaFacts) -> CheckResult:
    scripts = [name for name, _ in facts.activation]
    setting = dict(facts.activation)
    variables = sorted({v for names in setting.values() for v in names} | set(facts.stored_variables))
    data = {"scripts": scripts, "variables": variables}
    if not variables:
        detail = (
            f"{len(scripts)} activation script(s), setting no variables: {_names(scripts)}"
            if scripts
            else "no activation scripts: running the python directly equals running it activated"
        )
        return CheckResult("conda.activation", Status.PASS, detail, data=data)
    loading = [v for v in variables if _LOADING.match(v)]
    sources = _names([s for s, names in setting.items() if names]) or "conda env config vars"
    if not loading:
        # data paths of other libraries (PROJ_DATA, GDAL_DATA, ...) do not change how this stack runs
        detail = (
            f"activation sets {', '.join(variables)} ({sources}); none of them changes how python or TensorFlow load"
        )
        return CheckResult("conda.activation", Status.PASS, detail, data=data)
    detail = (
        f"activation sets {', '.join(loading)} ({sources}); envcheck, like a Jupyter kernel, runs the "
        "python without activation, so these are unset there"
    )
    hint = (
        f"{', '.join(loading)} only exist after `conda activate`: for the GPU prefer TensorFlow's pip CUDA "
        'wheels (tensorflow[and-cuda]), which need no activation, or add them to the kernel\'s kernel.json "env"'
    )
    return _problem("conda.activation", Status.WARN, detail, hint, data=data)


def _names(scripts: Iterable[str]) -> str:
    return ", ".join(f"etc/conda/activate.d/{name}" for name in scripts)


@check("conda.python-in-prefix", group=CONDA, order=10, needs=("conda",))
def check_python_in_prefix(ev: Evidence) -> CheckResult:
    """A conda prefix's python lies inside the prefix (not a python from PATH or another
    environment). Runs only for conda prefixes.

    Fix: install python into the prefix (`conda install -p PREFIX python`), or `envcheck setup --backend conda
    --recreate`."""
    return judge_python_in_prefix(_facts(ev))


@check("conda.double-install", group=CONDA, order=20, needs=("conda",))
def check_double_install(ev: Evidence) -> CheckResult:
    """No package is installed by both conda and pip into the same prefix: the two overwrite
    each other's files and neither knows. Runs only for conda prefixes.

    Fix: uninstall the pip copy (`pip uninstall NAME`), keeping conda's; or rebuild with `envcheck setup
    --backend conda --recreate`."""
    return judge_double_install(_facts(ev))


@check("conda.activation", group=CONDA, order=30, needs=("conda",))
def check_activation(ev: Evidence) -> CheckResult:
    """Activation scripts (`etc/conda/activate.d`) and `conda env config vars` that set a
    variable changing how python or TensorFlow load (`PATH`, `LD_LIBRARY_PATH`, `CUDA*`, `XLA_*`, `TF_*`,
    `PYTHON*`): envcheck, like a Jupyter kernel, runs the python without activating, so these are missing in
    both. Other libraries' data paths are listed without a warning. Runs only for conda prefixes.

    Fix: use the pip CUDA wheels of `tensorflow[and-cuda]` instead of activation variables, or set the variable
    in the kernel's `kernel.json` `"env"`."""
    return judge_activation(_facts(ev))
