"""Shared by every suite: with pytest's default (prepend) import mode, this conftest puts tests/ on
``sys.path``, so each suite imports the editor-side helpers of :mod:`clientside`."""
