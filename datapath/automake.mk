# The vhost-user device engine: plain C, no Open vSwitch headers.

noinst_LTLIBRARIES += datapath/libvhost-engine.la
datapath_libvhost_engine_la_CPPFLAGS = -I$(top_builddir) -I$(srcdir)/datapath
datapath_libvhost_engine_la_CFLAGS = $(AM_CFLAGS)
datapath_libvhost_engine_la_SOURCES = \
	datapath/device.c \
	datapath/device-private.h \
	datapath/dirty-log.c \
	datapath/log.c \
	datapath/log.h \
	datapath/memory.c \
	datapath/message.c \
	datapath/vhost-engine.h \
	datapath/vhost-user-protocol.h \
	datapath/virtio-net.c \
	datapath/virtqueue.c \
	datapath/virtqueue.h

