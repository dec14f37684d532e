"""Engine: everything that is not UI."""
