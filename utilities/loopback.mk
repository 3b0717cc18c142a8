# vhost-user-loopback: a standalone vhost-user back-end that runs our engine
# (datapath/libvhost-engine.la) on two sockets and loops them, for interop
# tests against independent frontends and for the engine benchmark
# (utilities/engine-bench.sh, not run by "make check").

bin_PROGRAMS += utilities/vhost-user-loopback
utilities_vhost_user_loopback_SOURCES = utilities/vhost-user-loopback.c
utilities_vhost_user_loopback_CPPFLAGS = -I$(top_builddir) -I$(srcdir)/datapath
utilities_vhost_user_loopback_LDADD = datapath/libvhost-engine.la

EXTRA_DIST += \
	tests/loopback.at \
	utilities/engine-bench.sh \
	Documentation/vhost-user-loopback.rst \
	Documentation/engine-benchmark.rst
