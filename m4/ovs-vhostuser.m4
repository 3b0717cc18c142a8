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

dnl VHU_CHECK_OVS
dnl
dnl Finds the Open vSwitch source and build trees, the way OVN does:
dnl --with-ovs-source=DIR [--with-ovs-build=DIR].  Without them, prepares
dnl (or reuses) a tree from Debian's openvswitch-source package with
dnl utilities/ovs-prepare.sh.
AC_DEFUN([VHU_CHECK_OVS], [
  AC_ARG_WITH([ovs-source],
    [AS_HELP_STRING([--with-ovs-source=DIR],
      [Open vSwitch source tree (default: prepare one from Debian's
       openvswitch-source package)])],
    [OVS_SRCDIR=$withval], [OVS_SRCDIR=])
  AC_ARG_WITH([ovs-build],
    [AS_HELP_STRING([--with-ovs-build=DIR],
      [Open vSwitch build tree (default: the source tree)])],
    [OVS_BUILDDIR=$withval], [OVS_BUILDDIR=])

  if test -z "$OVS_SRCDIR"; then
    AC_MSG_NOTICE([preparing an Open vSwitch tree with ovs-prepare.sh])
    OVS_SRCDIR=`$srcdir/utilities/ovs-prepare.sh | tail -1` \
      || AC_MSG_ERROR([could not prepare Open vSwitch; see above])
  fi
  OVS_SRCDIR=`cd "$OVS_SRCDIR" && pwd` \
    || AC_MSG_ERROR([$OVS_SRCDIR: no such directory])
  test -n "$OVS_BUILDDIR" || OVS_BUILDDIR=$OVS_SRCDIR
  OVS_BUILDDIR=`cd "$OVS_BUILDDIR" && pwd` \
    || AC_MSG_ERROR([$OVS_BUILDDIR: no such directory])

  AC_MSG_CHECKING([for an Open vSwitch source tree])
  if test -f "$OVS_SRCDIR/lib/netdev-provider.h" \
     && test -f "$OVS_SRCDIR/vswitchd/vswitch.ovsschema"; then
    AC_MSG_RESULT([$OVS_SRCDIR])
  else
    AC_MSG_RESULT([no])
    AC_MSG_ERROR([$OVS_SRCDIR is not an Open vSwitch source tree])
  fi

  AC_MSG_CHECKING([for a configured and built Open vSwitch tree])
  for f in config.h lib/libopenvswitch.la ofproto/libofproto.la \
           lib/libsflow.la vswitchd/bridge.o vswitchd/ovs-vswitchd.o \
           vswitchd/system-stats.o ovsdb/ovsdb-server utilities/ovs-vsctl; do
    if test ! -e "$OVS_BUILDDIR/$f"; then
      AC_MSG_RESULT([no])
      AC_MSG_ERROR([$OVS_BUILDDIR/$f is missing: build Open vSwitch first
(or run utilities/ovs-prepare.sh)])
    fi
  done
  AC_MSG_RESULT([$OVS_BUILDDIR])

  AC_MSG_CHECKING([Open vSwitch version])
  OVS_VERSION=`sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' \
               "$OVS_BUILDDIR/config.h"`
  AC_MSG_RESULT([$OVS_VERSION])
  if grep -q '^#define DPDK_NETDEV 1' "$OVS_BUILDDIR/config.h"; then
    AC_MSG_ERROR([$OVS_BUILDDIR is built with DPDK; ovs-vhostuser needs
an Open vSwitch built without it (--without-dpdk)])
  fi

  AC_SUBST([OVS_SRCDIR])
  AC_SUBST([OVS_BUILDDIR])
  AC_SUBST([OVS_VERSION])
])

dnl VHU_CHECK_UNWIND
dnl
dnl Open vSwitch prints a backtrace on fatal signals when it was built with
dnl libunwind; its libraries then carry -lunwind.  Report whether it did.
AC_DEFUN([VHU_CHECK_UNWIND], [
  AC_MSG_CHECKING([whether Open vSwitch uses libunwind])
  if grep -q '^#define HAVE_UNWIND 1' "$OVS_BUILDDIR/config.h"; then
    AC_MSG_RESULT([yes])
  else
    AC_MSG_RESULT([no (install libunwind-dev and rebuild Open vSwitch
for backtraces on crashes)])
  fi
])

dnl VHU_CHECK_FUZZER
dnl
dnl libFuzzer targets need clang with -fsanitize=fuzzer.
AC_DEFUN([VHU_CHECK_FUZZER], [
  AC_ARG_VAR([FUZZ_CC], [clang for the libFuzzer targets])
  AC_CHECK_PROGS([FUZZ_CC], [clang clang-14], [])
  AC_MSG_CHECKING([whether $FUZZ_CC builds libFuzzer targets])
  have_fuzzer=no
  if test -n "$FUZZ_CC"; then
    echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)
          { (void) d; (void) n; return 0; }' > conftest-fuzz.c
    if $FUZZ_CC -fsanitize=fuzzer,address,undefined conftest-fuzz.c \
         -o conftest-fuzz >&AS_MESSAGE_LOG_FD 2>&1; then
      have_fuzzer=yes
    fi
    rm -f conftest-fuzz conftest-fuzz.c
  fi
  AC_MSG_RESULT([$have_fuzzer])
  AM_CONDITIONAL([HAVE_FUZZER], [test $have_fuzzer = yes])
  HAVE_FUZZER=$have_fuzzer
  AC_SUBST([HAVE_FUZZER])
])

dnl VHU_ENABLE_WERROR
AC_DEFUN([VHU_ENABLE_WERROR], [
  AC_ARG_ENABLE([Werror],
    [AS_HELP_STRING([--enable-Werror], [treat warnings as errors])],
    [], [enable_Werror=no])
  if test "$enable_Werror" = yes; then
    WERROR=-Werror
  else
    WERROR=
  fi
  AC_SUBST([WERROR])
])
