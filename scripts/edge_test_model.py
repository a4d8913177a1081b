#!/usr/bin/env python3
"""How often the old and the plane-relative `terrain_edge` tests fire (docs/teacher.md, "The edge test").

A numpy model of the terrain the teacher's reward reads: the 5 cm height field, triangulated along
the main diagonal, sampled from rough ground (a 0.2 m lattice of uniform noise, bilinear), a
slope face and stairs down (0.3 m treads). For random foot positions it prints the share that each
test counts as standing on an edge. Run with the project environment:

    .venv/bin/python scripts/edge_test_model.py
"""

import numpy as np

CELL_M = 0.05  # height-field cell (sim/src/env.rs)
ROUGH_LATTICE_M = 0.2  # sim/src/terrain/tiles.rs
TREAD_M = 0.3  # STEP_WIDTH_M
PROBE_M = 0.08  # half-size of the patch under a foot (training/src/teacher/step.rs)
OLD_SPREAD_M = 0.04  # the old test: spread of five samples
RESIDUAL_M = 0.02  # the new test: spread about the least-squares plane of 5 x 5 samples
FIELD_N = 400
SAMPLES = 20_000

rng = np.random.default_rng(0)
axis = np.arange(FIELD_N) * CELL_M
grid_x, grid_y = np.meshgrid(axis, axis, indexing="ij")


def field_height(h, x, y):
    """Height on the triangulated field `h` at arrays `x`, `y`."""
    fx, fy = x / CELL_M, y / CELL_M
    i, j = np.floor(fx).astype(int), np.floor(fy).astype(int)
    s, t = fx - i, fy - j
    h00, h10, h01, h11 = h[i, j], h[i + 1, j], h[i, j + 1], h[i + 1, j + 1]
    lower = h00 + s * (h10 - h00) + t * (h11 - h10)
    upper = h00 + t * (h01 - h00) + s * (h11 - h01)
    return np.where(s >= t, lower, upper)


def rough(amplitude_m):
    nodes = rng.uniform(-1, 1, (FIELD_N // 4 + 2, FIELD_N // 4 + 2))
    a, b = grid_x / ROUGH_LATTICE_M, grid_y / ROUGH_LATTICE_M
    i, j = np.floor(a).astype(int), np.floor(b).astype(int)
    s, t = a - i, b - j
    low = nodes[i, j] * (1 - s) + nodes[i + 1, j] * s
    high = nodes[i, j + 1] * (1 - s) + nodes[i + 1, j + 1] * s
    return amplitude_m * (low * (1 - t) + high * t)


def old_test(h, x, y):
    corners = [(-1, -1), (-1, 1), (1, -1), (1, 1), (0, 0)]
    z = np.stack([field_height(h, x + a * PROBE_M, y + b * PROBE_M) for a, b in corners])
    return z.max(0) - z.min(0) > OLD_SPREAD_M


offsets = np.linspace(-PROBE_M, PROBE_M, 5)
du, dv = (g.ravel() for g in np.meshgrid(offsets, offsets, indexing="ij"))
design = np.stack([np.ones_like(du), du, dv], 1)
fit = np.linalg.pinv(design)


def plane_test(h, x, y):
    z = np.stack([field_height(h, x + u, y + v) for u, v in zip(du, dv)])
    residual = z - design @ (fit @ z)
    return residual.max(0) - residual.min(0) > RESIDUAL_M


def row(name, h, x, y):
    print(f"{name:34} {old_test(h, x, y).mean():6.2f} {plane_test(h, x, y).mean():8.2f}")


x = rng.uniform(1, 18, SAMPLES)
y = rng.uniform(1, 18, SAMPLES)
print(f"{'ground':34} {'old':>6} {'plane':>8}")
for d in [0.2, 0.4, 0.6, 0.8, 1.0]:
    row(f"rough, difficulty {d}", rough(0.01 + 0.07 * d), x, y)
for d in [0.6, 0.8, 1.0]:
    row(f"slope face, difficulty {d}", np.tan(0.4 * d) * grid_x, x, y)
for step_m in [0.03, 0.04, 0.05, 0.1, 0.15, 0.23]:
    stairs = -step_m * np.floor(grid_x / TREAD_M)
    near_edge = np.floor(x / TREAD_M) * TREAD_M + TREAD_M + rng.uniform(-PROBE_M, PROBE_M, SAMPLES)
    row(f"within 8 cm of a {step_m * 100:.0f} cm stair edge", stairs, near_edge, y)
