"""Joint positions → bone rotations, bone maps, smoothing and foot contacts: pure numpy, no bpy, so that the
hard part of the add-on is testable outside Blender (the glTF-Blender-IO split of docs/architecture.md)."""
