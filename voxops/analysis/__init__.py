"""Pure functions over capture records: dialogs, ladders, RTP stats, MOS, KPIs, findings."""
