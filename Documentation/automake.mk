dist_doc_DATA += \
	Documentation/benchmark.rst \
	Documentation/engine-benchmark.rst \
	Documentation/fuzzing.rst \
	Documentation/guests.rst \
	Documentation/hostile-frontends.rst \
	Documentation/ovn-openstack.rst \
	Documentation/rx-modes.rst \
	Documentation/vhost-user-loopback.rst \
	Documentation/vhost-user-peer.rst \
	Documentation/vhost-user-ports.rst
