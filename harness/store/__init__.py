"""The results store: one SQLite file, and the records it keeps."""
