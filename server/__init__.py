"""The local FinePOSE inference server: `python -m server`.

It loads one model (GPU when there is one) and runs the pipeline for clients (the Blender add-on, the batch
script, curl) over HTTP on loopback. The API is documented in docs/server.md and at /openapi.json.
"""

__version__ = "0.1.0"
