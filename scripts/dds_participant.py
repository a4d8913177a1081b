#!/usr/bin/env python3
"""The robot's side of the wire for scripts/dds-bridge-check.sh: a CycloneDDS participant (the
`cyclonedds` binding from PyPI, not vigor's code) that speaks Unitree's `unitree_hg` types the way
the G1 does.

It publishes `rt/lowstate` (LowState_) at 500 Hz with a running tick and a valid CRC, reads
`rt/lowcmd` (LowCmd_), and checks every LowCmd it receives: CRC, `mode_machine` echoed, 35 motor
commands, and what a damping frame must be (kp 0, kd > 0, targets equal to the joint positions
this side sent). At the end it prints one JSON summary line, and exits non-zero when it sent or
received fewer than --min-frames, or any LowCmd failed a check.

The types are declared here from the field list of Unitree's unitree_hg IDL (module
`unitree_hg::msg::dds_`, all @final, keyless). The CRC is Unitree's, written again here rather
than taken from vigor (msgs/src/crc.rs) so that the check does not trust the code it checks: over
the C struct's memory layout (not the CDR bytes), word by word; --self-test checks it against
Unitree's published values.

    python3 scripts/dds_participant.py --duration-s 10 --min-frames 1000
    python3 scripts/dds_participant.py --self-test      # CRC test vectors, type sizes; no DDS
"""

import argparse
import array
import json
import struct
import sys
import time
import zlib
from dataclasses import dataclass
from types import SimpleNamespace

# --- CRC (Unitree's crc32_core) ----------------------------------------------------------------

CRC_POLY = 0x04C11DB7


def crc_words_bitwise(words):
    """Unitree's definition, bit by bit: crc = 0xFFFFFFFF; for each u32 word, bits 31..0: shift
    left, xor the polynomial if the bit shifted out was set, xor it again if the data bit is set.
    No reflection, no final xor. Slow: the reference the fast one is tested against."""
    crc = 0xFFFFFFFF
    for w in words:
        for bit in range(31, -1, -1):
            top = crc & 0x80000000
            crc = (crc << 1) & 0xFFFFFFFF
            if top:
                crc ^= CRC_POLY
            if (w >> bit) & 1:
                crc ^= CRC_POLY
    return crc


def _crc_table():
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLY) if crc & 0x80000000 else (crc << 1)
            crc &= 0xFFFFFFFF
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc_table(c_bytes):
    """The same CRC, a byte at a time: CRC-32/MPEG-2 over each little-endian u32 word's bytes in
    big-endian order. `c_bytes` is the struct's C layout without its trailing crc word."""
    n = len(c_bytes) // 4
    be = struct.pack(">%dI" % n, *struct.unpack("<%dI" % n, c_bytes[: 4 * n]))
    crc = 0xFFFFFFFF
    t = _TABLE
    for b in be:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ t[(crc >> 24) ^ b]
    return crc


# Bit-reversal of every byte value, for bytes.translate.
_REFLECT8 = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))
assert array.array("I").itemsize == 4


