"""Refuse every network connection except to this machine (127.0.0.0/8 and ::1).

Imported by the test suite itself, and put on ``PYTHONPATH`` of every notebook kernel the
tests start, so a notebook that tries to download anything fails loudly instead of passing on
a machine that happens to be online.
"""

import ipaddress
import socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class NetworkAccessError(OSError):
    """A connection to something other than this machine was attempted."""


def _is_local(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(address) -> None:
    # AF_UNIX addresses are paths (str or bytes): local by definition.
    if isinstance(address, (str, bytes)):
        return
    if not _is_local(address[0]):
        raise NetworkAccessError(f"network access to {address!r} is not allowed here: "
                                 "the tests and notebooks must run offline")


def install() -> None:
    if getattr(socket.socket.connect, "_aelib_guard", False):
        return
    original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex
    original_sendto = socket.socket.sendto
    original_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _check(address)
        return original_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            _check(address)
        return original_connect_ex(self, address)

    def sendto(self, data, *args):
        # sendto(data, address) or sendto(data, flags, address): UDP needs no connect.
        if args and self.family in (socket.AF_INET, socket.AF_INET6):
            _check(args[-1])
        return original_sendto(self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _is_local(host):
            raise NetworkAccessError(f"name lookup of {host!r} is not allowed here: "
                                     "the tests and notebooks must run offline")
        return original_getaddrinfo(host, *args, **kwargs)

    connect._aelib_guard = True
    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    socket.socket.sendto = sendto
    socket.getaddrinfo = getaddrinfo


install()
