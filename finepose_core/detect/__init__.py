"""From video to 2D people: decoding (video.py) and MediaPipe pose landmarks (landmarker.py)."""
