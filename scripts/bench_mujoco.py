#!/usr/bin/env python3
"""MuJoCo against vigor's rapier simulator on the same robot and scenario, from one run.

Exports vigor's G1 description as MJCF (every collision primitive collides with the ground),
runs the push-fall scenario of `vigor bench sim` in MuJoCo (stiff default-pose hold, then a
350 N push on the torso for 0.2 s at 0.5 s; explicit PD with torque clamp at 500 Hz), on one
thread and on two processes, then runs `vigor bench sim --json` and prints both and their ratio.

    .venv/bin/python scripts/bench_mujoco.py [--vigor target/release/vigor] [--seconds 4]

Needs the `mujoco` wheel in the project environment (scripts/setup.sh installs it).
"""
import argparse
import json
import multiprocessing as mp
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_mujoco(xml_path: str, joints: list, seconds: float) -> float:
    import mujoco
    import numpy as np

    model = mujoco.MjModel.from_xml_path(xml_path)
    data = mujoco.MjData(model)
    n = len(joints)
    q0 = np.array([j["default"] for j in joints])
    kp = np.array([300.0 if j["slot"] < 15 else j["kp"] for j in joints])
    kd = np.array([15.0 if j["slot"] < 15 else j["kd"] for j in joints])
    effort = np.array([j["effort"] for j in joints])
    data.qpos[7:7 + n] = q0
    mujoco.mj_forward(model, data)
    # Drop onto the floor: lowest geom point 1 mm above z = 0 (capsules and spheres by radius).
    lowest = min(data.geom_xpos[g][2] - model.geom_rbound[g] for g in range(1, model.ngeom))
    data.qpos[2] -= lowest - 0.001
    torso = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "torso_link")
    steps = int(round(seconds / model.opt.timestep))
    start = time.perf_counter()
    for i in range(steps):
        t = i * model.opt.timestep
        data.xfrc_applied[torso, 0] = 350.0 if 0.5 <= t < 0.7 else 0.0
        tau = kp * (q0 - data.qpos[7:7 + n]) - kd * data.qvel[6:6 + n]
        data.ctrl[:] = np.clip(tau, -effort, effort)
        mujoco.mj_step(model, data)
    return steps / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vigor", default="target/release/vigor", help="the vigor binary (build with --release)")
    parser.add_argument("--seconds", type=float, default=4.0, help="simulated seconds per measurement")
    args = parser.parse_args()
    try:
        import mujoco  # noqa: F401
    except ImportError:
        print("mujoco is not installed: run scripts/setup.sh, then use .venv/bin/python", file=sys.stderr)
        return 1
    vigor = args.vigor
    with tempfile.TemporaryDirectory() as tmp:
        xml = str(Path(tmp) / "g1.xml")
        subprocess.run([vigor, "robot", "export-mjcf", "--out", xml, "--timestep", "0.002"], check=True, capture_output=True)
        joints = json.loads(subprocess.run([vigor, "robot", "show", "--json"], check=True, capture_output=True, text=True).stdout)["joints"]
        one = run_mujoco(xml, joints, args.seconds)
        with mp.Pool(2) as pool:
            started = time.perf_counter()
            results = pool.starmap(run_mujoco, [(xml, joints, args.seconds)] * 2)
            wall = time.perf_counter() - started
        two = 2 * round(args.seconds / 0.002) / wall
    rapier = json.loads(subprocess.run([vigor, "bench", "sim", "--engine", "rapier", "--json", "--seconds", str(args.seconds)], check=True, capture_output=True, text=True).stdout)
    print(f"{'':28}{'MuJoCo':>12}{'rapier':>12}{'rapier/MuJoCo':>16}")
    print(f"{'one thread, flat (steps/s)':28}{one:12.0f}{rapier['single_steps_per_s_flat']:12.0f}{rapier['single_steps_per_s_flat'] / one:16.3f}")
    print(f"{'two workers (steps/s)':28}{two:12.0f}{rapier['vec_steps_per_s']:12.0f}{rapier['vec_steps_per_s'] / two:16.3f}")
    print(json.dumps({"mujoco_single_steps_per_s": one, "mujoco_two_workers_steps_per_s": two, "per_worker": results, "rapier": rapier}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
