"""The ``app`` floor: the ``minigan`` command and what it writes.

The command line (:mod:`minigan.app.cli`), the settings of a run and the rules of
resuming (:mod:`minigan.app.runs`), the trainer (:mod:`minigan.app.trainer`),
checkpoints, run folders, atomic file writing and the pictures of a run. Nothing
imports this floor; it imports every other.
"""
