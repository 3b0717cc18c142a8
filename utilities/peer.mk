# The userspace virtio-net frontend peer (being written).
