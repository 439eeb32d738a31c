#!/usr/bin/env bash
# Create/refresh the project venv (.venv) with the test toolchain.
# Idempotent: a stamp file records the hash of the requirement files and the interpreter,
# so a rerun with nothing changed returns in well under a second and prints nothing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${CAIRN_VENV:-$repo/.venv}"
stamp="$venv/.cairn-requirements.sha256"

# ansible-core 2.19 is the newest that runs on 3.11 (the machines' python); prefer it.
pick_python() {
  if [[ -n "${PYTHON:-}" ]]; then echo "$PYTHON"; return; fi
  local candidate
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import venv' >/dev/null 2>&1; then
      echo "$candidate"; return
    fi
  done
  echo "bootstrap: no usable python3 found (need python3.11 with the venv module)" >&2
  exit 1
}

want_hash=$(cat "$repo/requirements.txt" "$repo/requirements-dev.txt" | sha256sum | cut -d' ' -f1)

# A venv whose interpreter disappeared (e.g. pyenv version removed) is useless: rebuild it.
if [[ -x "$venv/bin/python" ]] && ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
  echo "bootstrap: $venv is broken, recreating it" >&2
  rm -rf "$venv"
fi

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want_hash" ]]; then
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  py=$(pick_python)
  echo "bootstrap: creating $venv with $("$py" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
  "$py" -m venv "$venv"
fi

echo "bootstrap: installing requirements-dev.txt into $venv (first run takes one to two minutes)"
# pip's output (and the machine's pip.conf warnings) goes to a log, shown only on failure.
# No stdin and no version nag so it behaves the same in CI.
log="$venv/.cairn-bootstrap.log"
if ! PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install --no-input \
    -r "$repo/requirements-dev.txt" > "$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "bootstrap: pip install failed (full log: $log)" >&2
  exit 1
fi
echo "$want_hash" > "$stamp"
echo "bootstrap: done"
