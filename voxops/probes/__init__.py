"""voxops.probes"""
