"""Probe: facts about the interpreter that runs it (version, bits, prefixes, PEP 508 marker environment).

Stand-alone and standard library only; runs on any CPython 3 the user points envcheck at.
Usage: python -I interpreter.py CONTROL_DIR  (writes CONTROL_DIR/output.json)
"""

import json
import os
import platform
import struct
import sys


def marker_environment():
    implementation_version = (
        f"{sys.implementation.version.major}.{sys.implementation.version.minor}.{sys.implementation.version.micro}"
    )
    kind = sys.implementation.version.releaselevel
    if kind != "final":
        implementation_version += kind[0] + str(sys.implementation.version.serial)
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": implementation_version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def facts():
    return {
        "executable": sys.executable,
        "version": platform.python_version(),
        "version_info": list(sys.version_info[:3]),
        "implementation": sys.implementation.name,
        "bits": struct.calcsize("P") * 8,
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "platform": sys.platform,
        "machine": platform.machine(),
        "markers": marker_environment(),
    }


def main(control_dir):
    answer = facts()
    tmp = os.path.join(control_dir, "output.json.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(answer, handle)
    os.replace(tmp, os.path.join(control_dir, "output.json"))


if __name__ == "__main__":
    main(sys.argv[1])
