"""The in-container runner (see server.py). The host imports only codec.py from here."""
