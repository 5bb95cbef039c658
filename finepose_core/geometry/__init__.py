"""Geometry: cameras, rigid alignment (Procrustes) and placement of people in 3D."""
