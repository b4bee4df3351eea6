"""``python -m footaudio``: the same as the ``footaudio`` command."""

from .cli import main

main()
