#!/usr/bin/env bash
# Local AWS emulator for the demo and the molecule scenarios: moto's server plus our models of
# the APIs moto lacks (emulator/server.py, same options as moto_server; emulator/README.md).
#
#   scripts/emulator.sh start  [--port N] [--state-dir DIR]
#   scripts/emulator.sh stop   [--state-dir DIR]
#   scripts/emulator.sh status [--state-dir DIR]
#
# Port: --port, else $CAIRN_EMULATOR_PORT, else 4566; --port 0 picks a free port.
# State (pid, port, endpoint, log, recorder file) lives in DIR (default <repo>/.emulator),
# so several emulators can run side by side with different state dirs.
# Only the harness knows about the emulator: playbooks and modules just get an endpoint URL.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${CAIRN_VENV:-$repo/.venv}"
host=127.0.0.1
ready_timeout="${CAIRN_EMULATOR_READY_TIMEOUT:-30}"

usage() {
  echo "usage: $0 start|stop|status [--port N] [--state-dir DIR]" >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
action=$1; shift
port="${CAIRN_EMULATOR_PORT:-4566}"
port_given=false
state_dir="${CAIRN_EMULATOR_STATE_DIR:-$repo/.emulator}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) [[ $# -ge 2 ]] || usage; port=$2; port_given=true; shift 2 ;;
    --port=*) port=${1#--port=}; port_given=true; shift ;;
    --state-dir) [[ $# -ge 2 ]] || usage; state_dir=$2; shift 2 ;;
    --state-dir=*) state_dir=${1#--state-dir=}; shift ;;
    -h|--help) usage ;;
    *) echo "emulator: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ "$port" =~ ^[0-9]+$ ]] && (( port <= 65535 )) || { echo "emulator: --port must be 0..65535, got '$port'" >&2; exit 2; }
mkdir -p "$state_dir"
state_dir=$(cd "$state_dir" && pwd)
pid_file="$state_dir/pid"
port_file="$state_dir/port"
endpoint_file="$state_dir/endpoint"
log_file="$state_dir/emulator.log"

# Our emulator = the pid in our pid file is alive and is the launcher (emulator/server.py).
our_pid() {
  [[ -f "$pid_file" ]] || return 1
  local pid
  pid=$(cat "$pid_file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF "$repo/emulator/server.py" || return 1
  echo "$pid"
}

port_in_use() {
  # bash's /dev/tcp: a successful connect means something listens there.
  (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null
}

answers() {
  curl -fsS -o /dev/null --max-time 2 "http://$host:$1/moto-api/config" 2>/dev/null
}

free_port() {
  "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

who_listens() {
  ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1 (pid \2)/p' | head -n1
}

start() {
  local pid
  if pid=$(our_pid); then
    local running_port
    running_port=$(cat "$port_file")
    if $port_given && [[ "$port" != 0 && "$port" != "$running_port" ]]; then
      echo "emulator: already running on port $running_port (pid $pid); stop it before starting on $port" >&2
      exit 1
    fi
    echo "emulator: already running at http://$host:$running_port (pid $pid)"
    return 0
  fi
  rm -f "$pid_file" "$port_file" "$endpoint_file"

  if [[ ! -x "$venv/bin/moto_server" ]]; then
    echo "emulator: moto is not installed in $venv; run scripts/bootstrap.sh (make venv) first" >&2
    exit 1
  fi
  [[ "$port" != 0 ]] || port=$(free_port)

  if port_in_use "$port"; then
    local owner kind="something else"
    owner=$(who_listens "$port")
    answers "$port" && kind="an emulator (moto) that this state dir ($state_dir) does not own"
    echo "emulator: port $port on $host is taken by $kind${owner:+: $owner}." >&2
    echo "emulator: refusing to use it; pick another port with --port N or CAIRN_EMULATOR_PORT=N." >&2
    exit 1
  fi

  : > "$log_file"
  # setsid: the server outlives `make demo` and a Ctrl-C in the terminal that started it.
  # The recorder file goes into the state dir (moto writes it to the cwd by default).
  MOTO_IAM_LOAD_MANAGED_POLICIES=true \
  MOTO_ACM_VALIDATION_WAIT=2 \
  MOTO_RECORDER_FILEPATH="$state_dir/recording.jsonl" \
    setsid "$venv/bin/python" "$repo/emulator/server.py" -H "$host" -p "$port" >>"$log_file" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$pid_file"

  local deadline=$((SECONDS + ready_timeout))
  until answers "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "emulator: the emulator exited during start-up; last log lines:" >&2
      tail -n 20 "$log_file" >&2
      rm -f "$pid_file"
      exit 1
    fi
    if (( SECONDS >= deadline )); then
      echo "emulator: the emulator did not answer on port $port within ${ready_timeout}s; stopping it" >&2
      tail -n 20 "$log_file" >&2
      kill "$pid" 2>/dev/null || true
      rm -f "$pid_file"
      exit 1
    fi
    sleep 0.2
  done
  echo "$port" > "$port_file"
  echo "http://$host:$port" > "$endpoint_file"
  echo "emulator: running at http://$host:$port (pid $pid, log $log_file)"
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$pid_file" "$port_file" "$endpoint_file"
    echo "emulator: not running"
    return 0
  fi
  kill "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file" "$port_file" "$endpoint_file"
  echo "emulator: stopped (pid $pid)"
}

status() {
  local pid
  if pid=$(our_pid) && answers "$(cat "$port_file")"; then
    echo "emulator: running at http://$host:$(cat "$port_file") (pid $pid)"
    echo "  export AWS_ENDPOINT_URL=http://$host:$(cat "$port_file")"
    return 0
  fi
  echo "emulator: not running"
  return 3
}

case "$action" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
