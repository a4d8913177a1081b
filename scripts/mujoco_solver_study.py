#!/usr/bin/env python3
"""How many constraint-solver iterations MuJoCo spends per step on training-like motion, and what
capping them would change (issue 17: is the solver a place to buy speed?).

Exports vigor's G1 description as MJCF at the training rate, drops the robot on its back or
front, and drives it for a few seconds with the description's PD gains towards targets that jump
every policy step (default pose plus Gaussian noise: rough, contact-rich motion like early
training). For each solver setting it reports MuJoCo's own `solver_niter` per step (mean and
maximum), the number of contacts, and how far the pelvis path departs from the default setting,
next to how far it departs when only the start moves by 1 micrometre (the chaos floor: any
setting within that is indistinguishable from the default).

    .venv/bin/python scripts/mujoco_solver_study.py [--vigor target/release/vigor] [--rate 250]

Speeds are not reported: the loop runs in Python, whose per-step overhead would hide the solver.
Needs the `mujoco` wheel in the project environment (scripts/setup.sh installs it).
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SETTINGS = {
    "default (Newton, 100 iterations, 50 line-search, tolerance 1e-8)": {},
    "10 iterations, 10 line-search": {"iterations": 10, "ls_iterations": 10},
    "4 iterations, 8 line-search": {"iterations": 4, "ls_iterations": 8},
    "tolerance 1e-5": {"tolerance": 1e-5},
    "tolerance 1e-4, 10 iterations": {"tolerance": 1e-4, "iterations": 10, "ls_iterations": 10},
}


def run(xml: str, joints: list, options: dict, seed: int, seconds: float, rate: int, nudge: float = 0.0):
    import mujoco
    import numpy as np

    model = mujoco.MjModel.from_xml_string(xml)
    for key, value in options.items():
        setattr(model.opt, key, value)
    data = mujoco.MjData(model)
    rng = np.random.default_rng(seed)
    n = len(joints)
    q0 = np.array([j["default"] for j in joints])
    kp = np.array([j["kp"] for j in joints])
    kd = np.array([j["kd"] for j in joints])
    effort = np.array([j["effort"] for j in joints])
    data.qpos[7:7 + n] = q0
    data.qpos[2] = 0.25 + nudge
    half = np.pi / 4 * (1 if seed % 2 == 0 else -1)  # on the back (even seeds) or the front
    data.qpos[3:7] = [np.cos(half), 0.0, np.sin(half), 0.0]
    decimation = rate // 50
    steps = int(seconds * rate)
    target = q0
    niter, ncon, path = [], [], []
    for i in range(steps):
        if i % decimation == 0:
            target = q0 + rng.normal(0.0, 0.6, n)
            path.append(data.qpos[:3].copy())
        tau = kp * (target - data.qpos[7:7 + n]) - kd * data.qvel[6:6 + n]
        data.qfrc_applied[6:6 + n] = np.clip(tau, -effort, effort)
        mujoco.mj_step(model, data)
        niter.append(int(data.solver_niter[0]))
        ncon.append(int(data.ncon))
    return np.array(niter), np.array(ncon), np.array(path)


def main() -> int:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vigor", default="target/release/vigor", help="the vigor binary")
    parser.add_argument("--rate", type=int, default=250, help="physics rate, Hz (a multiple of 50)")
    parser.add_argument("--seconds", type=float, default=3.0, help="simulated time per episode")
    parser.add_argument("--seeds", type=int, default=4, help="episodes (even: on the back, odd: on the front)")
    args = parser.parse_args()
    if args.rate % 50 != 0 or not 200 <= args.rate <= 2000:
        print(f"--rate {args.rate}: expected a multiple of 50 in 200..=2000", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "g1.xml")
        subprocess.run([args.vigor, "robot", "export-mjcf", "--out", path, "--timestep", str(1.0 / args.rate)],
                       check=True, capture_output=True)
        xml = Path(path).read_text()
    joints = json.loads(subprocess.run([args.vigor, "robot", "show", "--json"], check=True,
                                       capture_output=True, text=True).stdout)["joints"]
    rms = lambda a, b: float(np.sqrt(np.mean(np.sum((a - b) ** 2, axis=1))) * 100.0)
    rows = {name: {"niter": [], "max": 0, "ncon": [], "departure_cm": []} for name in SETTINGS}
    floor = []
    for seed in range(args.seeds):
        base = run(xml, joints, {}, seed, args.seconds, args.rate)
        floor.append(rms(run(xml, joints, {}, seed, args.seconds, args.rate, nudge=1e-6)[2], base[2]))
        for name, options in SETTINGS.items():
            niter, ncon, trail = base if not options else run(xml, joints, options, seed, args.seconds, args.rate)
            row = rows[name]
            row["niter"].append(niter.mean())
            row["max"] = max(row["max"], int(niter.max()))
            row["ncon"].append(ncon.mean())
            row["departure_cm"].append(rms(trail, base[2]))
    print(f"{args.seeds} episodes of {args.seconds} s at {args.rate} Hz; chaos floor (start moved 1 um): "
          f"pelvis path RMS {np.mean(floor):.1f} cm (per episode {', '.join(f'{f:.1f}' for f in floor)})")
    print("| setting | solver iterations per step, mean (max) | contacts per step | pelvis path RMS from the default, cm |")
    print("|---|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {np.mean(row['niter']):.2f} ({row['max']}) | {np.mean(row['ncon']):.1f} | "
              f"{np.mean(row['departure_cm']):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
