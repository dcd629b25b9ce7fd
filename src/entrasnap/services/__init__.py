"""Services: the main jobs (snapshot, export, ...) composed from collect, store and graph."""
