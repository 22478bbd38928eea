"""Settings package: base holds everything; local, test and production name what they change."""
