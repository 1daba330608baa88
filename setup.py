"""Build script for the optional native accelerator; everything else is in pyproject.toml.

The extension is ``optional``: where it cannot be compiled, the install still succeeds and
kafkaio runs on its pure-Python reference code (``kafkaio.records.IMPLEMENTATION``).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "kafkaio.records._native",
            sources=["src/kafkaio/records/_native.c"],
            depends=["src/kafkaio/records/_native_producer.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
