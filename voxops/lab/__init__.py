"""The lab: the whole stack on this machine (loopback 127.0.9.x), calls and failure drills."""
