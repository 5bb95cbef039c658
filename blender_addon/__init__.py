"""The "Lift Video to Armature" Blender extension (not built yet: see issue 7).

It will talk to the local FinePOSE server over HTTP and turn its `finepose.result/1` JSON into armatures and
keyframes. Only bpy, mathutils, Blender's bundled numpy and the standard library may be imported here.
"""
