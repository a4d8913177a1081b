#!/usr/bin/env bash
# The robot's side of the wire with real DDS, end to end on loopback (opt-in, not part of CI: see
# below):
#
#   dds_participant.py  --rt/lowstate (DDS)-->  vigor-dds-bridge   --rt/lowstate (zenoh)-->  vigor control
#   (the `cyclonedds`   <--rt/lowcmd  (DDS)---  (zenoh router with <--rt/lowcmd  (zenoh)---  (Passive:
#    binding, PyPI)                              zenoh-plugin-dds)                            damping)
#
# The participant (scripts/dds_participant.py) publishes LowState_ at 500 Hz with a valid CRC and
# decodes every LowCmd_ that comes back: CRC, mode_machine, 35 motor commands, damping gains, and
# targets equal to the joint positions it sent. On the zenoh side `vigor topic echo rt/lowstate`
# decodes every LowState the bridge delivers (length, header, CRC) and the controller counts the
# frames it drops. It runs twice: with the bench config (deploy/dds/bridge.json5, plain TCP) and
# with the robot's (deploy/zenoh/bridge-dds.json5: mutual TLS and access control, the controller
# with deploy/zenoh/controller.json5, certificates from deploy/make-certs.sh). It prints every
# side's summary and exits non-zero if, in either run, fewer than --min-frames crossed either way
# or any check failed.
#
#   scripts/dds-bridge-check.sh [--duration-s 10] [--min-frames 2500] [--vigor PATH] [--venv DIR]
#
# Opt-in because of the build: zenoh-plugin-dds compiles CycloneDDS from C sources (cyclors, with
# cmake and bindgen) and zenoh's default transports, minutes that vigor's own build and CI never
# need. docs/dds-bridge-check.txt is a recorded run, with the build's timing.
#
# Needs: cargo; cmake, a C compiler and libclang (Debian: `apt-get install cmake gcc libclang-dev`);
# python3 with venv; openssl (deploy/make-certs.sh); the vigor binary (`cargo build --release`;
# --vigor PATH, default ${CARGO_TARGET_DIR:-target}/release/vigor). Installs the `cyclonedds`
# wheel from PyPI into its own environment (--venv, default ~/.cache/vigor/dds-venv), apart from
# scripts/setup.sh's.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# The Python binding of CycloneDDS. Its wheel bundles the C library (11.0), so no C build here.
cyclonedds_version="11.0.1"
duration_s=10
min_frames=2500
target_dir="${CARGO_TARGET_DIR:-$root/target}"
vigor="$target_dir/release/vigor"
venv="$HOME/.cache/vigor/dds-venv"

say() { printf 'dds-bridge-check: %s\n' "$*"; }
die() { printf 'dds-bridge-check: error: %s\n' "$*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --duration-s) duration_s="$2"; shift 2 ;;  # whole seconds
        --min-frames) min_frames="$2"; shift 2 ;;
        --vigor) vigor="$2"; shift 2 ;;
        --venv) venv="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done

# --- preflight -----------------------------------------------------------------------------------
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
# bindgen (in cyclors' build script) loads libclang at build time.
ldconfig -p 2>/dev/null | grep -q 'libclang\(-[0-9.]*\)\?\.so' || missing+=(libclang-dev)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] || die "missing Debian packages: ${missing[*]} (apt-get install ${missing[*]})"
command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust with rustup)"
[ -x "$vigor" ] || die "no vigor binary at $vigor: run \`cargo build --release\` first, or give --vigor PATH"

# --- the bridge ----------------------------------------------------------------------------------
say "building deploy/dds-bridge (zenoh 1.10.2 + zenoh-plugin-dds 1.10.2, CycloneDDS through cyclors)"
build_start=$(date +%s)
CARGO_TARGET_DIR="$target_dir" cargo build --release --locked \
    --manifest-path deploy/dds-bridge/Cargo.toml
say "bridge build: $(( $(date +%s) - build_start )) s"
bridge="$target_dir/release/vigor-dds-bridge"

# --- the DDS side's Python -----------------------------------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv"
    python3 -m venv "$venv"
fi
py="$venv/bin/python"
have="$("$py" -c 'import importlib.metadata as m; print(m.version("cyclonedds"))' 2>/dev/null || true)"
if [ "$have" != "$cyclonedds_version" ]; then
    say "installing cyclonedds==$cyclonedds_version from PyPI into $venv"
    "$py" -m pip install --disable-pip-version-check --no-input -q "cyclonedds==$cyclonedds_version"
