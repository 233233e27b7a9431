"""Test double for micromamba, mamba and conda, for the calls envcheck makes; started by tests/fakes/micromamba.

No conda executable can be installed where envcheck's tests run, and no conda channel can be reached, so this
program stands in for one. What is REAL and what is IMITATED:

- REAL: the prefix it builds. ``bin/pythonX.Y`` is a copy of the base interpreter that runs this file (with
  ``python`` and ``python3`` links to it, as conda lays them out), ``lib/pythonX.Y`` is a real folder whose
  entries link to that interpreter's standard library, except a real, empty ``site-packages``; so the prefix's
  ``sys.prefix`` is the prefix and it sees no other site-packages. ``pip`` is really installed, from the wheel
  bundled with ``ensurepip``, and works (envcheck's pip step runs it for real). ``conda-meta/<name>-<version>-
  <build>.json`` records and ``conda-meta/history`` are written in conda's layout and field names.
- IMITATED: the solve and the packages. Python is whatever version runs this file (a spec asking for another
  one fails as unsatisfiable, as a real solve would); every other conda package is synthesized: a module
  ``<name with _>/__init__.py`` holding ``__version__`` plus a ``.dist-info`` whose INSTALLER is ``conda``,
  at the lowest version the spec allows (1.0 when it says none). Nothing is downloaded; channels are not read.
- Argument forms, exit codes and output shapes follow the real tools: ``create``/``install`` with
  ``--prefix``/``-p``, ``--yes``/``-y``, ``--json``, ``--override-channels``, ``-c``; conda's
  ``--no-default-packages`` (micromamba rejects it, as CLI11 does, with exit code 109); a prompt that aborts
  without ``--yes``; conda's ``--json`` error document (exception_name, message, error); micromamba's
  ``critical libmamba ...`` lines on stderr; conda's "prefix already exists" for a folder holding a
  conda-meta without history (a failed create's leftover) and micromamba's "Non-conda folder exists at prefix"
  for any other existing folder, empty ones included (micromamba before 1.5 refused those too).

Two generations are imitated, chosen with FAKE_CONDA_GENERATION:
- "1" (default): micromamba 1.5, mamba 1.5 (conda's Python code underneath: conda's error document) and
  conda 24.
- "2": micromamba and mamba 2.x (both libmamba binaries) and conda 26. libmamba's --json document says why a
  solve failed in ``"solver_problems"`` (a list of lines) while stderr has only ``critical libmamba Could not
  solve for environment specs``; mamba 2.x also puts its log records under ``"log_history"`` in the
  document. conda 26 solves with libmamba by default (LibMambaUnsatisfiableError).
In both generations conda's --json mode writes a progress record per download on stdout (``{"fetch": ...}``
records ending in a newline and a NUL byte) before its final document, as conda's JSON progress bar does.

Environment variables (tests set them):
  FAKE_CONDA_PYTHON  read by the launcher: the interpreter that runs this file and is copied into prefixes
  FAKE_CONDA_GENERATION  "1" or "2", see above
  FAKE_CONDA_FAIL    "solve": fail before touching anything; "create": leave a half-built prefix behind and
                     exit 1, like a download that breaks off; "install": the install command fails
  FAKE_CONDA_CALLS   a file to which every call's arguments are appended as one JSON line
Specs whose name starts with "no-such-" are in no channel (PackagesNotFoundError / "nothing provides").
"""

import contextlib
import glob
import hashlib
import json
import os
import re
import shutil
import sys
import sysconfig
import time
import zipfile

VERSIONS = {
    "1": {"micromamba": "1.5.8", "mamba": "mamba 1.5.8\nconda 24.5.0", "conda": "conda 24.5.0"},
    "2": {"micromamba": "2.3.3", "mamba": "2.3.3", "conda": "conda 26.1.0"},
}


def generation():
    return os.environ.get("FAKE_CONDA_GENERATION", "1")


