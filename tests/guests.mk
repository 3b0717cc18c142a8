# Guest images for the QEMU tests (being written).
