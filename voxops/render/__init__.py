"""voxops.render"""
