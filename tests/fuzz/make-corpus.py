#!/usr/bin/env python3
# Copyright (c) 2026 The ovs-vhostuser authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at:
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Writes the seed corpus of the libFuzzer targets.

    make-corpus.py [DIR]      (default: the corpus/ folder next to it)

Each seed is an input in the format the target decodes (README.md):
fuzz-messages gets QEMU-like message sequences and variations on them,
fuzz-rings valid guest rings with frames to move, in several layouts.
The output is deterministic, so the committed corpus can be regenerated
and compared."""

import os
import struct
import sys

# Requests and bits from datapath/vhost-user-protocol.h.
GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER = 1, 2, 3, 4
SET_MEM_TABLE, SET_LOG_BASE, SET_LOG_FD = 5, 6, 7
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE = 8, 9, 10
GET_VRING_BASE, SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 11, 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES = 15, 16
GET_QUEUE_NUM, SET_VRING_ENABLE, SEND_RARP, NET_SET_MTU = 17, 18, 19, 20
GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG = 36, 37, 38
SET_STATUS, GET_STATUS = 39, 40

F_EVENT_IDX, F_MRG_RXBUF, F_INDIRECT = 1 << 29, 1 << 15, 1 << 28
F_VERSION_1, F_PROTOCOL_FEATURES, F_LOG_ALL = 1 << 32, 1 << 30, 1 << 26
PF_MQ, PF_LOG_SHMFD, PF_RARP, PF_REPLY_ACK = 1, 2, 4, 8
PF_NET_MTU, PF_MEM_SLOTS, PF_STATUS = 16, 1 << 15, 1 << 16
NOFD = 1 << 8

# fuzz-messages fd specs: memfd of N pages, eventfd, memfd of N bytes, pipe.
def memfd_pages(n):
    return ((n - 1) << 2) | 0


EVENTFD = 1
PIPE = 3

GUEST_PAGES = 64                # 256 KiB of guest memory.
GUEST_UVA = 0x7f0000000000


# fuzz-messages operations.

def msg(request, payload=b'', fds=(), need_reply=False, size=None,
        flags=None, split=0):
    """A message operation: the harness builds the header."""
    assert len(payload) < 512 and len(fds) < 8
    mode = 1 if need_reply else 0
    if flags is not None:
        mode = 3
    if len(payload) >= 256:
        mode |= 8
    if size is not None:
        mode |= 4
    if split:
        mode |= 16
    out = bytes([len(fds) << 5 | 0, mode, request])
    if flags is not None:
        out += struct.pack('<I', flags)
    out += bytes([len(payload) & 0xff])
    if size is not None:
        out += struct.pack('<I', size)
    if split:
        out += bytes([split])
    return out + bytes(fds) + payload


def raw(data, fds=()):
    """A raw-bytes operation."""
    assert len(data) < 256
    return bytes([len(fds) << 5 | 1, len(data)]) + bytes(fds) + data


def control(grace=True, drain=True, disconnect=False, query=False):
    return bytes([2 | grace << 2 | drain << 3 | 16 | disconnect << 5
                  | query << 6])


DATA_PATH = bytes([3])


def u64(v):
    return struct.pack('<Q', v)


def state(index, num):
    return struct.pack('<II', index, num)


def region(gpa, size, uva, offset):
    return struct.pack('<QQQQ', gpa, size, uva, offset)


def mem_table(regions):
    return struct.pack('<II', len(regions), 0) + b''.join(regions)


def vring_addr(index, desc, avail, used, flags=0, log=0):
    return struct.pack('<IIQQQQ', index, flags, desc, used, avail, log)


def ring_base(vring):
    """Guest address of vring 'vring''s rings (256 entries each)."""
    return vring * 0x4000


def setup_vring(v, size=256, need_reply=False, kick=EVENTFD, enable=True):
    base = ring_base(v)
    out = msg(SET_VRING_NUM, state(v, size), need_reply=need_reply)
    out += msg(SET_VRING_BASE, state(v, 0), need_reply=need_reply)
    out += msg(SET_VRING_ADDR,
               vring_addr(v, GUEST_UVA + base, GUEST_UVA + base + 0x1000,
                          GUEST_UVA + base + 0x2000),
               need_reply=need_reply)
    if kick is None:
        out += msg(SET_VRING_KICK, u64(v | NOFD), need_reply=need_reply)
    else:
        out += msg(SET_VRING_KICK, u64(v), [kick], need_reply=need_reply)
    out += msg(SET_VRING_CALL, u64(v), [EVENTFD], need_reply=need_reply)
    if enable:
        out += msg(SET_VRING_ENABLE, state(v, 1), need_reply=need_reply)
    return out


