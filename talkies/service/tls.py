"""A local certificate authority and server certificate for `talkies serve --self-signed-tls`.

The official Python client only speaks https (its hosts are formatted as `https://{host}`), so
a local server needs a certificate the client trusts. This makes a private CA and a server
certificate signed by it, for 127.0.0.1, localhost and the fal host names (so a tunnel that
sends fal.run / queue.fal.run / rest.fal.ai / v3.fal.media here also verifies), with the
extensions strict verifiers (Python 3.13, Node) insist on. Clients trust it through
SSL_CERT_FILE=<folder>/bundle.pem (the system roots plus this CA) or NODE_EXTRA_CA_CERTS=ca.pem.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST_NAMES = (
    "localhost",
    "fal.run",
    "queue.fal.run",
    "rest.fal.ai",
    "v3.fal.media",
    "*.fal.media",
    "queue.localhost",
)
ADDRESSES = ("127.0.0.1", "::1")
SYSTEM_ROOTS = Path("/etc/ssl/certs/ca-certificates.crt")
VALID_DAYS = 825


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the CA certificate (NODE_EXTRA_CA_CERTS)
    bundle: Path  # system roots + the CA (SSL_CERT_FILE)
    cert: Path  # server certificate (uvicorn ssl_certfile)
    key: Path  # server key (uvicorn ssl_keyfile)


def self_signed(folder: Path, extra_hosts: tuple[str, ...] = ()) -> TlsFiles:
    """The CA and server certificate in `folder`, made on first use and reused afterwards."""
    files = TlsFiles(folder / "ca.pem", folder / "bundle.pem", folder / "server.pem", folder / "server.key")
    if all(p.exists() for p in (files.ca, files.bundle, files.cert, files.key)):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("talkies local CA", ca_key.public_key(), ca_key, hosts=None)
    hosts = HOST_NAMES + tuple(h for h in extra_hosts if h not in HOST_NAMES)
    leaf = _certificate("talkies server", key.public_key(), ca_key, hosts=hosts)
    _write(files, ca, leaf, key)
    return files


def _name(common_name: str) -> Any:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, public_key: Any, ca_key: Any, hosts: tuple[str, ...] | None) -> Any:
    """A CA certificate (hosts None) or a server certificate for `hosts`, signed by `ca_key`."""
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name("talkies local CA"))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=hosts is None, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if hosts is None:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)  # cert + CRL sign
        return builder.add_extension(usage, critical=True).sign(ca_key, hashes.SHA256())
    usage = x509.KeyUsage(True, False, True, False, False, False, False, False, False)  # sign + key encipher
    sans = [x509.DNSName(h) for h in hosts] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ADDRESSES]
    return (
        builder.add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _write(files: TlsFiles, ca: Any, leaf: Any, key: Any) -> None:
    pem = serialization.Encoding.PEM
    files.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    files.key.chmod(0o600)
    files.cert.write_bytes(leaf.public_bytes(pem))
    files.ca.write_bytes(ca.public_bytes(pem))
    roots = SYSTEM_ROOTS.read_bytes() if SYSTEM_ROOTS.exists() else b""
    files.bundle.write_bytes(roots + files.ca.read_bytes())
