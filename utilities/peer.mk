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

# vhost-user-peer: a userspace virtio-net frontend over vhost-user (the role
# of DPDK's virtio-user), for tests, demos and benchmarks.  It needs only
# libc, the Linux uapi headers and datapath/vhost-user-protocol.h.

bin_PROGRAMS += utilities/vhost-user-peer
utilities_vhost_user_peer_SOURCES = \
	utilities/vhost-user-peer.c \
	utilities/vhost-user-peer.h \
	utilities/vhost-user-peer-cmds.c \
	utilities/vhost-user-peer-proto.c \
	utilities/vhost-user-peer-ring.c
utilities_vhost_user_peer_CPPFLAGS = -I$(top_builddir) -I$(srcdir)/datapath

EXTRA_DIST += tests/peer.at Documentation/vhost-user-peer.rst
