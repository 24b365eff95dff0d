"""The command line: one module per command (demo, augment), wired up in fastaug.__main__."""
