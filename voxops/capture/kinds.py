"""Codes shared by the compiled kernels and the Python around them (no numba import here)."""

KIND_DROP = 0  # nothing voxops reads (not IP, not UDP/TCP, a bare TCP ACK)
KIND_UDP = 1  # a plain IPv4 UDP datagram, decoded by the kernel
KIND_SLOW = 2  # decoded in Python (fragments, IPv6 extension headers, TCP, possible SIP, RTCP, PPPoE)
KIND_UDP6 = 3  # a plain IPv6 UDP datagram: the caller reads the addresses at ipoff

STATUS_MORE = 0  # need more bytes
STATUS_CORRUPT = 1  # a record header that cannot be right: stop reading
STATUS_BLOCK = 2  # pcapng: a section/interface block for Python to read
STATUS_FULL = 3  # output arrays full
