"""FinePOSE core library: skeletons, geometry, metrics, the FinePOSE lifter, detection and the pipeline.

Importing this package is cheap: heavy dependencies (torch, mediapipe, open_clip) are imported by the
modules that need them.
"""

__version__ = "0.1.0"
