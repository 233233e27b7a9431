"""The user's file, whatever its kind: picks the reader (TOML profile, environment.yml, requirements.txt).

The one module that knows all three readers, so that none of them imports another. Files are decoded the way
the tools that write them encode them: UTF-8 with or without a byte-order mark, and UTF-16 or UTF-32 with one
(PowerShell's ``conda env export > environment.yml`` writes UTF-16).
"""

from __future__ import annotations

import codecs
from pathlib import Path

from envcheck.bounded import USER_FILE_LIMIT, USER_FILE_LINES, TooLarge, describe, read_limited, too_many_lines
from envcheck.errors import ProfileError
from envcheck.profiles.profile import Profile, parse_toml, profile_path
from envcheck.redaction import hide, secrets_in_text

YAML_SUFFIXES = (".yml", ".yaml")
# longest first: a UTF-32 LE mark begins with the UTF-16 LE one
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def load_profile(name: str | None = None, file: Path | None = None) -> Profile:
    """The profile called ``name`` in environments/, or the user's ``file`` (.toml, environment.yml, requirements)."""
    if name is not None and file is not None:
        raise ProfileError("--profile and --file cannot be used together", "pick one of them")
    if file is not None:
        return load_file(file)
    return load_file(profile_path(name))


def load_file(path: Path) -> Profile:
    path = Path(path)
    if not path.is_file():
        raise ProfileError(f"{path}: no such file", "check the path given to --file")
    if path.suffix == ".toml":
        return parse_toml(read_text(path), path)
    if path.suffix in YAML_SUFFIXES:
        from envcheck.profiles.condafile import parse_environment_yml

        return parse_environment_yml(read_text(path), path)
    from envcheck.profiles.requirements import parse_requirements

    # a file that is not text at all, or far too long, gets envcheck's one-line error, not pip's; the files
    # it includes are read the same way before pip's parser reads them all
    return parse_requirements(path, read=read_text)


def read_text(path: Path) -> str:
    """The file's text, from the encoding its byte-order mark names, else UTF-8.

    A file past ``USER_FILE_LIMIT`` or ``USER_FILE_LINES`` is refused before anything reads it whole (the
    installer would take minutes and gigabytes over it); the credentials of its URLs (an ``--index-url`` line)
    are hidden from then on.
    """
    try:
        data = read_limited(path, USER_FILE_LIMIT)
    except TooLarge:
        raise too_large(path, f"larger than {describe(USER_FILE_LIMIT)}") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror or exc}", "check the path given to --file") from exc
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ProfileError(
            f"{path}: not readable as {encoding.upper()} text (byte {exc.start})",
            "save the file as UTF-8 (or UTF-16 with a byte-order mark)",
        ) from exc
    if too_many_lines(text):
        raise too_large(path, f"more than {USER_FILE_LINES:,} lines long")
    hide(secrets_in_text(text))
    return text


def too_large(path: Path, what: str) -> ProfileError:
    return ProfileError(
        f"{path}: {what}, far past any real profile, requirements or environment file"
        " (700 hashed requirements: 1.3 MB, 15,000 lines); envcheck does not read it",
        "check that --file names the file you meant (and what its -r and -c lines include)",
    )
