# The OVS-autotest suite: unit tests of the engine, the switch, interop
# with independent peers.  "make check" runs it all; TESTSUITEFLAGS=-jN,
# -k KEYWORD and test numbers work as in Open vSwitch.

TESTSUITE_AT = \
	tests/testsuite.at \
	tests/vhu-macros.at \
	tests/ovn-macros.at \
	tests/ovn.at \
	tests/switch.at \
	tests/traffic.at \
	tests/rx-mode.at \
	tests/operations.at \
	tests/datapath.at \
	tests/peer.at \
	tests/frontends.at \
	tests/loopback.at \
	tests/fuzz.at \
	tests/guests.at \
	tests/guests-migration.at \
	tests/guests-offload.at \
	tests/hostile.at \
	tests/soak.at
EXTRA_DIST += $(TESTSUITE_AT) tests/atlocal.in tests/tsan-reports.awk

# Fragments of their own for the fuzzers and the guest images.
include tests/fuzz.mk
include tests/guests.mk
TESTSUITE = tests/testsuite
DISTCLEANFILES += tests/atlocal
CLEANFILES += $(TESTSUITE) tests/package.m4

# Our programs first, then Open vSwitch's tools from its build tree.
AUTOTEST_PATH = $(abs_top_builddir)/ofproto-ext:$(abs_top_builddir)/utilities:$(abs_top_builddir)/tests:$(abs_top_srcdir)/utilities:$(abs_top_srcdir)/tests:$(OVS_BUILDDIR)/utilities:$(OVS_BUILDDIR)/ovsdb:$(OVS_BUILDDIR)/vswitchd

AUTOM4TE = autom4te
# OVS's tests/ovs-macros.at is included from the Open vSwitch tree.
AUTOTEST = $(AUTOM4TE) -l autotest -I tests -I '$(srcdir)' -I '$(OVS_SRCDIR)'

check-local: tests/atlocal $(TESTSUITE) $(check_PROGRAMS) $(noinst_PROGRAMS) $(bin_PROGRAMS)
	$(SHELL) '$(TESTSUITE)' -C tests AUTOTEST_PATH='$(AUTOTEST_PATH)' \
	    $(TESTSUITEFLAGS)

clean-local:
	test ! -f '$(TESTSUITE)' || $(SHELL) '$(TESTSUITE)' -C tests --clean

$(TESTSUITE): tests/package.m4 $(TESTSUITE_AT)
	$(AM_V_GEN)$(AUTOTEST) -o $@.tmp $(srcdir)/tests/testsuite.at \
	    && mv $@.tmp $@

tests/package.m4: $(top_srcdir)/configure.ac
	$(AM_V_GEN){ \
	  echo '# Signature of the current package.'; \
	  echo 'm4_define([AT_PACKAGE_NAME],      [$(PACKAGE_NAME)])'; \
	  echo 'm4_define([AT_PACKAGE_TARNAME],   [$(PACKAGE_TARNAME)])'; \
	  echo 'm4_define([AT_PACKAGE_VERSION],   [$(PACKAGE_VERSION)])'; \
	  echo 'm4_define([AT_PACKAGE_STRING],    [$(PACKAGE_STRING)])'; \
	  echo 'm4_define([AT_PACKAGE_BUGREPORT], [$(PACKAGE_BUGREPORT)])'; \
	} > $@
