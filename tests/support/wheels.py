"""Real, installable wheels made on the spot: one module and the metadata an installer needs."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def make_wheel(
    folder: Path,
    name: str = "tiny_demo",
    version: str = "1.0",
    tag: str = "py3-none-any",
    requires: tuple[str, ...] = (),
    extra: dict[str, str] | None = None,
) -> Path:
    """A real, installable wheel: one module and the metadata an installer needs; ``requires`` its Requires-Dist
    lines, ``extra`` more files in it (path in the wheel -> text)."""
    folder.mkdir(parents=True, exist_ok=True)
    module = name.replace("-", "_")
    path = folder / f"{module}-{version}-{tag}.whl"
    info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n__version__ = VERSION\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n",
    }
    files.update(extra or {})
    record = []
    for member, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{member},sha256={digest},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


# `python -m ipykernel install --user --name N --display-name D`, as ipykernel answers it: the kernelspec written
# into Jupyter's per-user data folder (JUPYTER_DATA_DIR, else ~/.local/share/jupyter), its name lowered. With
# FAKE_IPYKERNEL_HANG=SECONDS set it first waits that long, so that a test can stop setup while it registers.
FAKE_IPYKERNEL_MAIN = """\
import json, os, sys, time

hang = os.environ.get("FAKE_IPYKERNEL_HANG")
if hang:
    time.sleep(float(hang))
args = sys.argv[1:]
if args[:1] != ["install"] or "--name" not in args:
    sys.exit("fake ipykernel: only `install --user --name NAME` is imitated")
name = args[args.index("--name") + 1].lower()
display = args[args.index("--display-name") + 1] if "--display-name" in args else name
data = os.environ.get("JUPYTER_DATA_DIR") or os.path.join(os.path.expanduser("~"), ".local", "share", "jupyter")
folder = os.path.join(data, "kernels", name)
os.makedirs(folder, exist_ok=True)
spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display, "language": "python"}
with open(os.path.join(folder, "kernel.json"), "w", encoding="utf-8") as handle:
    json.dump(spec, handle)
print(f"Installed kernelspec {name} in {folder}")
"""


def fake_ipykernel_wheel(folder: Path) -> Path:
    """A wheel called ipykernel whose ``python -m ipykernel install`` registers a kernelspec as the real one does
    (the kernel itself does not start): for setups of a profile with a kernel, without the package index."""
    return make_wheel(folder, "ipykernel", "6.99.0", extra={"ipykernel/__main__.py": FAKE_IPYKERNEL_MAIN})
