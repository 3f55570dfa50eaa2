"""voxops: declarative config-and-runbook toolkit for SIP voice-agent telephony."""

__version__ = "0.1.0"
