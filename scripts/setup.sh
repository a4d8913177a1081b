#!/usr/bin/env bash
# Sets up everything vigor needs to build and run, on Debian 12 with Rust and Python 3.
# Idempotent: a second run checks, finds everything in place and installs nothing.
#
#   .venv/            project Python environment (PyPI wheels only)
#     torch==2.13.0   libtorch for tch 0.26 (the pin in Cargo.toml)
#     mujoco==3.17.0  MuJoCo, for scripts/bench_mujoco.py and sim2sim
#     rerun-sdk==0.36.3  the rerun viewer and CLI for recordings
#   .venv/libtorch -> the wheel's torch/ folder; .cargo/config.toml points LIBTORCH here
#   .venv/mujoco-lib/ libmujoco.so links to the wheel's library; .cargo/config.toml points
#                     MUJOCO_DYNAMIC_LINK_DIR here (mujoco-rs links it dynamically)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# Must equal what torch-sys (pinned in Cargo.toml) expects.
torch_version="2.13.0"
# MuJoCo for scripts/bench_mujoco.py and sim2sim (the version mujoco-rs 7.0 targets).
mujoco_version="3.17.0"
# Rerun's viewer and CLI (`rerun`), the same version as the rerun crate in Cargo.toml: `vigor replay`
# opens recordings with it and the tests read recordings back with `rerun rrd`.
rerun_version="0.36.3"
venv=".venv"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Debian packages the build needs: a C++ compiler (torch-sys compiles a shim), venv support,
# openssl (deploy/make-certs.sh, which a system test runs) and a TrueType font (curves' text).
missing=()
command -v c++ >/dev/null 2>&1 || missing+=(g++)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The text of the learning-curve pictures (training/src/teacher/curves.rs reads this font).
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
        die "missing Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})"
    fi
fi

# An existing .venv may be a link to a shared environment (CI keeps one under ~/.cache/vigor).
if [ ! -x "$venv/bin/python" ]; then
    say "creating the project environment in $venv"
    # Create it where a link points: Debian's venv refuses a path that is a symbolic link.
    target="$venv"
    [ -L "$venv" ] && target="$(readlink -f "$venv")"
    python3 -m venv "$target" || die "python3 -m venv $target failed"
fi
py="$venv/bin/python"

# Read the installed version from package metadata: importing torch takes seconds.
have="$("$py" -c 'import importlib.metadata as m; print(m.version("torch").split("+")[0])' 2>/dev/null || true)"
if [ "$have" != "$torch_version" ]; then
    say "installing torch==$torch_version from PyPI into $venv (about 4.7 GB on disk with its CUDA runtime)"
    "$py" -m pip install --disable-pip-version-check --no-input -q "torch==$torch_version"
fi

have_rr="$("$py" -c 'import importlib.metadata as m; print(m.version("rerun-sdk"))' 2>/dev/null || true)"
if [ "$have_rr" != "$rerun_version" ]; then
    say "installing rerun-sdk==$rerun_version from PyPI into $venv"
    "$py" -m pip install --disable-pip-version-check --no-input -q "rerun-sdk==$rerun_version"
fi

have_mj="$("$py" -c 'import importlib.metadata as m; print(m.version("mujoco"))' 2>/dev/null || true)"
if [ "$have_mj" != "$mujoco_version" ]; then
    say "installing mujoco==$mujoco_version from PyPI into $venv"
    "$py" -m pip install --disable-pip-version-check --no-input -q "mujoco==$mujoco_version"
fi

torch_dir="$("$py" -c 'import importlib.util as u, os; print(os.path.dirname(os.path.realpath(u.find_spec("torch").origin)))')"
[ -f "$torch_dir/lib/libtorch_cpu.so" ] || die "torch at $torch_dir has no lib/libtorch_cpu.so"
if [ "$(readlink "$venv/libtorch" 2>/dev/null || true)" != "$torch_dir" ]; then
    ln -sfn "$torch_dir" "$venv/libtorch"
fi
# mujoco-rs links libmujoco.so from MUJOCO_DYNAMIC_LINK_DIR; the wheel ships only the versioned
# file (its soname), so give both names in one folder of links.
mj_lib="$("$py" -c 'import mujoco, os; print(os.path.join(os.path.dirname(os.path.realpath(mujoco.__file__)), "libmujoco.so.'"$mujoco_version"'"))')"
[ -f "$mj_lib" ] || die "the mujoco wheel has no $mj_lib"
mkdir -p "$venv/mujoco-lib"
for name in libmujoco.so "libmujoco.so.$mujoco_version"; do
    if [ "$(readlink "$venv/mujoco-lib/$name" 2>/dev/null || true)" != "$mj_lib" ]; then
        ln -sfn "$mj_lib" "$venv/mujoco-lib/$name"
    fi
done
say "ready: torch $torch_version at $venv/libtorch, mujoco $mujoco_version at $venv/mujoco-lib, rerun $rerun_version"
