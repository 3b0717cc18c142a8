# The vhost-user device engine: plain C, no Open vSwitch headers.

noinst_LTLIBRARIES += datapath/libvhost-engine.la
datapath_libvhost_engine_la_CPPFLAGS = -I$(top_builddir) -I$(srcdir)/datapath
datapath_libvhost_engine_la_CFLAGS = $(AM_CFLAGS)
datapath_libvhost_engine_la_SOURCES = \
	datapath/ctrl-queue.c \
	datapath/device.c \
	datapath/device-private.h \
	datapath/dirty-log.c \
	datapath/guest-fault.c \
	datapath/log.c \
	datapath/log.h \
	datapath/memory.c \
	datapath/message.c \
	datapath/net-offload.c \
	datapath/net-offload.h \
	datapath/packed-ring.c \
	datapath/prefetch.c \
	datapath/prefetch.h \
	datapath/rx-notify.c \
	datapath/socket-reader.c \
	datapath/vhost-engine.h \
	datapath/vhost-user-protocol.h \
	datapath/virtio-net.c \
	datapath/virtqueue.c \
	datapath/virtqueue.h

# Unit tests of the engine (tests/datapath.at runs one case per test).
check_PROGRAMS += tests/test-datapath
tests_test_datapath_SOURCES = \
	tests/test-datapath.c \
	tests/test-datapath.h \
	tests/test-datapath-ctrl.c \
	tests/test-datapath-dirty-log.c \
	tests/test-datapath-offload.c \
	tests/test-datapath-packed.c \
	tests/test-datapath-memory.c \
	tests/test-datapath-messages.c \
	tests/test-datapath-virtqueue.c
tests_test_datapath_CPPFLAGS = -I$(top_builddir) -I$(srcdir)/datapath
tests_test_datapath_LDADD = datapath/libvhost-engine.la
EXTRA_DIST += tests/datapath.at
