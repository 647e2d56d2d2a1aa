# Sourced by the scripts in this folder: makes sure .venv exists and holds this checkout's
# `itinera` with the extras asked for, reinstalling only when pyproject.toml changed.
ensure_venv() {
  local extras="${1:-}"
  local python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Itinera needs Python 3.11 or newer ($python is $("$python" --version 2>&1))." >&2
    exit 1
  fi
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  local spec="."
  [ -n "$extras" ] && spec=".[$extras]"
  local stamp=".venv/.itinera-installed"
  local want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1) $spec"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Installing itinera ($spec) into .venv ..."
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet --editable "$spec"
    echo "$want" > "$stamp"
  fi
}
