"""Probe: find a registered Jupyter kernel, start it for real and ask it for its sys.prefix; list every other
registered kernel and the program each would run.

Stand-alone and standard library only at module level; uses the target environment's own jupyter_client, as
Jupyter would. Input: {"kernel_name": "envcheck-deep-learning", "timeout": 60}.
Usage: python -I kernel.py CONTROL_DIR  (writes CONTROL_DIR/output.json after every step; the kernel's
connection file goes to CONTROL_DIR/kernel-connection.json)
"""

import json
import os
import shutil
import sys
import time

SCHEMA = 1  # the answer's format; the host reads exactly this version (envcheck/verify/answers/)
CODE = "import sys; print(sys.prefix)"
MAX_ERROR = 2000
MAX_SPECS = 200


def write(control_dir, answer):
    tmp = os.path.join(control_dir, "output.json.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(answer, handle, default=str)
    os.replace(tmp, os.path.join(control_dir, "output.json"))


def error_facts(exc):
    return {"error_type": type(exc).__name__, "error": str(exc)[:MAX_ERROR]}


def program(first):
    """The program a kernelspec's argv starts, as jupyter_client finds it: "python", "python3" or "python3.X"
    stand for the python running Jupyter (this one), another bare name is looked up on PATH."""
    if not first:
        return None
    if first in ("python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])):
        return sys.executable
    return first if os.path.isabs(first) else shutil.which(first)


def all_specs(manager):
    """Every kernelspec Jupyter (from this environment) lists: where it lives and the program it would start."""
    found = {}
    for name, entry in sorted(manager.get_all_specs().items())[:MAX_SPECS]:
        spec = entry.get("spec") or {}
        argv = list(spec.get("argv") or [])
        first = argv[0] if argv else None
        resolved = program(first)
        found[name] = {
            "resource_dir": entry.get("resource_dir"),
            "language": spec.get("language"),
            "display_name": spec.get("display_name"),
            "argv0": first,
            "argv0_resolved": resolved,
            "exists": bool(resolved) and os.path.exists(resolved),
        }
    return found


def find_spec(answer, name):
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    answer["kernel_dirs"] = list(manager.kernel_dirs)
    answer["available"] = sorted(manager.find_kernel_specs())
    try:
        answer["specs"] = all_specs(manager)
    except Exception as exc:  # noqa: BLE001 - one unreadable kernel.json must not hide the kernel asked for
        answer["specs_error"] = error_facts(exc)
    try:
        spec = manager.get_kernel_spec(name)
    except NoSuchKernel:
        return None
    argv = list(spec.argv)
    first = argv[0] if argv else None
    return {
        "argv": argv,
        "argv0": first,
        "argv0_resolved": program(first),
        "resource_dir": spec.resource_dir,
        "display_name": spec.display_name,
        "language": spec.language,
    }


def start_and_ask(answer, name, timeout, connection_file):
    """Start the kernel as jupyter_client's start_new_kernel does, with its connection file at a place we name."""
    from jupyter_client.manager import KernelManager

    started = time.perf_counter()
    manager = KernelManager(kernel_name=name, connection_file=connection_file)
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=timeout)
    except RuntimeError:
        client.stop_channels()
        manager.shutdown_kernel()
        raise
    try:
        answer["started"] = True
        answer["start_seconds"] = round(time.perf_counter() - started, 4)
        outputs = []

        def hook(message):
            if message.get("msg_type") == "stream" and message["content"].get("name") == "stdout":
                outputs.append(message["content"].get("text", ""))
            elif message.get("msg_type") == "error":
                content = message["content"]
                answer["execute_error"] = str(content.get("ename")) + ": " + str(content.get("evalue"))

        reply = client.execute_interactive(CODE, timeout=timeout, output_hook=hook)
        answer["execute_status"] = reply["content"].get("status")
        answer["stdout"] = "".join(outputs)
        answer["prefix"] = answer["stdout"].strip() or None
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    answer["seconds"] = round(time.perf_counter() - started, 4)


def main(control_dir):
    with open(os.path.join(control_dir, "input.json"), encoding="utf-8") as handle:
        request = json.load(handle)
    name = request["kernel_name"]
    timeout = float(request.get("timeout", 60))
    answer = {
        "schema": SCHEMA,
        "kernel_name": name,
        "stage": "import jupyter_client",
        "complete": False,
        "started": False,
    }
    write(control_dir, answer)
    # The connection file holds the key that authenticates to the kernel. Written inside the control
    # directory, it goes with it: the host removes that folder however the probe ends (answered, failed,
    # killed for its time limit, interrupted), where the temporary folder would keep it.
    connection_file = os.path.join(control_dir, "kernel-connection.json")
    try:
        import jupyter_client

        answer["jupyter_client"] = getattr(jupyter_client, "__version__", None)
    except BaseException as exc:  # noqa: BLE001 - a probe records every failure
        answer["jupyter_client_error"] = error_facts(exc)
        answer["complete"] = True
        write(control_dir, answer)
        return
    answer["stage"] = "kernelspec"
    write(control_dir, answer)
    try:
        answer["spec"] = find_spec(answer, name)
    except BaseException as exc:  # noqa: BLE001
        answer["spec"] = None
        answer["spec_error"] = error_facts(exc)
    if answer["spec"] is not None and request.get("start", True):
        answer["stage"] = "start"
        write(control_dir, answer)
        try:
            start_and_ask(answer, name, timeout, connection_file)
        except BaseException as exc:  # noqa: BLE001
            answer["start_error"] = error_facts(exc)
    answer["stage"] = "done"
    answer["complete"] = True
    write(control_dir, answer)


if __name__ == "__main__":
    main(sys.argv[1])
