"""Records what the real installers say about each file of the corpus, so fast tests can replay it.

For every entry of MANIFEST.toml (requirements files directly, environment files through their `pip:`
section written out as conda writes it) this runs, each in a throw-away venv of the given Python:

- ``uv pip compile --python-version X.Y --no-header FILE``  -> recorded/uv-compile.txt
- ``uv pip install --dry-run --python VENV -r FILE``        -> recorded/uv-install.txt
- ``python -m pip install --dry-run --report - -r FILE``    -> recorded/pip-install.txt

with PyPI only: pip reads no configuration file (``PIP_CONFIG_FILE=/dev/null``) and no index or
find-links variable, uv reads no configuration file. Throw-away paths are written as placeholders
(<CORPUS>, <VENV>, <TMP>, <UV_CACHE>, <PIP_CACHE>, <HOME>), so the recordings hold no path of the
machine that made them.

Usage (from the repository root, in envcheck's development environment):

    python tests/data/real/record.py                 # every entry
    python tests/data/real/record.py homl3-req dlc   # some entries
    python tests/data/real/record.py --python python3.11 --timeout 420 --jobs 2
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

import yaml
from uv import find_uv_bin

CORPUS = Path(__file__).resolve().parent
# conda writes the pip: section next to the environment file under a name like this one, so that
# relative paths (-r, -e .) in it resolve as they do for the user; the random part is fixed here.
PIP_SECTION_NAME = "condaenv.recorded.requirements.txt"
# Settings of this machine that would add indexes or wheels PyPI does not have.
DROPPED_VARIABLES = (
    "PIP_FIND_LINKS",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_NO_INDEX",
    "PIP_REQUIRE_VIRTUALENV",
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_OFFLINE",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONPATH",
    "PYTHONHOME",
)


@dataclass(frozen=True)
class Entry:
    """One corpus file that a user would hand to `envcheck setup --file`."""

    id: str
    path: str  # relative to the corpus folder
    kind: str  # "requirements" or "conda"


@dataclass(frozen=True)
class Recording:
    """What one installer command said: the command as recorded, its exit status and its output."""

    command: str
    tool: str
    exit_code: int
    timed_out: bool
    stdout: str
    stderr: str


def read_entries(selected: list[str]) -> list[Entry]:
    """The manifest's entries (files with an expected outcome), in manifest order, or the selected ones."""
    manifest = tomllib.loads((CORPUS / "MANIFEST.toml").read_text(encoding="utf-8"))
    entries = [Entry(f["id"], f["path"], f["kind"]) for f in manifest["file"] if "expected" in f]
    unknown = sorted(set(selected) - {e.id for e in entries})
    if unknown:
        raise SystemExit(f"unknown corpus ids: {', '.join(unknown)}")
    return [e for e in entries if not selected or e.id in selected]


def pip_section(environment_file: Path) -> list[str]:
    """The `pip:` list of an environment file, as conda hands it to pip (empty when there is none)."""
    # bytes, so that PyYAML detects UTF-16 files (Windows PowerShell redirects write them) by their BOM
    document = yaml.safe_load(environment_file.read_bytes()) or {}
    lines: list[str] = []
    for item in document.get("dependencies") or []:
        if isinstance(item, dict) and isinstance(item.get("pip"), list):
            lines.extend(str(line) for line in item["pip"])
    return lines


