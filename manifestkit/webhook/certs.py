"""Certificates for the webhook made with `cryptography`: a CA and a serving certificate whose
SANs are the Service's DNS names, replacing seed 004's separate tool and `sed` of the caBundle."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import NamedTuple

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class KeyPair(NamedTuple):
    cert_pem: str
    key_pem: str          # never logged; it goes only into the TLS Secret


class Certificates(NamedTuple):
    ca: KeyPair
    serving: KeyPair


def dns_names(service: str, namespace: str) -> list[str]:
    """The names the API server may dial: it verifies ``<service>.<namespace>.svc``."""
    return [service, f"{service}.{namespace}", f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"]


def make_certificates(service: str, namespace: str, days: int = 365,
                      now: datetime.datetime | None = None) -> Certificates:
    """A fresh CA (ECDSA P-256) and a serving certificate it signs, valid for ``days``."""
    start = (now or datetime.datetime.now(datetime.UTC)) - datetime.timedelta(minutes=5)   # clock skew
    end = start + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{service}.{namespace} webhook CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = dns_names(service, namespace)
    serving = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[2])]))
               .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    return Certificates(KeyPair(_pem(ca), _key_pem(ca_key)), KeyPair(_pem(serving), _key_pem(key)))


def reusable(stored: Mapping[str, str], service: str, namespace: str, min_days: int = 30,
             now: datetime.datetime | None = None) -> Certificates | None:
    """The pair of an earlier run (a TLS Secret's ``tls.crt``, ``tls.key``, ``ca.crt``), when it still fits:
    the same DNS names, signed by that CA, valid for ``min_days`` more. Reusing it keeps the output the same bytes."""
    try:
        ca = x509.load_pem_x509_certificate(stored["ca.crt"].encode())
        serving = x509.load_pem_x509_certificate(stored["tls.crt"].encode())
        key = serialization.load_pem_private_key(stored["tls.key"].encode(), None)
        serving.verify_directly_issued_by(ca)
        names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    except (KeyError, ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return None
    left = serving.not_valid_after_utc - (now or datetime.datetime.now(datetime.UTC))
    same_key = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == serving.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if names != dns_names(service, namespace) or left < datetime.timedelta(days=min_days) or not same_key:
        return None
    # The CA key is not kept (nothing signs with it again): a renewal makes a new CA and caBundle.
    return Certificates(KeyPair(stored["ca.crt"], ""), KeyPair(stored["tls.crt"], stored["tls.key"]))


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()
