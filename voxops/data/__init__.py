"""Data shipped with voxops: templates/, runbooks/ and inventories/ (see voxops.resources)."""