def qemu_start(qps=1, features=F_VERSION_1 | F_MRG_RXBUF | F_EVENT_IDX
               | F_PROTOCOL_FEATURES, protocol=PF_MQ | PF_REPLY_ACK
               | PF_RARP | PF_NET_MTU | PF_STATUS, need_reply=False):
    """The messages QEMU sends to start a vhost-user-net device."""
    out = msg(GET_FEATURES) + msg(GET_PROTOCOL_FEATURES)
    out += msg(SET_PROTOCOL_FEATURES, u64(protocol))
    out += msg(GET_QUEUE_NUM) + msg(SET_OWNER)
    out += msg(SET_FEATURES, u64(features), need_reply=need_reply)
    out += msg(SET_MEM_TABLE,
               mem_table([region(0, GUEST_PAGES * 4096, GUEST_UVA, 0)]),
               [memfd_pages(GUEST_PAGES)], need_reply=need_reply)
    for v in range(2 * qps):
        out += setup_vring(v, need_reply=need_reply)
    out += msg(SET_STATUS, u64(15), need_reply=need_reply)
    return out + control() + DATA_PATH


def qemu_stop(qps=1):
    out = b''
    for v in range(2 * qps):
        out += msg(GET_VRING_BASE, state(v, 0)) + control()
    return out + control(disconnect=True)


