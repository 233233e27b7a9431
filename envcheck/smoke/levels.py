"""The smoke-train levels: one table that the CLI, the rules, the rendering, the docs and the training probe read.

With the table, the command's defaults (device, epochs, learning rate, seed, time limit): the command line reads
them without loading the rules or the probes.

A level is a way of training the reference network (NumPy with the chain rule, Keras, a GradientTape, TF 1.x
graphs); a run is a level in one batch mode (``tape-batch1``: one sample per step; ``tape-batchN``: all three).
The probe receives the rows it needs in its input.json (``probe_rows``) and keeps no list of its own: a new
level is a row here and a function in the probe part that trains it (envcheck/probes/smoke_*.py, ``TRAINERS``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

BATCH_ONE = "1"  # one sample per step
BATCH_ALL = "N"  # all samples per step


@dataclass(frozen=True)
class Loss:
    """The loss a run minimises: ``kind`` picks the convergence threshold, ``text`` tells a reader what it is."""

    kind: str  # "sse" or "mse"
    text: str

    @property
    def label(self) -> str:
        """How the probe's records and the JSON report name it: '<kind>: <text>'."""
        return f"{self.kind}: {self.text}"


SSE = Loss("sse", "sum over samples of (yp - yt)^2")
MSE = Loss("mse", "keras.losses.MeanSquaredError (mean over samples of (yp - yt)^2)")


def run_name(level: str, batch: str) -> str:
    """``tape-batchN`` from ``tape`` and ``N``: every run name is built here."""
    return f"{level}-batch{batch}"


SCRATCH = "scratch"
SCRATCH_BATCH_ALL = run_name(SCRATCH, BATCH_ALL)  # the single-process reference of every distributed run
SCRATCH_BATCH_ONE = run_name(SCRATCH, BATCH_ONE)
# The chain-rule twin of the article's low level (one parameter updated after another), computed by the probe
# alongside the tf1-gradients level; not a run of its own.
SEQUENTIAL_REFERENCE = "scratch-sequential"


@dataclass(frozen=True)
class Run:
    """One level trained in one batch mode: one row of the report, one ``level.<name>.converged`` check."""

    level: str
    batch: str
    loss: Loss
    # The run (or reference) that must end at the same weights: the same loss and the same batch mode.
    matches: str | None = None

    @property
    def name(self) -> str:
        return run_name(self.level, self.batch)

    def to_probe(self) -> dict[str, str]:
        return {"name": self.name, "level": self.level, "batch": self.batch, "loss": self.loss.label}


@dataclass(frozen=True)
class Level:
    """A row of the table: what the level does, its loss, the runs it makes and what it needs."""

    name: str
    does: str  # one line for people: --help, the docs
    loss: Loss
    # (batch mode, the run it must match) for each run, in display order
    batches: tuple[tuple[str, str | None], ...]
    needs: tuple[str, ...] = ()  # modules besides NumPy, in import order: a missing one makes the runs unavailable
    # Slow enough that the probe trains it in a second process, alongside the other TensorFlow levels.
    own_process: bool = False
    # On a GPU, trained once more pinned to the CPU, so device.gpu-vs-cpu compares the two.
    cpu_rerun: bool = False

    @property
    def runs(self) -> tuple[Run, ...]:
        return tuple(Run(self.name, batch, self.loss, matches) for batch, matches in self.batches)

    @property
    def tensorflow(self) -> bool:
        return "tensorflow" in self.needs

    def to_probe(self) -> dict[str, Any]:
        """What the probe needs of the row: which runs to make, what to import, where to train it."""
        return {
            "name": self.name,
            "needs": list(self.needs),
            "own_process": self.own_process,
            "cpu_rerun": self.cpu_rerun,
            "runs": [run.to_probe() for run in self.runs],
        }


