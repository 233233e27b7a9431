"""A tiny profile and a stand-in installer for setup tests that must not download anything.

Real: the interpreter probe, `python -m venv` for the create step, the import-check probe, the file system.
Imitated: the installer. Only `envcheck.runner.run` is patched; it passes every other call to the real one.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from envcheck import runner
from envcheck.setup.request import SetupRequest

MINI = """
schema = 1
name = "mini"
python = ">=3.8"
disk_gb = 0.001
kernel = false

[[package]]
name = "example"
requirement = "example>=1.0"
import = "json"
"""


REAL_RUN = runner.run


Installer = Callable[[Path], runner.Completed]


class FakeInstaller:
    """Stands in for uv/pip: creates the venv for real (without pip, to stay fast), imitates the install."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, install: Installer | None = None) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.install = install or (lambda prefix: fake_completed(0, "Installed 1 package"))
        monkeypatch.setattr(runner, "run", self)

    def __call__(self, argv, **kwargs):
        argv = tuple(os.fspath(a) for a in argv)
        if "venv" in argv and "-I" not in argv:
            self.calls.append(argv)
            return REAL_RUN([sys.executable, "-m", "venv", "--without-pip", argv[-1]], timeout=120)
        if argv[1:3] == ("-m", "ipykernel"):
            self.calls.append(argv)
            name = argv[argv.index("--name") + 1]
            where = Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels" / name
            where.mkdir(parents=True, exist_ok=True)
            (where / "kernel.json").write_text(json.dumps({"argv": [argv[0], "-m", "ipykernel_launcher"]}))
            return fake_completed(0, f"Installed kernelspec {name} in {where}")
        if "install" in argv and "-I" not in argv:
            self.calls.append(argv)
            prefix = Path(argv[argv.index("--python") + 1]).parent.parent
            completed = self.install(prefix)
            for line in completed.stdout.splitlines():  # streamed like the real runner does
                kwargs["log"].write(line + "\n")
                kwargs["on_line"](line)
            return completed
        return REAL_RUN(argv, **kwargs)

    @property
    def phases(self) -> list[str]:
        return [
            "create" if "venv" in c else "kernel" if c[1:3] == ("-m", "ipykernel") else "install" for c in self.calls
        ]


def fake_completed(code: int, output: str) -> runner.Completed:
    return runner.Completed(argv=("uv",), returncode=code, stdout=output, stderr="", duration=0.1)


def request(profile, prefix: Path | None, **kw) -> SetupRequest:
    return SetupRequest(profile=profile, prefix=prefix, **kw)


def site_packages(prefix: Path) -> Path:
    return next((prefix / "lib").glob("python3.*/site-packages"))


def install_distribution(prefix: Path, name: str, files: dict[str, str], *, entry_points: str = "") -> None:
    """Install a distribution into the venv at ``prefix`` the way a wheel does: its files, and a dist-info with
    METADATA and a RECORD that lists them (with their sizes), so that its records say what it provides."""
    site = site_packages(prefix)
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)  # installed again: the same files
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
    if entry_points:
        (info / "entry_points.txt").write_text(entry_points, encoding="utf-8")
    record = []
    for relative, text in files.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        record.append(f"{relative},,{len(text.encode())}")
    record += [f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
    (info / "RECORD").write_text("\n".join(record) + "\n", encoding="utf-8")
