"""voxops.views"""
