"""voxops.capture"""