def libmamba(flavour):
    """The tools whose errors are libmamba log lines: micromamba always, mamba from 2.0 on."""
    return flavour == "micromamba" or (flavour == "mamba" and generation() == "2")


PLATFORM = {"linux": "linux-64", "darwin": "osx-64"}.get(sys.platform, "linux-64")


class Failure(Exception):
    def __init__(self, exception_name, message, code=1, problems=None):
        super().__init__(message)
        self.exception_name = exception_name
        self.message = message
        self.code = code
        self.problems = problems  # a failed solve: libsolv's problem lines


def main(argv):
    flavour = "micromamba"
    for name in ("micromamba", "mamba", "conda"):
        if name in os.path.basename(argv[0]):
            flavour = name
            break
    args = argv[1:]
    calls = os.environ.get("FAKE_CONDA_CALLS")
    if calls:
        with open(calls, "a", encoding="utf-8") as handle:
            handle.write(json.dumps([flavour] + args) + "\n")
    if args[:1] == ["--version"]:
        print(VERSIONS[generation()][flavour])
        return 0
    json_mode = "--json" in args
    try:
        options = parse(flavour, args)
        if options["command"] == "create":
            document = create(flavour, options)
        elif options["command"] == "install":
            document = install(flavour, options)
        else:
            raise Failure("CommandNotFoundError", "the fake imitates only create and install", 2)
    except Failure as failure:
        report_failure(flavour, json_mode, failure)
        return failure.code
    if json_mode:
        print(json.dumps(document, indent=4))
    else:
        print("\nTransaction finished\n")
    return 0


def parse(flavour, args):
    options = {"command": None, "prefix": None, "yes": False, "channels": [], "specs": [], "json": "--json" in args}
    takes_value = {"-p": "prefix", "--prefix": "prefix", "-c": "channels", "--channel": "channels"}
    flags = {"-y", "--yes", "--json", "--override-channels", "-q", "--quiet", "--offline"}
    if flavour != "micromamba":
        flags.add("--no-default-packages")
    i = 0
    while i < len(args):
        arg = args[i]
        key, _, inline = arg.partition("=")
        if key in takes_value:
            if not inline:
                i += 1
                if i >= len(args):
                    raise_usage(flavour, f"{arg} requires an argument")
                inline = args[i]
            if takes_value[key] == "prefix":
                options["prefix"] = os.path.abspath(inline)
            else:
                options["channels"].append(inline)
        elif arg in flags:
            options["yes"] = options["yes"] or arg in ("-y", "--yes")
        elif arg in ("-n", "--name"):
            raise Failure("CondaValueError", "the fake imitates environments addressed by --prefix only", 2)
        elif arg.startswith("-"):
            raise_usage(flavour, f"unrecognized arguments: {arg}", arg)
        elif options["command"] is None:
            options["command"] = arg
        else:
            options["specs"].append(arg)
        i += 1
    if options["command"] in ("create", "install") and options["prefix"] is None:
        raise Failure("CondaValueError", "either -n NAME or -p PREFIX option required", 2)
    return options


def raise_usage(flavour, message, arg=None):
    if flavour == "micromamba":
        text = f"The following argument was not expected: {arg}" if arg else message
        sys.stderr.write(f"{text}\nRun with --help for more information.\n")
        raise SystemExit(109)  # CLI11's ExtrasError
    sys.stderr.write(f"usage: {flavour} [-h] [-V] command ...\n{flavour}: error: {message}\n")
    raise SystemExit(2)  # argparse


