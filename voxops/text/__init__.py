"""Text helpers every layer may use: control characters made visible, lines fitted to a width, UTC times."""
