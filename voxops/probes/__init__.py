"""Live checks at the network edge: SIP OPTIONS, multi-vantage DNS, TLS certificates, scanner exposure."""
