# libFuzzer targets (being written).
