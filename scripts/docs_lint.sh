#!/usr/bin/env bash
# Documentation checks: antsibull-docs (plugin/role docs schema, markup, O()/M() references,
# changelog), antsibull-changelog fragments, and an ansible-doc render of every module and
# role found in the tree.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${CAIRN_VENV:-$repo/.venv}"
export PATH="$venv/bin:$PATH"
# ansible-doc must find the checkout as cairn.platform (link tree in collections/).
export ANSIBLE_COLLECTIONS_PATH="$repo/collections"
cd "$repo"

failed=0
step() { echo "docs-lint: $*"; }

step "antsibull-docs lint-collection-docs --plugin-docs"
antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs all . || failed=1

step "antsibull-changelog lint"
antsibull-changelog lint || failed=1

render() {  # render <type> <fqcn>: ansible-doc must exit 0 and print no error
  local out
  if ! out=$(ansible-doc -t "$1" "$2" 2>&1) || grep -q '\[ERROR\]' <<<"$out"; then
    echo "docs-lint: ansible-doc -t $1 $2 failed:" >&2
    echo "$out" | tail -n 20 >&2
    failed=1
  elif grep -q '\[WARNING\]' <<<"$out"; then
    grep '\[WARNING\]' <<<"$out" >&2
  fi
}

shopt -s nullglob
modules=0 roles=0
for file in plugins/modules/*.py; do
  name=$(basename "$file" .py)
  [[ "$name" == __init__ ]] && continue
  render module "cairn.platform.$name"; modules=$((modules + 1))
done
for spec in roles/*/meta/argument_specs.y*ml; do
  name=$(basename "$(dirname "$(dirname "$spec")")")
  render role "cairn.platform.$name"; roles=$((roles + 1))
done
# module_defaults for group/cairn.platform.aws only reach modules listed in the action group.
grouped=$(python -c 'import yaml; print(" ".join(yaml.safe_load(open("meta/runtime.yml"))["action_groups"]["aws"]))')
for file in plugins/modules/*.py; do
  name=$(basename "$file" .py)
  [[ "$name" == __init__ || " $grouped " == *" $name "* ]] && continue
  [[ -f "plugins/action/$name.py" ]] && continue  # runs on the controller, makes no AWS call
  echo "docs-lint: module $name is missing from action_groups.aws in meta/runtime.yml" >&2; failed=1
done
# A role without argument_specs has no documentation at all: say so.
for dir in roles/*/; do
  compgen -G "${dir}meta/argument_specs.y*ml" >/dev/null || { echo "docs-lint: ${dir%/} has no meta/argument_specs.yml" >&2; failed=1; }
done
step "ansible-doc rendered $modules module(s) and $roles role(s)"

if (( failed )); then
  echo "docs-lint: FAILED" >&2
  exit 1
fi
echo "docs-lint: ok"
