"""The speech stage: engines (pyttsx3, Piper) speak each sentence; clips are mastered and cached."""
