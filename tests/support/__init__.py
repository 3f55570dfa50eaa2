"""What the tests share, one helper per job: specs, certificates, captures, SIPp scenarios,
stopping processes. Tests import helpers from here, not from other test modules."""
