"""One module per feature; each has `register(application)`."""
