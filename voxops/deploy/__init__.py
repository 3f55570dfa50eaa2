"""voxops.deploy"""
