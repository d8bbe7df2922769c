"""The workbook layer: the contract of named ranges, and everything that reads or writes
workbooks (inputs, settings, validation, presets, the headless reader and writer, sheet XML,
charts, templates). It imports the analytics core, never the doors.
"""

__all__: list[str] = []  # a folder of modules: import them by name
