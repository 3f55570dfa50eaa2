"""Use cases, one module per verb: each takes paths and options, does the I/O (spec, capture,
subprocess checks, Ansible), calls the pure core and returns a pydantic report. The CLI and
the lab call these."""
