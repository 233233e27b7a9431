"""What the GPU stack prints, read: nvidia-smi's CSV rows and TensorFlow's own log lines that explain why a GPU
goes unused (a missing driver, CUDA libraries it cannot load, cuDNN and XLA failures)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

MIN_DRIVER = {"linux": {12: "525.60.13", 11: "450.80.02"}, "win32": {12: "527.41", 11: "452.39"}}
# compute_cap stays last: drivers before 510 do not know it, and verify then asks without it
NVIDIA_SMI_QUERY = "name,driver_version,memory.total,memory.used,memory.free,compute_cap"
_LEGACY_QUERY = "name,driver_version,memory.total,compute_cap"  # recordings made before memory.used/free


@dataclass(frozen=True)
class TensorflowMessage:
    """One of TensorFlow's stderr lines that explains why a GPU is not used."""

    key: str
    line: str
    data: Mapping[str, str] = field(default_factory=dict)


_TF_MESSAGES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("no-driver", re.compile(r"Could not find cuda drivers on your machine")),
    ("dlopen", re.compile(r"Cannot dlopen some GPU libraries")),
    ("missing-library", re.compile(r"Could not load dynamic library '(?P<library>[^']+)'")),
    ("windows-native", re.compile(r"GPU support is not available on native Windows")),
    ("no-avx", re.compile(r"The TensorFlow library was compiled to use (?P<what>\S+) instructions")),
    ("cuinit", re.compile(r"failed call to cuInit: (?P<error>.+)$")),
    (
        "min-capability",
        re.compile(r"Ignoring visible gpu device .*?The minimum required Cuda capability is (?P<min>[\d.]+)"),
    ),
    ("ptx-jit", re.compile(r"not built with CUDA kernel binaries compatible with compute capability (?P<cc>[\d.]+)")),
    ("driver-insufficient", re.compile(r"CUDA driver version is insufficient|does not match DSO version")),
    ("legacy-keras-missing", re.compile(r"TF_USE_LEGACY_KERAS set to True, but you do not have the tf_keras")),
    # cuDNN (convolutions) and XLA (jit_compile): the CUDA libraries and tools found are not the ones TF needs
    ("dnn-missing", re.compile(r"DNN library (?:is not found|initialization failed)")),
    (
        "cudnn-mismatch",
        re.compile(
            r"Loaded runtime CuDNN library: (?P<runtime>[\w.]+) but source was compiled with: (?P<compiled>[\w.]+)"
        ),
    ),
    ("libdevice", re.compile(r"libdevice not found|Can't find libdevice directory")),
    (
        "ptxas",
        re.compile(r"Couldn't (?:get|invoke) ptxas|Can't find ptxas binary|ptxas (?:exited|returned an error)"),
    ),
)
CUDNN_KEYS = ("dnn-missing", "cudnn-mismatch")
XLA_KEYS = ("libdevice", "ptxas")


# The prefix of TensorFlow's log lines: "I0000 00:00:1795880008.358114    8561 cudart_stub.cc:31] "
_LOG_PREFIX = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] ")


def tensorflow_messages(stderr: str) -> list[TensorflowMessage]:
    """TensorFlow's own explanations in the probe's stderr, each once, without the log-line prefix."""
    found: list[TensorflowMessage] = []
    seen: set[tuple[str, str]] = set()
    for raw in stderr.splitlines():
        line = _LOG_PREFIX.sub("", raw.strip())
        for key, pattern in _TF_MESSAGES:
            match = pattern.search(line)
            if match:
                data = {k: v for k, v in match.groupdict().items() if v is not None}
                marker = (key, str(sorted(data.items())))
                if marker not in seen:
                    seen.add(marker)
                    found.append(TensorflowMessage(key, line, data))
    return found


def parse_nvidia_smi(output: str) -> list[dict[str, str]]:
    """Rows of `nvidia-smi --query-gpu=NVIDIA_SMI_QUERY --format=csv,noheader` (or of the older, shorter query)."""
    rows = []
    for line in output.splitlines():
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        # memory.total, memory.used and memory.free side by side tell the two queries apart
        full = len(cells) >= 6 and all(c.endswith("MiB") or c == "[N/A]" for c in cells[-4:-1])
        keys = (NVIDIA_SMI_QUERY if full else _LEGACY_QUERY).split(",")
        if len(cells) < len(keys):
            continue
        # a GPU name may itself hold a comma: the cells after the name are counted from the end
        head = ", ".join(cells[: len(cells) - len(keys) + 1])
        row = dict(zip(keys, [head, *cells[len(cells) - len(keys) + 1 :]], strict=True))
        rows.append(row)
    return rows


def mebibytes(cell: str | None) -> int | None:
    """ "81559 MiB" -> 81559; None for "[N/A]" or a missing field."""
    match = re.match(r"^\s*(\d+)\s*MiB\s*$", cell or "")
    return int(match.group(1)) if match else None
