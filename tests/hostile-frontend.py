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

"""A hostile vhost-user frontend, for regression tests of a back-end.

    hostile-frontend.py --socket PATH --log FILE --port NAME CASE...
    hostile-frontend.py --socket PATH churn N
    hostile-frontend.py --socket PATH --pid PID flood SECONDS
    hostile-frontend.py --socket PATH noise SECONDS
    hostile-frontend.py --socket PATH stress SECONDS
    hostile-frontend.py --list

It speaks vhost-user at byte level (Python's standard library only) and can
send any message, any fds and any ring contents.  Each CASE (a name or a
shell pattern; --list shows them) runs on a connection of its own: it sets
the device up as far as it needs, does one hostile thing and checks the
back-end's reaction:

  break    the back-end logs the expected line and closes the connection;
  queue    it logs the expected line (a virtqueue stopped) and the
           connection still answers;
  refuse   it logs the expected warning and refuses the request (REPLY_ACK
           reports failure) without closing the connection;
  ok       the input is unusual but valid, and the frame arrives intact;
  counted  the bad frame is given back to the guest and the queue goes on
           (the next valid frame arrives); nothing is logged;
  dropped  the frame does not fit the guest's buffers and is not delivered;
           nothing is logged;
  closed   the frontend gives up mid-message; the back-end just notices.

Guest memory is one memfd larger than the two regions it declares: the
bytes before, between and after them (some inside the pages the back-end
maps) hold a pattern that is checked after every case, and again once the
back-end has let go of the connection.

"churn N" connects and disconnects N times (every other time after a full
set-up with memory and rings, every fourth time in the middle of a
message), for leak checks from outside.

"flood SECONDS" sends GET_FEATURES requests as fast as the back-end takes
them for SECONDS without reading a reply, prints the back-end's RSS (of
process PID) before and at the end, then reads every reply and makes one
more request: a back-end that reads on while its replies pile up grows,
one that stops reading (back-pressure) does not.

"stress SECONDS" reconnects again and again, and between echoed frames
replaces the memory table, toggles a ring and turns dirty logging on and
off: the control side's churn for a concurrency stress test.

"noise SECONDS" sends requests that the back-end refuses with a warning
each, for SECONDS, to check that its log lines are rate-limited per port.

Prints one line per case, "PASS name" or "FAIL name: why", then "N passed,
M failed"; exits 1 if any case failed.  The back-end's log file is read to
find the expected lines (only what it wrote since the case began)."""

import argparse
import fcntl
import fnmatch
import mmap
import os
import re
import select
import socket
import struct
import sys
import time

# Wire format (QEMU's docs/interop/vhost-user.rst).
VERSION = 1
FLAG_REPLY = 1 << 2
FLAG_NEED_REPLY = 1 << 3

GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER = 1, 2, 3, 4
SET_MEM_TABLE, SET_LOG_BASE, SET_LOG_FD = 5, 6, 7
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE = 8, 9, 10
GET_VRING_BASE, SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 11, 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES = 15, 16
GET_QUEUE_NUM, SET_VRING_ENABLE = 17, 18
SET_LOG_BASE = 6
RESET_DEVICE = 34
ADD_MEM_REG, REM_MEM_REG = 37, 38

F_MRG_RXBUF = 1 << 15
F_CTRL_VQ = 1 << 17
F_GUEST_ANNOUNCE = 1 << 21
F_MQ = 1 << 22
F_INDIRECT = 1 << 28
F_EVENT_IDX = 1 << 29
F_PROTOCOL_FEATURES = 1 << 30
F_VERSION_1 = 1 << 32
PF_MQ = 1 << 0
PF_REPLY_ACK = 1 << 3
PF_LOG_SHMFD = 1 << 1
PF_CONFIGURE_MEM_SLOTS = 1 << 15
PF_CONFIG = 1 << 9
GET_CONFIG = 24
F_LOG_ALL = 1 << 26
VRING_F_LOG = 1
VRING_NOFD = 1 << 8

DESC_NEXT, DESC_WRITE, DESC_INDIRECT = 1, 2, 4

MAX_PAYLOAD = 272               # The largest payload the back-end takes.
MAX_VRINGS = 256                # 128 queue pairs.
CTRL_VRING = 126                # The control queue's index, with MQ:
                                # 2 * max_virtqueue_pairs (63) of GET_CONFIG.
HDR_LEN = 12                    # virtio_net_hdr_mrg_rxbuf (VERSION_1).

# Guest memory layout.  File offsets: a margin, region A, a margin, region
# B, a margin; neither region starts or ends on a page boundary.  Guest
# physical addresses: A at 0, B at 1 MiB (a hole in between).
PAGE = 4096
A_OFS, A_SIZE, A_GPA, A_UVA = 0x1010, 0x1ffd0, 0, 0x7f0000000000
B_OFS, B_SIZE, B_GPA, B_UVA = 0x22040, 0xffe0, 0x100000, 0x7f0001000000
FILE_SIZE = 0x34000
PATTERN = b'\xde\xad\xbe\xef\x0b\xad\xf0\x0d'

RING_SIZE = 256
TX_BUF = 0x8000                 # Guest transmit buffers (vring 1).
RX_BUF = 0x10000                # Guest receive buffers (vring 0).
SCRATCH = 0x1c000               # Indirect tables and such.

# The control queue, in region B: its rings, a command and its ack.
CTRL_DESC, CTRL_AVAIL, CTRL_USED = 0x100000, 0x101000, 0x102000
CTRL_CMD, CTRL_ACK = 0x104000, 0x104800
CTRL_SIZE = 16

TIMEOUT = 10.0


class CaseFailed(Exception):
    pass


def u64(v):
    return struct.pack('<Q', v & 0xffffffffffffffff)


def state(index, num):
    return struct.pack('<II', index & 0xffffffff, num & 0xffffffff)


def region(gpa, size, uva, offset):
    return struct.pack('<QQQQ', *(x & 0xffffffffffffffff
                                  for x in (gpa, size, uva, offset)))


def mem_table(regions, n=None):
    return struct.pack('<II', len(regions) if n is None else n, 0) \
        + b''.join(regions)


def vring_addr(index, desc, avail, used, flags=0, log=0):
    return struct.pack('<IIQQQQ', index, flags, desc, used, avail, log)


def ring_gpa(v):
    """Guest addresses of vring v's descriptor, available and used rings."""
    base = v * 0x4000
    return base, base + 0x1000, base + 0x2000


def eventfd():
    return os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)


def test_frame(seq):
    """A 60-byte Ethernet frame, distinct per 'seq'."""
    eth = bytes.fromhex('525400000033525400000003') + b'\x88\xb5'
    body = bytes((seq + i) & 0xff for i in range(60 - len(eth)))
    return eth + body


