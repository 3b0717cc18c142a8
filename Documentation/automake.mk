dist_doc_DATA += \
	Documentation/vhost-user-ports.rst
