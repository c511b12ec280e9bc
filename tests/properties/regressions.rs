//! Inputs the fuzz targets in `fuzz/` found, kept as regression tests.
