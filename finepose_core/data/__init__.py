"""Data: clip files, BVH import, Human3.6M, sliding windows, virtual cameras and augmentation."""
