"""voxops.agent"""
