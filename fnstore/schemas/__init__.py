"""JSON Schemas the package needs at run time (the build spec's); see ``schemas/README.md``."""
