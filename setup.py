"""The one thing pyproject.toml cannot say without an experimental table: two hot loops in C,
the log's append (system/eventlog/_chain.c, linked to OpenSSL's libcrypto) and a FIX message's
field split (system/gateways/fix/_fields.c). Both optional: without a compiler or OpenSSL's
headers the install still succeeds and the same loops run in Python (system/eventlog/batch.py,
system/gateways/fix/codec.py), slower, giving the same results."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "system.eventlog._chain",
            sources=["system/eventlog/_chain.c"],
            libraries=["crypto"],
            optional=True,
        ),
        Extension("system.gateways.fix._fields", sources=["system/gateways/fix/_fields.c"], optional=True),
    ]
)
