"""Build step the configuration in pyproject.toml cannot express: a start-up hook beside the packages.

``server/switcheroo-lsp-startup.pth`` must sit at the top of site-packages (Python only reads
``.pth`` files there), which package data cannot place. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import os

from setuptools import setup
from setuptools.command.build_py import build_py

STARTUP_HOOK = os.path.join("server", "switcheroo-lsp-startup.pth")


class BuildPyWithStartupHook(build_py):
    """build_py that also puts the start-up hook at the top of the wheel."""

    def run(self) -> None:
        super().run()
        self.copy_file(STARTUP_HOOK, os.path.join(self._hook_dir(), os.path.basename(STARTUP_HOOK)))

    def _hook_dir(self) -> str:
        # `pip install -e` (setuptools' editable_wheel) ignores build_lib and installs what it
        # finds in install_lib, the unpacked editable wheel; a normal build installs build_lib.
        if getattr(self, "editable_mode", False):
            return self.distribution.get_command_obj("install").install_lib
        return self.build_lib

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        hook = os.path.join(self._hook_dir(), os.path.basename(STARTUP_HOOK))
        return [*super().get_outputs(include_bytecode), hook]


setup(cmdclass={"build_py": BuildPyWithStartupHook})