def clean_environment(tmp: Path) -> dict[str, str]:
    """This process's environment less the settings that would reach anything but PyPI."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_VARIABLES}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        PIP_PROGRESS_BAR="off",
        UV_NO_CONFIG="1",
        UV_NO_PROGRESS="1",
        UV_PYTHON_DOWNLOADS="never",
        GIT_TERMINAL_PROMPT="0",
        NO_COLOR="1",
        TMPDIR=str(tmp),
    )
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, bool, str, str]:
    """Run one command in its own session; on timeout stop its whole process group (pip's builds too)."""
    with subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
    return proc.returncode, timed_out, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


class Placeholders:
    """Replaces the throw-away and personal paths of this machine in recorded text."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        # longest first, so that <VENV> wins over the <TMP> that contains it
        self._pairs = sorted(((p, name) for p, name in pairs if p), key=lambda pair: -len(pair[0]))

    def __call__(self, text: str) -> str:
        for path, name in self._pairs:
            text = text.replace(path, name)
        return text


def render(recording: Recording, python_label: str, date: str) -> str:
    """The recording file: a small header, then stdout and stderr as the tool wrote them."""
    header = [
        f"# command: {recording.command}",
        f"# tool: {recording.tool}",
        f"# python: {python_label}",
        f"# date: {date}",
        f"# exit: {recording.exit_code}",
        f"# timed-out: {'yes' if recording.timed_out else 'no'}",
    ]
    return "\n".join(header) + "\n--- stdout ---\n" + recording.stdout + "\n--- stderr ---\n" + recording.stderr


def version_of(argv: list[str], env: dict[str, str]) -> str:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=True).stdout.strip()


def reduce_pip_report(stdout: str) -> str:
    """pip's output with its JSON report reduced to what a reader needs; the log lines around it stay.

    pip writes its progress and the report to the same stdout. The full report repeats every
    package's metadata (2.5 MB for one environment file); what stays is the report's version, the
    environment it judged and, per item, name, version, whether the file asked for it, its
    Requires-Python and where it would come from.
    """
    start = 0 if stdout.startswith("{") else stdout.find("\n{\n") + 1
    if start == 0 and not stdout.startswith("{"):
        return stdout
    try:
        report, end = json.JSONDecoder().raw_decode(stdout, start)
    except json.JSONDecodeError:
        return stdout
    if not isinstance(report, dict) or "install" not in report:
        return stdout
    items = []
    for item in report["install"]:
        metadata = item.get("metadata", {})
        items.append(
            {
                "name": metadata.get("name"),
                "version": metadata.get("version"),
                "requested": item.get("requested"),
                "requires_python": metadata.get("requires_python"),
                "url": item.get("download_info", {}).get("url"),
            }
        )
    reduced = {
        "version": report.get("version"),
        "pip_version": report.get("pip_version"),
        "environment": report.get("environment"),
        "install": items,
    }
    return stdout[:start] + json.dumps(reduced, indent=1) + stdout[end:]


def record_entry(entry: Entry, uv: str, python: str, timeout: float, date: str) -> str:
    """Record the three commands for one entry; returns a one-line summary."""
    with tempfile.TemporaryDirectory(prefix="corpus-record-") as root_name:
        root = Path(root_name).resolve()
        tmp = root / "tmp"
        tmp.mkdir()
        env = clean_environment(tmp)
        corpus = root / "corpus"
        shutil.copytree(CORPUS / entry.id, corpus / entry.id, ignore=shutil.ignore_patterns("recorded"))
        source = corpus / entry.path
        if entry.kind == "conda":
            requirements = source.parent / PIP_SECTION_NAME
            requirements.write_text("\n".join(pip_section(source)) + "\n", encoding="utf-8")
        else:
            requirements = source
        cwd = requirements.parent
        name = requirements.name

        uv_cache = version_of([uv, "cache", "dir"], env)
        pip_cache = version_of([python, "-m", "pip", "cache", "dir"], env) if _has_pip(python, env) else ""
        uv_version = version_of([uv, "--version"], env)
        python_label = version_of(
            [python, "-c", "import platform; print(platform.python_implementation(), platform.python_version())"], env
        )
        short = version_of([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], env)

        uv_venv, pip_venv = root / "uv-venv", root / "pip-venv"
        subprocess.run([uv, "venv", "--quiet", "--python", python, str(uv_venv)], env=env, check=True, timeout=120)
        subprocess.run([python, "-m", "venv", str(pip_venv)], env=env, check=True, timeout=300)
        pip_version = version_of([str(pip_venv / "bin" / "python"), "-m", "pip", "--version"], env).split(" from ")[0]

        placeholders = Placeholders(
            [
                (str(uv_venv), "<VENV>"),
                (str(pip_venv), "<VENV>"),
                (str(corpus), "<CORPUS>"),
                (str(tmp), "<TMP>"),
                (str(root), "<TMP>"),
                (uv_cache, "<UV_CACHE>"),
                (pip_cache, "<PIP_CACHE>"),
                (str(Path.home()), "<HOME>"),
            ]
        )
        commands = {
            "uv-compile.txt": (["uv", "pip", "compile", "--python-version", short, "--no-header", name], uv_version),
            "uv-install.txt": (
                ["uv", "pip", "install", "--dry-run", "--python", str(uv_venv / "bin" / "python"), "-r", name],
                uv_version,
            ),
            "pip-install.txt": (
                [str(pip_venv / "bin" / "python"), "-m", "pip", "install", "--dry-run", "--report", "-", "-r", name],
                pip_version,
            ),
        }
        recorded = CORPUS / entry.id / "recorded"
        recorded.mkdir(exist_ok=True)
        summary = []
        for filename, (argv, tool) in commands.items():
            real_argv = [uv, *argv[1:]] if argv[0] == "uv" else argv
            code, timed_out, out, err = run(real_argv, cwd, env, timeout)
            shown = placeholders(" ".join(argv).replace(str(pip_venv / "bin" / "python"), "<VENV>/bin/python"))
            if filename == "pip-install.txt":
                out = reduce_pip_report(out)
            recording = Recording(shown, tool, code, timed_out, placeholders(out), placeholders(err))
            (recorded / filename).write_text(render(recording, python_label, date), encoding="utf-8")
            summary.append(f"{filename.split('.')[0]}={'timeout' if timed_out else code}")
        return f"{entry.id}: {' '.join(summary)}"


def _has_pip(python: str, env: dict[str, str]) -> bool:
    return subprocess.run([python, "-m", "pip", "--version"], env=env, capture_output=True, timeout=60).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="corpus ids to record (default: all)")
    parser.add_argument("--python", default="python3.11", help="the interpreter of the throw-away venvs")
    parser.add_argument("--timeout", type=float, default=420.0, help="seconds per installer command")
    parser.add_argument("--jobs", type=int, default=2, help="entries recorded at the same time")
    args = parser.parse_args()
    python = shutil.which(args.python)
    if python is None:
        raise SystemExit(f"{args.python} is not on PATH; give an interpreter with --python")
    date = datetime.date.today().isoformat()
    uv = find_uv_bin()  # here: sysconfig is not safe to initialise from several threads at once
    entries = read_entries(args.ids)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(record_entry, entry, uv, python, args.timeout, date) for entry in entries]
        for future in concurrent.futures.as_completed(futures):
            print(future.result(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
