# libFuzzer targets of the vhost-user engine (tests/fuzz/README.md).
#
# They are built with clang ($(FUZZ_CC)) and -fsanitize=fuzzer,address,
# undefined, compiling the engine's sources directly: the libtool library
# is built with the project's compiler (gcc) and no sanitizers.  Undefined
# behaviour is fatal, as a crash is (UBSAN_OPTIONS=halt_on_error=1), except
# at the known sites listed in tests/fuzz/ubsan.supp: suppressions only
# work for recoverable checks, hence -fsanitize-recover for those three
# kinds.  Built by "make" when configure found a clang that can link
# libFuzzer targets (HAVE_FUZZER); tests/fuzz.at runs each one for a
# bounded time and utilities/fuzz-campaign.sh for long campaigns.

FUZZ_TARGETS = tests/fuzz/fuzz-messages tests/fuzz/fuzz-rings
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined \
	-fsanitize-recover=nonnull-attribute,pointer-overflow,alignment \
	-fno-omit-frame-pointer \
	-Wall -Wextra -Wno-sign-compare -Wno-unused-parameter
FUZZ_CPPFLAGS = -I$(top_builddir) -I$(srcdir)/datapath -I$(srcdir)/tests/fuzz
FUZZ_ENGINE_SRC = \
	datapath/ctrl-queue.c \
	datapath/device.c \
	datapath/dirty-log.c \
	datapath/guest-fault.c \
	datapath/log.c \
	datapath/memory.c \
	datapath/message.c \
	datapath/net-offload.c \
	datapath/packed-ring.c \
	datapath/prefetch.c \
	datapath/rx-notify.c \
	datapath/virtio-net.c \
	datapath/virtqueue.c
FUZZ_ENGINE_HDR = \
	datapath/device-private.h \
	datapath/log.h \
	datapath/net-offload.h \
	datapath/prefetch.h \
	datapath/vhost-engine.h \
	datapath/vhost-user-protocol.h \
	datapath/virtqueue.h
FUZZ_COMMON = tests/fuzz/fuzz-common.c tests/fuzz/fuzz-common.h

EXTRA_DIST += \
	tests/fuzz/README.md \
	tests/fuzz/fuzz-messages.c \
	tests/fuzz/fuzz-rings.c \
	tests/fuzz/make-corpus.py \
	tests/fuzz/ubsan.supp \
	$(FUZZ_COMMON) \
	tests/fuzz/corpus
CLEANFILES += $(FUZZ_TARGETS)

# The other files of this work (issues 5 and 10) that no other fragment
# lists: the campaign script and the hostile frontend.
EXTRA_DIST += utilities/fuzz-campaign.sh tests/hostile-frontend.py

# Built by "make" (scripts are part of "all"), only with a libFuzzer clang.
noinst_SCRIPTS =
if HAVE_FUZZER
noinst_SCRIPTS += $(FUZZ_TARGETS)
endif

# One clang command per target: the engine, the shared helpers and the
# target's own file.
tests/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(FUZZ_COMMON) \
		$(FUZZ_ENGINE_SRC) $(FUZZ_ENGINE_HDR) vhu-config.h
	@$(MKDIR_P) tests/fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_CPPFLAGS) -o $@ \
	    $(srcdir)/tests/fuzz/fuzz-$*.c $(srcdir)/tests/fuzz/fuzz-common.c \
	    $(FUZZ_ENGINE_SRC:%=$(srcdir)/%)
