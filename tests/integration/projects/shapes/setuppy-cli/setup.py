#!/usr/bin/env python
"""Packaging for greet (the classic setup.py layout)."""
import io
import os

from setuptools import find_packages, setup

NAME = "greet"
VERSION = "1.4.0"
REQUIRES_PYTHON = ">=3.8.0"
here = os.path.abspath(os.path.dirname(__file__))

with io.open(os.path.join(here, "README.md"), encoding="utf-8") as f:
    long_description = f.read()

setup(
    name=NAME,
    version=VERSION,
    long_description=long_description,
    python_requires=REQUIRES_PYTHON,
    packages=find_packages(exclude=["tests"]),
    entry_points={
        "console_scripts": ["greet=greet.__main__:main"],
    },
    install_requires=[],
)
