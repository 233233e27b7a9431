"""The environment probe's answer (envcheck/probes/environment.py), read into typed records: the interpreter,
its settings, the machine, the installed distributions, one import per package, TensorFlow's and Keras's facts
and the small real work."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from envcheck.verify.answers.common import (
    ImportResult,
    as_imports,
    as_list,
    as_mapping,
    as_number,
    as_text,
    as_texts,
    check_schema,
)

ENVIRONMENT_SCHEMA = 1  # the version this envcheck reads; the probe writes its own SCHEMA
Scalar = str | bool | int | float | None


@dataclass(frozen=True)
class Interpreter:
    """The target's python as it reports itself (envcheck/probes/interpreter.py)."""

    version: str | None = None
    version_info: tuple[int, ...] = ()
    implementation: str | None = None
    bits: int | None = None
    machine: str | None = None
    platform: str | None = None  # sys.platform
    executable: str | None = None
    prefix: str | None = None
    base_prefix: str | None = None
    markers: Mapping[str, str] = field(default_factory=dict)  # the PEP 508 marker environment


@dataclass(frozen=True)
class Venv:
    is_venv: bool = False
    conda: bool = False  # conda-meta/ is in sys.prefix
    system_site_packages: bool | None = None
    externally_managed: bool = False  # PEP 668


@dataclass(frozen=True)
class UserSite:
    path: str | None
    exists: bool
    active: bool  # the user's own `python` (without -I) reads it
    entries: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cpu:
    source: str | None = None
    model: str | None = None
    flags: Mapping[str, bool] = field(default_factory=dict)  # only the flags that could be read
    translated: bool = False  # an x86_64 python under Rosetta 2


@dataclass(frozen=True)
class LibraryFolder:
    """A folder the loader may take CUDA libraries from, and the CUDA libraries in it."""

    path: str
    resolved: str | None = None  # with every link followed
    cuda: tuple[str, ...] = ()


@dataclass(frozen=True)
class Libraries:
    """Where the loader finds CUDA (Linux): LD_LIBRARY_PATH, the pip wheels' folders, ld.so.conf, WSL2's."""

    ld_library_path: tuple[LibraryFolder, ...] = ()
    wheel_dirs: tuple[LibraryFolder, ...] = ()
    loader_config: tuple[str, ...] = ()
    wsl_files: tuple[str, ...] | None = None  # /usr/lib/wsl/lib's files; None where there is no such folder


@dataclass(frozen=True)
class Installed:
    """One installed distribution (the first of its name on sys.path)."""

    name: str
    version: str | None
    requires: tuple[str, ...] = ()  # Requires-Dist, markers included
    location: str | None = None


@dataclass(frozen=True)
class Device:
    name: str | None
    device_type: str | None


