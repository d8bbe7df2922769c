"""The command line and batch door: `xlvalue run|check|batch|eval|template|addin|docs`."""

__all__: list[str] = []  # a folder of modules: import them by name
