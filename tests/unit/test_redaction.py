"""Redaction: credentials never shown, home, user and host replaced only where they name a place.

Examples first (each one a way the promise used to break), then property-based tests (hypothesis) that push
generated credentials and names through every output: verify's checklist, --json and --markdown, and setup's
screen, log and kept failure log. Run with ``--hypothesis-show-statistics`` to see how many cases were tried.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from envcheck import redaction
from envcheck.cli import app
from envcheck.redaction import Identity, Redactor, redact_credentials, redact_url
from envcheck.results import CheckResult, Status
from envcheck.setup import pipeline as provision
from envcheck.verify.gather import users_settings
from envcheck.verify.report import VerifyReport

# ---------------------------------------------------------------------------------------------- credentials


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:p@ss@host/simple", "https://***@host/simple"),
        ("https://host/simple?token=SECRET", "https://host/simple?token=***"),
        ("https://host/simple?SECRET", "https://host/simple?***"),
        ("https://host/simple/#token=SECRET", "https://host/simple/#token=***"),
        ("https://__token__:pypi-AgE@host:8443/simple/", "https://***@host:8443/simple/"),
        ("https://u%40x:p%2Fw%3F@host/", "https://***@host/"),
        ("HTTPS://u:p@[::1]:8080/x?a=1&b=2", "HTTPS://***@[::1]:8080/x?a=***&b=***"),
        # a password with an unencoded "/" or "#" cannot be read as user info: everything after the scheme goes
        ("https://user:p#ss@host/simple", "https://***"),
        # public parts of a link stay: a VCS revision, a project name, a hash to check
        ("git+https://github.com/org/repo@v1.2#egg=name", "git+https://github.com/org/repo@v1.2#egg=name"),
        (
            "https://files.example/a-1.0-py3-none-any.whl#sha256=abc",
            "https://files.example/a-1.0-py3-none-any.whl#sha256=abc",
        ),
    ],
)
def test_a_url_loses_its_credentials_and_nothing_else(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_urls_in_free_text_are_found_where_they_end() -> None:
    text = "Looking in indexes: https://a:b@x/simple, https://y/s?token=T (and `https://c:d@z/`)."
    assert (
        redact_credentials(text)
        == "Looking in indexes: https://***@x/simple, https://y/s?token=*** (and `https://***@z/`)."
    )
    assert (
        redact_credentials("PIP_INDEX_URL=https://a:b@x/,https://c:d@y/")
        == "PIP_INDEX_URL=https://***@x/,https://***@y/"
    )
    assert redact_credentials("no url: user:pw@host, tf.keras") == "no url: user:pw@host, tf.keras"


# ---------------------------------------------------------------------------------------------- identity


def scrub(text: str, home: str = "/home/al", user: str = "al", host: str = "gpu") -> str:
    return Redactor(Identity(homes=(home,), user=user, hosts=(host,))).text(text)


def test_the_home_folder_is_replaced_only_as_a_whole_path() -> None:
    assert scrub("/home/alice/envs /home/al/envs /home/al /home/al.old") == "/home/alice/envs ~/envs ~ /home/al.old"
    assert scrub("LD_LIBRARY_PATH=/home/al/cuda:/home/al") == "LD_LIBRARY_PATH=~/cuda:~"


def test_a_windows_home_is_recognised_in_any_case_and_either_slash() -> None:
    home = "C:\\Users\\Ana"
    text = "c:\\users\\ana\\envs C:/Users/Ana/envs C:\\USERS\\ANA C:/Users/Anabel"
    assert scrub(text, home=home, user="Ana") == "~\\envs ~/envs ~ C:/Users/Anabel"
    assert (
        scrub("D:\\data\\ANA\\env\\Scripts\\python.exe", home=home, user="Ana")
        == "D:\\data\\<user>\\env\\Scripts\\python.exe"
    )


@pytest.mark.parametrize("name", ["pip", "keras", "python", "gpu", "al", "root", "tf", "jupyter", "tensorflow"])
def test_short_and_common_names_leave_ids_packages_and_commands_alone(name: str) -> None:
    text = (
        "device.gpu-driver package.keras.import tf.keras: python -m pip install tf-keras~=2.21.0 "
        "(jupyter kernelspec list; root cause: al) /opt/env/bin/python /opt/env/lib/python3.11/site-packages/keras"
    )
    assert scrub(text, user=name, host=name) == text
    assert scrub(f"/scratch/{name}/env/bin/pip", user=name, host="h") == "/scratch/<user>/env/bin/pip"
    assert scrub(f"/nfs/{name}/env", user="u", host=name) == "/nfs/<host>/env"


def test_a_host_named_after_its_user_is_the_host() -> None:
    text = "/tmp/jupyter-jovyan/x /home/jovyan/y /data/jovyan/z jupyter-jovyan"
    assert scrub(text, home="/home/jovyan", user="jovyan", host="jupyter-jovyan") == (
        "/tmp/<host>/x ~/y /data/<user>/z jupyter-jovyan"
    )


def test_names_in_a_url_path_are_the_index_s_not_the_user_s() -> None:
    assert scrub("https://mirror/simple/al/ and file:///scratch/al/wheels") == (
        "https://mirror/simple/al/ and file:///scratch/<user>/wheels"
    )


def test_verify_reports_the_users_own_pythonnousersite() -> None:
    seen = {"PYTHONNOUSERSITE": "1", "KERAS_BACKEND": "jax"}
    assert users_settings(seen, {}) == {"KERAS_BACKEND": "jax"}
    assert users_settings(seen, {"PYTHONNOUSERSITE": ""}) == {"PYTHONNOUSERSITE": "", "KERAS_BACKEND": "jax"}


def test_verify_json_does_not_call_envcheck_s_own_setting_the_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = tmp_path / "small.toml"
    profile.write_text(TINY, encoding="utf-8")
    monkeypatch.delenv("PYTHONNOUSERSITE", raising=False)
    result = CliRunner().invoke(app, ["verify", "--python", sys.executable, "--file", str(profile), "--json"])
    assert "PYTHONNOUSERSITE" not in json.loads(result.stdout)["environment"]["settings"]


# ---------------------------------------------------------------------------------------------- properties

# Characters a password may hold as they are (RFC 3986 user info, plus "@" that tools accept), and ones
# that must be percent-encoded in a URL. Every secret has two distinctive runs that must never be shown.
RAW = "abcXYZ019-._~!$&'()*+,;=:@"
ENCODED = '/?#% "<>\\^`{|}[]é€'
CONTENT = ("bin", "sbin", "scripts", "lib", "lib64", "libexec", "include", "share", "etc", "site-packages")
CONTENT += ("dist-packages", "conda-meta", "pkgs")
PATH_WORDS = ("data", "scratch", "env", "nfs", "cuda")  # the fixed folders of the paths planted below


@st.composite
def secrets(draw: st.DrawFn, *, in_query: bool = False) -> tuple[str, list[str]]:
    """A secret as a URL carries it (percent-encoded where it must be), and the runs that must not leak.

    In a query or a fragment "&", "=" and ";" are delimiters: a value holds them percent-encoded.
    """
    first = "Zq" + draw(st.text("abcdefghjkmnpqrstuvwxyz23456789", min_size=4, max_size=8))
    second = "Xk" + draw(st.text("ABCDEFGHJKMNPQRSTUVWXYZ23456789", min_size=4, max_size=8))
    middle = draw(st.text(RAW + ENCODED, max_size=6))
    value = first + middle + second
    must = ENCODED + ("&=;+" if in_query else "")
    encoded = "".join(quote(c, safe="") if c in must else c for c in value)
    return encoded, [first, second, value, encoded]


@st.composite
def credential_urls(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A URL with credentials in user info, in the query or in the fragment; and what must not leak."""
    scheme = draw(st.sampled_from(["https", "http", "HTTPS", "git+https"]))
    host = draw(st.sampled_from(["pypi.example.org", "127.0.0.1:8080", "[::1]", "mirror"]))
    path = draw(st.sampled_from(["/simple", "/simple/", "/t/pkgs/simple/", ""]))
    form = draw(st.sampled_from(["user:password", "token@", "user@", "query", "bare-query", "fragment", "all"]))
    secret, hidden = draw(secrets(in_query=form in ("query", "bare-query", "fragment")))
    user = "Us" + draw(st.text("abcdefgh", min_size=3, max_size=6))
    if form == "user:password":
        return f"{scheme}://{user}:{secret}@{host}{path}", [*hidden, user]
    if form == "token@":
        return f"{scheme}://{secret}@{host}{path}", hidden
    if form == "user@":
        return f"{scheme}://{user}%40corp:@{host}{path}", [user]
    if form == "query":
        return f"{scheme}://{host}{path or '/'}?private_token={secret}&page=2", hidden
    if form == "bare-query":
        return f"{scheme}://{host}{path or '/'}?{secret}", hidden
    if form == "fragment":
        return f"{scheme}://{host}{path or '/'}#{draw(st.sampled_from(['token=', '']))}{secret}", hidden
    other, more = draw(secrets(in_query=True))
    return f"{scheme}://{user}:{secret}@{host}{path or '/'}?key={other}#t={other}", [*hidden, *more, user]


