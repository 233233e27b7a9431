"""Secret values: collected from everything envcheck is given or its installers read, hidden wherever they appear.

URL-shaped redaction (test_redaction.py) hides a URL's credentials; pip's retry warning names the index's path
and query without its scheme and host (`/simple?token=SECRET/tensorflow/`), so the values themselves are
hidden too, in every form a program prints them: raw, percent-encoded, percent-decoded.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from envcheck import secrets
from envcheck.completion import Marker, write_marker
from envcheck.output import stdout_console
from envcheck.output.envelope import emit_json
from envcheck.profiles.files import load_profile
from envcheck.redaction import hide, hiding, redact_credentials, redacting, secrets_in_url

TOKEN = "tok-Xk93Lm2Qp8"
PASSWORD = "p@ss:w/rd#Zq7"
RETRY = (
    "WARNING: Retrying (Retry(total=4)) after connection broken by 'NewConnectionError(...: [Errno 111]"
    " Connection refused')': /simple?token={}/tensorflow/"
)


@pytest.fixture(autouse=True)
def _nothing_known() -> Iterator[None]:
    with hiding():  # what a test hides is forgotten after it
        yield


@pytest.mark.parametrize(
    ("url", "found"),
    [
        (f"https://host/simple?token={TOKEN}", [TOKEN]),
        (f"https://bot:{quote(PASSWORD, safe='')}@host/simple", [quote(PASSWORD, safe="")]),
        ("https://gemfury-Xk93Lm2Qp8Zq7@host/simple", ["gemfury-Xk93Lm2Qp8Zq7"]),  # a user name as long as a token
        ("https://ci-bot:pw12345@host/", ["pw12345"]),  # a user name is no secret...
        ("git+ssh://git@github.com/org/repo.git", []),
        ("https://deploy-token-1234567890:pw12345@host/", ["pw12345", "deploy-token-1234567890"]),  # ...unless long
        ("https://host/a.whl#sha256=abc&egg=x", []),  # public fragment keys
        ("https://host/simple", []),
    ],
)
def test_the_secret_values_of_a_url(url: str, found: list[str]) -> None:
    values = [v for v in secrets_in_url(url) if not v.endswith("=")]  # the basic-auth form is checked below
    assert sorted(values) == sorted(found)


def test_a_known_value_is_hidden_where_no_url_is_raw_encoded_or_decoded() -> None:
    encoded = quote(PASSWORD, safe="")
    hide([TOKEN, encoded])
    assert redact_credentials(RETRY.format(TOKEN)) == RETRY.format("***")
    for form in (PASSWORD, encoded, quote(PASSWORD, safe="/:@")):
        assert redact_credentials(f"user bot, password {form} refused") == "user bot, password *** refused"


def test_the_basic_auth_header_of_a_password_is_hidden_too() -> None:
    import base64

    hide(secrets_in_url(f"https://bot:{quote(PASSWORD, safe='')}@host/"))
    header = base64.b64encode(f"bot:{PASSWORD}".encode()).decode()
    assert redact_credentials(f"Authorization: Basic {header}") == "Authorization: Basic ***"


def test_a_short_value_is_hidden_in_urls_only_and_words_stay() -> None:
    hide(secrets_in_url("https://host/simple?k=cpu&user=pip"))
    assert redact_credentials("python -m pip install --user tensorflow-cpu") == (
        "python -m pip install --user tensorflow-cpu"
    )
    assert redact_credentials("https://host/simple?k=cpu") == "https://host/simple?k=***"


def test_what_a_command_learns_is_forgotten_when_it_ends() -> None:
    with hiding([TOKEN]):
        assert redact_credentials(TOKEN) == "***"
        hide(["another-secret"])
        assert redact_credentials("another-secret") == "***"
    assert redact_credentials(f"{TOKEN} another-secret") == f"{TOKEN} another-secret"


# ---------------------------------------------------------------------------------------------- where from


def test_collected_from_the_installers_variables_their_files_and_netrc(tmp_path: Path) -> None:
    pip_conf = tmp_path / "pip.conf"
    pip_conf.write_text("[global]\nextra-index-url = https://host/simple?token=from-pip-conf\n")
    uv_toml = tmp_path / "uv.toml"
    uv_toml.write_text('[pip]\nindex-url = "https://bot:from-uv-toml@host/simple"\n')
    netrc = tmp_path / "netrc"
    netrc.write_text("machine host login bot password from-netrc\n")
    netrc.chmod(0o600)
    site = tmp_path / "env"
    site.mkdir()
    (site / "pip.conf").write_text("[global]\nindex-url = https://host/?token=from-the-environment\n")
    environ = {
        "PIP_EXTRA_INDEX_URL": "https://a/simple https://bot:from-variable@b/simple",
        "UV_INDEX_PRIVATE_PASSWORD": "from-uv-password-variable",
        "PIP_CONFIG_FILE": str(pip_conf),
        "UV_CONFIG_FILE": str(uv_toml),
        "NETRC": str(netrc),
        "HOME": str(tmp_path),
        "PATH": "/usr/bin",  # not an installer's: never read
    }
    found = set(secrets.collect(["https://host/simple?token=from-option"], environ=environ, prefix=site))
    assert {
        "from-option",
        "from-variable",
        "from-uv-password-variable",
        "from-pip-conf",
        "from-uv-toml",
        "from-netrc",
        "from-the-environment",
    } <= found
    assert "/usr/bin" not in found


def test_a_requirements_file_s_index_line_is_hidden_once_read(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"--extra-index-url https://host/simple?token={TOKEN}\nsix\n")
    load_profile(file=requirements)
    assert redact_credentials(RETRY.format(TOKEN)) == RETRY.format("***")


# ---------------------------------------------------------------------------------------------- what is written


def test_the_console_a_log_and_the_json_document_hide_known_values(capsys: pytest.CaptureFixture[str]) -> None:
    hide([TOKEN])
    stdout_console().print(f"next: pip install --index-url https://h/s?token={TOKEN} (or {TOKEN} alone)")
    emit_json({"schema_version": 1, "error": {"message": RETRY.format(TOKEN)}, TOKEN[:3]: [TOKEN]})
    printed = capsys.readouterr().out
    assert TOKEN not in printed and "token=***" in printed
    buffer = io.StringIO()
    log = redacting(buffer)
    log.write(RETRY.format(TOKEN) + "\n")
    assert buffer.getvalue() == RETRY.format("***") + "\n"


def test_the_marker_keeps_no_credential_of_a_link(tmp_path: Path) -> None:
    link = f"https://host/wheels/?token={TOKEN}"
    marker = Marker("p", "d", "venv", "uv", "3.12.1", find_links=[link, str(tmp_path)])
    write_marker(tmp_path, marker)
    written = json.loads((tmp_path / "envcheck-marker.json").read_text())
    assert written["find_links"] == ["https://host/wheels/?token=***", str(tmp_path)]
