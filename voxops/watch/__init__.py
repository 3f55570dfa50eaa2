"""`voxops watch`: live diagnosis from HEP, an interface or a growing capture."""