names = st.one_of(
    st.sampled_from(["pip", "keras", "python", "gpu", "al", "root", "tf", "jupyter", "jovyan", "Ana", "home", "envs"]),
    st.from_regex(r"\A[a-zA-Z][a-zA-Z0-9_-]{0,9}\Z"),
).filter(lambda n: n.casefold() not in CONTENT and n.casefold() not in PATH_WORDS)


@dataclass(frozen=True)
class Machine:
    home: str
    user: str
    host: str

    @property
    def windows(self) -> bool:
        return self.home[1:2] == ":"

    @property
    def sep(self) -> str:
        return "\\" if self.windows else "/"

    def place(self, *parts: str) -> str:
        """A path under the home folder, spelt as this machine would."""
        return self.sep.join([self.home, *parts])

    @property
    def user_path(self) -> tuple[str, str]:
        """A folder named after the user outside the home, and how a shared report shows it."""
        if self.windows:
            return f"D:\\data\\{self.user}\\env", f"D:\\data\\{self.shown(self.user)}\\env"
        return f"/scratch/{self.user}/env", f"/scratch/{self.shown(self.user)}/env"

    @property
    def host_path(self) -> tuple[str, str]:
        return f"/nfs/{self.host}/cuda/lib64", f"/nfs/{self.shown(self.host)}/cuda/lib64"

    def shown(self, component: str) -> str:
        same = (lambda a, b: a.casefold() == b.casefold()) if self.windows else (lambda a, b: a == b)
        if same(component, self.host):
            return "<host>"
        return "<user>" if same(component, self.user) else component


