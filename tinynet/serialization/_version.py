"""The model file format's name and version, on their own so that anything may import them
without importing the reader and writer (see docs/file-format.md)."""

#: The ``format`` field of every tinynet model file's manifest.
FORMAT_NAME = "tinynet-model"
#: The newest format version this tinynet writes and reads (it writes version 1 for a file
#: without callback states, which version 2 added).
FORMAT_VERSION = 2
