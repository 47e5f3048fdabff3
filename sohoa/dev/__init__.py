"""Development and test helpers — never used by a production path.

* :mod:`sohoa.dev.pki` — a dev/test PKI shaped like a real CA's (root → intermediate → officer,
  seal, TSA; RSA-4096/3072 or ECDSA P-384; certificate policies, CRL distribution points, AIA),
  CRLs with revocation reasons, ``sohoa pki dev`` set-up, SoftHSM2 tokens;
* :mod:`sohoa.dev.servers` — a loopback HTTP server publishing the dev PKI's CRLs and CA
  certificates at the addresses written in its certificates, and an RFC 3161 TSA;
* :mod:`sohoa.dev.scans` — synthetic scanned pages (with an OCR text layer) and page shapes for
  tests and benchmarks.
"""