@st.composite
def machines(draw: st.DrawFn) -> Machine:
    user = draw(names)
    host = draw(st.one_of(names, st.just(f"jupyter-{user}"), st.just(user)))
    shape = draw(
        st.sampled_from(["/home/{}", "/Users/{}", "/root", "/scratch/{}/home", "C:\\Users\\{}", "c:/users/{}"])
    )
    return Machine(home=shape.format(user), user=user, host=host)


# What must come out unchanged whatever the names: ids, package names and commands.
IDS = ("device.gpu-driver", "package.keras.import", "package.tf-keras.version", "python.prefix", "kernel.start")
COMMAND = "python -m pip install tf-keras~=2.21.0"
PROSE = "tf.keras needs tf-keras; pip, keras, python and jupyter are fine as root on gpu (al)"
TOLERANT = settings(
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def synthetic_report(machine: Machine, urls: list[str]) -> VerifyReport:
    user_path, _ = machine.user_path
    host_path, _ = machine.host_path
    python = machine.place("envs", "dl", "Scripts" if machine.windows else "bin", "python")
    checks = (
        CheckResult(IDS[0], Status.WARN, f"no driver under {host_path}; {PROSE}", hint=f"see {urls[0]}"),
        CheckResult(IDS[1], Status.FAIL, f"import keras: OSError: cannot fetch {urls[1]} ({user_path})", hint=COMMAND),
        CheckResult(IDS[2], Status.PASS, f"tf-keras 2.21.0 from {machine.place('envs', 'dl')}"),
        CheckResult(IDS[3], Status.PASS, f"sys.prefix is the environment ({user_path})", data={"index": urls[2]}),
        CheckResult(
            IDS[4], Status.FAIL, f"pip config: global.index-url='{urls[0]}'", hint=f"{COMMAND} --index-url {urls[2]}"
        ),
    )
    facts = {
        "executable": python,
        "platform": "win32" if machine.windows else "linux",
        "machine": "x86_64",
        "implementation": "cpython",
        "python_version": "3.11.7",
        "settings": {"PIP_INDEX_URL": urls[0], "LD_LIBRARY_PATH": f"{host_path}:{user_path}"},
    }
    return VerifyReport(
        python=python,
        prefix=machine.place("envs", "dl"),
        profile="deep-learning",
        origin="prefix",
        facts=facts,
        versions={"tensorflow": "2.21.0", "keras": "3.12.0", "tf-keras": "2.21.0"},
        devices=[{"type": "GPU", "name": "/physical_device:GPU:0", "model": "gpu", "source": "nvidia-smi"}],
        checks=checks,
    )


def strings(value: object) -> str:
    """Every string in a JSON document (keys too), one a line, as a reader of the parsed document sees them."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(f"{k}\n{strings(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "\n".join(strings(v) for v in value)
    return ""


def assert_hidden(text: str, hidden: list[str], where: str) -> None:
    for secret in hidden:
        assert secret not in text, f"{secret!r} shown in {where}:\n{text}"


@given(
    machine=machines(),
    credentials=st.lists(credential_urls(), min_size=1, max_size=4),
    frames=st.lists(st.sampled_from(["{}", "({})", "`{}`", "'{}'", '"{}"', "--index-url={}", "{}.", "{},", "<{}>"])),
    keep_identity=st.booleans(),
)
@settings(TOLERANT, max_examples=1000)
def test_redacted_text_hides_every_secret_and_changes_no_id_package_or_command(
    machine: Machine, credentials: list[tuple[str, list[str]]], frames: list[str], keep_identity: bool
) -> None:
    identity = None if keep_identity else Identity(homes=(machine.home,), user=machine.user, hosts=(machine.host,))
    urls = [frame.format(url) for (url, _), frame in zip(credentials, frames + ["{}"] * len(credentials), strict=False)]
    text = " ".join([*IDS, COMMAND, *urls, PROSE, ",".join(u for u, _ in credentials), machine.user_path[0]])
    shown = Redactor(identity).text(text)
    assert_hidden(shown, [secret for _, each in credentials for secret in each], "the text")
    assert shown.startswith(" ".join([*IDS, COMMAND]) + " ") and PROSE in shown
    assert (machine.user_path[0] in shown) is keep_identity


@given(machine=machines(), credentials=st.lists(credential_urls(), min_size=3, max_size=3))
@settings(TOLERANT, max_examples=80)
def test_verify_outputs_hide_secrets_and_keep_ids_packages_and_commands(
    machine: Machine, credentials: list[tuple[str, list[str]]]
) -> None:
    urls = [url for url, _ in credentials]
    hidden = [secret for _, each in credentials for secret in each]
    report = synthetic_report(machine, urls)
    identity = Identity(homes=(machine.home,), user=machine.user, hosts=(machine.host,))
    outputs: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("envcheck.verify.examine.verify", lambda *a, **k: report)
        mp.setattr("envcheck.targets.resolve_target", lambda *a, **k: None)
        mp.setattr(redaction, "machine_identity", lambda: identity)
        for flags in (["-v"], ["--json"], ["--markdown"], ["--json", "--no-redact"]):
            result = CliRunner().invoke(app, ["verify", *flags])
            assert result.exit_code == 1, result.output
            outputs[" ".join(flags) or "checklist"] = result.stdout + result.stderr
    for where, text in outputs.items():
        assert_hidden(text, hidden, where)
        assert all(check_id in text for check_id in IDS), where
        assert COMMAND in text, where
    document = json.loads(outputs["--json"])
    assert [c["id"] for c in document["checks"]] == list(IDS)
    assert document["checks"][1]["hint"] == COMMAND
    assert PROSE in document["checks"][0]["detail"]
    assert list(document["versions"]) == ["tensorflow", "keras", "tf-keras"]
    for values in (strings(document), outputs["--markdown"]):
        assert_hidden(values, hidden, "the parsed report")
        for raw, shown in (machine.user_path, machine.host_path):
            assert raw not in values and shown in values
        assert machine.home not in values
    assert document["environment"]["python"].startswith("~")
    kept = json.loads(outputs["--json --no-redact"])
    assert kept["environment"]["python"] == report.python


TINY = textwrap.dedent(
    """\
    schema = 1
    name = "tiny"
    kernel = false
    [[package]]
    name = "pip"
    requirement = "pip"
    import = "json"
    """
)

# Stands in for the installer: it says what it received (as pip and uv do, "Looking in indexes: ..."),
# then fails or succeeds; it also reports whether a secret reached its argument list.
INSTALLER = textwrap.dedent(
    """\
    import os, sys
    urls = [os.environ.get(k, "") for k in ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "PIP_INDEX_URL")]
    print("Looking in indexes:", ", ".join(u for u in urls if u))
    print("argv:", " ".join(sys.argv[1:]))
    print("ERROR: No matching distribution found for tf-keras~=2.21.0 at", urls[0] or urls[2], "(python -m pip install)")
    sys.exit(int(sys.argv[1]))
    """
)


def fake_plan(code: int):  # noqa: ANN201 - a stand-in for plan_steps
    real = provision.plan_steps

    def plan(resolved, interpreter, python_version, **options):  # noqa: ANN001, ANN003, ANN202
        steps = real(resolved, interpreter, python_version, **options)
        prefix = os.fspath(resolved.prefix)
        make = (
            "import os, sys; p = sys.argv[1]; os.makedirs(os.path.join(p, 'bin'));"
            "open(os.path.join(p, 'pyvenv.cfg'), 'w').write('home = ' + os.path.dirname(os.path.realpath(sys.executable)));"
            "os.symlink(os.path.realpath(sys.executable), os.path.join(p, 'bin', 'python'))"
        )
        out = []
        for step in steps:
            if step.phase == "create":
                out.append(replace(step, argv=(sys.executable, "-c", make, prefix)))
            else:
                out.append(replace(step, argv=(sys.executable, "-c", INSTALLER, str(code), *step.argv[1:])))
        return out

    return plan


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in environment links python")
@given(
    index=credential_urls(),
    extra=credential_urls(),
    installer=st.sampled_from(["uv", "pip"]),
    code=st.sampled_from([0, 1]),
)
@settings(TOLERANT, max_examples=12)
def test_setup_screen_and_logs_hide_secrets(
    tmp_path_factory: pytest.TempPathFactory,
    index: tuple[str, list[str]],
    extra: tuple[str, list[str]],
    installer: str,
    code: int,
) -> None:
    work = tmp_path_factory.mktemp("setup")
    profile = work / "tiny.toml"
    profile.write_text(TINY, encoding="utf-8")
    hidden = index[1] + extra[1]
    args = ["setup", "--file", str(profile), "--prefix", str(work / "env"), "--installer", installer]
    # --offline: the indexes are imagined, so the pre-flight does not ask them whether they answer
    args += ["--index-url", index[0], "--extra-index-url", extra[0], "--offline", "-v"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENVCHECK_HOME", str(work / "home"))
        mp.setattr(provision, "plan_steps", fake_plan(code))
        plain = CliRunner().invoke(app, args)
        if code:
            as_json = CliRunner().invoke(app, [*args, "--json"])
            assert (
                as_json.exit_code == 1 and json.loads(as_json.stdout)["status"] == "fail"
            )  # exit 1: the setup could not finish
            assert_hidden(as_json.stdout + as_json.stderr, hidden, "setup --json")
    logs = sorted(work.glob("home*/logs/*.log")) + sorted((work / "env").glob("*.log"))
    assert len(logs) == (2 if code else 1)  # the kept failure logs, or the environment's own log
    texts = {"screen": plain.stdout + plain.stderr, **{log.name: log.read_text("utf-8") for log in logs}}
    for where, text in texts.items():
        assert_hidden(text, hidden, where)
        assert "tf-keras~=2.21.0" in text and "python -m pip install" in text, where
        assert "Looking in indexes: " in text and "***" in text, where
    assert plain.exit_code == code, plain.output
    if not code:
        assert "ERROR: No matching distribution" in texts[logs[0].name]


# ---------------------------------------------------------------------------------------------- a real machine


def _can_rename_the_machine() -> str | None:
    """Why a UTS namespace with its own host name cannot be made here, or None when it can."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "renaming the machine in a UTS namespace needs root"
    if shutil.which("unshare") is None or shutil.which("hostname") is None:
        return "unshare or hostname is not installed"
    probe = subprocess.run(["unshare", "--uts", "hostname", "gpu"], capture_output=True, text=True, timeout=30)
    return None if probe.returncode == 0 else f"unshare --uts is refused here: {probe.stderr.strip()}"