@dataclass(frozen=True)
class GpuDetails:
    name: str | None
    device_name: str | None = None
    compute_capability: tuple[int, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        capability = list(self.compute_capability) if self.compute_capability is not None else None
        return {"name": self.name, "device_name": self.device_name, "compute_capability": capability}


@dataclass(frozen=True)
class TensorflowFacts:
    """What TensorFlow said about itself once imported."""

    version: str | None = None
    physical_devices: tuple[Device, ...] | None = None  # None: not listed (the listing itself failed)
    gpu_details: tuple[GpuDetails, ...] = ()
    build_info: Mapping[str, Scalar] = field(default_factory=dict)
    mapped_libraries: tuple[str, ...] = ()  # the CUDA libraries mapped after listing the devices


@dataclass(frozen=True)
class KerasFacts:
    """Keras's config file (read before any import) and, once imported, its version and backend."""

    version: str | None = None
    backend: str | None = None
    backend_read: bool = False  # keras imported and its backend was asked for
    config_path: str | None = None
    config_exists: bool | None = None
    config_backend: str | None = None
    tf_keras_present: bool | None = None


@dataclass(frozen=True)
class MatmulDevice:
    device: str | None
    device_type: str | None = None
    ok: bool = False
    max_abs_diff: float | None = None
    placed_on: str | None = None
    seconds: float | None = None
    error_type: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Work:
    """One small real operation the probe ran (a matmul, a groupby, a fit, a plot, a convolution ...)."""

    ok: bool | None = None  # None: not run here (``skipped`` says why)
    seconds: float | None = None
    error_type: str | None = None
    error: str | None = None
    skipped: str | None = None
    device: str | None = None
    max_abs_diff: float | None = None
    devices: tuple[MatmulDevice, ...] = ()  # the matmul's, one per device TensorFlow lists
    result: object = None  # what a wrong result was, as the probe recorded it
    backend: str | None = None  # matplotlib's
    mapped_libraries: tuple[str, ...] = ()  # the CUDA libraries mapped after the GPU work


@dataclass(frozen=True)
class EnvironmentAnswer:
    """The environment probe's answer (envcheck/probes/environment.py), merged with the per-package answers
    after a crash or a hang."""

    schema: int = ENVIRONMENT_SCHEMA
    complete: bool = False
    stage: str | None = None  # the stage running when the answer was last written
    packages: tuple[str, ...] = ()  # the modules it was asked to import
    finished: tuple[str, ...] = ()  # those whose import and follow-ups are done
    interpreter: Interpreter = Interpreter()
    pip: bool | None = None  # pip is importable in the environment; None: not known
    environ: Mapping[str, str] = field(default_factory=dict)  # the settings that change TensorFlow and Keras
    venv: Venv = Venv()
    user_site: UserSite | None = None
    cpu: Cpu = Cpu()
    libraries: Libraries = Libraries()
    distributions: Mapping[str, Installed] | None = None  # by canonical name; None: not read
    imports: Mapping[str, ImportResult] = field(default_factory=dict)  # by module name
    tensorflow: TensorflowFacts | None = None  # None: tensorflow did not import (or was not asked for)
    keras: KerasFacts | None = None
    work: Mapping[str, Work] = field(default_factory=dict)  # "matmul", "conv", "xla", "pandas", "sklearn", ...


def read_environment(answer: Mapping[str, Any]) -> EnvironmentAnswer:
    """The environment probe's answer, once; ProbeVersionError for another schema than ENVIRONMENT_SCHEMA."""
    check_schema("environment", answer, ENVIRONMENT_SCHEMA)
    facts = as_mapping(answer.get("facts"))
    distributions = answer.get("distributions")
    site = answer.get("user_site")
    return EnvironmentAnswer(
        complete=bool(answer.get("complete")),
        stage=as_text(answer.get("stage")),
        packages=as_texts(answer.get("packages")),
        finished=as_texts(answer.get("finished")),
        interpreter=_interpreter(answer.get("interpreter")),
        pip=answer["pip"] if isinstance(answer.get("pip"), bool) else None,
        environ={str(k): str(v) for k, v in as_mapping(answer.get("environ")).items()},
        venv=_venv(answer.get("venv")),
        user_site=_user_site(site) if isinstance(site, Mapping) else None,
        cpu=_cpu(answer.get("cpu")),
        libraries=_libraries(answer.get("libraries")),
        distributions=(
            {str(k): _installed(k, v) for k, v in distributions.items() if isinstance(v, Mapping)}
            if isinstance(distributions, Mapping)
            else None
        ),
        imports=as_imports(answer.get("imports")),
        tensorflow=_tensorflow(facts["tensorflow"]) if isinstance(facts.get("tensorflow"), Mapping) else None,
        keras=_keras(facts["keras"]) if isinstance(facts.get("keras"), Mapping) else None,
        work={str(k): _work(v) for k, v in as_mapping(answer.get("work")).items() if isinstance(v, Mapping)},
    )


def _interpreter(value: Any) -> Interpreter:
    raw = as_mapping(value)
    bits = raw.get("bits")
    return Interpreter(
        version=as_text(raw.get("version")),
        version_info=tuple(int(v) for v in as_list(raw.get("version_info")) if isinstance(v, int)),
        implementation=as_text(raw.get("implementation")),
        bits=int(bits) if isinstance(bits, int | float | str) and str(bits).isdigit() else None,
        machine=as_text(raw.get("machine")),
        platform=as_text(raw.get("platform")),
        executable=as_text(raw.get("executable")),
        prefix=as_text(raw.get("prefix")),
        base_prefix=as_text(raw.get("base_prefix")),
        markers={str(k): str(v) for k, v in as_mapping(raw.get("markers")).items()},
    )


def _venv(value: Any) -> Venv:
    raw = as_mapping(value)
    system = raw.get("system_site_packages")
    return Venv(
        is_venv=bool(raw.get("is_venv")),
        conda=bool(raw.get("conda")),
        system_site_packages=system if isinstance(system, bool) else None,
        externally_managed=bool(raw.get("externally_managed")),
    )


def _user_site(raw: Mapping[str, Any]) -> UserSite:
    return UserSite(
        path=as_text(raw.get("path")),
        exists=bool(raw.get("exists")),
        active=bool(raw.get("active")),
        entries=as_texts(raw.get("entries")),
    )


def _cpu(value: Any) -> Cpu:
    raw = as_mapping(value)
    return Cpu(
        source=as_text(raw.get("source")),
        model=as_text(raw.get("model")),
        flags={str(k): bool(v) for k, v in as_mapping(raw.get("flags")).items()},
        translated=bool(raw.get("translated")),
    )


def _folder(value: Any) -> LibraryFolder:
    raw = as_mapping(value)
    return LibraryFolder(str(raw.get("path") or ""), as_text(raw.get("resolved")), as_texts(raw.get("cuda")))


def _libraries(value: Any) -> Libraries:
    raw = as_mapping(value)
    wsl = raw.get("wsl")
    files = as_mapping(wsl).get("files") if isinstance(wsl, Mapping) else None
    return Libraries(
        ld_library_path=tuple(_folder(e) for e in as_list(raw.get("ld_library_path"))),
        wheel_dirs=tuple(_folder(e) for e in as_list(raw.get("wheel_dirs"))),
        loader_config=as_texts(raw.get("loader_config")),
        wsl_files=as_texts(files) if files is not None else None,
    )


def _installed(key: Any, value: Mapping[str, Any]) -> Installed:
    return Installed(
        name=str(value.get("name") or key),
        version=as_text(value.get("version")),
        requires=as_texts(value.get("requires")),
        location=as_text(value.get("location")),
    )


def _tensorflow(raw: Mapping[str, Any]) -> TensorflowFacts:
    devices = raw.get("physical_devices")
    return TensorflowFacts(
        version=as_text(raw.get("version")),
        physical_devices=(
            tuple(
                Device(as_text(as_mapping(d).get("name")), as_text(as_mapping(d).get("device_type")))
                for d in as_list(devices)
            )
            if isinstance(devices, list | tuple)
            else None
        ),
        gpu_details=tuple(_gpu(d) for d in as_list(raw.get("gpu_details"))),
        build_info={
            str(k): v for k, v in as_mapping(raw.get("build_info")).items() if isinstance(v, str | bool | int | float)
        },
        mapped_libraries=as_texts(raw.get("mapped_libraries")),
    )


def _gpu(value: Any) -> GpuDetails:
    raw = as_mapping(value)
    capability = raw.get("compute_capability")
    return GpuDetails(
        name=as_text(raw.get("name")),
        device_name=as_text(raw.get("device_name")),
        compute_capability=tuple(int(c) for c in capability) if isinstance(capability, list | tuple) else None,
    )


def _keras(raw: Mapping[str, Any]) -> KerasFacts:
    exists = raw.get("config_exists")
    present = raw.get("tf_keras_present")
    return KerasFacts(
        version=as_text(raw.get("version")),
        backend=as_text(raw.get("backend")),
        backend_read="backend" in raw,
        config_path=as_text(raw.get("config_path")),
        config_exists=exists if isinstance(exists, bool) else None,
        config_backend=as_text(raw.get("config_backend")),
        tf_keras_present=present if isinstance(present, bool) else None,
    )


def _work(raw: Mapping[str, Any]) -> Work:
    ok = raw.get("ok")
    return Work(
        ok=ok if isinstance(ok, bool) else None,
        seconds=as_number(raw.get("seconds")),
        error_type=as_text(raw.get("error_type")),
        error=as_text(raw.get("error")),
        skipped=as_text(raw.get("skipped")),
        device=as_text(raw.get("device")),
        max_abs_diff=as_number(raw.get("max_abs_diff")),
        devices=tuple(_matmul(d) for d in as_list(raw.get("devices"))),
        result=raw.get("result"),
        backend=as_text(raw.get("backend")),
        mapped_libraries=as_texts(raw.get("mapped_libraries")),
    )


def _matmul(value: Any) -> MatmulDevice:
    raw = as_mapping(value)
    return MatmulDevice(
        device=as_text(raw.get("device")),
        device_type=as_text(raw.get("device_type")),
        ok=bool(raw.get("ok")),
        max_abs_diff=as_number(raw.get("max_abs_diff")),
        placed_on=as_text(raw.get("placed_on")),
        seconds=as_number(raw.get("seconds")),
        error_type=as_text(raw.get("error_type")),
        error=as_text(raw.get("error")),
    )