TF_KERAS = ("tensorflow", "keras")
LEVELS: tuple[Level, ...] = (
    Level(
        SCRATCH,
        "NumPy, the gradient written out with the chain rule; batch N and batch 1",
        SSE,
        ((BATCH_ALL, None), (BATCH_ONE, None)),
    ),
    Level(
        "keras",
        "`model.compile(loss=MeanSquaredError(), optimizer=SGD(lr))`, then `train_on_batch` sample by sample",
        MSE,
        # keras's MSE over one sample is that sample's squared error: at batch 1 it is the sum of squared errors
        ((BATCH_ONE, SCRATCH_BATCH_ONE),),
        needs=TF_KERAS,
        own_process=True,
    ),
    Level(
        "tape",
        "TF 2 `GradientTape` + `optimizer.apply_gradients` in a `tf.function`; batch 1 and batch N",
        SSE,
        ((BATCH_ONE, SCRATCH_BATCH_ONE), (BATCH_ALL, SCRATCH_BATCH_ALL)),
        needs=TF_KERAS,
        cpu_rerun=True,
    ),
    Level(
        "tf1-optimizer",
        "`tf.compat.v1` `GradientDescentOptimizer.compute_gradients` / `apply_gradients` in a `Session`,"
        " in its own graph",
        SSE,
        ((BATCH_ALL, SCRATCH_BATCH_ALL),),
        needs=("tensorflow",),
    ),
    Level(
        "tf1-gradients",
        "`tf.gradients` per parameter, `sess.run`, updated by hand one parameter after another",
        SSE,
        ((BATCH_ALL, SEQUENTIAL_REFERENCE),),
        needs=("tensorflow",),
    ),
)

DEVICES = ("cpu", "gpu", "auto")
DEFAULT_DEVICE = "auto"  # TensorFlow decides

# The article's training, every level alike, and the command's defaults.
DEFAULT_EPOCHS = 2000
DEFAULT_LR = 0.1
DEFAULT_SEED = 0
MAX_SEED = 2**32 - 1  # numpy.random.RandomState takes 0 .. 2**32 - 1
# The whole training, all levels: ~10 s on a 2-core laptop; importing TensorFlow from a cold disk can take
# a minute, and a first GPU run compiles kernels.
DEFAULT_TIMEOUT = 600.0
# 2000 epochs take about 4 s at the slowest level (keras, batch 1, on a 2-core laptop): 100,000 take minutes,
# and more would only run into the time limit.
MAX_EPOCHS = 100_000
# A day: far past any real training here, and short of what the system's timers take (inf overflows them).
MAX_TIMEOUT = 86_400.0


# ---------------------------------------------------------------------------------------------- reading the table
# Functions, not module constants: they read LEVELS when called, so a row added to the table reaches everyone.


def names() -> tuple[str, ...]:
    return tuple(level.name for level in LEVELS)


def tensorflow_names() -> tuple[str, ...]:
    return tuple(level.name for level in LEVELS if level.tensorflow)


def chosen(levels: Iterable[str]) -> tuple[Level, ...]:
    """The rows of ``levels``, in the table's order."""
    wanted = set(levels)
    return tuple(level for level in LEVELS if level.name in wanted)


def runs_for(levels: Iterable[str]) -> list[Run]:
    """Every run ``levels`` make, in display order."""
    return [run for level in chosen(levels) for run in level.runs]


def run_names(levels: Iterable[str]) -> list[str]:
    return [run.name for run in runs_for(levels)]


def find_run(name: str) -> Run | None:
    """A level's run or a distributed run by its name; None for a name no table row makes."""
    for level in LEVELS:
        for run in level.runs:
            if run.name == name:
                return run
    return next((run for run in DISTRIBUTED_RUNS.values() if run.name == name), None)


def probe_rows(levels: Iterable[str]) -> list[dict[str, Any]]:
    """The rows the training probe receives in its input.json."""
    return [level.to_probe() for level in chosen(levels)]


# Where the docs show the table: docs/hooks/reference.py writes markdown_table() in its place at every build.
DOCS_MARK = "<!-- the levels of envcheck/smoke/levels.py -->"


def markdown_table() -> str:
    """The docs' table of levels: name, what it does, loss."""
    words = {"sse": "sum of squared errors", "mse": "mean squared error"}
    rows = ["| level | what it does | loss |", "| --- | --- | --- |"]
    rows += [f"| `{level.name}` | {level.does} | {words[level.loss.kind]} |" for level in LEVELS]
    return "\n".join(rows)


# ---------------------------------------------------------------------------------------------- distributed runs
# --strategy mirrored, --workers N and --cluster each train one batch-N run under tf.distribute; it must end at the
# single-process scratch batch-N run's weights.
DISTRIBUTED_RUNS: dict[str, Run] = {
    mode: Run(mode, BATCH_ALL, SSE, SCRATCH_BATCH_ALL) for mode in ("mirrored", "workers", "cluster")
}
