"""Preprocessing: decode and sample frames, detect and crop faces, interpolate flow
midpoints, and store the result in the crop cache."""
