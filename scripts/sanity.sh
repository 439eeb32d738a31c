#!/usr/bin/env bash
# ansible-test sanity, offline, without Docker.
# ansible-test needs the collection at .../ansible_collections/<ns>/<name> and refuses the
# symlinked tree in collections/, so the checkout is copied into a scratch tree (kept between
# runs so ansible-test's output cache stays warm). Extra arguments go to ansible-test.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${CAIRN_VENV:-$repo/.venv}"
export PATH="$venv/bin:$PATH"
python_version="${CAIRN_SANITY_PYTHON:-3.11}"
# One scratch tree per checkout, so two clones on one machine do not clobber each other.
work="${CAIRN_SANITY_DIR:-${TMPDIR:-/tmp}/cairn-sanity-$(id -u)-$(printf %s "$repo" | sha256sum | cut -c1-12)}"
dest="$work/ansible_collections/cairn/platform"

# ansible-test downloads a pip bootstrap script from the internet; give it the offline
# stand-in under the name this ansible-test version looks for (get_pip_<pip version>.py).
pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" \
  "$("$venv/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -n1)
pip_version=${pip_version:-24.2}
bootstrap_src="$repo/../shared/tools/get_pip_offline.py"
[[ -f "$bootstrap_src" ]] || bootstrap_src="$repo/scripts/get_pip_offline.py"
mkdir -p "$HOME/.ansible/test/cache"
cp "$bootstrap_src" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"

# Fresh copy of the collection each run; only ansible-test's tests/output survives.
mkdir -p "$dest"
find "$dest" -mindepth 1 -maxdepth 1 ! -name tests -exec rm -rf {} +
[[ -d "$dest/tests" ]] && find "$dest/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
tar -C "$repo" \
  --exclude=./.venv --exclude=./.git --exclude=./collections --exclude=./.cache \
  --exclude=./.emulator --exclude=./.ansible --exclude=./tests/output \
  --exclude=./benchmarks --exclude='__pycache__' --exclude=.pytest_cache \
  -cf - . | tar -C "$dest" -xf -

cd "$dest"
ansible-test sanity --python "$python_version" --color no "$@"
