# Linux guests for the QEMU tests (tests/guests.at).
#
# tests/guest-image/build.sh builds the guest (Debian's kernel and a
# busybox initramfs) into tests/guest/ of the build tree the first time a
# guest test runs, and again only when its inputs change; the kernel
# package is cached under /var/cache/ovs-vhostuser/guest.  "make
# guest-image" builds it ahead of time.  Documentation/guests.rst has the
# details.

EXTRA_DIST += \
	tests/guest-image/build.sh \
	tests/guest-image/init \
	tests/guest-image/qemu-guest.sh

guest-image:
	$(SHELL) $(srcdir)/tests/guest-image/build.sh tests/guest
.PHONY: guest-image

DISTCLEANFILES += \
	tests/guest/vmlinuz \
	tests/guest/initramfs.gz \
	tests/guest/version \
	tests/guest/inputs \
	tests/guest/.lock