@pytest.mark.skipif(_can_rename_the_machine() is not None, reason=str(_can_rename_the_machine()))
def test_verify_on_a_machine_named_gpu_keeps_its_check_ids(tmp_path: Path) -> None:
    profile = tmp_path / "tiny.toml"
    profile.write_text(TINY, encoding="utf-8")
    (tmp_path / "gpu").mkdir()
    python = tmp_path / "gpu" / "python"  # a path through a folder named like the machine
    python.symlink_to(sys.executable)
    outputs = {}
    for flag in ("--json", "--markdown"):
        command = f'hostname gpu && exec "$@" {flag}'
        argv = ["unshare", "--uts", "sh", "-c", command, "sh", sys.executable, "-m", "envcheck", "verify"]
        done = subprocess.run(
            [*argv, "--python", str(python), "--file", str(profile)], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        outputs[flag] = done.stdout
    document = json.loads(outputs["--json"])
    ids = [c["id"] for c in document["checks"]]
    assert "device.gpu-driver" in ids and all("<" not in i for i in ids)
    assert document["environment"]["python"] == str(tmp_path / "<host>" / "python")
    assert "| `device.gpu-driver` |" in outputs["--markdown"]
    assert f"`{tmp_path / '<host>' / 'python'}`" in outputs["--markdown"]
