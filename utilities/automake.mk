# Tools people run: scripts to prepare Open vSwitch, run a sandbox switch,
# the demo and the test runner; the frontend peer (utilities/peer.mk).

EXTRA_DIST += \
	utilities/ovs-prepare.sh \
	utilities/ovs-vhostuser-sandbox.sh \
	utilities/install-deps.sh \
	utilities/ovs-bench.sh \
	utilities/ovs-bench-report.py \
	utilities/ovs-bench-offloads.sh \
	utilities/offload-bench-report.py \
	utilities/rx-mode-bench.sh \
	utilities/rx-mode-bench-report.py \
	utilities/run-demo.sh \
	utilities/run-tests.sh \
	utilities/setup-build.sh \
	utilities/soak.sh

include utilities/peer.mk
include utilities/loopback.mk
