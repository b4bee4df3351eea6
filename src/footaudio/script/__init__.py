"""The script stage: templates -> SSML -> a typed script, planned into an exact timeline.

Pure: nothing here touches a speech engine, ffmpeg or the disk beyond reading templates.
"""
