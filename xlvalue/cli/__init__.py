"""The command line and batch door: `xlvalue run|check|batch|eval|template|addin|docs`."""
