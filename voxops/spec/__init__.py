"""voxops.spec"""