def report_failure(flavour, json_mode, failure):
    if libmamba(flavour):
        # libmamba keeps the explanation of a failed solve in its --json document; stderr says only that it failed
        if json_mode:
            document = {"success": False}
            if failure.problems:
                document["solver_problems"] = failure.problems
            generic = "Could not solve for environment specs" if failure.problems else failure.message
            if flavour == "mamba":
                document["log_history"] = [
                    {"level": "info", "message": "Transaction starting"},
                    {"level": "critical", "message": generic},
                ]
            print(json.dumps(document, indent=4))
        generic = "Could not solve for environment specs" if failure.problems else failure.message
        sys.stderr.write(f"critical libmamba {generic if json_mode else failure.message}\n")
        return
    if json_mode:
        document = {
            "caused_by": "None",
            "error": f"{failure.exception_name}: {failure.message}",
            "exception_name": failure.exception_name,
            "exception_type": f"<class 'conda.exceptions.{failure.exception_name}'>",
            "message": failure.message,
        }
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        sys.stderr.write(f"\n{failure.exception_name}: {failure.message}\n\n")


def unsatisfiable(flavour, problem):
    """A solve that failed on ``problem``, as each tool and generation reports it."""
    if libmamba(flavour):
        return Failure("UnsatisfiableError", f"Could not solve for environment specs: {problem}", problems=[problem])
    if flavour == "conda" and generation() == "2":
        message = f"Encountered problems while solving:\n  - {problem}\n\nCould not solve for environment specs"
        return Failure("LibMambaUnsatisfiableError", message)
    return Failure("UnsatisfiableError", f"Could not solve for environment specs: {problem}")


def fetch_records(flavour, json_mode, solved):
    """conda's JSON progress bar: a record per download, each ending in a newline and a NUL byte."""
    if flavour != "conda" or not json_mode:
        return
    for name, version, _ in solved:
        for progress, finished in ((0.0, "false"), (1, "true")):
            sys.stdout.write(
                f'{{"fetch":"{name}-{version}","finished":{finished},"maxval":1,"progress":{progress}}}\n\0'
            )
    sys.stdout.flush()


# --- the solve (imitated) ------------------------------------------------------------------------------------


SPEC = re.compile(r"^(?:(?P<channel>[^\s:]+)::)?(?P<name>[A-Za-z0-9_.-]+)\s*(?P<version>[^\s]*)\s*(?P<build>\S*)$")


def solve(flavour, specs, channels, prefix_python=None):
    """Each spec becomes (name, version, spec); python is the interpreter running this file, nothing else."""
    if os.environ.get("FAKE_CONDA_FAIL") == "solve":
        raise unsatisfiable(
            flavour,
            "package tiny-conda-1.2-pyh0_fake requires python >=3.99, but none of the providers can be installed",
        )
    running = "{}.{}.{}".format(*sys.version_info[:3])
    solved = []
    for spec in specs:
        match = SPEC.match(spec.strip())
        if match is None:
            raise Failure("InvalidMatchSpec", f"Invalid spec '{spec}'")
        name, version = match["name"].lower(), match["version"]
        if name.startswith("no-such-"):
            if libmamba(flavour) or (flavour == "conda" and generation() == "2"):
                raise unsatisfiable(flavour, f"nothing provides requested {spec}")
            where = ", ".join(channels) or "defaults"
            raise Failure(
                "PackagesNotFoundError",
                f"The following packages are not available from current channels: - {spec} Current channels: {where}",
            )
        if name == "python":
            if not version_allows(version, running):
                raise unsatisfiable(flavour, f"nothing provides requested {spec} (the fake offers python {running})")
            if prefix_python and prefix_python != running:
                raise Failure("UnsatisfiableError", f"the fake cannot change python {prefix_python} into {running}")
            solved.append(("python", running, spec))
        elif name == "pip":
            solved.append(("pip", bundled_pip_version(), spec))
        else:
            solved.append((name, lowest_version(version), spec))
    return solved


