"""`envcheck smoke-train`."""

from __future__ import annotations

import typer

from envcheck.cli.boundary import boundary
from envcheck.cli.options import (
    DEFAULT_DEVICE,
    ClusterOpt,
    CompareCpuOpt,
    DeviceOpt,
    EpochsOpt,
    FileOpt,
    JsonOpt,
    LevelOpt,
    LrOpt,
    PlotOpt,
    PrefixOpt,
    ProfileOpt,
    PythonOpt,
    QuietOpt,
    SeedOpt,
    SmokeNoRedactOpt,
    SmokeTimeoutOpt,
    StrategyOpt,
    VerboseOpt,
    WorkersOpt,
    output_format,
    values,
)
from envcheck.smoke.levels import DEFAULT_EPOCHS, DEFAULT_LR, DEFAULT_SEED, DEFAULT_TIMEOUT

NAME = "smoke-train"


@boundary(NAME)
def command(
    profile: ProfileOpt = None,
    file: FileOpt = None,
    prefix: PrefixOpt = None,
    python: PythonOpt = None,
    level: LevelOpt = None,
    seed: SeedOpt = DEFAULT_SEED,
    epochs: EpochsOpt = DEFAULT_EPOCHS,
    lr: LrOpt = DEFAULT_LR,
    device: DeviceOpt = DEFAULT_DEVICE,
    plot: PlotOpt = None,
    compare_cpu: CompareCpuOpt = True,
    json_output: JsonOpt = False,
    no_redact: SmokeNoRedactOpt = False,
    timeout: SmokeTimeoutOpt = DEFAULT_TIMEOUT,
    strategy: StrategyOpt = None,
    workers: WorkersOpt = None,
    cluster: ClusterOpt = False,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train the tutorial's network at every level and check that TensorFlow computes right.

    Exit codes: 0 all passed (warnings allowed), 1 a check failed, 2 usage error, 3 environment unusable.
    """
    from envcheck import runner
    from envcheck.output.display import Style, reporter, show
    from envcheck.output.smoke import REPORT
    from envcheck.smoke.stopped import finishing_signals
    from envcheck.smoke.train import make_options, smoke_train
    from envcheck.targets import resolve_target

    fmt = output_format(json_output)
    # the core checks what the parser cannot: ranges, and the modes that exclude each other
    options = make_options(
        list(values(level)) or None,
        seed=seed,
        epochs=epochs,
        lr=lr,
        device=device.value,
        plot=plot,
        compare_cpu=compare_cpu,
        timeout=timeout,
        strategy=strategy.value if strategy is not None else None,
        workers=workers,
        cluster=cluster,
    )
    style = Style(verbose=verbose, quiet=quiet, redact=not no_redact)
    target = resolve_target(profile, file, prefix, python)
    # a signal that orders the task to finish (Slurm's SIGTERM) ends it with its report, written whole
    with runner.reported(*finishing_signals(options.cluster)):
        report = smoke_train(target, options, reporter(fmt, style))
        code = show(NAME, REPORT, report, fmt, style)
    raise typer.Exit(code)
