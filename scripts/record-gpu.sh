#!/usr/bin/env bash
# Record, on a machine with an NVIDIA GPU, what verify reads there: nvidia-smi's answers, verify's JSON and text
# from the source tree (TensorFlow may be absent: the driver, GPU memory and CUDA libraries are read anyway), and
# smoke-train's NumPy level. Writes into the folder given (default: ./gpu-record); nothing is installed.
#
#     scripts/record-gpu.sh [FOLDER]         (PYTHON=... to examine another interpreter than python3)
#
# tests/fixtures/verify/README.md says which of these files became fixtures.
set -uo pipefail
mkdir -p "${1:-gpu-record}"
out=$(cd "${1:-gpu-record}" && pwd)
cd "$(dirname "$0")/.." || exit 1
# envcheck from this checkout first; a dependency that python lacks may be added on PYTHONPATH by the caller
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
python=${PYTHON:-python3}

step() {  # name, then the command: its stdout, stderr and exit code, each to a file of its own
    local name=$1
    shift
    local started=$SECONDS
    "$@" >"$out/$name.out" 2>"$out/$name.err"
    echo "$? $((SECONDS - started))s" >"$out/$name.exit"
    echo "$name: exit $(cat "$out/$name.exit")"
}

step nvidia-smi-query nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,memory.free,compute_cap --format=csv,noheader
step nvidia-smi-query-old nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader
step nvidia-smi-list nvidia-smi -L
step nvidia-smi nvidia-smi
step python-version "$python" -VV
step python-modules "$python" -c "
import importlib.util as u
for m in ('typer', 'rich', 'packaging', 'psutil', 'yaml', 'platformdirs', 'pip_requirements_parser', 'numpy',
          'tensorflow', 'torch', 'jax'):
    print(m, u.find_spec(m) is not None)"
step cuda-wheels "$python" -c "
import glob, os, site
for base in site.getsitepackages():
    for lib in sorted(glob.glob(os.path.join(base, 'nvidia', '*', 'lib'))):
        print(lib, ' '.join(sorted(os.listdir(lib))))"
step envcheck-help "$python" -m envcheck --help
step verify-json "$python" -m envcheck verify --python "$python" --json --no-redact
step verify-text "$python" -m envcheck verify --python "$python" --no-redact
step smoke-scratch "$python" -m envcheck smoke-train --python "$python" --level scratch --json --no-redact
exit 0