def version_allows(version_spec, version):
    """A small reading of conda's version specs: =X.Y, ==X.Y.Z, X.Y.*, >=, <, != joined by ','."""
    if not version_spec:
        return True
    have = tuple(int(p) for p in version.split("."))
    for part in version_spec.split(","):
        match = re.match(r"^(==|>=|<=|!=|~=|>|<|=)?([0-9][0-9.]*)(\.\*)?$", part)
        if match is None:
            return True  # what the fake cannot read it does not refuse
        operator, number, star = match.groups()
        want = tuple(int(p) for p in number.strip(".").split("."))
        head = have[: len(want)]
        if operator in (None, "=") or star:
            ok = head == want if operator in (None, "=", "==") else head != want
        elif operator == "==":
            ok = have == want
        elif operator == "!=":
            ok = have != want
        elif operator in (">=", "~="):
            ok = have >= want
        elif operator == "<=":
            ok = have <= want
        elif operator == ">":
            ok = have > want
        else:
            ok = have < want
        if not ok:
            return False
    return True


def lowest_version(version_spec):
    for part in version_spec.split(","):
        match = re.match(r"^(==|>=|~=|=)?([0-9][0-9.]*)", part)
        if match:
            return match.group(2).strip(".")
    return "1.0"


def bundled_pip_version():
    wheel = bundled_pip_wheel()
    return os.path.basename(wheel).split("-")[1]


def bundled_pip_wheel():
    found = sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "ensurepip", "_bundled", "pip-*.whl")))
    if not found:
        raise Failure("PackagesNotFoundError", f"the fake found no pip wheel bundled with {sys.executable}")
    return found[-1]


# --- create and install (real files) -------------------------------------------------------------------------


def create(flavour, options):
    prefix = options["prefix"]
    if os.path.lexists(prefix):
        check_existing(flavour, prefix, options["yes"])
    solved = solve(flavour, options["specs"], options["channels"])
    confirm(options)
    fetch_records(flavour, options["json"], solved)
    os.makedirs(os.path.join(prefix, "conda-meta"), exist_ok=True)
    history_start(prefix, options)
    linked = []
    order = sorted(solved, key=lambda s: {"python": 0, "pip": 1}.get(s[0], 2))
    for name, version, spec in order:
        linked.append(link(prefix, name, version, spec, options["channels"]))
        if os.environ.get("FAKE_CONDA_FAIL") == "create":
            # a download that breaks off after the first package: the half-built prefix stays behind
            raise Failure(
                "CondaHTTPError", "HTTP 000 CONNECTION FAILED for url <https://conda.anaconda.org/conda-forge>"
            )
    history_end(prefix, linked, options["specs"])
    return transaction_document(prefix, linked)


def install(flavour, options):
    prefix = options["prefix"]
    if not os.path.isdir(os.path.join(prefix, "conda-meta")):
        if flavour == "micromamba":
            raise Failure("EnvironmentLocationNotFound", f"Prefix does not exist at: {prefix}")
        raise Failure("EnvironmentLocationNotFound", f"Not a conda environment: {prefix}")
    if os.environ.get("FAKE_CONDA_FAIL") == "install":
        raise Failure("CondaHTTPError", "HTTP 000 CONNECTION FAILED for url <https://conda.anaconda.org/conda-forge>")
    installed = {record["name"]: record for record in read_records(prefix)}
    python = installed.get("python", {}).get("version")
    solved = solve(flavour, options["specs"], options["channels"], prefix_python=python)
    changes = [s for s in solved if installed.get(s[0], {}).get("version") != s[1]]
    confirm(options)
    fetch_records(flavour, options["json"], changes)
    history_start(prefix, options)
    linked = []
    for name, version, spec in changes:
        if name in installed:
            unlink(prefix, installed[name])
        linked.append(link(prefix, name, version, spec, options["channels"]))
    history_end(prefix, linked, options["specs"])
    return transaction_document(prefix, linked)


def check_existing(flavour, prefix, yes):
    meta = os.path.join(prefix, "conda-meta")
    environment = os.path.isdir(meta) if flavour == "micromamba" else os.path.isfile(os.path.join(meta, "history"))
    if environment:
        confirm({"yes": yes})
        shutil.rmtree(prefix)  # the real tools overwrite an existing environment once confirmed
        return
    if flavour == "micromamba":
        raise Failure("CondaValueError", "Non-conda folder exists at prefix - aborting.")
    if os.path.isdir(meta):
        raise Failure("CondaValueError", f"prefix already exists: {prefix}")
    # conda turns an existing folder without conda-meta into an environment


