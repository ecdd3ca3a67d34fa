"""The build step setup.cfg cannot say: copy the files FlaskLLM reads from outside its package
(flaskllm/resources.py: BUNDLE) into the built package, so a wheel works on its own."""

import glob
import importlib.util
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "_flaskllm_resources", os.path.join(HERE, "flaskllm", "resources.py"))
resources = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(resources)


class BuildWithBundle(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the source tree
            return
        for pattern in resources.BUNDLE:
            for source in glob.glob(os.path.join(HERE, pattern)):
                target = os.path.join(self.build_lib, "flaskllm", "_bundled",
                                      os.path.relpath(source, HERE))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(source, target)


setup(cmdclass={"build_py": BuildWithBundle})
