#!/usr/bin/env bash
# The README's test command: fresh venv, non-editable install, full test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-ci
. .venv-ci/bin/activate
python -m pip install -q --upgrade pip
pip install -q ".[test]"
# `pytest` (not `python -m pytest`) so the installed package is imported,
# not the source tree: tf_structgen.cli only exists once installed.
pytest -q -p no:cacheprovider "$@"