def messages_seeds():
    seeds = {}
    # The first byte chooses the device's queue pairs (1 + b % 16).
    seeds['qemu-start-stop'] = b'\x00' + qemu_start() + qemu_stop()
    seeds['qemu-reply-ack'] = (b'\x00' + qemu_start(need_reply=True)
                               + qemu_stop())
    seeds['qemu-two-queue-pairs'] = (b'\x01' + qemu_start(qps=2)
                                     + qemu_stop(qps=2))
    seeds['legacy-no-protocol-features'] = (
        b'\x00' + qemu_start(features=F_MRG_RXBUF, protocol=0)
        + qemu_stop())
    seeds['reconnect'] = (b'\x00' + qemu_start() + control(disconnect=True)
                          + qemu_start() + qemu_stop())
    seeds['mem-slots'] = (
        b'\x00' + msg(SET_PROTOCOL_FEATURES, u64(PF_MEM_SLOTS))
        + msg(GET_MAX_MEM_SLOTS) + msg(SET_OWNER)
        + msg(ADD_MEM_REG, u64(0) + region(0, 0x10000, GUEST_UVA, 0),
              [memfd_pages(16)])
        + msg(ADD_MEM_REG, u64(0) + region(0x10000, 0x10000,
                                           GUEST_UVA + 0x10000, 0),
              [memfd_pages(16)])
        + setup_vring(0) + setup_vring(1) + control() + DATA_PATH
        + msg(REM_MEM_REG, u64(0) + region(0x10000, 0x10000,
                                           GUEST_UVA + 0x10000, 0))
        + control() + qemu_stop())
    seeds['dirty-log'] = (
        b'\x00' + qemu_start(features=F_VERSION_1 | F_LOG_ALL
                             | F_PROTOCOL_FEATURES,
                             protocol=PF_LOG_SHMFD | PF_REPLY_ACK)
        + msg(SET_LOG_BASE, struct.pack('<QQ', 4096, 0), [memfd_pages(1)])
        + msg(SET_LOG_FD, b'', [EVENTFD]) + control() + DATA_PATH
        + qemu_stop())
    seeds['misc-requests'] = (
        b'\x00' + msg(SET_PROTOCOL_FEATURES, u64(PF_RARP | PF_NET_MTU
                                                 | PF_STATUS))
        + msg(SEND_RARP, bytes(range(1, 7)) + b'\0\0')
        + msg(NET_SET_MTU, u64(1500)) + msg(NET_SET_MTU, u64(20))
        + msg(SET_STATUS, u64(0x8f)) + msg(GET_STATUS)
        + msg(SET_VRING_ERR, u64(0), [EVENTFD])
        + msg(RESET_OWNER) + control(query=True))
    seeds['split-and-raw'] = (
        b'\x00' + msg(GET_FEATURES, split=5)
        + msg(SET_MEM_TABLE,
              mem_table([region(0, GUEST_PAGES * 4096, GUEST_UVA, 0)]),
              [memfd_pages(GUEST_PAGES)], split=13)
        + raw(struct.pack('<III', GET_QUEUE_NUM, 1, 0)[:7])
        + raw(struct.pack('<III', GET_QUEUE_NUM, 1, 0)[7:])
        + control())
    seeds['polled-rings-nofd'] = (
        b'\x00' + msg(SET_FEATURES, u64(F_VERSION_1))
        + msg(SET_MEM_TABLE,
              mem_table([region(0, GUEST_PAGES * 4096, GUEST_UVA, 0)]),
              [memfd_pages(GUEST_PAGES)])
        + setup_vring(0, kick=None, enable=False)
        + setup_vring(1, kick=None, enable=False) + DATA_PATH
        + qemu_stop())

    # Hostile variations, each a class the engine must refuse cleanly.
    start = b'\x00' + msg(GET_FEATURES) + msg(SET_OWNER)
    table = mem_table([region(0, GUEST_PAGES * 4096, GUEST_UVA, 0)])
    seeds['bad-size'] = start + msg(SET_FEATURES, u64(0)[:4])
    seeds['bad-size-header-lies'] = start + msg(SET_OWNER, size=0xffffffff)
    seeds['bad-version'] = start + msg(GET_FEATURES, flags=0)
    seeds['unknown-request'] = start + msg(200) + msg(33) + control()
    seeds['fds-on-fdless'] = start + msg(SET_OWNER, fds=[EVENTFD, PIPE])
    seeds['too-many-fds'] = start + raw(b'\x01', [EVENTFD] * 7) + raw(
        b'', [EVENTFD] * 3)
    seeds['mem-table-0-regions'] = start + msg(SET_MEM_TABLE,
                                               mem_table([]), [])
    seeds['mem-table-fd-count'] = start + msg(SET_MEM_TABLE, table, [])
    seeds['mem-table-overlap'] = start + msg(
        SET_MEM_TABLE, mem_table([region(0, 0x10000, GUEST_UVA, 0),
                                  region(0x8000, 0x10000, GUEST_UVA
                                         + 0x100000, 0)]),
        [memfd_pages(16), memfd_pages(16)])
    seeds['mem-table-offset-beyond-file'] = start + msg(
        SET_MEM_TABLE, mem_table([region(0, 0x1000, GUEST_UVA,
                                         0x100000)]), [memfd_pages(1)])
    seeds['mem-table-size-overflow'] = start + msg(
        SET_MEM_TABLE, mem_table([region(0, 0xfffffffffffff000, GUEST_UVA,
                                         0)]), [memfd_pages(1)])
    seeds['mem-table-pipe'] = start + msg(
        SET_MEM_TABLE, mem_table([region(0, 0x1000, GUEST_UVA, 0)]),
        [PIPE])
    seeds['mem-table-tiny-file'] = start + msg(
        SET_MEM_TABLE, mem_table([region(0, 0x1000, GUEST_UVA, 0)]),
        [(7 << 2) | 2])
    seeds['vring-index-out-of-range'] = start + msg(
        SET_VRING_NUM, state(2, 256)) + msg(SET_VRING_CALL, u64(31),
                                            [EVENTFD])
    seeds['vring-num-not-power-of-2'] = start + msg(SET_VRING_NUM,
                                                    state(0, 255))
    seeds['vring-addr-outside'] = start + msg(
        SET_MEM_TABLE, table, [memfd_pages(GUEST_PAGES)]) + msg(
        SET_VRING_NUM, state(0, 256)) + msg(
        SET_VRING_ADDR, vring_addr(0, GUEST_UVA + 0x3f000,
                                   GUEST_UVA + 0x1000, GUEST_UVA + 0x2000))
    seeds['get-vring-base-during-grace'] = (
        b'\x00' + qemu_start() + msg(GET_VRING_BASE, state(1, 0))
        + msg(SET_MEM_TABLE, table, [memfd_pages(GUEST_PAGES)])
        + msg(GET_VRING_BASE, state(0, 0)) + control(grace=False)
        + control() + control(disconnect=True))
    return seeds


# fuzz-rings inputs.

