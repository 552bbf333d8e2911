#!/usr/bin/env bash
# The README's test command. Installs the project with its [test] and [oracles] extras (torch is
# pinned to the CPU wheel), then the PyTorch oracle libraries listed in pyproject.toml under
# [tool.lamb_toolkit] with --no-deps (their declared deps would pull CUDA builds), then runs
# pytest on both cores. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e '.[test,oracles]'
nodeps=$(python -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["tool"]["lamb_toolkit"]["oracles-no-deps"]))')
# shellcheck disable=SC2086
python -m pip install --quiet --disable-pip-version-check --no-deps $nodeps
python -m pytest -n 2 "$@"
