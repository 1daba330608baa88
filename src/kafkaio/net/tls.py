"""Build the client's ``ssl.SSLContext`` from the common TLS options.

Hostname verification is on by default; a client certificate (``ssl_certfile`` and
``ssl_keyfile``, the key optionally encrypted with ``ssl_password``) enables mutual TLS.
Errors name the option and the file, never the password.
"""

from __future__ import annotations

import os
import ssl

from kafkaio.errors import ConfigurationError

__all__ = ["build_ssl_context"]


def _check_file(option: str, path: str | None) -> str | None:
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"option {option!r} must be a path, got {type(path).__name__}")
    text = os.fspath(path)
    if not os.path.isfile(text):
        raise ConfigurationError(f"option {option!r}: no such file {text!r}")
    return text


def _no_password() -> str:
    return ""


def build_ssl_context(
    *,
    cafile: str | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    password: str | None = None,
    check_hostname: bool = True,
    crlfile: str | None = None,
) -> ssl.SSLContext:
    """A client ``SSLContext`` from the ``ssl_*`` options.

    ``cafile``: PEM bundle of trusted CAs (default: the system's trust store).
    ``certfile`` / ``keyfile`` / ``password``: the client certificate chain and key for
    mutual TLS (``keyfile`` may be omitted when ``certfile`` holds the key).
    ``check_hostname``: verify that the broker's certificate names the host connected to
    (the certificate chain is verified either way). ``crlfile``: a PEM CRL; the broker's
    certificate is checked against it.

    Raises :class:`~kafkaio.errors.ConfigurationError` naming the option when a file is
    missing or unusable (a key that ``password`` does not decrypt included).
    """
    cafile = _check_file("ssl_cafile", cafile)
    certfile = _check_file("ssl_certfile", certfile)
    keyfile = _check_file("ssl_keyfile", keyfile)
    crlfile = _check_file("ssl_crlfile", crlfile)
    if not isinstance(check_hostname, bool):
        raise TypeError(
            f"option 'ssl_check_hostname' must be a bool, got {type(check_hostname).__name__}"
        )
    if password is not None and not isinstance(password, str):
        raise TypeError(f"option 'ssl_password' must be a str, got {type(password).__name__}")
    if keyfile is not None and certfile is None:
        raise ConfigurationError("option 'ssl_keyfile' needs option 'ssl_certfile'")
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    except ssl.SSLError as exc:
        raise ConfigurationError(
            f"option 'ssl_cafile': cannot load CA certificates from {cafile!r}: {exc.reason}"
        ) from None
    context.check_hostname = check_hostname
    context.verify_mode = ssl.CERT_REQUIRED
    if certfile is not None:
        try:
            # Without a password, an encrypted key must fail here, not make OpenSSL prompt
            # on the terminal.
            context.load_cert_chain(
                certfile, keyfile, password if password is not None else _no_password
            )
        except ssl.SSLError as exc:
            what = "(is option 'ssl_password' right?)"
            raise ConfigurationError(
                f"options 'ssl_certfile'/'ssl_keyfile': cannot load the client certificate"
                f" {certfile!r} and key {keyfile or certfile!r}: {exc.reason} {what}".rstrip()
            ) from None
    if crlfile is not None:
        try:
            context.load_verify_locations(crlfile)
        except ssl.SSLError as exc:
            raise ConfigurationError(
                f"option 'ssl_crlfile': cannot load the CRL {crlfile!r}: {exc.reason}"
            ) from None
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return context