class Rings:
    """Mirrors decode_layout() of fuzz-rings.c."""

    def __init__(self, features=0, shift=4, extra0=8192, size1=0,
                 misalign=0, gap=0, log=0, base=(0, 0), rounds=2,
                 frames=(60, 1514, 0, 0), adjacent=True):
        self.f = features
        self.shift = shift
        self.extra0 = extra0
        self.size1 = size1
        self.header = struct.pack('<BBHHBBBHHB4H', features, shift, extra0,
                                  size1, misalign, gap, log, base[0],
                                  base[1], rounds, *frames)
        n = 1 << shift
        self.n = n
        self.desc, self.avail, self.used = [], [], []
        ring_bytes = 0
        for v in range(2):
            b = v * ring_bytes
            self.desc.append(b)
            self.avail.append(b + 16 * n)
            self.used.append((b + 16 * n + 6 + 2 * n + 3) // 4 * 4)
            if v == 0:
                ring_bytes = (self.used[0] + 6 + 8 * n + 15) // 16 * 16
        self.size0 = 2 * ring_bytes + extra0
        self.buffers = 2 * ring_bytes      # First free guest address.
        self.mem = bytearray(self.size0)
        if features & 64:
            gpa1 = self.size0 + (0 if adjacent else 0x10000)
            self.gpa1 = gpa1
            self.mem1 = bytearray(1 + size1)
        self.base = base

    def write(self, gpa, data):
        if gpa + len(data) <= self.size0:
            self.mem[gpa:gpa + len(data)] = data
        else:
            ofs = gpa - self.gpa1
            self.mem1[ofs:ofs + len(data)] = data

    def desc_entry(self, v, i, addr, length, flags=0, nxt=0):
        self.write(self.desc[v] + 16 * i,
                   struct.pack('<QIHH', addr, length, flags, nxt))

    def avail_ring(self, v, heads, flags=0, used_event=0):
        n = self.n
        idx = (self.base[v] + len(heads)) & 0xffff
        self.write(self.avail[v], struct.pack('<HH', flags, idx))
        for k, h in enumerate(heads):
            slot = (self.base[v] + k) % n
            self.write(self.avail[v] + 4 + 2 * slot, struct.pack('<H', h))
        self.write(self.avail[v] + 4 + 2 * n, struct.pack('<H', used_event))

    def pdesc(self, v, slot, addr, length, flags=0, wrap=1, buf_id=0):
        """A packed ring's descriptor, available at wrap counter 'wrap'."""
        flags |= PACKED_AVAIL if wrap else PACKED_USED
        self.write(self.desc[v] + 16 * slot,
                   struct.pack('<QIHH', addr, length, buf_id, flags))

    def data(self):
        out = self.header + bytes(self.mem)
        if self.f & 64:
            out += bytes(self.mem1)
        return out


NEXT, WRITE, INDIRECT = 1, 2, 4
PACKED_AVAIL, PACKED_USED = 1 << 7, 1 << 15
ROUNDS_PACKED = 0x20
RX, TX = 0, 1


def frame_bytes(n):
    return bytes(12) + bytes((i * 3) & 0xff for i in range(n))


def rings_seeds():
    seeds = {}
    # Simple: one transmit chain of one descriptor, one receive buffer.
    for feat, name in ((8, 'v1'), (8 | 1, 'v1-event-idx'),
                       (8 | 2, 'v1-mrg'), (2 | 1, 'legacy-mrg-event'),
                       (0, 'legacy')):
        r = Rings(features=feat)
        b = r.buffers
        r.write(b, frame_bytes(60))
        r.desc_entry(TX, 0, b, 72)
        r.avail_ring(TX, [0])
        r.desc_entry(RX, 0, b + 0x800, 2048, WRITE)
        r.desc_entry(RX, 1, b + 0x1000, 2048, WRITE)
        r.avail_ring(RX, [0, 1])
        seeds['one-frame-' + name] = r.data()

    # Offloads (rounds bit 64): a TCP/IPv4 frame whose checksum is left to
    # the back-end, a TSO frame, a header split from its frame.
    def tcp_frame(n):
        eth = bytes(12) + b'\x08\x00'
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, n - 14, 0, 0, 64, 6, 0,
                         bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
        tcp = struct.pack('!HHIIBBHHH', 1, 2, 0, 0, 5 << 4, 0x18, 1024,
                          0x1234, 0)
        return eth + ip + tcp + bytes((i * 3) & 0xff for i in range(n - 54))

    r = Rings(features=8 | 2, rounds=2 | 64, frames=(60, 1514, 9000, 0))
    b = r.buffers
    r.write(b, struct.pack('<BBHHHHH', 1, 0, 0, 0, 34, 16, 0)
            + tcp_frame(200))
    r.desc_entry(TX, 0, b, 12 + 200)
    r.write(b + 0x400, struct.pack('<BBHHHHH', 1, 1, 54, 1448, 34, 16, 0)
            + tcp_frame(3000))
    r.desc_entry(TX, 1, b + 0x400, 12 + 3000)
    r.write(b + 0x1000, struct.pack('<BBHHHHH', 1, 0, 0, 0, 34, 16, 0))
    r.write(b + 0x1100, tcp_frame(100))
    r.desc_entry(TX, 2, b + 0x1000, 12, NEXT, 3)
    r.desc_entry(TX, 3, b + 0x1100, 100)
    r.avail_ring(TX, [0, 1, 2])
    for i in range(8):
        r.desc_entry(RX, 4 + i, b + 0x1200 + 0x100 * i, 0x100, WRITE)
    r.avail_ring(RX, list(range(4, 12)))
    seeds['offloads'] = r.data()

    # Header in its own descriptor, frame split over three.
    r = Rings(features=8 | 1)
    b = r.buffers
    r.desc_entry(TX, 0, b, 12, NEXT, 1)
    r.desc_entry(TX, 1, b + 64, 20, NEXT, 2)
    r.desc_entry(TX, 2, b + 128, 40, 0, 0)
    r.avail_ring(TX, [0])
    # Mergeable receive buffers of 100 bytes each.
    r2 = Rings(features=8 | 2 | 1, frames=(1514, 60, 300, 0))
    b2 = r2.buffers
    for i in range(16):
        r2.desc_entry(RX, i, b2 + 0x100 * i, 100, WRITE)
    r2.avail_ring(RX, list(range(16)))
    seeds['split-chain'] = r.data()
    seeds['mergeable-small-buffers'] = r2.data()

    # Indirect tables, transmit and receive.
    r = Rings(features=8 | 4)
    b = r.buffers
    r.write(b, struct.pack('<QIHH', b + 0x100, 12, NEXT, 1)
            + struct.pack('<QIHH', b + 0x200, 60, 0, 0))
    r.desc_entry(TX, 3, b, 32, INDIRECT)
    r.avail_ring(TX, [3])
    r.write(b + 0x400, struct.pack('<QIHH', b + 0x800, 1600, WRITE, 0))
    r.desc_entry(RX, 0, b + 0x400, 16, INDIRECT)
    r.avail_ring(RX, [0])
    seeds['indirect'] = r.data()

    # Two regions, adjacent in guest memory: buffers across the boundary.
    r = Rings(features=8 | 64, extra0=256, size1=4095)
    end0 = r.size0
    r.desc_entry(TX, 0, end0 - 30, 100)
    r.avail_ring(TX, [0])
    r.desc_entry(RX, 0, end0 - 50, 2000, WRITE)
    r.avail_ring(RX, [0])
    seeds['two-regions-across'] = r.data()

    # Two regions with a hole: a buffer that runs into it.
    r = Rings(features=8 | 64 | 128, extra0=256, size1=4095,
              adjacent=False)
    end0 = r.size0
    r.desc_entry(TX, 0, end0 - 30, 100)
    r.avail_ring(TX, [0])
    r.desc_entry(RX, 0, r.gpa1 + 4000, 2000, WRITE)
    r.avail_ring(RX, [0])
    seeds['two-regions-hole'] = r.data()

    # Index wrap-around: base near 65535.
    r = Rings(features=8 | 1, shift=2, base=(65534, 65534), rounds=3)
    b = r.buffers
    for i in range(4):
        r.desc_entry(TX, i, b + 0x100 * i, 72)
        r.desc_entry(RX, i, b + 0x800 + 0x100 * i, 200, WRITE)
    r.avail_ring(TX, [0, 1, 2, 3])
    r.avail_ring(RX, [3, 2, 1, 0])
    seeds['index-wrap'] = r.data()

    # Dirty logging.
    r = Rings(features=8 | 16 | 32, log=7)
    b = r.buffers
    r.desc_entry(TX, 0, b, 72)
    r.avail_ring(TX, [0])
    r.desc_entry(RX, 0, b + 0x1000, 2048, WRITE)
    r.avail_ring(RX, [0])
    seeds['dirty-log'] = r.data()

    # Ring sizes 1 and 256, misaligned region.
    r = Rings(features=8, shift=0, misalign=77, extra0=300)
    r.desc_entry(TX, 0, r.buffers, 80)
    r.avail_ring(TX, [0])
    r.desc_entry(RX, 0, r.buffers + 100, 100, WRITE)
    r.avail_ring(RX, [0])
    seeds['ring-size-1'] = r.data()
    r = Rings(features=8 | 1, shift=8, extra0=2048)
    r.desc_entry(TX, 255, r.buffers, 72)
    r.avail_ring(TX, [255])
    seeds['ring-size-256'] = r.data()

    # Hostile classes.
    r = Rings(features=8)
    r.desc_entry(TX, 0, r.buffers, 72, NEXT, 0)          # Loop.
    r.avail_ring(TX, [0])
    r.desc_entry(RX, 0, 0xffffffffffffff00, 0x200, WRITE)  # Wraps.
    r.avail_ring(RX, [0])
    seeds['loop-and-wrap'] = r.data()
    r = Rings(features=8)
    r.desc_entry(TX, 0, r.buffers, 0xffffffff)           # Huge length.
    r.avail_ring(TX, [0, 16, 0xffff])                    # Bad heads.
    r.desc_entry(RX, 0, r.size0 - 10, 0x100, WRITE)      # Crosses end.
    r.avail_ring(RX, [0])
    seeds['huge-and-out-of-range'] = r.data()
    r = Rings(features=8 | 4)
    r.write(r.buffers, struct.pack('<QIHH', r.buffers, 16, INDIRECT, 0))
    r.desc_entry(TX, 0, r.buffers, 16, INDIRECT)          # Nested.
    r.avail_ring(TX, [0])
    r.desc_entry(RX, 0, r.buffers, 24, INDIRECT)          # Length % 16.
    r.avail_ring(RX, [0])
    seeds['indirect-nested-and-odd'] = r.data()
    r = Rings(features=8)
    r.avail_ring(TX, [0])
    r.write(r.avail[TX] + 2, struct.pack('<H', 100))     # Idx jumps.
    r.desc_entry(RX, 0, r.buffers, 4, WRITE)             # Header short.
    r.avail_ring(RX, [0])
    seeds['avail-jump-short-header'] = r.data()

    # Packed rings (rounds bit 32): one frame each way, event index on.
    r = Rings(features=8 | 1, rounds=2 | ROUNDS_PACKED, base=(0x8000, 0x8000))
    b = r.buffers
    r.write(b, frame_bytes(60))
    r.pdesc(TX, 0, b, 72)
    r.pdesc(RX, 0, b + 0x800, 2048, WRITE)
    r.pdesc(RX, 1, b + 0x1000, 2048, WRITE, buf_id=1)
    seeds['packed-one-frame'] = r.data()
    # A transmit chain across the end of the ring (wrap counter 0 at its
    # last slot, 1 at slot 0), mergeable receive buffers in an indirect
    # table.
    n = 1 << 4
    r = Rings(features=8 | 4 | 2, rounds=3 | ROUNDS_PACKED,
              base=(0x8000, n - 1))
    b = r.buffers
    r.write(b, bytes(12))
    r.write(b + 0x100, frame_bytes(60)[12:])
    r.pdesc(TX, n - 1, b, 12, NEXT, wrap=0)
    r.pdesc(TX, 0, b + 0x100, 60, wrap=1)
    r.write(b + 0x400, struct.pack('<QIHH', b + 0x800, 100, 0, WRITE)
            + struct.pack('<QIHH', b + 0x1000, 2048, 0, WRITE))
    r.pdesc(RX, 0, b + 0x400, 32, INDIRECT)
    seeds['packed-wrap-indirect'] = r.data()
    return seeds


def main():
    top = (sys.argv[1] if len(sys.argv) > 1
           else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             'corpus'))
    for target, seeds in (('fuzz-messages', messages_seeds()),
                          ('fuzz-rings', rings_seeds())):
        d = os.path.join(top, target)
        os.makedirs(d, exist_ok=True)
        for name, data in sorted(seeds.items()):
            with open(os.path.join(d, 'seed-' + name), 'wb') as f:
                f.write(data)
        print('%s: %d seeds in %s' % (target, len(seeds), d))


if __name__ == '__main__':
    main()