def confirm(options):
    if options["yes"]:
        return
    sys.stdout.write("Confirm changes: [Y/n] ")
    sys.stdout.flush()
    answer = sys.stdin.readline()
    if not answer or answer.strip().lower() not in ("", "y", "yes"):  # end of input is not a yes
        raise Failure("CondaSystemExit", "Aborted.")


def link(prefix, name, version, spec, channels):
    """Put one package into the prefix and record it in conda-meta; return its record."""
    channel = (channels or ["conda-forge"])[0]
    if name == "python":
        files, build, subdir = link_python(prefix), "h0_fake_cpython", PLATFORM
    elif name == "pip":
        files, build, subdir = link_wheel(prefix, bundled_pip_wheel()), "pyh0_fake", "noarch"
    else:
        files, build, subdir = link_stand_in(prefix, name, version), "pyh0_fake", "noarch"
    paths = []
    for relative in files:
        full = os.path.join(prefix, relative)
        if os.path.isfile(full) and not os.path.islink(full):
            with open(full, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
            paths.append(
                {"_path": relative, "path_type": "hardlink", "sha256": digest, "size_in_bytes": os.path.getsize(full)}
            )
        else:
            paths.append({"_path": relative, "path_type": "softlink"})
    fn = f"{name}-{version}-{build}.conda"
    url = f"https://conda.anaconda.org/{channel}/{subdir}/{fn}"
    record = {
        "build": build,
        "build_number": 0,
        "channel": f"https://conda.anaconda.org/{channel}/{subdir}",
        "constrains": [],
        "depends": [] if name == "python" else ["python >=3.8"],
        "files": files,
        "fn": fn,
        "license": "imitation by tests/fakes",
        "md5": hashlib.md5(url.encode()).hexdigest(),
        "name": name,
        "paths_data": {"paths": paths, "paths_version": 1},
        "requested_spec": spec,
        "sha256": hashlib.sha256(url.encode()).hexdigest(),
        "size": sum(p.get("size_in_bytes", 0) for p in paths),
        "subdir": subdir,
        "timestamp": int(time.time() * 1000),
        "url": url,
        "version": version,
    }
    if subdir == "noarch":
        record["noarch"] = "python"
    with open(os.path.join(prefix, "conda-meta", f"{name}-{version}-{build}.json"), "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2, sort_keys=True)
    return record


def link_python(prefix):
    """A working interpreter whose sys.prefix is the prefix: a copy of the base binary, the stdlib linked."""
    short = "{}.{}".format(*sys.version_info[:2])
    base_executable = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    stdlib = sysconfig.get_paths()["stdlib"]
    bin_dir, lib_dir = os.path.join(prefix, "bin"), os.path.join(prefix, "lib", f"python{short}")
    os.makedirs(bin_dir, exist_ok=True)
    os.makedirs(os.path.join(lib_dir, "site-packages"), exist_ok=True)
    shutil.copy2(base_executable, os.path.join(bin_dir, f"python{short}"))
    os.symlink(f"python{short}", os.path.join(bin_dir, "python3"))
    os.symlink(f"python{short}", os.path.join(bin_dir, "python"))
    files = [f"bin/python{short}", "bin/python3", "bin/python"]
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    for library in sorted(glob.glob(os.path.join(libdir, "libpython*"))):
        # for interpreters that find libpython relative to themselves ($ORIGIN/../lib, as conda's do)
        os.symlink(library, os.path.join(prefix, "lib", os.path.basename(library)))
        files.append(f"lib/{os.path.basename(library)}")
    for entry in sorted(os.listdir(stdlib)):
        if entry != "site-packages":
            os.symlink(os.path.join(stdlib, entry), os.path.join(lib_dir, entry))
            files.append(f"lib/python{short}/{entry}")
    return files


def site_packages(prefix):
    found = glob.glob(os.path.join(prefix, "lib", "python3*", "site-packages"))
    return found[0] if found else None


def link_wheel(prefix, wheel):
    """Unpack a wheel into site-packages as conda's noarch python packages arrive: INSTALLER says conda."""
    target = site_packages(prefix)
    if target is None:
        return []
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
        names = [n for n in archive.namelist() if not n.endswith("/")]
    dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
    with open(os.path.join(target, dist_info, "INSTALLER"), "w", encoding="utf-8") as handle:
        handle.write("conda\n")
    relative = os.path.relpath(target, prefix)
    return [f"{relative}/{n}" for n in names] + [f"{relative}/{dist_info}/INSTALLER"]


def link_stand_in(prefix, name, version):
    """A synthesized Python package: the module and its .dist-info, nothing more."""
    target = site_packages(prefix)
    if target is None:
        return []  # no python in the prefix: a record without files, like a non-Python package
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    contents = {
        f"{module}/__init__.py": f'"""Stand-in for the conda package {name}, made by tests/fakes."""\n__version__ = "{version}"\n',
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/INSTALLER": "conda\n",
    }
    contents[f"{dist_info}/RECORD"] = "".join(f"{path},,\n" for path in [*contents, f"{dist_info}/RECORD"])
    for path, text in contents.items():
        full = os.path.join(target, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as handle:
            handle.write(text)
    relative = os.path.relpath(target, prefix)
    return [f"{relative}/{path}" for path in contents]


def unlink(prefix, record):
    for relative in record.get("files", []):
        full = os.path.join(prefix, relative)
        if os.path.islink(full) or os.path.isfile(full):
            os.unlink(full)
    for relative in sorted({os.path.dirname(f) for f in record.get("files", [])}, key=len, reverse=True):
        with contextlib.suppress(OSError):  # folders other packages still use stay
            os.removedirs(os.path.join(prefix, relative))
    os.unlink(os.path.join(prefix, "conda-meta", f"{record['name']}-{record['version']}-{record['build']}.json"))


def read_records(prefix):
    records = []
    for path in sorted(glob.glob(os.path.join(prefix, "conda-meta", "*.json"))):
        with open(path, encoding="utf-8") as handle:
            records.append(json.load(handle))
    return records


def history_start(prefix, options):
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    command = " ".join([os.path.basename(sys.argv[1]) if len(sys.argv) > 1 else "micromamba", options["command"]])
    with open(os.path.join(prefix, "conda-meta", "history"), "a", encoding="utf-8") as handle:
        handle.write(f"==> {stamp} <==\n# cmd: {command} --prefix {options['prefix']} {' '.join(options['specs'])}\n")


def history_end(prefix, linked, specs):
    with open(os.path.join(prefix, "conda-meta", "history"), "a", encoding="utf-8") as handle:
        for record in linked:
            channel = record["channel"].split("/")[-2]
            handle.write(f"+{channel}/{record['subdir']}::{record['name']}-{record['version']}-{record['build']}\n")
        handle.write(f"# update specs: {json.dumps(specs)}\n")


def transaction_document(prefix, linked):
    link_entries = [
        {
            "base_url": record["channel"].rsplit("/", 1)[0],
            "build_number": record["build_number"],
            "build_string": record["build"],
            "channel": record["channel"].split("/")[-2],
            "dist_name": f"{record['name']}-{record['version']}-{record['build']}",
            "name": record["name"],
            "platform": record["subdir"],
            "version": record["version"],
        }
        for record in linked
    ]
    return {
        "actions": {"FETCH": [], "LINK": link_entries, "PREFIX": prefix},
        "dry_run": False,
        "prefix": prefix,
        "success": True,
    }


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
