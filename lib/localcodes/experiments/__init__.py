"""The chapters' experiments: the only part of the library that knows the book's chapters (their folders, their
presets' meaning, the papers' reported numbers they are compared with). Everything below it is general."""
