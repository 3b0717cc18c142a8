# Everything that includes Open vSwitch headers: the vhost-user netdev
# class and our ovs-vswitchd, which is Open vSwitch's vswitchd objects linked
# with the class.

noinst_LTLIBRARIES += ofproto-ext/libnetdev-vhost-user.la
ofproto_ext_libnetdev_vhost_user_la_CPPFLAGS = \
	$(OVS_INCLUDES) -I$(srcdir)/datapath
ofproto_ext_libnetdev_vhost_user_la_SOURCES = \
	ofproto-ext/netdev-vhost-user.c \
	ofproto-ext/netdev-vhost-user.h \
	ofproto-ext/vhost-user-ctl.c \
	ofproto-ext/vhost-user-ctl.h \
	ofproto-ext/vhost-user-offload.c \
	ofproto-ext/vhost-user-offload.h \
	ofproto-ext/vhost-user-packet.c \
	ofproto-ext/vhost-user-packet.h \
	ofproto-ext/vhost-user-park.c \
	ofproto-ext/vhost-user-park.h \
	ofproto-ext/vhost-user-qos.c \
	ofproto-ext/vhost-user-qos.h \
	ofproto-ext/vhost-user-rx-mode.c \
	ofproto-ext/vhost-user-rx-mode.h \
	ofproto-ext/vhost-user-show.c \
	ofproto-ext/vhost-user-show.h \
	ofproto-ext/vhost-user-signals.c \
	ofproto-ext/vhost-user-signals.h \
	ofproto-ext/vhost-user-tsan.h \
	ofproto-ext/vhost-user-txq-map.c \
	ofproto-ext/vhost-user-txq-map.h
ofproto_ext_libnetdev_vhost_user_la_LIBADD = datapath/libvhost-engine.la

# Built as "ovs-vswitchd": Open vSwitch names its pidfile and control socket
# after argv[0], and the tools look for those names.
noinst_PROGRAMS += ofproto-ext/ovs-vswitchd
ofproto_ext_ovs_vswitchd_CPPFLAGS = $(OVS_INCLUDES) -I$(srcdir)/datapath
# vswitchd-hooks.c is linked as an object, not from an archive, so that its
# constructor, which registers the netdev classes, is always kept.
ofproto_ext_ovs_vswitchd_SOURCES = ofproto-ext/vswitchd-hooks.c
ofproto_ext_ovs_vswitchd_LDADD = \
	$(OVS_BUILDDIR)/vswitchd/bridge.o \
	$(OVS_BUILDDIR)/vswitchd/ovs-vswitchd.o \
	$(OVS_BUILDDIR)/vswitchd/system-stats.o \
	ofproto-ext/libnetdev-vhost-user.la \
	$(OVS_LIBS)
# bridge.c hands the Open_vSwitch table's other_config to dpdk_init() on
# every run; wrapping it gives our classes the same global options
# (vhost-sock-dir, ...) that OVS-DPDK reads there.
VSWITCHD_WRAPS = -Wl,--wrap=dpdk_init -Wl,--wrap=ofproto_vport_get_status \
	-Wl,--wrap=dpif_run -Wl,--wrap=dpif_port_add -Wl,--wrap=dpif_port_del \
	-Wl,--wrap=dpif_close
ofproto_ext_ovs_vswitchd_LDFLAGS = $(VSWITCHD_WRAPS)

# The sanitized switches below: all of our code compiled again with their
# flags, linked with Open vSwitch's (uninstrumented) objects.
SANITIZED_VSWITCHD_SOURCES = \
	ofproto-ext/vswitchd-hooks.c \
	$(ofproto_ext_libnetdev_vhost_user_la_SOURCES) \
	$(datapath_libvhost_engine_la_SOURCES)
SANITIZED_VSWITCHD_LDADD = \
	$(OVS_BUILDDIR)/vswitchd/bridge.o \
	$(OVS_BUILDDIR)/vswitchd/ovs-vswitchd.o \
	$(OVS_BUILDDIR)/vswitchd/system-stats.o \
	$(OVS_LIBS)

# The same switch with our own code (datapath/ and ofproto-ext/) built with
# AddressSanitizer, for the soak tests.  (Open vSwitch's libraries are not
# instrumented; ASan still checks every access our code makes.)
check_PROGRAMS += ofproto-ext/asan/ovs-vswitchd
ofproto_ext_asan_ovs_vswitchd_CPPFLAGS = \
	$(OVS_INCLUDES) -I$(srcdir)/datapath -I$(top_builddir)
ofproto_ext_asan_ovs_vswitchd_CFLAGS = \
	$(AM_CFLAGS) -fsanitize=address -fno-omit-frame-pointer
ofproto_ext_asan_ovs_vswitchd_SOURCES = $(SANITIZED_VSWITCHD_SOURCES)
ofproto_ext_asan_ovs_vswitchd_LDADD = $(SANITIZED_VSWITCHD_LDADD)
ofproto_ext_asan_ovs_vswitchd_LDFLAGS = \
	$(VSWITCHD_WRAPS) -fsanitize=address

# The same again with ThreadSanitizer, for the concurrency stress test
# (tests/soak.at).  Open vSwitch's libraries are not instrumented: the
# synchronization they provide that ThreadSanitizer cannot see (RCU grace
# periods) is annotated in our code (vhost-user-tsan.h).  The fences it
# warns about (-Wtsan) order our stores for the guest, another process.
check_PROGRAMS += ofproto-ext/tsan/ovs-vswitchd
ofproto_ext_tsan_ovs_vswitchd_CPPFLAGS = \
	$(OVS_INCLUDES) -I$(srcdir)/datapath -I$(top_builddir)
ofproto_ext_tsan_ovs_vswitchd_CFLAGS = \
	$(AM_CFLAGS) -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan
ofproto_ext_tsan_ovs_vswitchd_SOURCES = $(SANITIZED_VSWITCHD_SOURCES)
ofproto_ext_tsan_ovs_vswitchd_LDADD = $(SANITIZED_VSWITCHD_LDADD)
ofproto_ext_tsan_ovs_vswitchd_LDFLAGS = \
	$(VSWITCHD_WRAPS) -fsanitize=thread

# "make install" installs it under a name of its own; Debian's
# update-alternatives then selects it as /usr/sbin/ovs-vswitchd (see
# README.rst), the way openvswitch-switch-dpdk plugs in its binary.
VSWITCHD_ALTERNATIVE = $(pkglibexecdir)/ovs-vswitchd-vhostuser
VSWITCHD_ALTERNATIVE_PRIORITY = 20
install-exec-local: ofproto-ext/ovs-vswitchd
	$(MKDIR_P) '$(DESTDIR)$(pkglibexecdir)'
	$(LIBTOOL) --mode=install $(INSTALL_PROGRAM) ofproto-ext/ovs-vswitchd \
	    '$(DESTDIR)$(VSWITCHD_ALTERNATIVE)'
	if test -z '$(DESTDIR)' && command -v update-alternatives >/dev/null \
	   && test -d /etc/alternatives; then \
	    update-alternatives --install /usr/sbin/ovs-vswitchd ovs-vswitchd \
	        '$(VSWITCHD_ALTERNATIVE)' $(VSWITCHD_ALTERNATIVE_PRIORITY); \
	fi
uninstall-local:
	if test -z '$(DESTDIR)' && command -v update-alternatives >/dev/null \
	   && test -d /etc/alternatives; then \
	    update-alternatives --remove ovs-vswitchd \
	        '$(VSWITCHD_ALTERNATIVE)' || true; \
	fi
	rm -f '$(DESTDIR)$(VSWITCHD_ALTERNATIVE)'