fi
"$py" scripts/dds_participant.py --self-test
say "DDS side: $("$py" --version), cyclonedds $("$py" -c 'import importlib.metadata as m; print(m.version("cyclonedds"))'); zenoh side: $("$vigor" --version)"

# --- run -----------------------------------------------------------------------------------------
work="$(mktemp -d -t vigor-dds-check.XXXXXX)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Both DDS participants on loopback only (CycloneDDS's own configuration variable): the check
# stays off the machine's network, and off any robot on it.
export CYCLONEDDS_URI='<CycloneDDS><Domain><General><Interfaces><NetworkInterface address="127.0.0.1"/></Interfaces></General></Domain></CycloneDDS>'

"$vigor" policy init --out "$work/policy" >/dev/null
# For the robot's own files (deploy/zenoh/*.json5 name their certificates relative to the working
# directory, so the processes of that run start in $work).
deploy/make-certs.sh "$work/certs" 127.0.0.1 >/dev/null

# One run: the bridge with BRIDGE_CONFIG on SCHEME/127.0.0.1:PORT, the participant, the
# controller and the zenoh-side observers (with CLIENT_CONFIG / OBSERVER_CONFIG when given).
# Prints every side's output and the summary; returns non-zero on any failure.
run_check() {
    local name="$1" bridge_config="$2" scheme="$3" client_config="$4" observer_config="$5"
    local out="$work/$name" port endpoint bridge_pid participant echo1 echo2
    local control_rc=0 participant_rc=0 bridge_rc=0 zenoh_rc=0 listening=0
    local -a client=() observer=()
    [ -n "$client_config" ] && client=(--zenoh-config "$client_config")
    [ -n "$observer_config" ] && observer=(--zenoh-config "$observer_config")
    mkdir -p "$out"
    port="$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    endpoint="$scheme/127.0.0.1:$port"

    echo
    say "=== $name: bridge config ${bridge_config#"$root/"}, controller on $endpoint${client_config:+ with ${client_config#"$root/"}} ==="
    (cd "$work" && exec "$bridge" --config "$bridge_config" --listen "$endpoint") \
        >"$out/bridge.log" 2>&1 &
    bridge_pid=$!
    pids+=("$bridge_pid")
    # Wait for the listener. The probe opens and closes a TCP connection: a TLS listener logs a
    # `tls handshake eof` warning for it.
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then listening=1; break; fi
        kill -0 "$bridge_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ "$listening" != 1 ]; then
        cat "$out/bridge.log"
        say "FAIL ($name): the bridge is not listening on $endpoint"
        return 1
    fi

    # The participant runs past the controller's duration at both ends (startup, exit damping).
    say "starting the DDS participant (LowState_ at 500 Hz on rt/lowstate, reading rt/lowcmd)"
    "$py" -u scripts/dds_participant.py --duration-s "$(( duration_s + 6 ))" \
        --min-frames "$min_frames" >"$out/participant.log" 2>&1 &
    participant=$!
    pids+=("$participant")
    sleep 1

    say "running vigor control for $duration_s s"
    # The zenoh side, besides the controller: every LowState the bridge puts on rt/lowstate,
    # decoded by vigor (length, header and CRC checked; a failure is an `undecodable` line on
    # stderr), and the controller's status counters (bad_frames counts the LowState it dropped).
    (cd "$work" && exec "$vigor" topic echo rt/lowstate "${observer[@]}" --connect "$endpoint" \
        --timeout-s "$duration_s") >"$out/lowstate.jsonl" 2>"$out/lowstate.err" &
    echo1=$!
    (cd "$work" && exec "$vigor" topic echo vigor/controller/status "${observer[@]}" \
        --connect "$endpoint" --timeout-s "$(( duration_s + 3 ))") \
        >"$out/status.jsonl" 2>"$out/status.err" &
    echo2=$!
    pids+=("$echo1" "$echo2")
    (cd "$work" && exec "$vigor" control --policy "$work/policy" "${client[@]}" \
        --connect "$endpoint" --duration-s "$duration_s") >"$out/control.log" 2>&1 || control_rc=$?

    wait "$participant" || participant_rc=$?
    wait "$echo1" "$echo2" || true
    # Stop the bridge as a service manager would.
    kill -TERM "$bridge_pid"
    wait "$bridge_pid" || bridge_rc=$?

    echo
    say "--- DDS participant (scripts/dds_participant.py) ---"
    cat "$out/participant.log"
    echo
    say "--- vigor control (exit $control_rc) ---"
    cat "$out/control.log"
    echo
    say "--- the controller's last status on the zenoh side ---"
    tail -n 1 "$out/status.jsonl" || true
    echo
    if [ -s "$out/lowstate.err" ]; then
        say "--- vigor topic echo rt/lowstate, stderr ---"
        head -n 20 "$out/lowstate.err"
        echo
    fi
    say "--- bridge log (exit $bridge_rc after SIGTERM) ---"
    cat "$out/bridge.log"
    echo

    local summary
    summary="$(grep '^participant summary: ' "$out/participant.log" | sed 's/^participant summary: //')"
    if [ -z "$summary" ]; then
        say "FAIL ($name): the participant printed no summary"
        return 1
    fi
    "$py" - "$summary" "$min_frames" "$out/lowstate.jsonl" "$out/lowstate.err" <<'EOF' || zenoh_rc=$?
import json, sys
s, want = json.loads(sys.argv[1]), int(sys.argv[2])
states = [json.loads(line) for line in open(sys.argv[3]) if line.strip()]
bad = [line for line in open(sys.argv[4]) if "undecodable" in line]
ticks = [m["tick"] for m in states]
p = "dds-bridge-check:"
print(f"{p} LowState frames sent by the DDS side:      {s['lowstate_sent']} ({s['lowstate_rate_hz']} Hz)")
print(f"{p} LowState frames decoded on the zenoh side: {len(states)} (CRC-valid; {len(bad)} undecodable), "
      f"ticks {min(ticks, default=0)}..{max(ticks, default=0)}, {len(set(ticks))} distinct")
if states:
    m = states[len(states) // 2]
    print(f"{p}   a decoded one: tick {m['tick']}, mode_machine {m['mode_machine']}, crc {m['crc']:#010x}, "
          f"motor 3 q {m['motor_state'][3]['q']}, imu quaternion {m['imu_state']['quaternion']}")
print(f"{p} LowCmd frames received by the DDS side:    {s['lowcmd_received']}")
print(f"{p}   CRC valid / bad:                         {s['lowcmd_crc_valid']} / {s['lowcmd_crc_bad']}")
print(f"{p}   damping frames (kp 0, kd > 0, mode 1):   {s['lowcmd_damping_frames']}")
print(f"{p}   targets equal to the pose sent:          {s['lowcmd_targets_equal_measured_pose']}")
print(f"{p}   wrong mode_machine / motor count:        {s['lowcmd_wrong_mode_machine']} / {s['lowcmd_wrong_motor_count']}")
print(f"{p}   first one decoded: {json.dumps(s['lowcmd_first'])}")
print(f"{p} minimum each way: {want}")
if len(states) < want or bad:
    print(f"{p} FAIL: {len(states)} LowState decoded on the zenoh side (want >= {want}), {len(bad)} undecodable")
    sys.exit(1)
EOF
    if [ "$participant_rc" -ne 0 ] || [ "$control_rc" -ne 0 ] || [ "$zenoh_rc" -ne 0 ] \
        || [ "$bridge_rc" -ne 0 ]; then
        say "FAIL ($name): participant exit $participant_rc, controller exit $control_rc," \
            "zenoh side $zenoh_rc, bridge exit $bridge_rc"
        return 1
    fi
    say "PASS ($name): frames crossed both ways, CRC-valid and decoded at both ends"
}

failed=0
# The bench config (deploy/dds/bridge.json5): plain TCP on loopback.
run_check plain "$root/deploy/dds/bridge.json5" tcp "" "" || failed=1
# The robot's config (deploy/zenoh/bridge-dds.json5): mutual TLS and access control, the
# controller with its certificate (controller.json5), the observers with the operator's.
run_check tls "$root/deploy/zenoh/bridge-dds.json5" tls \
    "$root/deploy/zenoh/controller.json5" "$root/deploy/zenoh/operator.json5" || failed=1
echo
if [ "$failed" -ne 0 ]; then
    say "FAIL"
    exit 1
fi
say "PASS: both bridge configs carried LowState to the controller and LowCmd back to DDS"
