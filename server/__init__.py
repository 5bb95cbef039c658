"""The local FinePOSE inference server, `python -m server` (not built yet: see issue 6)."""
