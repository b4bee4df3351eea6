"""The audio stage: the timeline mixed to PCM (speech, chimes, ambience), encoded to MP3 and tagged."""