class Memory:
    """The guest's memory: a memfd with two declared regions and patterned
    margins around them."""

    def __init__(self):
        self.fd = os.memfd_create('hostile-guest',
                                  os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        self.shrunk = False
        os.ftruncate(self.fd, FILE_SIZE)
        self.mm = mmap.mmap(self.fd, FILE_SIZE, mmap.MAP_SHARED)
        reps = FILE_SIZE // len(PATTERN)
        self.mm[:] = PATTERN * reps
        for ofs, size in ((A_OFS, A_SIZE), (B_OFS, B_SIZE)):
            self.mm[ofs:ofs + size] = bytes(size)

    def regions(self):
        return [region(A_GPA, A_SIZE, A_UVA, A_OFS),
                region(B_GPA, B_SIZE, B_UVA, B_OFS)]

    def _ofs(self, gpa, n):
        for base, size, ofs in ((A_GPA, A_SIZE, A_OFS),
                                (B_GPA, B_SIZE, B_OFS)):
            if base <= gpa and gpa + n <= base + size:
                return ofs + gpa - base
        raise ValueError('guest address 0x%x not in a region' % gpa)

    def write(self, gpa, data):
        ofs = self._ofs(gpa, len(data))
        self.mm[ofs:ofs + len(data)] = data

    def read(self, gpa, n):
        ofs = self._ofs(gpa, n)
        return bytes(self.mm[ofs:ofs + n])

    def truncate(self):
        """Shrinks the file to nothing under the back-end's mappings (our
        own must not be touched after that)."""
        os.ftruncate(self.fd, 0)
        self.shrunk = True

    def damaged_margin(self):
        """Returns the file offset of the first margin byte that changed, or
        None (also when the file was shrunk: nothing is left)."""
        if self.shrunk:
            return None
        for lo, hi in ((0, A_OFS), (A_OFS + A_SIZE, B_OFS),
                       (B_OFS + B_SIZE, FILE_SIZE)):
            for ofs in range(lo, hi):
                if self.mm[ofs] != PATTERN[ofs % len(PATTERN)]:
                    return ofs
        return None

    def close(self):
        self.mm.close()
        os.close(self.fd)


class Frontend:
    """One connection to the back-end, with its own guest memory."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(path)
        self.mem = Memory()
        self.protocol = 0
        self.fds = []           # Our ends of kick and call eventfds.
        self.avail_idx = [0] * MAX_VRINGS
        self.next_desc = [0] * MAX_VRINGS
        self.tx_seq = 0

    # Messages.

    def send(self, request, payload=b'', fds=(), flags=VERSION, size=None):
        """Sends one message exactly as told ('size' overrides the header's
        payload size)."""
        hdr = struct.pack('<III', request, flags,
                          len(payload) if size is None else size)
        self.send_raw(hdr + payload, fds)

    def send_raw(self, data, fds=()):
        if fds:
            n = socket.send_fds(self.sock, [data], list(fds))
            data = data[n:]
        if data:
            self.sock.sendall(data)

    def recv_exact(self, n):
        data = b''
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise CaseFailed('connection closed by the back-end')
            data += chunk
        return data

    def recv_reply(self, request):
        request_, flags, size = struct.unpack('<III', self.recv_exact(12))
        payload = self.recv_exact(size)
        if request_ != request or not flags & FLAG_REPLY:
            raise CaseFailed('reply to %d instead of %d' % (request_, request))
        return payload

    def call(self, request, payload=b''):
        """Sends a request that has a reply; returns the reply's u64."""
        self.send(request, payload)
        return struct.unpack('<Q', self.recv_reply(request)[:8])[0]

    def request(self, request, payload=b'', fds=()):
        """Sends a request without a reply of its own; with REPLY_ACK,
        waits for the acknowledgement and returns it (0 for success)."""
        if self.protocol & PF_REPLY_ACK:
            self.send(request, payload, fds, VERSION | FLAG_NEED_REPLY)
            return struct.unpack('<Q', self.recv_reply(request))[0]
        self.send(request, payload, fds)
        return 0

    def must(self, request, payload=b'', fds=()):
        if self.request(request, payload, fds):
            raise CaseFailed('request %d refused' % request)

    def alive(self):
        """True if the back-end still answers on this connection."""
        try:
            self.call(GET_FEATURES)
            return True
        except (CaseFailed, OSError):
            return False

    def wait_closed(self):
        """Waits until the back-end closes the connection (replies sent
        before are skipped).  Returns False on timeout."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.sock], [], [], 0.1)
            if r:
                try:
                    if not self.sock.recv(4096):
                        return True
                except ConnectionResetError:
                    return True
        return False

    def close(self):
        self.sock.close()
        for fd in self.fds:
            os.close(fd)
        self.fds = []

    # Set-up, as QEMU does it.

    def negotiate(self, features=F_VERSION_1 | F_MRG_RXBUF | F_INDIRECT,
                  protocol=PF_REPLY_ACK | PF_MQ):
        offered = self.call(GET_FEATURES)
        if offered & F_PROTOCOL_FEATURES:
            features |= F_PROTOCOL_FEATURES
            self.protocol = protocol & self.call(GET_PROTOCOL_FEATURES)
            self.send(SET_PROTOCOL_FEATURES, u64(self.protocol))
        self.must(SET_OWNER)
        self.must(SET_FEATURES, u64(features & offered))
        self.features = features & offered

    def set_mem_table(self):
        self.must(SET_MEM_TABLE, mem_table(self.mem.regions()),
                  [self.mem.fd, self.mem.fd])

    def setup_vring(self, v, size=RING_SIZE, log=False):
        """Sets vring v up; with 'log', its used ring is logged (the
        address flag LOG and the used ring's guest address), as QEMU asks
        for every ring."""
        desc, avail, used = ring_gpa(v)
        self.must(SET_VRING_NUM, state(v, size))
        self.must(SET_VRING_BASE, state(v, 0))
        self.must(SET_VRING_ADDR, vring_addr(v, A_UVA + desc, A_UVA + avail,
                                             A_UVA + used,
                                             flags=VRING_F_LOG if log else 0,
                                             log=used if log else 0))
        kick, call = eventfd(), eventfd()
        self.fds += [kick, call]
        self.must(SET_VRING_KICK, u64(v), [kick])
        self.must(SET_VRING_CALL, u64(v), [call])
        if self.features & F_PROTOCOL_FEATURES:
            self.must(SET_VRING_ENABLE, state(v, 1))

    def setup_ctrl(self, index=CTRL_VRING):
        """Sets the control queue up at frontend index 'index', as a
        frontend that hands it to the back-end does (crosvm)."""
        uva = B_UVA - B_GPA
        self.must(SET_VRING_NUM, state(index, CTRL_SIZE))
        self.must(SET_VRING_BASE, state(index, 0))
        self.must(SET_VRING_ADDR, vring_addr(index, uva + CTRL_DESC,
                                             uva + CTRL_AVAIL,
                                             uva + CTRL_USED))
        self.ctrl_kick, call = eventfd(), eventfd()
        self.fds += [self.ctrl_kick, call]
        self.must(SET_VRING_KICK, u64(index), [self.ctrl_kick])
        self.must(SET_VRING_CALL, u64(index), [call])
        if self.features & F_PROTOCOL_FEATURES:
            self.must(SET_VRING_ENABLE, state(index, 1))
        self.ctrl_avail = 0
        self.ctrl_posted = 0

    def ctrl_post(self, chain, loop=False):
        """Posts the chain of (address, length, flags) on the control
        queue, the ack byte preset to 0xff, and kicks.  With 'loop', the
        last descriptor chains to the next one too."""
        self.mem.write(CTRL_ACK, b'\xff')
        head = self.ctrl_avail % CTRL_SIZE
        for k, (addr, length, flags) in enumerate(chain):
            i = (head + k) % CTRL_SIZE
            nxt = DESC_NEXT if loop or k + 1 < len(chain) else 0
            self.mem.write(CTRL_DESC + 16 * i,
                           struct.pack('<QIHH', addr, length, flags | nxt,
                                       (i + 1) % CTRL_SIZE))
        self.ctrl_avail += len(chain)
        self.mem.write(CTRL_AVAIL + 4 + 2 * (self.ctrl_posted % CTRL_SIZE),
                       struct.pack('<H', head))
        self.ctrl_posted += 1
        self.mem.write(CTRL_AVAIL + 2,
                       struct.pack('<H', self.ctrl_posted & 0xffff))
        os.write(self.ctrl_kick, u64(1))

    def ctrl_command(self, cls, cmd, data=b''):
        """Sends a command as Linux's virtio_net does (header, data, ack in
        three descriptors) and returns the ack."""
        self.mem.write(CTRL_CMD, bytes([cls, cmd]) + data)
        chain = [(CTRL_CMD, 2, 0)]
        if data:
            chain.append((CTRL_CMD + 2, len(data), 0))
        chain.append((CTRL_ACK, 1, DESC_WRITE))
        self.ctrl_post(chain)
        deadline = time.monotonic() + TIMEOUT
        used = CTRL_USED + 2
        while time.monotonic() < deadline:
            idx = struct.unpack('<H', self.mem.read(used, 2))[0]
            if idx == self.ctrl_posted:
                return self.mem.read(CTRL_ACK, 1)[0]
            time.sleep(0.005)
        raise CaseFailed('control command %d/%d not answered' % (cls, cmd))

    def setup(self, **kwargs):
        """A complete, valid set-up of queue pair 0."""
        self.negotiate(**kwargs)
        self.set_mem_table()
        self.setup_vring(0)
        self.setup_vring(1)

    # Rings.

    def desc(self, v, i, addr, length, flags=0, nxt=0):
        self.mem.write(ring_gpa(v)[0] + 16 * i,
                       struct.pack('<QIHH', addr & 0xffffffffffffffff,
                                   length & 0xffffffff, flags, nxt))

    def publish(self, v, heads, idx=None):
        """Makes 'heads' available on vring v (and sets the index to 'idx'
        if given, whatever the heads)."""
        avail = ring_gpa(v)[1]
        for h in heads:
            slot = self.avail_idx[v] % RING_SIZE
            self.mem.write(avail + 4 + 2 * slot, struct.pack('<H', h))
            self.avail_idx[v] = (self.avail_idx[v] + 1) & 0xffff
        if idx is not None:
            self.avail_idx[v] = idx & 0xffff
        self.mem.write(avail + 2, struct.pack('<H', self.avail_idx[v]))

    def used_idx(self, v):
        return struct.unpack('<H', self.mem.read(ring_gpa(v)[2] + 2, 2))[0]

    def used_elem(self, v, n):
        ofs = ring_gpa(v)[2] + 4 + 8 * (n % RING_SIZE)
        return struct.unpack('<II', self.mem.read(ofs, 8))

    def wait_used(self, v, target, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.used_idx(v) == target:
                return True
            time.sleep(0.005)
        return False

    def post_rx(self, n=4, size=2048):
        """Makes 'n' receive buffers available on vring 0."""
        heads = []
        for _ in range(n):
            i = self.next_desc[0]
            self.next_desc[0] = (i + 1) % 16
            self.desc(0, i, RX_BUF + i * size % 0x8000, size, DESC_WRITE)
            heads.append(i)
        self.publish(0, heads)

    def send_frame(self):
        """Transmits one valid test frame on vring 1; returns it."""
        frame = test_frame(self.tx_seq)
        self.tx_seq += 1
        i = 32 + self.next_desc[1]
        self.next_desc[1] = (self.next_desc[1] + 1) % 16
        addr = TX_BUF + (i - 32) * 0x100
        self.mem.write(addr, bytes(HDR_LEN) + frame)
        self.desc(1, i, addr, HDR_LEN + len(frame))
        self.publish(1, [i])
        return frame

    def receive(self, used_before, timeout=TIMEOUT):
        """Waits for one frame on vring 0 after 'used_before' used entries
        and returns it, without its header."""
        if not self.wait_used(0, (used_before + 1) & 0xffff, timeout):
            raise CaseFailed('no frame received (used index %d)'
                             % self.used_idx(0))
        head, length = self.used_elem(0, used_before)
        addr = struct.unpack('<Q', self.mem.read(ring_gpa(0)[0] + 16 * head,
                                                 8))[0]
        return self.mem.read(addr, length)[HDR_LEN:]

    def echo_check(self):
        """Sends a frame and checks that it comes back (the switch's flow
        sends the port's frames back to it)."""
        self.post_rx(1)
        before = self.used_idx(0)
        frame = self.send_frame()
        got = self.receive(before)
        if got != frame:
            raise CaseFailed('frame came back damaged')


# Cases.

CASES = {}


def case(name, expect, log=None):
    """Registers a case: 'log' is the regular expression of the line the
    back-end must log (after "PORT: ")."""
    def register(fn):
        assert name not in CASES
        CASES[name] = (fn, expect, log)
        return fn
    return register


def bad_message(name, log, *msg, setup=False, fds=None):
    """A case that sends one message the back-end must reject by closing
    the connection."""
    def fn(fe):
        if setup:
            fe.setup()
        else:
            fe.negotiate()
        send_fds = [fe.mem.fd] * fds if fds else ()
        fe.send(*msg[:2], send_fds, *msg[2:])
    case(name, 'break', log)(fn)


# Messages with the wrong size for their type, oversized, truncated.
bad_message('msg-size-set-features',
            r'SET_FEATURES: payload of 4 bytes \(expected 8\)',
            SET_FEATURES, b'\0' * 4)
bad_message('msg-size-get-features',
            r'GET_FEATURES: payload of 8 bytes \(expected 0\)',
            GET_FEATURES, u64(0))
bad_message('msg-size-vring-addr',
            r'SET_VRING_ADDR: payload of 32 bytes \(expected 40\)',
            SET_VRING_ADDR, bytes(32))
bad_message('msg-size-vring-state',
            r'SET_VRING_NUM: payload of 4 bytes \(expected 8\)',
            SET_VRING_NUM, bytes(4))
bad_message('msg-size-mem-table-short',
            r'SET_MEM_TABLE: payload of 4 bytes too short',
            SET_MEM_TABLE, bytes(4))
bad_message('msg-oversized',
            r'SET_OWNER with 4096 bytes of payload \(at most %d\)'
            % MAX_PAYLOAD, SET_OWNER, bytes(4096))
bad_message('msg-size-huge',
            r'GET_FEATURES with 4294967295 bytes of payload',
            GET_FEATURES, b'', VERSION, 0xffffffff)
bad_message('msg-bad-version',
            r'message with version 0 \(expected 1\)', GET_FEATURES, b'', 0)
bad_message('msg-reply-flag-version-2',
            r'message with version 2 \(expected 1\)', GET_FEATURES, b'',
            2 | FLAG_REPLY)


@case('msg-truncated', 'closed',
      r'vhost-user frontend disconnected \(connection closed\)')
def _(fe):
    fe.negotiate()
    msg = struct.pack('<III', SET_MEM_TABLE, VERSION, 72) + bytes(20)
    fe.send_raw(msg, [fe.mem.fd])


@case('msg-truncated-header', 'closed',
      r'vhost-user frontend disconnected \(connection closed\)')
def _(fe):
    fe.negotiate()
    fe.send_raw(struct.pack('<III', SET_VRING_NUM, VERSION, 8)[:7])


# Requests the back-end does not know or does not support: refused.
@case('msg-unknown-request', 'refuse',
      r'unknown request \(99\) not supported, refused')
def _(fe):
    fe.negotiate()
    if fe.request(99) != 1:
        raise CaseFailed('unknown request acknowledged as done')


@case('msg-unknown-request-huge', 'refuse',
      r'unknown request \(4294967295\) not supported, refused')
def _(fe):
    fe.negotiate()
    if fe.request(0xffffffff, u64(0)) != 1:
        raise CaseFailed('unknown request acknowledged as done')


@case('msg-unsupported-request', 'refuse',
      r'RESET_DEVICE \(34\) not supported, refused')
def _(fe):
    fe.negotiate()
    if fe.request(RESET_DEVICE) != 1:
        raise CaseFailed('RESET_DEVICE acknowledged as done')


# Fds where none belong, too many fds.
bad_message('fds-on-set-owner',
            r'SET_OWNER: 1 fds attached \(expected 0\)', SET_OWNER, b'',
            fds=1)
bad_message('fds-on-get-features',
            r'GET_FEATURES: 2 fds attached \(expected 0\)', GET_FEATURES,
            b'', fds=2)
bad_message('fds-on-vring-num',
            r'SET_VRING_NUM: 3 fds attached \(expected 0\)', SET_VRING_NUM,
            state(0, 256), fds=3)
bad_message('fds-on-kick-nofd',
            r'SET_VRING_KICK: 1 fds attached \(expected 0\)',
            SET_VRING_KICK, u64(VRING_NOFD), fds=1)
bad_message('fds-too-many-at-once',
            r'frontend sent more than 8 fds at once',
            SET_MEM_TABLE, mem_table([]), fds=9)


@case('fds-too-many-per-message', 'break',
      r'more than 8 fds with one message')
def _(fe):
    fe.negotiate()
    msg = struct.pack('<III', SET_MEM_TABLE, VERSION, 8) + bytes(8)
    fe.send_raw(msg[:4], [fe.mem.fd] * 5)
    time.sleep(0.05)
    fe.send_raw(msg[4:], [fe.mem.fd] * 5)


# SET_MEM_TABLE and ADD_MEM_REG.
bad_message('mem-0-regions',
            r'SET_MEM_TABLE: 0 regions \(expected 1 to 8\)',
            SET_MEM_TABLE, mem_table([]))
bad_message('mem-9-regions',
            r'SET_MEM_TABLE: 9 regions \(expected 1 to 8\)',
            SET_MEM_TABLE, mem_table([region(i << 20, 4096, i << 20, 0)
                                      for i in range(8)], n=9), fds=8)
bad_message('mem-fd-count',
            r'SET_MEM_TABLE: 2 regions with 72 bytes of payload and 1 fds',
            SET_MEM_TABLE, mem_table([region(0, 4096, 0, 0x2000),
                                      region(4096, 4096, 4096, 0x3000)]),
            fds=1)
bad_message('mem-overlap-guest',
            r'memory region at guest address 0x1000 overlaps region at 0x0',
            SET_MEM_TABLE, mem_table([region(0, 0x2000, A_UVA, 0x2000),
                                      region(0x1000, 0x2000, B_UVA,
                                             0x8000)]), fds=2)
bad_message('mem-overlap-user',
            r'memory region at guest address 0x100000 overlaps region',
            SET_MEM_TABLE, mem_table([region(0, 0x2000, A_UVA, 0x2000),
                                      region(0x100000, 0x2000,
                                             A_UVA + 0x1000, 0x8000)]),
            fds=2)
bad_message('mem-offset-beyond-file',
            r'goes beyond the end of its file',
            SET_MEM_TABLE, mem_table([region(0, 0x1000, A_UVA,
                                             FILE_SIZE + 0x1000)]), fds=1)
bad_message('mem-size-beyond-file',
            r'goes beyond the end of its file',
            SET_MEM_TABLE, mem_table([region(0, FILE_SIZE, A_UVA, 0x10)]),
            fds=1)
bad_message('mem-size-overflow',
            r'memory region at guest address 0x1000 with size '
            r'0xfffffffffffff000 wraps around',
            SET_MEM_TABLE, mem_table([region(0x1000, -0x1000, A_UVA, 0)]),
            fds=1)
bad_message('mem-offset-overflow',
            r'wraps around',
            SET_MEM_TABLE, mem_table([region(0, 0x2000, A_UVA, -0x1000)]),
            fds=1)
bad_message('mem-size-zero', r'memory region with size 0',
            SET_MEM_TABLE, mem_table([region(0, 0, A_UVA, 0)]), fds=1)


@case('mem-not-mappable', 'break', r'mmap of memory region .* failed')
def _(fe):
    fe.negotiate()
    r, w = os.pipe()
    fe.send(SET_MEM_TABLE, mem_table([region(0, 0x1000, A_UVA, 0)]), [r])
    os.close(r)
    os.close(w)


@case('mem-add-too-many', 'break', r'too many memory regions \(max 32\)')
def _(fe):
    fe.negotiate()
    for i in range(33):
        fe.send(ADD_MEM_REG, u64(0) + region(i * PAGE, PAGE,
                                             A_UVA + i * PAGE, 0),
                [fe.mem.fd])


@case('mem-table-shrinks-under-rings', 'queue',
      r'vring 0: descriptor ring at 0x7f0000000000 \(size 256\) is not '
      r'inside mapped memory: the ring waits')
def _(fe):
    # The rings wait for memory that maps them (as DPDK's do).
    fe.setup()
    fe.send(SET_MEM_TABLE, mem_table([region(0x100000, 0x1000, B_UVA,
                                             B_OFS)]), [fe.mem.fd])


@case('mem-region-removed-and-back', 'ok',
      r'vring 1: descriptor ring at 0x7f0000004000 \(size 256\) is not '
      r'inside mapped memory: the ring waits')
def _(fe):
    # The region of the live rings removed, then added back: the rings
    # wait in between and then carry frames again.
    fe.setup(protocol=PF_REPLY_ACK | PF_MQ | PF_CONFIGURE_MEM_SLOTS)
    fe.echo_check()
    a = fe.mem.regions()[0]
    fe.must(REM_MEM_REG, u64(0) + a)
    fe.must(ADD_MEM_REG, u64(0) + a, [fe.mem.fd])
    fe.echo_check()


# Vring index >= the number of vrings, in every vring message.
def bad_vring_index(request, payload, fds=0, shown=MAX_VRINGS):
    name = 'vring-index-%d' % request
    bad_message(name, r': vring index %d out of range \(%d\)'
                % (shown, MAX_VRINGS), request, payload, fds=fds)


for _request in (SET_VRING_NUM, SET_VRING_BASE, GET_VRING_BASE,
                 SET_VRING_ENABLE):
    bad_vring_index(_request, state(MAX_VRINGS, 1))
bad_vring_index(SET_VRING_ADDR, vring_addr(MAX_VRINGS, 0, 0, 0))
# (SET_VRING_KICK, CALL and ERR carry an 8-bit index: every one is valid.)
bad_message('vring-index-huge-num', r'vring index 4294967295 out of range',
            SET_VRING_NUM, state(0xffffffff, 256))
bad_message('vring-index-kick-high-bits', r'SET_VRING_KICK: invalid payload '
            r'0x10000', SET_VRING_KICK, u64(0x10000), fds=1)


# Ring sizes and ring addresses.
bad_message('ring-size-0', r'vring 0 size 0 is not a power of 2 up to 32768',
            SET_VRING_NUM, state(0, 0))
bad_message('ring-size-255', r'vring 0 size 255 is not a power of 2',
            SET_VRING_NUM, state(0, 255))
bad_message('ring-size-65536', r'vring 1 size 65536 is not a power of 2',
            SET_VRING_NUM, state(1, 65536))
bad_message('ring-base-65536', r'SET_VRING_BASE: vring 0: base 65536 out of '
            r'range', SET_VRING_BASE, state(0, 65536))
bad_message('ring-enable-2', r'SET_VRING_ENABLE: vring 0: invalid value 2',
            SET_VRING_ENABLE, state(0, 2))
bad_message('ring-addr-flags', r'SET_VRING_ADDR: vring 0: unknown flags 0x2',
            SET_VRING_ADDR, vring_addr(0, A_UVA, A_UVA + 0x1000,
                                       A_UVA + 0x2000, flags=2))
bad_message('features-not-offered', r'SET_FEATURES: features '
            r'0x8000000000000000 were not offered', SET_FEATURES,
            u64(1 << 63))


def bad_ring_addr(name, log, desc, avail, used, v=0):
    def fn(fe):
        fe.negotiate()
        fe.set_mem_table()
        fe.must(SET_VRING_NUM, state(v, RING_SIZE))
        fe.send(SET_VRING_ADDR, vring_addr(v, desc, avail, used))
    case(name, 'break', log)(fn)


bad_ring_addr('ring-misaligned-desc', r'vring 0: misaligned ring',
              A_UVA + 8, A_UVA + 0x1000, A_UVA + 0x2000)
bad_ring_addr('ring-misaligned-used', r'vring 0: misaligned ring',
              A_UVA, A_UVA + 0x1000, A_UVA + 0x2002)
bad_ring_addr('ring-not-mapped', r'vring 1: rings not inside mapped memory',
              A_UVA - 0x100000, A_UVA + 0x1000, A_UVA + 0x2000, v=1)
bad_ring_addr('ring-in-hole', r'vring 0: rings not inside mapped memory',
              A_UVA, A_UVA + A_SIZE + 0x100, A_UVA + 0x2000)
bad_ring_addr('ring-across-region-end',
              r'vring 0: rings not inside mapped memory',
              A_UVA, A_UVA + 0x1000, A_UVA + A_SIZE - 0x400)
bad_ring_addr('ring-addr-wraps', r'vring 0: rings not inside mapped memory',
              0xfffffffffffff000, A_UVA + 0x1000, A_UVA + 0x2000)


@case('ring-addr-before-table', 'queue',
      r'vring 0: available ring at 0x7f0000100000 \(size 256\) is not '
      r'inside mapped memory: the ring waits')
def _(fe):
    # No memory table yet: the addresses cannot be checked until the kick;
    # then the ring waits for memory that maps it (as DPDK's does).
    fe.negotiate()
    fe.must(SET_VRING_NUM, state(0, RING_SIZE))
    fe.must(SET_VRING_ADDR, vring_addr(0, A_UVA, A_UVA + 0x100000,
                                       A_UVA + 0x2000))
    fe.set_mem_table()
    fe.must(SET_VRING_KICK, u64(0 | VRING_NOFD))
    fe.send(SET_VRING_ENABLE, state(0, 1))


# Descriptors on the transmit queue (vring 1), which the switch reads.
def bad_tx(name, log, build, features=None):
    """'build(fe)' lays out descriptors and returns the heads to make
    available (or None if it published them itself)."""
    def fn(fe):
        if features is None:
            fe.setup()
        else:
            fe.setup(features=features)
        heads = build(fe)
        if heads is not None:
            fe.publish(1, heads)
    case(name, 'queue', r'vring 1: %s.*; stopping the queue$' % log)(fn)


def tx_one(addr, length, flags=0, nxt=0):
    def build(fe):
        fe.desc(1, 0, addr, length, flags, nxt)
        return [0]
    return build


bad_tx('desc-tx-outside', r'transmit buffer at 0x80000 \(length 100\) not in '
       r'mapped memory', tx_one(0x80000, 100))
bad_tx('desc-tx-across-region-end', r'transmit buffer at 0x1ffc6 \(length '
       r'100\) not in mapped memory', tx_one(A_SIZE - 10, 100))
bad_tx('desc-tx-across-region-b-end', r'transmit buffer at 0x10ffd0 '
       r'\(length 100\) not in mapped memory', tx_one(B_GPA + B_SIZE - 16,
                                                        100))
bad_tx('desc-tx-huge-length', r'transmit buffer at 0x8000 \(length '
       r'4294967295\) not in mapped memory', tx_one(TX_BUF, 0xffffffff))
bad_tx('desc-tx-64bit-wrap', r'transmit buffer at 0xffffffffffffff00 '
       r'\(length 512\) not in mapped memory', tx_one(-0x100, 0x200))
bad_tx('desc-tx-32bit-wrap', r'transmit buffer at 0xffffff00 \(length '
       r'512\) not in mapped memory', tx_one(0xffffff00, 0x200))
bad_tx('desc-tx-device-writable', r'device-writable descriptor in a '
       r'transmit chain', tx_one(TX_BUF, 72, DESC_WRITE))
bad_tx('desc-tx-head-out-of-range', r'descriptor head 256 out of range',
       lambda fe: [256])
bad_tx('desc-tx-head-65535', r'descriptor head 65535 out of range',
       lambda fe: [65535])
bad_tx('desc-tx-next-out-of-range', r'descriptor index 300 out of range '
       r'\(256\)', tx_one(TX_BUF, 12, DESC_NEXT, 300))


def tx_loop(fe):
    fe.desc(1, 0, TX_BUF, 12, DESC_NEXT, 1)
    fe.desc(1, 1, TX_BUF, 12, DESC_NEXT, 0)
    return [0]


bad_tx('desc-tx-loop', r'descriptor chain longer than 256 \(loop\?\)',
       tx_loop)
bad_tx('desc-tx-self-loop', r'descriptor chain longer than 256 \(loop\?\)',
       tx_one(TX_BUF, 1, DESC_NEXT, 0))


def tx_chain_all(fe):
    # Every descriptor in one chain, the last pointing back to the first.
    for i in range(RING_SIZE):
        fe.desc(1, i, TX_BUF, 1, DESC_NEXT, (i + 1) % RING_SIZE)
    return [0]


bad_tx('desc-tx-chain-longer-than-ring', r'descriptor chain longer than '
       r'256', tx_chain_all)
bad_tx('avail-idx-jump', r'available index 257 is more than the ring size '
       r'256 ahead of 0', lambda fe: fe.publish(1, [], idx=257))
bad_tx('avail-idx-jump-backwards', r'available index 65535 is more than the '
       r'ring size 256 ahead of 0', lambda fe: fe.publish(1, [], idx=65535))


def indirect_tx(table_addr, table_len, entries=(), flags=DESC_INDIRECT):
    def build(fe):
        for k, (addr, length, f, nxt) in enumerate(entries):
            fe.mem.write(SCRATCH + 16 * k,
                         struct.pack('<QIHH', addr, length, f, nxt))
        fe.desc(1, 0, table_addr, table_len, flags)
        return [0]
    return build


bad_tx('indirect-outside', r'indirect table at 0x80000 \(length 32\) not in '
       r'mapped memory', indirect_tx(0x80000, 32))
bad_tx('indirect-across-region-end', r'indirect table at 0x1ffc0 \(length '
       r'32\) not in mapped memory', indirect_tx(A_SIZE - 16, 32))
bad_tx('indirect-length-not-multiple', r'indirect table length 24 invalid',
       indirect_tx(SCRATCH, 24))
bad_tx('indirect-length-0', r'indirect table length 0 invalid',
       indirect_tx(SCRATCH, 0))
bad_tx('indirect-length-huge', r'indirect table length 4294967280 invalid',
       indirect_tx(SCRATCH, 0xfffffff0))
bad_tx('indirect-nested', r'nested indirect descriptor table',
       indirect_tx(SCRATCH, 32, [(SCRATCH, 32, DESC_INDIRECT, 0),
                                 (TX_BUF, 72, 0, 0)]))
bad_tx('indirect-with-next', r'indirect descriptor with NEXT flag',
       indirect_tx(SCRATCH, 32, flags=DESC_INDIRECT | DESC_NEXT))
bad_tx('indirect-next-out-of-range', r'descriptor index 5 out of range '
       r'\(2\)', indirect_tx(SCRATCH, 32, [(TX_BUF, 12, DESC_NEXT, 5),
                                          (TX_BUF, 60, 0, 0)]))
bad_tx('indirect-loop', r'descriptor chain longer than 2',
       indirect_tx(SCRATCH, 32, [(TX_BUF, 12, DESC_NEXT, 1),
                                 (TX_BUF, 60, DESC_NEXT, 0)]))
bad_tx('indirect-buffer-outside', r'transmit buffer at 0x90000 \(length 60\) '
       r'not in mapped memory',
       indirect_tx(SCRATCH, 32, [(TX_BUF, 12, DESC_NEXT, 1),
                                 (0x90000, 60, 0, 0)]))
bad_tx('indirect-not-negotiated', r'indirect descriptor not negotiated',
       indirect_tx(SCRATCH, 32, [(TX_BUF, 72, 0, 0)]),
       features=F_VERSION_1 | F_MRG_RXBUF)


# Descriptors on the receive queue (vring 0), which the switch writes.
# The frontend transmits a valid frame; the switch's flow sends it back.
def bad_rx(name, log, build, features=None):
    def fn(fe):
        if features is None:
            fe.setup()
        else:
            fe.setup(features=features)
        heads = build(fe)
        if heads is not None:
            fe.publish(0, heads)
        fe.send_frame()
    case(name, 'queue', r'vring 0: %s.*; stopping the queue$' % log)(fn)


def rx_one(addr, length, flags=DESC_WRITE, nxt=0):
    def build(fe):
        fe.desc(0, 0, addr, length, flags, nxt)
        return [0]
    return build


bad_rx('desc-rx-outside', r'receive buffer at 0x80000 \(length 2048\) not in '
       r'mapped memory', rx_one(0x80000, 2048))
bad_rx('desc-rx-across-region-end', r'receive buffer at 0x1ffc0 \(length '
       r'2048\) not in mapped memory', rx_one(A_SIZE - 16, 2048))
bad_rx('desc-rx-64bit-wrap', r'receive buffer at 0xffffffffffffff00 '
       r'\(length 2048\) not in mapped memory', rx_one(-0x100, 2048))
bad_rx('desc-rx-huge-length', r'receive buffer at 0x10000 \(length '
       r'4294967295\) not in mapped memory', rx_one(RX_BUF, 0xffffffff))
bad_rx('desc-rx-read-only', r'read-only descriptor in a receive chain',
       rx_one(RX_BUF, 2048, 0))
bad_rx('desc-rx-head-out-of-range', r'descriptor head 4096 out of range',
       lambda fe: [4096])
bad_rx('desc-rx-loop', r'descriptor chain longer than 256',
       rx_one(RX_BUF, 0, DESC_WRITE | DESC_NEXT, 0))
bad_rx('indirect-rx-length-not-multiple', r'indirect table length 40 '
       r'invalid', rx_one(SCRATCH, 40, DESC_INDIRECT))


def rx_indirect_nested(fe):
    fe.mem.write(SCRATCH, struct.pack('<QIHH', SCRATCH, 16, DESC_INDIRECT, 0))
    fe.desc(0, 0, SCRATCH, 16, DESC_INDIRECT)
    return [0]


bad_rx('indirect-rx-nested', r'nested indirect descriptor table',
       rx_indirect_nested)


# Unusual but valid layouts, and bad frames that cost only the frame.
@case('hdr-split-tx', 'ok')
def _(fe):
    # Header in two descriptors (5 + 7 bytes), frame in a third.
    fe.setup()
    fe.post_rx(1)
    before = fe.used_idx(0)
    frame = test_frame(99)
    fe.mem.write(TX_BUF, bytes(HDR_LEN))
    fe.mem.write(TX_BUF + 0x100, frame)
    fe.desc(1, 0, TX_BUF, 5, DESC_NEXT, 1)
    fe.desc(1, 1, TX_BUF + 5, 7, DESC_NEXT, 2)
    fe.desc(1, 2, TX_BUF + 0x100, len(frame))
    fe.publish(1, [0])
    if fe.receive(before) != frame:
        raise CaseFailed('frame damaged')


@case('hdr-split-rx', 'ok')
def _(fe):
    # The guest's receive chain splits the header: 5 bytes, then the rest.
    fe.setup()
    fe.desc(0, 0, RX_BUF, 5, DESC_WRITE | DESC_NEXT, 1)
    fe.desc(0, 1, RX_BUF + 5, 2043, DESC_WRITE)
    fe.publish(0, [0])
    frame = fe.send_frame()
    if not fe.wait_used(0, 1):
        raise CaseFailed('frame not received')
    if fe.used_elem(0, 0) != (0, HDR_LEN + len(frame)):
        raise CaseFailed('used element %r' % (fe.used_elem(0, 0),))
    if fe.mem.read(RX_BUF + HDR_LEN, len(frame)) != frame:
        raise CaseFailed('frame damaged')


@case('hdr-split-rx-mergeable-tiny-buffers', 'ok')
def _(fe):
    # Mergeable buffers of 4 bytes each (smaller than the header, which
    # the spec forbids): the header and its num_buffers field straddle
    # buffers.
    fe.setup()
    n = (HDR_LEN + 60 + 3) // 4
    for i in range(n):
        fe.desc(0, i, RX_BUF + 4 * i, 4, DESC_WRITE)
    fe.publish(0, list(range(n)))
    frame = fe.send_frame()
    if not fe.wait_used(0, n):
        raise CaseFailed('used index %d, expected %d' % (fe.used_idx(0), n))
    data = fe.mem.read(RX_BUF, 4 * n)
    if struct.unpack('<H', data[10:12])[0] != n:
        raise CaseFailed('num_buffers %d' % struct.unpack('<H',
                                                           data[10:12])[0])
    if data[HDR_LEN:HDR_LEN + len(frame)] != frame:
        raise CaseFailed('frame damaged')


def counted_tx(name, build):
    """The frame at head 0 is invalid but harmless: the switch gives it
    back unused, counts an error and goes on with the next frame."""
    def fn(fe):
        fe.setup()
        build(fe)
        fe.publish(1, [0])
        if not fe.wait_used(1, 1):
            raise CaseFailed('bad frame not given back')
        fe.echo_check()
    case(name, 'counted')(fn)


counted_tx('desc-tx-length-0', lambda fe: fe.desc(1, 0, TX_BUF, 0))
counted_tx('hdr-tx-shorter-than-header', lambda fe: fe.desc(1, 0, TX_BUF, 8))


def tx_too_long(fe):
    # 65536 bytes of frame after the header: longer than the switch takes.
    fe.desc(1, 0, TX_BUF, 0x10000 + HDR_LEN)


counted_tx('desc-tx-frame-too-long', tx_too_long)


@case('hdr-rx-shorter-than-header', 'dropped')
def _(fe):
    # Without mergeable buffers the frame must fit one chain: a 4-byte
    # buffer cannot take it, so the switch drops the frame.
    fe.setup(features=F_VERSION_1)
    fe.desc(0, 0, RX_BUF, 4, DESC_WRITE)
    fe.publish(0, [0])
    fe.send_frame()
    if not fe.wait_used(1, 1):
        raise CaseFailed('frame not sent')
    time.sleep(0.3)
    if fe.used_idx(0) != 0:
        raise CaseFailed('something was written into a 4-byte buffer')


# Offload requests (the switch with userspace-tso-enable: tests/hostile.at).

F_CSUM, F_GUEST_CSUM = 1 << 0, 1 << 1
F_HOST_TSO4, F_HOST_TSO6 = 1 << 11, 1 << 12
F_OL_HOST = (F_VERSION_1 | F_MRG_RXBUF | F_INDIRECT | F_CSUM | F_HOST_TSO4
             | F_HOST_TSO6)
NEEDS_CSUM = 1
GSO_TCPV4, GSO_UDP, GSO_TCPV6, GSO_ECN = 1, 3, 4, 0x80
OL_BUF = B_GPA + 0x5000         # Frames with requests, 4 KiB apart.


def csum_sum(data, total=0):
    """The one's complement sum of 'data' as big-endian 16-bit words."""
    if len(data) % 2:
        data += b'\0'
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return total


def tcp4_pseudo(frame):
    ip = frame[14:34]
    return csum_sum(ip[12:20] + struct.pack('!HH', 6, len(frame) - 34))


def tcp4_frame(payload_len, seq=1000, flags=0x18):
    """A TCP/IPv4 frame whose checksum field holds the pseudo-header's sum,
    as a driver leaves it for NEEDS_CSUM."""
    eth = bytes.fromhex('525400000033525400000003') + b'\x08\x00'
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40 + payload_len, 7, 0, 64,
                     6, 0, bytes([10, 0, 0, 3]), bytes([10, 0, 0, 4]))
    ip = ip[:10] + struct.pack('!H', 0xffff ^ csum_sum(ip)) + ip[12:]
    tcp = struct.pack('!HHIIBBHHH', 1234, 5001, seq, 0, 5 << 4, flags,
                      1024, 0, 0)
    payload = bytes((i * 7) & 0xff for i in range(payload_len))
    frame = eth + ip + tcp + payload
    return (frame[:50] + struct.pack('!H', tcp4_pseudo(frame))
            + frame[52:])


def tcp4_csum_ok(frame):
    return csum_sum(frame[34:], tcp4_pseudo(frame)) == 0xffff


def ol_hdr(flags=0, gso=0, hdr_len=0, gso_size=0, start=0, offset=0):
    return struct.pack('<BBHHHHH', flags, gso, hdr_len, gso_size, start,
                       offset, 0)


def ol_setup(fe):
    fe.setup(features=F_OL_HOST)
    if not fe.features & F_CSUM:
        raise CaseFailed('offloads not offered (userspace-tso-enable?)')


def ol_send(fe, hdr, frame, i=0):
    addr = OL_BUF + i * 0x1000
    fe.mem.write(addr, hdr + frame)
    fe.desc(1, 64 + i, addr, len(hdr) + len(frame))
    fe.publish(1, [64 + i])


def bad_offload(name, hdr):
    """A frame with offload request 'hdr(frame)' that the switch must drop
    and count, giving its buffer back, then go on."""
    def fn(fe):
        ol_setup(fe)
        frame = tcp4_frame(200)
        ol_send(fe, hdr(frame), frame)
        if not fe.wait_used(1, 1):
            raise CaseFailed('bad frame not given back')
        fe.echo_check()
    case(name, 'counted')(fn)


bad_offload('ol-csum-start-past-frame',
            lambda f: ol_hdr(NEEDS_CSUM, start=len(f)))
bad_offload('ol-csum-field-past-frame',
            lambda f: ol_hdr(NEEDS_CSUM, start=len(f) - 10, offset=9))
bad_offload('ol-csum-start-65535',
            lambda f: ol_hdr(NEEDS_CSUM, start=0xffff, offset=0xffff))
bad_offload('ol-gso-without-csum',
            lambda f: ol_hdr(0, GSO_TCPV4, 54, 100))
bad_offload('ol-gso-size-0',
            lambda f: ol_hdr(NEEDS_CSUM, GSO_TCPV4, 54, 0, 34, 16))
bad_offload('ol-gso-udp',
            lambda f: ol_hdr(NEEDS_CSUM, GSO_UDP, 42, 100, 34, 6))
bad_offload('ol-gso-ecn-not-negotiated',
            lambda f: ol_hdr(NEEDS_CSUM, GSO_TCPV4 | GSO_ECN, 54, 100, 34,
                             16))
bad_offload('ol-hdr-len-past-frame',
            lambda f: ol_hdr(NEEDS_CSUM, GSO_TCPV4, len(f) + 1, 100, 34,
                             16))
bad_offload('ol-flags-unknown',
            lambda f: ol_hdr(NEEDS_CSUM | 4, 0, 0, 0, 34, 16))
# Valid for the engine, not for the frame: TCPv6 GSO on IPv4, GSO whose
# checksum start is not the TCP header.
bad_offload('ol-gso-tcpv6-on-ipv4',
            lambda f: ol_hdr(NEEDS_CSUM, GSO_TCPV6, 54, 100, 34, 16))
bad_offload('ol-gso-not-at-tcp',
            lambda f: ol_hdr(NEEDS_CSUM, GSO_TCPV4, 54, 100, 30, 16))


@case('ol-csum-completed', 'ok')
def _(fe):
    # The frame comes back to this frontend, which did not negotiate
    # GUEST_CSUM: the switch completes the checksum.
    ol_setup(fe)
    fe.post_rx(1)
    before = fe.used_idx(0)
    frame = tcp4_frame(300)
    ol_send(fe, ol_hdr(NEEDS_CSUM, start=34, offset=16), frame)
    got = fe.receive(before)
    if len(got) != len(frame) or got[:50] != frame[:50] \
            or got[52:] != frame[52:]:
        raise CaseFailed('frame came back changed')
    if not tcp4_csum_ok(got):
        raise CaseFailed('checksum not completed')


@case('ol-tso-segmented', 'ok')
def _(fe):
    # A TSO frame of 2946 bytes of payload comes back to this frontend,
    # which did not negotiate GUEST_TSO4: as segments of the port's MTU
    # (1500: 1460 bytes of payload), FIN and PSH on the last only.
    ol_setup(fe)
    fe.post_rx(4)
    before = fe.used_idx(0)
    frame = tcp4_frame(2946, seq=5000, flags=0x19)
    ol_send(fe, ol_hdr(NEEDS_CSUM, GSO_TCPV4, 54, 1000, 34, 16), frame)
    if not fe.wait_used(0, (before + 3) & 0xffff):
        raise CaseFailed('%d frames came back, expected 3'
                         % ((fe.used_idx(0) - before) & 0xffff))
    segs = []
    for k in range(3):
        head, length = fe.used_elem(0, (before + k) & 0xffff)
        addr = struct.unpack('<Q', fe.mem.read(ring_gpa(0)[0] + 16 * head,
                                               8))[0]
        segs.append(fe.mem.read(addr, length)[HDR_LEN:])
    payload = b''
    for k, seg in enumerate(segs):
        want = 1460 if k < 2 else 26
        if len(seg) != 54 + want:
            raise CaseFailed('segment %d: %d bytes' % (k, len(seg)))
        if struct.unpack('!H', seg[16:18])[0] != 40 + want:
            raise CaseFailed('segment %d: IPv4 total length' % k)
        if csum_sum(seg[14:34]) != 0xffff:
            raise CaseFailed('segment %d: IPv4 header checksum' % k)
        if struct.unpack('!I', seg[38:42])[0] != 5000 + 1460 * k:
            raise CaseFailed('segment %d: sequence number' % k)
        if (seg[47] & 0x09 != 0) != (k == 2):
            raise CaseFailed('segment %d: flags %#x' % (k, seg[47]))
        if not tcp4_csum_ok(seg):
            raise CaseFailed('segment %d: TCP checksum' % k)
        payload += seg[54:]
    if payload != frame[54:]:
        raise CaseFailed('payload changed')
    time.sleep(0.2)
    if fe.used_idx(0) != (before + 3) & 0xffff:
        raise CaseFailed('more than 3 frames came back')


# Dirty page logging (live migration).

@case('log-dirty-pages', 'ok')
def _(fe):
    # As QEMU starts a migration: the rings log their used ring, a log is
    # shared (SET_LOG_BASE), LOG_ALL is set and acknowledged; then frames
    # go back and forth, the rings are stopped (GET_VRING_BASE: the
    # back-end's bursts are over) and every page the back-end wrote since
    # (receive buffers, used rings) must be marked in the log.
    fe.negotiate(protocol=PF_REPLY_ACK | PF_MQ | PF_LOG_SHMFD)
    if not fe.protocol & PF_LOG_SHMFD:
        raise CaseFailed('LOG_SHMFD not offered')
    fe.set_mem_table()
    fe.setup_vring(0, log=True)
    fe.setup_vring(1, log=True)
    fe.echo_check()

    log_size = PAGE             # One bit per page: 128 MiB of guest memory.
    log_fd = os.memfd_create('hostile-log', os.MFD_CLOEXEC)
    try:
        os.ftruncate(log_fd, log_size)
        log = mmap.mmap(log_fd, log_size, mmap.MAP_SHARED)
        fe.send(SET_LOG_BASE, u64(log_size) + u64(0), [log_fd])
        fe.recv_reply(SET_LOG_BASE)
        fe.must(SET_FEATURES, u64(fe.features | F_LOG_ALL))
        log[:] = bytes(log_size)

        written = {ring_gpa(0)[2] // PAGE, ring_gpa(1)[2] // PAGE}
        for _ in range(24):
            fe.post_rx(1)
            before = fe.used_idx(0)
            frame = fe.send_frame()
            if fe.receive(before) != frame:
                raise CaseFailed('frame came back damaged')
            head, length = fe.used_elem(0, before)
            addr = struct.unpack('<Q', fe.mem.read(ring_gpa(0)[0]
                                                   + 16 * head, 8))[0]
            written |= set(range(addr // PAGE,
                                 (addr + length - 1) // PAGE + 1))
        for v in (0, 1):
            fe.send(GET_VRING_BASE, state(v, 0))
            fe.recv_reply(GET_VRING_BASE)
        missing = [p for p in sorted(written)
                   if not log[p // 8] >> (p % 8) & 1]
        log.close()
    finally:
        os.close(log_fd)
    if missing:
        raise CaseFailed('pages written but not logged: %s'
                         % ', '.join('0x%x' % (p * PAGE) for p in missing))


# Guest memory that shrinks under the back-end.

@case('shrink-truncated', 'break',
      r'guest memory region 0 \(guest 0x0, size 0x1ffd0\) became '
      r'inaccessible \(SIGBUS\): the frontend shrank or removed the memory')
def _(fe):
    # Frames in flight both ways, then the file behind the rings and the
    # buffers is gone: the back-end's next access faults.
    fe.setup()
    fe.echo_check()
    fe.post_rx(8)
    for _ in range(8):
        fe.send_frame()
    fe.mem.truncate()


@case('shrink-sealed', 'ok', r'memory region 0: guest 0x0, .*, sealed$')
def _(fe):
    # A memfd sealed against shrinking: the back-end says so, and the file
    # indeed cannot shrink.
    fcntl.fcntl(fe.mem.fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK)
    fe.setup()
    try:
        os.ftruncate(fe.mem.fd, 0)
        raise CaseFailed('a sealed memfd shrank')
    except PermissionError:
        pass
    fe.echo_check()


@case('ctrl-queue-commands', 'ok',
      r'control queue: VQ_PAIRS_SET 64 refused \(at most 63 pairs\)$')
def _(fe):
    # A frontend that hands the control queue to the back-end: the driver
    # chooses its queue pairs there, other commands are refused, and
    # frames go on.
    fe.setup(features=F_VERSION_1 | F_MRG_RXBUF | F_INDIRECT | F_CTRL_VQ
             | F_MQ | F_GUEST_ANNOUNCE,
             protocol=PF_REPLY_ACK | PF_MQ | PF_CONFIG)
    # The configuration space, as crosvm reads it for the guest: status
    # and max_virtqueue_pairs, which numbers the control queue.
    fe.send(GET_CONFIG, struct.pack('<III', 6, 4, 0) + bytes(4))
    reply = fe.recv_reply(GET_CONFIG)
    status, pairs = struct.unpack('<HH', reply[12:16])
    if len(reply) != 16 or status != 1 or 2 * pairs != CTRL_VRING:
        raise CaseFailed('GET_CONFIG: %s' % reply.hex())
    fe.setup_ctrl()
    for cls, cmd, data, want in ((4, 0, b'\x01\x00', 0),
                                 (4, 0, b'\x40\x00', 1),
                                 (4, 0, b'\x00\x00', 1),
                                 (0, 0, b'\x01', 1),
                                 (3, 0, b'', 0),
                                 (4, 0, b'\x02\x00', 0),
                                 (4, 0, b'\x01\x00', 0)):
        ack = fe.ctrl_command(cls, cmd, data)
        if ack != want:
            raise CaseFailed('command %d/%d %s: ack %d, expected %d'
                             % (cls, cmd, data.hex(), ack, want))
    fe.echo_check()


def bad_ctrl(name, log, chain, loop=False):
    def fn(fe):
        fe.setup(features=F_VERSION_1 | F_MRG_RXBUF | F_INDIRECT | F_CTRL_VQ
                 | F_MQ)
        fe.setup_ctrl()
        fe.mem.write(CTRL_CMD, b'\x04\x00\x01\x00')
        fe.ctrl_post(chain, loop)
        # The control queue stops (the case waits for the log line); the
        # data path goes on.
        fe.echo_check()
    case(name, 'queue', r'control queue: %s; stopping it$' % log)(fn)


bad_ctrl('ctrl-no-ack', r'control command with 4 readable bytes and no '
         r'ack byte', [(CTRL_CMD, 4, 0)])
bad_ctrl('ctrl-readable-after-ack', r'control command: device-readable '
         r'descriptor after the ack',
         [(CTRL_ACK, 1, DESC_WRITE), (CTRL_CMD, 4, 0)])
bad_ctrl('ctrl-outside-memory', r'control command at 0x200000 \(4 bytes\) '
         r'not in mapped memory', [(0x200000, 4, 0),
                                   (CTRL_ACK, 1, DESC_WRITE)])
bad_ctrl('ctrl-chain-loop', r'descriptor chain longer than 16 \(loop\?\)',
         [(CTRL_CMD, 4, 0)] * CTRL_SIZE, loop=True)


# Running the cases.

def run_case(path, name, log_path, port, prev):
    """Runs case 'name'; returns (error or None, frontend to check later).
    'prev' is the previous case's frontend, whose memory is checked once
    this connection is established (the back-end has let go of it)."""
    fn, expect, log = CASES[name]
    log_start = os.path.getsize(log_path) if log_path else 0
    fe = Frontend(path)
    try:
        fe.call(GET_FEATURES)       # Also waits for the back-end to accept.
        if prev:
            time.sleep(0.05)
            ofs = prev.mem.damaged_margin()
            prev.mem.close()
            if ofs is not None:
                return ('previous case: guest memory outside the regions '
                        'changed at file offset 0x%x' % ofs), fe
        fn(fe)
        if expect in ('break', 'closed'):
            if expect == 'closed':
                fe.sock.close()
            elif not fe.wait_closed():
                return 'the back-end did not close the connection', fe
        if log and log_path:
            pattern = re.compile(re.escape(port + ': ') + '.*' + log, re.M)
            deadline = time.monotonic() + TIMEOUT
            while True:
                with open(log_path, errors='replace') as f:
                    f.seek(log_start)
                    if pattern.search(f.read()):
                        break
                if time.monotonic() > deadline:
                    return 'no log line matching %r' % pattern.pattern, fe
                time.sleep(0.02)
        if expect in ('queue', 'refuse', 'ok', 'counted', 'dropped'):
            if not fe.alive():
                return 'the back-end closed the connection', fe
        ofs = fe.mem.damaged_margin()
        if ofs is not None:
            return ('guest memory outside the regions changed at file '
                    'offset 0x%x' % ofs), fe
        return None, fe
    except (CaseFailed, OSError, ValueError) as e:
        return str(e), fe
    finally:
        fe.close()


def run_cases(args):
    names = []
    for pattern in args.cases:
        matched = [n for n in CASES if fnmatch.fnmatchcase(n, pattern)]
        if not matched:
            sys.stderr.write('%s: no case matches %s\n' % (sys.argv[0],
                                                          pattern))
            return 2
        names += [n for n in matched if n not in names]

    passed = failed = 0
    prev = None
    for name in names:
        error, prev = run_case(args.socket, name, args.log, args.port, prev)
        if error:
            print('FAIL %s: %s' % (name, error))
            failed += 1
        else:
            print('PASS %s' % name)
            passed += 1
        sys.stdout.flush()

    # A last connection, so that the last case's memory is checked after
    # the back-end let go of it too.
    fe = Frontend(args.socket)
    try:
        fe.call(GET_FEATURES)
        time.sleep(0.05)
        ofs = prev.mem.damaged_margin() if prev else None
        if ofs is not None:
            print('FAIL %s: guest memory outside the regions changed at '
                  'file offset 0x%x after the connection' % (names[-1], ofs))
            failed += 1
            passed -= 1
    finally:
        fe.close()
        if prev:
            prev.mem.close()
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


def churn(path, n):
    """Connects and disconnects 'n' times, in several ways."""
    for i in range(n):
        fe = Frontend(path)
        try:
            if i % 2:
                fe.setup()
            elif i % 4 == 2:
                fe.call(GET_FEATURES)
                fe.send_raw(struct.pack('<III', SET_MEM_TABLE, VERSION, 40),
                            [fe.mem.fd])
        finally:
            fe.close()
            fe.mem.close()
    # Wait until the back-end has taken the last close into account.
    fe = Frontend(path)
    fe.call(GET_FEATURES)
    fe.close()
    fe.mem.close()
    print('churn=%d' % n)
    return 0


def noise(path, seconds):
    """For 'seconds' seconds, sends requests of an unknown type (99), each
    of which the back-end refuses with a warning, on one connection;
    prints how many."""
    fe = Frontend(path)
    n = 0
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            fe.send_raw(struct.pack('<III', 99, VERSION, 0) * 100)
            fe.call(GET_FEATURES)
            n += 100
    finally:
        fe.close()
        fe.mem.close()
    print('noise: %d requests' % n)
    return 0


def stress_echo(fe, before, deadline_s=60, max_frames=20):
    """Sends frames on 'fe' until one comes back into the one receive
    buffer posted after 'before' used entries, and returns the frames
    sent.  Another frame is sent only once the back-end took every frame
    sent so far (it dropped them if none came back): on a busy machine a
    frame may wait in the ring for seconds, and sending more would reuse
    the descriptors and buffers of frames still in it, or leave a late
    frame behind for the next receive buffer."""
    tx_before = fe.used_idx(1)
    deadline = time.monotonic() + deadline_s
    sent = []
    while True:
        if fe.used_idx(1) == (tx_before + len(sent)) & 0xffff:
            if len(sent) >= max_frames:
                raise CaseFailed('the back-end took %d frames and sent '
                                 'none back' % len(sent))
            sent.append(fe.send_frame())
        if fe.wait_used(0, (before + 1) & 0xffff, 0.5):
            return sent
        if time.monotonic() > deadline:
            raise CaseFailed('no frame came back in %d s (%d sent, %d '
                             'taken)' % (deadline_s, len(sent),
                                         (fe.used_idx(1) - tx_before)
                                         & 0xffff))


def stress(path, seconds):
    """Control-plane churn under traffic, for SECONDS: connects again and
    again; each time it sets a queue pair up and, between echoed frames,
    replaces the memory table, disables and enables its receive ring,
    starts and stops dirty logging.  A frame sent while the switch is
    taking a change in may be dropped (the ring is not ready); then the
    next one is sent.  A frame that comes back damaged, twice, or out of
    order fails."""
    deadline = time.monotonic() + seconds
    rounds = echoed = dropped = 0
    log_fd = os.memfd_create('stress-log', os.MFD_CLOEXEC)
    os.ftruncate(log_fd, PAGE)
    try:
        while time.monotonic() < deadline:
            fe = Frontend(path)
            try:
                fe.negotiate(protocol=PF_REPLY_ACK | PF_MQ | PF_LOG_SHMFD)
                fe.set_mem_table()
                fe.setup_vring(0, log=True)
                fe.setup_vring(1, log=True)
                steps = (
                    lambda: None,
                    fe.set_mem_table,
                    lambda: (fe.must(SET_VRING_ENABLE, state(0, 0)),
                             fe.must(SET_VRING_ENABLE, state(0, 1))),
                    lambda: (fe.send(SET_LOG_BASE, u64(PAGE) + u64(0),
                                     [log_fd]),
                             fe.recv_reply(SET_LOG_BASE)),
                    lambda: fe.must(SET_FEATURES,
                                    u64(fe.features | F_LOG_ALL)),
                    lambda: fe.must(SET_FEATURES, u64(fe.features)),
                )
                for step in steps:
                    step()
                    # Answered once the change is in (a grace period).
                    fe.call(GET_FEATURES)
                    fe.post_rx(1)
                    before = fe.used_idx(0)
                    sent = stress_echo(fe, before)
                    # (One buffer: a late frame takes it, later ones drop.)
                    if fe.receive(before) not in sent:
                        raise CaseFailed('a frame came back damaged, '
                                         'twice or out of order')
                    dropped += len(sent) - 1
                    echoed += 1
            except (CaseFailed, OSError) as e:
                print('FAIL stress round %d: %s' % (rounds + 1, e))
                return 1
            finally:
                fe.close()
                fe.mem.close()
            rounds += 1
    finally:
        os.close(log_fd)
    print('stress=%d echoed=%d dropped=%d' % (rounds, echoed, dropped))
    return 0


def vm_rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise RuntimeError('no VmRSS for pid %d' % pid)


def flood(path, seconds, pid):
    """Sends GET_FEATURES for 'seconds' seconds without reading a reply,
    as fast as the back-end takes them; prints the switch's RSS before
    and at the end of the flood, then reads every reply and checks that
    the connection still works."""
    fe = Frontend(path)
    try:
        fe.call(GET_FEATURES)
        rss_before = vm_rss_kb(pid)
        request = struct.pack('<III', GET_FEATURES, VERSION, 0) * 256
        sent = 0
        fe.sock.setblocking(False)
        deadline = time.monotonic() + seconds
        pending = b''
        while time.monotonic() < deadline:
            if not pending:
                pending = request
            try:
                n = fe.sock.send(pending)
            except BlockingIOError:
                select.select([], [fe.sock], [], 0.1)
                continue
            pending = pending[n:]
            sent += n
        rss_after = vm_rss_kb(pid)

        # Finish the last request, so that the stream stays framed, while
        # reading the replies (the back-end reads nothing more until we do).
        pending = pending[:len(pending) % 12]
        n_requests = (sent + len(pending)) // 12
        reply = struct.pack('<III', GET_FEATURES, VERSION | FLAG_REPLY, 8)
        received = b''
        n_replies = 0
        deadline = time.monotonic() + TIMEOUT
        while n_replies < n_requests:
            if time.monotonic() > deadline:
                raise CaseFailed('%d of %d replies' % (n_replies, n_requests))
            r, w, _ = select.select([fe.sock], [fe.sock] if pending else [],
                                    [], 0.1)
            if w:
                pending = pending[fe.sock.send(pending):]
            if r:
                data = fe.sock.recv(65536)
                if not data:
                    raise CaseFailed('connection closed by the back-end')
                received += data
                while len(received) >= 20:
                    if received[:12] != reply:
                        raise CaseFailed('not a GET_FEATURES reply')
                    received = received[20:]
                    n_replies += 1
                deadline = time.monotonic() + TIMEOUT
        fe.sock.settimeout(TIMEOUT)
        fe.call(GET_FEATURES)
    finally:
        fe.close()
        fe.mem.close()
    print('flood: %d requests, every one answered' % n_requests)
    print('RSS in kB, before and at the end of the flood: %d %d'
          % (rss_before, rss_after))
    return 0


def main():
    parser = argparse.ArgumentParser(
        description='A hostile vhost-user frontend.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__)
    parser.add_argument('--socket', help="the back-end's socket")
    parser.add_argument('--log', help="the back-end's log file")
    parser.add_argument('--port', default='', help='the port name that '
                        "prefixes the back-end's log lines")
    parser.add_argument('--list', action='store_true', help='list the cases')
    parser.add_argument('--pid', type=int, help="the back-end's pid (flood)")
    parser.add_argument('cases', nargs='*', metavar='CASE',
                        help='case names or patterns, "churn N", '
                        '"noise SECONDS" or "flood SECONDS"')
    args = parser.parse_args()

    if args.list:
        for name, (_, expect, _) in CASES.items():
            print('%-40s %s' % (name, expect))
        return 0
    if not args.socket or not args.cases:
        parser.error('--socket and at least one CASE are needed')
    if args.cases[0] == 'churn':
        if len(args.cases) != 2 or not args.cases[1].isdigit():
            parser.error('usage: churn N')
        return churn(args.socket, int(args.cases[1]))
    if args.cases[0] == 'stress':
        if len(args.cases) != 2 or not args.cases[1].isdigit():
            parser.error('usage: stress SECONDS')
        return stress(args.socket, int(args.cases[1]))
    if args.cases[0] == 'noise':
        if len(args.cases) != 2 or not args.cases[1].isdigit():
            parser.error('usage: noise SECONDS')
        return noise(args.socket, int(args.cases[1]))
    if args.cases[0] == 'flood':
        if (len(args.cases) != 2 or not args.cases[1].isdigit()
                or not args.pid):
            parser.error('usage: --pid=PID flood SECONDS')
        return flood(args.socket, int(args.cases[1]), args.pid)
    if not args.log or not args.port:
        parser.error('--log and --port are needed to run cases')
    return run_cases(args)


if __name__ == '__main__':
    sys.exit(main())
