# The standalone engine loopback backend (being written).