def crc_c_layout(c_bytes):
    """The same CRC at C speed, fast enough for 500 Hz in both directions: CRC-32/MPEG-2 is zlib's
    reflected CRC-32 with every input byte and the result bit-reversed, and without zlib's final
    xor. `c_bytes` is the struct's C layout without its trailing crc word."""
    words = array.array("I")
    words.frombytes(c_bytes[: len(c_bytes) // 4 * 4])
    if sys.byteorder == "little":
        words.byteswap()  # each word's bytes in big-endian order
    r = zlib.crc32(words.tobytes().translate(_REFLECT8)) ^ 0xFFFFFFFF
    return int(f"{r:032b}"[::-1], 2)


# --- C layouts (what the CRC covers; CDR differs in padding) -----------------------------------

NUM_MOTORS = 35
# LowCmd_: mode_pr, mode_machine, 2 pad; MotorCmd_ {mode, 3 pad, q, dq, tau, kp, kd, reserve} x35;
# reserve[4]; crc. 1004 bytes, CRC over the first 250 words.
LOWCMD_C = struct.Struct("<BB2x" + "B3x5fI" * NUM_MOTORS + "4I" + "I")
# LowState_: version[2], mode_pr, mode_machine, 2 pad, tick; IMUState_ {quaternion[4],
# gyroscope[3], accelerometer[3], rpy[3], temperature int16, 2 pad}; MotorState_ {mode, 3 pad, q,
# dq, ddq, tau_est, temperature[2] int16, vol, sensor[2], motorstate, reserve[4]} x35;
# wireless_remote[40]; reserve[4]; crc. 2092 bytes, CRC over the first 522 words.
LOWSTATE_C = struct.Struct(
    "<2IBB2xI" + "13fh2x" + "B3x4f2hf2II4I" * NUM_MOTORS + "40B" + "4I" + "I"
)
LOWSTATE_TICK_OFFSET = 12


def lowcmd_c_bytes(m):
    vals = [m.mode_pr, m.mode_machine]
    for c in m.motor_cmd:
        vals += [c.mode, c.q, c.dq, c.tau, c.kp, c.kd, c.reserve]
    vals += list(m.reserve) + [m.crc]
    return LOWCMD_C.pack(*vals)


def lowstate_c_bytes(m):
    s = m.imu_state
    vals = list(m.version) + [m.mode_pr, m.mode_machine, m.tick]
    vals += list(s.quaternion) + list(s.gyroscope) + list(s.accelerometer) + list(s.rpy)
    vals.append(s.temperature)
    for ms in m.motor_state:
        vals += [ms.mode, ms.q, ms.dq, ms.ddq, ms.tau_est]
        vals += list(ms.temperature) + [ms.vol] + list(ms.sensor) + [ms.motorstate]
        vals += list(ms.reserve)
    vals += list(m.wireless_remote) + list(m.reserve) + [m.crc]
    return LOWSTATE_C.pack(*vals)


def self_test():
    """The shared reference's LowCmd test vectors, both CRC implementations, and the layouts."""
    assert LOWCMD_C.size == 1004, LOWCMD_C.size
    assert LOWSTATE_C.size == 2092, LOWSTATE_C.size

    def cmd(mode_machine, mode, kd):
        vals = [0, mode_machine]
        for _ in range(NUM_MOTORS):
            vals += [mode, 0.0, 0.0, 0.0, 0.0, kd, 0]
        return LOWCMD_C.pack(*(vals + [0, 0, 0, 0, 0]))

    for name, raw, want in [
        ("all zero", cmd(0, 0, 0.0), 0xFE172F9F),
        ("mode_machine 5, all motors enabled", cmd(5, 1, 0.0), 0x77176F39),
        ("the same with kd 8 (damping)", cmd(5, 1, 8.0), 0xD7E3AB3A),
    ]:
        words = struct.unpack("<250I", raw[:1000])
        got = (crc_words_bitwise(words), crc_table(raw[:1000]), crc_c_layout(raw[:1000]))
        if got != (want, want, want):
            raise AssertionError(
                f"CRC vector `{name}`: want {want:#010x}, bitwise / table / zlib "
                + " / ".join(f"{g:#010x}" for g in got)
            )
    # And on a LowState-sized buffer of arbitrary words.
    raw = bytes((i * 37 + 11) & 0xFF for i in range(2088))
    got = (crc_words_bitwise(struct.unpack("<522I", raw)), crc_table(raw), crc_c_layout(raw))
    if len(set(got)) != 1:
        raise AssertionError("CRC over 522 words: bitwise / table / zlib "
                             + " / ".join(f"{g:#010x}" for g in got))
    print("self-test: LowCmd CRC vectors match (bitwise, table and zlib forms), "
          "C layouts 1004 / 2092 bytes")


# --- the IDL types ------------------------------------------------------------------------------


def declare_types():
    """unitree_hg::msg::dds_ as Unitree's IDL declares it (field order is the wire order)."""
    import cyclonedds.idl as idl
    import cyclonedds.idl.annotations as annotate
    import cyclonedds.idl.types as t

    @dataclass
    @annotate.final
    @annotate.autoid("sequential")
    class MotorCmd_(idl.IdlStruct, typename="unitree_hg.msg.dds_.MotorCmd_"):
        mode: t.uint8
        q: t.float32
        dq: t.float32
        tau: t.float32
        kp: t.float32
        kd: t.float32
        reserve: t.uint32

    @dataclass
    @annotate.final
    @annotate.autoid("sequential")
    class LowCmd_(idl.IdlStruct, typename="unitree_hg.msg.dds_.LowCmd_"):
        mode_pr: t.uint8
        mode_machine: t.uint8
        motor_cmd: t.array[MotorCmd_, NUM_MOTORS]
        reserve: t.array[t.uint32, 4]
        crc: t.uint32

    @dataclass
    @annotate.final
    @annotate.autoid("sequential")
    class IMUState_(idl.IdlStruct, typename="unitree_hg.msg.dds_.IMUState_"):
        quaternion: t.array[t.float32, 4]
        gyroscope: t.array[t.float32, 3]
        accelerometer: t.array[t.float32, 3]
        rpy: t.array[t.float32, 3]
        temperature: t.int16

    @dataclass
    @annotate.final
    @annotate.autoid("sequential")
    class MotorState_(idl.IdlStruct, typename="unitree_hg.msg.dds_.MotorState_"):
        mode: t.uint8
        q: t.float32
        dq: t.float32
        ddq: t.float32
        tau_est: t.float32
        temperature: t.array[t.int16, 2]
        vol: t.float32
        sensor: t.array[t.uint32, 2]
        motorstate: t.uint32
        reserve: t.array[t.uint32, 4]

    @dataclass
    @annotate.final
    @annotate.autoid("sequential")
    class LowState_(idl.IdlStruct, typename="unitree_hg.msg.dds_.LowState_"):
        version: t.array[t.uint32, 2]
        mode_pr: t.uint8
        mode_machine: t.uint8
        tick: t.uint32
        imu_state: IMUState_
        motor_state: t.array[MotorState_, NUM_MOTORS]
        wireless_remote: t.array[t.uint8, 40]
        reserve: t.array[t.uint32, 4]
        crc: t.uint32

    return SimpleNamespace(MotorCmd_=MotorCmd_, LowCmd_=LowCmd_, IMUState_=IMUState_,
                           MotorState_=MotorState_, LowState_=LowState_)


# --- the run --------------------------------------------------------------------------------------

# Slots 0-28 are the 29-DoF G1's joints; 29-34 are unused.
DRIVEN = 29


def joint_q(slot):
    """The joint positions this side reports: small and distinct, inside every joint's limits, so
    a damping frame's targets (the measured pose) can be told apart slot by slot."""
    return 0.001 * (slot + 1)


# The same, as the float32 values that cross the wire (what a LowCmd_ target decodes to).
SENT_Q_F32 = [struct.unpack("<f", struct.pack("<f", joint_q(k)))[0] for k in range(DRIVEN)]


def make_lowstate(types, mode_machine):
    MotorState_, IMUState_, LowState_ = types.MotorState_, types.IMUState_, types.LowState_
    motors = [
        MotorState_(
            mode=1 if k < DRIVEN else 0, q=joint_q(k) if k < DRIVEN else 0.0, dq=0.0, ddq=0.0,
            tau_est=0.0, temperature=[30, 35] if k < DRIVEN else [0, 0], vol=0.0, sensor=[0, 0],
            motorstate=0, reserve=[0, 0, 0, 0],
        )
        for k in range(NUM_MOTORS)
    ]
    imu = IMUState_(
        quaternion=[1.0, 0.0, 0.0, 0.0], gyroscope=[0.0] * 3, accelerometer=[0.0, 0.0, 9.81],
        rpy=[0.0] * 3, temperature=30,
    )
    return LowState_(
        version=[0, 0], mode_pr=0, mode_machine=mode_machine, tick=0, imu_state=imu,
        motor_state=motors, wireless_remote=[0] * 40, reserve=[0] * 4, crc=0,
    )


class LowStateFrames:
    """The LowState_ frames this side publishes: one sample whose tick runs and whose CRC follows.

    Only `tick` and `crc` change from frame to frame, so the sample's CDR (what the writer sends)
    is serialised once and those two words patched in place: the binding's serialiser takes about
    1 ms per LowState_ here, half the 2 ms period. `check` compares the patched bytes with a full
    serialisation; the run calls it on the first frame and every 500th."""

    # XCDR1 little-endian encapsulation header, then the body.
    HEADER = bytes([0, 1, 0, 0])
    CDR_TICK = 4 + 12
    CDR_CRC = 4 + 2084

    def __init__(self, msg):
        self.msg = msg
        self.c = bytearray(lowstate_c_bytes(msg))
        self.cdr = bytearray(type(msg).serialize(msg, use_version_2=False))
        if bytes(self.cdr[:4]) != self.HEADER or len(self.cdr) != 4 + 2088:
            raise RuntimeError(f"LowState_ CDR: header {self.cdr[:4].hex()}, {len(self.cdr)} bytes")
        cls = type(msg)

        def serialize(use_version_2=None, **kw):
            if use_version_2:
                return cls.serialize(msg, use_version_2=use_version_2, **kw)
            return bytes(self.cdr)

        # The writer calls sample.serialize(); this instance answers with the patched bytes.
        msg.serialize = serialize

    def next(self, tick):
        m = self.msg
        m.tick = tick
        struct.pack_into("<I", self.c, LOWSTATE_TICK_OFFSET, tick)
        m.crc = crc_c_layout(bytes(self.c[:2088]))
        struct.pack_into("<I", self.cdr, self.CDR_TICK, tick)
        struct.pack_into("<I", self.cdr, self.CDR_CRC, m.crc)
        return m

    def check(self):
        full = type(self.msg).serialize(self.msg, use_version_2=False)
        if full != bytes(self.cdr):
            raise RuntimeError(f"patched LowState_ CDR differs from the serialiser's at tick {self.msg.tick}")
        c = lowstate_c_bytes(self.msg)
        if crc_c_layout(c[:2088]) != self.msg.crc or c[:2088] != bytes(self.c[:2088]):
            raise RuntimeError(f"LowState_ C layout or CRC out of step at tick {self.msg.tick}")


class LowCmdCheck:
    """Counts and checks every LowCmd_ the DDS side decodes."""

    def __init__(self, cls, mode_machine):
        self.cls = cls
        self.mode_machine = mode_machine
        self.received = 0
        self.crc_valid = 0
        self.crc_bad = 0
        self.wrong_mode_machine = 0
        self.wrong_count = 0
        self.damping = 0
        self.targets_measured_pose = 0
        self.first = None
        self.first_bad = None

    def check(self, m):
        if not isinstance(m, self.cls):
            # An InvalidSample: a state change of the writer (gone, disposed), no data.
            return
        self.received += 1
        c = lowcmd_c_bytes(m)
        want = crc_c_layout(c[:1000])
        if m.crc == want:
            self.crc_valid += 1
        else:
            self.crc_bad += 1
            if self.first_bad is None:
                self.first_bad = f"crc {m.crc:#010x}, computed {want:#010x}"
        if m.mode_machine != self.mode_machine:
            self.wrong_mode_machine += 1
        if len(m.motor_cmd) != NUM_MOTORS:
            self.wrong_count += 1
            return
        driven = m.motor_cmd[:DRIVEN]
        if all(c.mode == 1 and c.kp == 0.0 and c.kd > 0.0 for c in driven):
            self.damping += 1
        if all(c.q == q for c, q in zip(driven, SENT_Q_F32)):
            self.targets_measured_pose += 1
        if self.first is None:
            c0 = m.motor_cmd[0]
            self.first = {
                "mode_pr": m.mode_pr, "mode_machine": m.mode_machine,
                "motor_cmd_len": len(m.motor_cmd), "crc": f"{m.crc:#010x}",
                "crc_computed": f"{want:#010x}",
                "motor0": {"mode": c0.mode, "q": c0.q, "dq": c0.dq, "tau": c0.tau, "kp": c0.kp,
                           "kd": c0.kd},
                "motor29_mode": m.motor_cmd[DRIVEN].mode,
            }

    def ok(self):
        return self.crc_bad == 0 and self.wrong_mode_machine == 0 and self.wrong_count == 0


def run(args):
    from cyclonedds.core import Policy, Qos
    from cyclonedds.domain import DomainParticipant
    from cyclonedds.pub import DataWriter
    from cyclonedds.sub import DataReader
    from cyclonedds.topic import Topic
    from cyclonedds.util import duration

    types = declare_types()
    LowState_, LowCmd_ = types.LowState_, types.LowCmd_
    dp = DomainParticipant(args.domain)
    # Best effort, the newest sample only: a late state frame is worth nothing. The bridge's
    # reader for rt/lowstate takes this writer's QoS.
    state_qos = Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(1))
    # Deep enough to hold every command between two polls of the reader.
    cmd_qos = Qos(Policy.Reliability.BestEffort, Policy.History.KeepLast(64))
    writer = DataWriter(dp, Topic(dp, "rt/lowstate", LowState_), qos=state_qos)
    reader = DataReader(dp, Topic(dp, "rt/lowcmd", LowCmd_), qos=cmd_qos)
    print(f"participant: domain {args.domain}, types "
          f"{LowState_.__idl_typename__.replace('.', '::')} / "
          f"{LowCmd_.__idl_typename__.replace('.', '::')}", flush=True)

    frames = LowStateFrames(make_lowstate(types, args.mode_machine))
    check = LowCmdCheck(LowCmd_, args.mode_machine)
    period = 1.0 / args.rate_hz
    sent = 0
    sent_first = None
    t0 = time.perf_counter()
    deadline = t0 + args.duration_s
    next_t = t0
    skipped = 0
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        if now < next_t:
            time.sleep(next_t - now)
            next_t += period
        else:
            # Behind by more than a period: the missed slots are skipped (a robot publishes on
            # its clock), not sent in a burst.
            if now - next_t > period:
                skipped += int((now - next_t) / period)
                next_t = now
            next_t += period
        msg = frames.next(sent + 1)
        if sent % 500 == 0:
            frames.check()
        writer.write(msg)
        if sent_first is None:
            sent_first = {"tick": msg.tick, "mode_machine": msg.mode_machine,
                          "crc": f"{msg.crc:#010x}", "cdr_header": frames.cdr[:4].hex(),
                          "cdr_bytes": len(frames.cdr)}
        sent += 1
        for m in reader.take(N=64):
            check.check(m)
    # What is still in flight.
    end = time.perf_counter() + 0.2
    while time.perf_counter() < end:
        for m in reader.take(N=64):
            check.check(m)
        time.sleep(0.005)
    elapsed = time.perf_counter() - t0

    summary = {
        "lowstate_sent": sent, "lowstate_rate_hz": round(sent / args.duration_s, 1),
        "lowstate_skipped_periods": skipped, "lowstate_first": sent_first,
        "lowcmd_received": check.received, "lowcmd_crc_valid": check.crc_valid,
        "lowcmd_crc_bad": check.crc_bad, "lowcmd_wrong_mode_machine": check.wrong_mode_machine,
        "lowcmd_wrong_motor_count": check.wrong_count, "lowcmd_damping_frames": check.damping,
        "lowcmd_targets_equal_measured_pose": check.targets_measured_pose,
        "lowcmd_first": check.first, "lowcmd_first_bad": check.first_bad,
        "elapsed_s": round(elapsed, 2),
    }
    print("participant summary: " + json.dumps(summary), flush=True)
    failures = []
    if sent < args.min_frames:
        failures.append(f"only {sent} LowState frames sent (want >= {args.min_frames})")
    if check.received < args.min_frames:
        failures.append(f"only {check.received} LowCmd frames received (want >= {args.min_frames})")
    if not check.ok():
        failures.append(
            f"{check.crc_bad} LowCmd with a bad CRC, {check.wrong_mode_machine} with the wrong "
            f"mode_machine, {check.wrong_count} without 35 motor commands"
        )
    for f in failures:
        print(f"participant: FAIL: {f}", flush=True)
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--domain", type=int, default=0, help="DDS domain (the G1's: 0)")
    p.add_argument("--duration-s", type=float, default=10.0)
    p.add_argument("--rate-hz", type=float, default=500.0, help="LowState rate (the G1's: 500)")
    p.add_argument("--mode-machine", type=int, default=5, help="robot variant (5: 29-DoF rev 1.0)")
    p.add_argument("--min-frames", type=int, default=1000,
                   help="fewest LowState sent and LowCmd received for success")
    p.add_argument("--self-test", action="store_true", help="check the CRC and layouts, then exit")
    args = p.parse_args()
    self_test()
    if args.self_test:
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
