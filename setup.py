"""The one thing pyproject.toml cannot say without an experimental table: the log's append loop
in C (system/eventlog/_chain.c, linked to OpenSSL's libcrypto). Optional: without a compiler or
OpenSSL's headers the install still succeeds and the log runs the same loop in Python
(system/eventlog/batch.py), slower, writing the same bytes."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "system.eventlog._chain",
            sources=["system/eventlog/_chain.c"],
            libraries=["crypto"],
            optional=True,
        )
    ]
)
